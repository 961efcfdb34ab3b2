//! The reshaping layers: Keras's `Flatten`, `Reshape`, `Permute` and `RepeatVector`
//! (`keras/src/layers/reshaping/`). None has parameters; each moves values without
//! changing them, and its backward pass moves the gradient back (summing over
//! `RepeatVector`'s copies).

mod flatten;
mod permute;
mod repeat_vector;
mod reshape;

pub use flatten::Flatten;
pub use permute::Permute;
pub use repeat_vector::RepeatVector;
pub use reshape::Reshape;

use crate::{Error, Result, Scalar, Shape, TensorView};

/// Largest rank of a per-sample shape (a [`Shape`] holds [`crate::MAX_RANK`] dims with
/// the batch).
pub(crate) const MAX_SAMPLE_RANK: usize = crate::MAX_RANK - 1;

/// `Err(ShapeMismatch)` unless `expected == found`.
pub(super) fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// `Err(ShapeMismatch)` unless a parameter-free layer got no parameters.
pub(super) fn no_params<T>(params: &[&[T]]) -> Result<()> {
    check(0, params.len())
}

/// The per-sample shape of a batched tensor (its dims after the first).
fn sample_shape(batched: Shape) -> Result<Shape> {
    if batched.rank() == 0 {
        return Err(Error::InvalidShape);
    }
    let mut dims = [0usize; MAX_SAMPLE_RANK];
    let rest = &batched.dims()[1..];
    for (o, &d) in dims.iter_mut().zip(rest) {
        *o = d as usize;
    }
    Shape::new(&dims[..rest.len()])
}

/// Forward of the layers whose output is the input's row-major data under another shape
/// (`Flatten`, `Reshape`): `y = x` after checking that both hold as many elements.
fn copy_forward<T: Scalar>(x: TensorView<'_, T>, y: &mut [T]) -> Result<()> {
    check(x.data().len(), y.len())?;
    y.copy_from_slice(x.data());
    Ok(())
}

/// Backward of `copy_forward`: `dx = dy`.
fn copy_backward<T: Scalar>(
    x: TensorView<'_, T>,
    y: TensorView<'_, T>,
    dy: &[T],
    dx: Option<&mut [T]>,
) -> Result<()> {
    let n = x.data().len();
    check(n, y.data().len())?;
    check(n, dy.len())?;
    if let Some(dx) = dx {
        check(n, dx.len())?;
        dx.copy_from_slice(dy);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;

    /// The encodings `core/docs/blob-format.md` documents.
    #[test]
    fn blob_encoding_matches_the_spec() {
        let enc = |c: LayerConfig| postcard::to_allocvec(&c).unwrap();
        assert_eq!(enc(LayerConfig::Flatten(Flatten)), [8]);
        let r = Reshape::new(&[2, -1]).unwrap();
        assert_eq!(enc(LayerConfig::Reshape(r)), [9, 2, 4, 1, 0, 0]);
        let p = Permute::new(&[2, 1]).unwrap();
        assert_eq!(enc(LayerConfig::Permute(p)), [10, 2, 2, 1, 0, 0]);
        let rv = RepeatVector { n: 300 };
        assert_eq!(enc(LayerConfig::RepeatVector(rv)), [11, 0xac, 0x02]);
    }
}
