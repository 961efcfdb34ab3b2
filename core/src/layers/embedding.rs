//! [`Embedding`]: Keras's `keras.layers.Embedding`.

use serde::{Deserialize, Serialize};

use super::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// A lookup table from token ids to dense vectors: Keras's
/// `keras.layers.Embedding(input_dim, output_dim, mask_zero=False)`.
///
/// The input holds token ids as numbers of the model's scalar type (`f32` holding whole
/// numbers; [`crate::Q16_16`] holding the integer in fixed point, raw `id · 65536`). An
/// input of shape `(seq…)` gives `(seq…, output_dim)`: row `id` of the table for each id.
/// One parameter, `embeddings`, of shape `(input_dim, output_dim)` (Keras's layout).
///
/// Keras casts float ids to `int32` (truncating), and under JAX an id `≥ input_dim` gives
/// a row of NaN and a negative id wraps around (`-1` is the last row). Here an id that is
/// not a whole number in `0..input_dim` (fractional, negative, too large, NaN) is
/// [`Error::IndexOutOfRange`], and nothing outside the table is read. Ids are exact up to
/// 2^24 in `f32`; [`crate::Q16_16`] holds integers up to 32767, so a fixed-point model
/// can look up only the first 32768 rows.
///
/// Gradients are `jax.grad`'s of `take`: the table's gradient is the scatter-add of the
/// output gradient rows (a repeated id accumulates), and the ids get none (`dx` is
/// filled with zeros: Keras gives integer inputs no gradient).
///
/// `mask_zero` is Keras's: id 0 is padding, and [`Embedding::compute_mask`] gives the
/// mask Keras's `compute_mask` does (`id != 0`) for the layers after it.
///
/// ```
/// use ember_nn::layers::{Context, Embedding, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let emb = Embedding { input_dim: 3, output_dim: 2, mask_zero: false };
/// let table = [0.0f32, 0.5, 1.0, 1.5, 2.0, 2.5]; // (input_dim=3, output_dim=2)
/// let ids = [2.0f32, 0.0, 2.0]; // one sample of 3 tokens
/// let mut y = [0.0f32; 6];
/// emb.forward(
///     &[&table],
///     TensorView::new(Shape::new(&[1, 3]).unwrap(), &ids).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 3, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [2.0, 2.5, 0.0, 0.5, 2.0, 2.5]); // rows 2, 0, 2
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Embedding {
    /// Vocabulary size: ids are in `0..input_dim` (`input_dim=`).
    pub input_dim: u32,
    /// Length of each embedding vector (`output_dim=`).
    pub output_dim: u32,
    /// Whether id 0 is padding to mask out (`mask_zero=`): see
    /// [`Embedding::compute_mask`].
    pub mask_zero: bool,
}

impl Embedding {
    /// Checks the sizes; returns (input_dim, output_dim, table length).
    fn dims(&self) -> Result<(usize, usize, usize)> {
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::InvalidConfig(
                "Embedding.input_dim and output_dim must be positive",
            ));
        }
        let (n, d) = (self.input_dim as usize, self.output_dim as usize);
        let table = Shape::new(&[n, d])?;
        Ok((n, d, table.len()))
    }

    /// The table row of the id at position `index`, or [`Error::IndexOutOfRange`] unless
    /// it is a whole number in `0..input_dim`.
    fn row<T: Scalar>(v: T, index: usize, input_dim: usize) -> Result<usize> {
        let f = v.to_f32();
        // NaN fails `f >= 0`; the round trip refuses a fixed-point fraction too small for
        // the f32 conversion to keep.
        if f >= 0.0 && f == libm::truncf(f) && T::from_f32(f) == v && f < input_dim as f32 {
            let id = f as usize;
            if id < input_dim {
                return Ok(id);
            }
        }
        Err(Error::IndexOutOfRange {
            index,
            len: input_dim,
        })
    }

    /// Keras's `Embedding.compute_mask`: `mask[i] = ids[i] != 0` when `mask_zero`, else
    /// every element `true` (Keras returns no mask: nothing is masked). `mask` must have
    /// as many elements as `ids` ([`Error::ShapeMismatch`] otherwise).
    ///
    /// ```
    /// use ember_nn::layers::Embedding;
    /// let emb = Embedding { input_dim: 5, output_dim: 2, mask_zero: true };
    /// let mut mask = [false; 4];
    /// emb.compute_mask(&[3.0f32, 1.0, 0.0, 0.0], &mut mask).unwrap();
    /// assert_eq!(mask, [true, true, false, false]);
    /// ```
    pub fn compute_mask<T: Scalar>(&self, ids: &[T], mask: &mut [bool]) -> Result<()> {
        check(ids.len(), mask.len())?;
        for (m, &v) in mask.iter_mut().zip(ids) {
            *m = !self.mask_zero || v != T::ZERO;
        }
        Ok(())
    }

    /// Checks the parameters and buffer lengths; returns (table, input_dim, output_dim).
    fn setup<'p, T>(
        &self,
        params: &[&'p [T]],
        ids: usize,
        out: usize,
    ) -> Result<(&'p [T], usize, usize)> {
        let (n, d, len) = self.dims()?;
        check(1, params.len())?;
        check(len, params[0].len())?;
        check(ids.checked_mul(d).ok_or(Error::InvalidShape)?, out)?;
        Ok((params[0], n, d))
    }
}

fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

impl Layer for Embedding {
    const KERAS_CLASS: &'static str = "Embedding";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let (_, d, _) = self.dims()?;
        let r = input.rank();
        // The output gains an axis, and the model adds the batch axis.
        if r + 2 > MAX_RANK {
            return Err(Error::InvalidShape);
        }
        let mut dims = [0usize; MAX_RANK];
        for (o, &v) in dims.iter_mut().zip(input.dims()) {
            *o = v as usize;
        }
        dims[r] = d;
        Shape::new(&dims[..r + 1])
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
        let (n, d, _) = self.dims()?;
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 1: this push cannot fail.
        let _ = shapes.push(Shape::new(&[n, d])?);
        Ok(shapes)
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
        let y = y.data();
        let (table, n, d) = self.setup(params, x.data().len(), y.len())?;
        for (i, (&v, out)) in x.data().iter().zip(y.chunks_exact_mut(d)).enumerate() {
            let r = Self::row(v, i, n)?;
            out.copy_from_slice(&table[r * d..(r + 1) * d]);
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        let ids = x.data();
        let (table, n, d) = self.setup(params, ids.len(), y.data().len())?;
        check(y.data().len(), dy.len())?;
        if let Some(dx) = dx {
            check(ids.len(), dx.len())?;
            dx.iter_mut().for_each(|g| *g = T::ZERO);
        }
        if let Some(dt) = dparams {
            check(table.len(), dt.len())?;
            dt.iter_mut().for_each(|g| *g = T::ZERO);
            for (i, (&v, g)) in ids.iter().zip(dy.chunks_exact(d)).enumerate() {
                let r = Self::row(v, i, n)?;
                for (o, &gv) in dt[r * d..(r + 1) * d].iter_mut().zip(g) {
                    *o = *o + gv;
                }
            }
        } else {
            // No table gradient wanted: still refuse ids the forward pass would refuse.
            for (i, &v) in ids.iter().enumerate() {
                Self::row(v, i, n)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Q16_16;

    #[test]
    fn ids_must_be_whole_numbers_in_range() {
        assert_eq!(Embedding::row(3.0f32, 0, 4), Ok(3));
        let bad = |i| Err(Error::IndexOutOfRange { index: i, len: 4 });
        for (i, v) in [4.0f32, -1.0, 0.5, f32::NAN, f32::INFINITY, -0.0001, 1e30]
            .into_iter()
            .enumerate()
        {
            assert_eq!(Embedding::row(v, i, 4), bad(i), "{v}");
        }
        // -0.0 is id 0, as a cast to int32 gives.
        assert_eq!(Embedding::row(-0.0f32, 0, 4), Ok(0));
        assert_eq!(Embedding::row(Q16_16::from_f32(2.0), 0, 4), Ok(2));
        // A fixed-point id with a fraction f32 cannot keep (1000 + 2^-16).
        let frac = Q16_16::from_bits(1000 * 65536 + 1);
        assert_eq!(
            Embedding::row(frac, 7, 2000),
            Err(Error::IndexOutOfRange {
                index: 7,
                len: 2000
            })
        );
        assert_eq!(
            Embedding::row(Q16_16::from_bits(1000 * 65536), 7, 2000),
            Ok(1000)
        );
    }

    #[test]
    fn backward_scatter_adds_repeated_ids() {
        let emb = Embedding {
            input_dim: 3,
            output_dim: 2,
            mask_zero: false,
        };
        let table = [0.0f32; 6];
        let ids = [1.0f32, 1.0, 2.0];
        let y = [0.0f32; 6];
        let mut dy = [1.0f32, 2.0, 10.0, 20.0, 100.0, 200.0];
        let (mut dx, mut dt) = ([7.0f32; 3], [9.0f32; 6]);
        let xs = Shape::new(&[1, 3]).unwrap();
        let ys = Shape::new(&[1, 3, 2]).unwrap();
        emb.backward(
            &[&table],
            TensorView::new(xs, &ids).unwrap(),
            TensorView::new(ys, &y).unwrap(),
            &mut dy,
            Some(&mut dx),
            Some(&mut dt),
            &Context::default(),
        )
        .unwrap();
        assert_eq!(dx, [0.0; 3]);
        assert_eq!(dt, [0.0, 0.0, 11.0, 22.0, 100.0, 200.0]);
    }

    /// The encodings `core/docs/blob-format.md` documents (variants 40–42).
    #[test]
    fn blob_encoding_matches_the_spec() {
        use crate::layers::{LayerConfig, ParametricSoftplus, ThresholdedLinear};
        let enc = |c: LayerConfig| postcard::to_allocvec(&c).unwrap();
        let emb = Embedding {
            input_dim: 7,
            output_dim: 3,
            mask_zero: true,
        };
        assert_eq!(enc(LayerConfig::Embedding(emb)), [40, 7, 3, 1]);
        let psp = ParametricSoftplus { shared_axes: 0b10 };
        assert_eq!(enc(LayerConfig::ParametricSoftplus(psp)), [41, 2]);
        let tl = ThresholdedLinear { theta: 1.0 };
        assert_eq!(
            enc(LayerConfig::ThresholdedLinear(tl)),
            [42, 0, 0, 0x80, 0x3f]
        );
    }
}
