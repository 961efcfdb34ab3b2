//! [`Reshape`]: Keras's `keras.layers.Reshape`.

use serde::{Deserialize, Serialize};

use super::{copy_backward, copy_forward, no_params, MAX_SAMPLE_RANK};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Gives each sample a new shape with the same number of elements: Keras's
/// `keras.layers.Reshape(target_shape)`.
///
/// `target_shape` excludes the batch axis; one entry may be `-1`, inferred so that the
/// element count is unchanged (Keras's `compute_reshape_output_shape`). The data is the
/// input's, row-major, unchanged. An input whose element count the target cannot hold —
/// a product that differs, or that does not divide it when one entry is `-1` — is
/// [`Error::ShapeMismatch`]; a target with a zero, an entry below `-1`, two `-1`s or more
/// than 4 axes is [`Error::InvalidConfig`]. No parameters.
///
/// ```
/// use ember_nn::layers::{Layer, Reshape};
/// use ember_nn::Shape;
/// let r = Reshape::new(&[-1, 2, 2]).unwrap();
/// let out = r.output_shape(Shape::new(&[12]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[3, 2, 2]);
/// assert!(r.output_shape(Shape::new(&[10]).unwrap()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reshape {
    /// Number of target axes (`len(target_shape)`, at most 4).
    pub rank: u8,
    /// `target_shape=` in its first `rank` entries (`-1`: inferred), zeros after.
    pub target_shape: [i32; MAX_SAMPLE_RANK],
}

impl Reshape {
    /// A `Reshape` to `target_shape` (Keras's argument: batch excluded, at most one `-1`).
    /// [`Error::InvalidConfig`] on an invalid target (see the type's docs).
    pub fn new(target_shape: &[i32]) -> Result<Self> {
        if target_shape.len() > MAX_SAMPLE_RANK {
            return Err(Error::InvalidConfig(
                "Reshape.target_shape has more than 4 axes",
            ));
        }
        let mut dims = [0i32; MAX_SAMPLE_RANK];
        dims[..target_shape.len()].copy_from_slice(target_shape);
        let r = Reshape {
            rank: target_shape.len() as u8,
            target_shape: dims,
        };
        r.validate()?;
        Ok(r)
    }

    /// The target shape as given to Keras (`-1` for the inferred axis).
    pub fn target(&self) -> &[i32] {
        let rank = (self.rank as usize).min(MAX_SAMPLE_RANK);
        &self.target_shape[..rank]
    }

    fn validate(&self) -> Result<()> {
        let rank = self.rank as usize;
        if rank > MAX_SAMPLE_RANK {
            return Err(Error::InvalidConfig(
                "Reshape.target_shape has more than 4 axes",
            ));
        }
        if self.target_shape[rank..].iter().any(|&d| d != 0) {
            return Err(Error::InvalidConfig(
                "Reshape.target_shape has entries beyond its rank",
            ));
        }
        let t = self.target();
        if t.iter().any(|&d| d == 0 || d < -1) {
            return Err(Error::InvalidConfig(
                "Reshape.target_shape entries must be positive or -1",
            ));
        }
        if t.iter().filter(|&&d| d == -1).count() > 1 {
            return Err(Error::InvalidConfig(
                "Reshape.target_shape has more than one -1",
            ));
        }
        Ok(())
    }
}

impl Layer for Reshape {
    const KERAS_CLASS: &'static str = "Reshape";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.validate()?;
        let n = input.len();
        let t = self.target();
        // Every entry is positive or the one -1 (validated), so the known product is
        // at least 1; saturating keeps a huge target from wrapping.
        let known = t
            .iter()
            .filter(|&&d| d > 0)
            .fold(1usize, |p, &d| p.saturating_mul(d as usize));
        let inferred = if t.contains(&-1) {
            if n % known != 0 {
                return Err(Error::ShapeMismatch {
                    expected: n,
                    found: known,
                });
            }
            n / known
        } else {
            if known != n {
                return Err(Error::ShapeMismatch {
                    expected: n,
                    found: known,
                });
            }
            1
        };
        let mut dims = [0usize; MAX_SAMPLE_RANK];
        for (o, &d) in dims.iter_mut().zip(t) {
            *o = if d == -1 { inferred } else { d as usize };
        }
        Shape::new(&dims[..t.len()])
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
        Ok(ParamShapes::new())
    }

    fn macs(&self, _input: Shape) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        copy_forward(x, y.data())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        copy_backward(x, y, dy, dx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(target: &[i32], input: &[usize]) -> Result<Shape> {
        Reshape::new(target)?.output_shape(Shape::new(input)?)
    }

    #[test]
    fn infers_and_checks_sizes() {
        assert_eq!(out(&[4, -1], &[2, 3, 4]).unwrap().dims(), &[4, 6]);
        assert_eq!(out(&[-1], &[2, 3, 4]).unwrap().dims(), &[24]);
        assert_eq!(out(&[2, 12], &[24]).unwrap().dims(), &[2, 12]);
        assert_eq!(
            out(&[5, -1], &[2, 3, 4]),
            Err(Error::ShapeMismatch {
                expected: 24,
                found: 5
            })
        );
        assert_eq!(
            out(&[5, 5], &[24]),
            Err(Error::ShapeMismatch {
                expected: 24,
                found: 25
            })
        );
        for bad in [&[-1, -1][..], &[0, 24], &[-2, 12], &[1, 1, 1, 1, 24]] {
            assert!(matches!(Reshape::new(bad), Err(Error::InvalidConfig(_))));
        }
        // A blob-decoded value with junk past its rank is refused.
        let junk = Reshape {
            rank: 1,
            target_shape: [24, 3, 0, 0],
        };
        assert!(matches!(
            junk.output_shape(Shape::new(&[24]).unwrap()),
            Err(Error::InvalidConfig(_))
        ));
        let big = Reshape {
            rank: 9,
            target_shape: [24, 0, 0, 0],
        };
        assert!(big.output_shape(Shape::new(&[24]).unwrap()).is_err());
        assert_eq!(big.target(), &[24, 0, 0, 0]);
    }
}
