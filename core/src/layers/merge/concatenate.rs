//! [`Concatenate`]: Keras's `keras.layers.Concatenate`.

use serde::{Deserialize, Serialize};

use super::{check_grads, check_output, sample_shapes, Merge, MAX_MERGE_INPUTS};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// Joins its inputs along one axis: Keras's `keras.layers.Concatenate(axis=-1)`.
///
/// `axis` counts the batch axis, as in Keras: `-1` (the default) is the last axis, `1`
/// the first per-sample axis; the batch axis (`0`, or `-rank`) is refused. One or more
/// inputs of the same rank whose dims agree except along `axis`; the output's `axis` is
/// the sum of theirs. Backward copies each input's slice of `∂L/∂y` back.
///
/// ```
/// use ember_nn::layers::{Concatenate, Merge};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let (s2, s1) = (Shape::new(&[1, 2]).unwrap(), Shape::new(&[1, 1]).unwrap());
/// let (a, b) = ([1.0f32, 2.0], [3.0f32]);
/// let xs = [TensorView::new(s2, &a).unwrap(), TensorView::new(s1, &b).unwrap()];
/// let mut y = [0.0f32; 3];
/// let cat = Concatenate { axis: -1 };
/// cat.forward(&xs, TensorViewMut::new(Shape::new(&[1, 3]).unwrap(), &mut y).unwrap()).unwrap();
/// assert_eq!(y, [1.0, 2.0, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Concatenate {
    /// The axis to join along, counting the batch axis (`axis=`; negative from the end).
    pub axis: i32,
}

impl Default for Concatenate {
    /// Keras's default, `axis=-1`.
    fn default() -> Self {
        Concatenate { axis: -1 }
    }
}

/// The layout of a concatenation over batched tensors: `outer` blocks (every axis
/// before the joined one, batch included), each made of one chunk per input.
struct Layout {
    outer: usize,
    /// Elements per block of each input (its joined dim × the inner axes).
    chunks: [usize; MAX_MERGE_INPUTS],
    /// Sum of `chunks`: elements per block of the output.
    total: usize,
}

impl Concatenate {
    /// The joined axis as an index into a per-sample shape of rank `rank`.
    fn sample_axis(&self, rank: usize) -> Result<usize> {
        let batched = rank as i64 + 1;
        let a = self.axis as i64;
        let a = if a < 0 { a + batched } else { a };
        if a <= 0 || a >= batched {
            return Err(Error::InvalidConfig(
                "Concatenate.axis must be a non-batch axis of the inputs",
            ));
        }
        Ok(a as usize - 1)
    }

    /// The output shape and the joined per-sample axis.
    fn resolve(&self, inputs: &[Shape]) -> Result<(Shape, usize)> {
        if !self.input_count_ok(inputs.len()) {
            return Err(Error::InvalidConfig(
                "wrong number of inputs for the merge layer",
            ));
        }
        let first = inputs[0];
        let axis = self.sample_axis(first.rank())?;
        let mut dims = [0usize; MAX_RANK];
        for (o, &d) in dims.iter_mut().zip(first.dims()) {
            *o = d as usize;
        }
        let mut joined = 0usize;
        for s in inputs {
            if s.rank() != first.rank() {
                return Err(Error::InvalidConfig(
                    "Concatenate inputs must have the same rank",
                ));
            }
            for (k, (&d, &f)) in s.dims().iter().zip(first.dims()).enumerate() {
                if k != axis && d != f {
                    return Err(Error::InvalidConfig(
                        "Concatenate inputs must match except along the axis",
                    ));
                }
            }
            joined = joined.checked_add(s.dim(axis)).ok_or(Error::InvalidShape)?;
        }
        dims[axis] = joined;
        Ok((Shape::new(&dims[..first.rank()])?, axis))
    }

    fn layout(inputs: &[Shape], axis: usize, batch: usize, out: Shape) -> Layout {
        let inner: usize = inputs[0].dims()[axis + 1..]
            .iter()
            .map(|&d| d as usize)
            .product();
        let outer = batch
            * inputs[0].dims()[..axis]
                .iter()
                .map(|&d| d as usize)
                .product::<usize>();
        let mut chunks = [0usize; MAX_MERGE_INPUTS];
        for (c, s) in chunks.iter_mut().zip(inputs) {
            *c = s.dim(axis) * inner;
        }
        Layout {
            outer,
            chunks,
            total: out.dim(axis) * inner,
        }
    }
}

impl Merge for Concatenate {
    const KERAS_CLASS: &'static str = "Concatenate";

    fn input_count_ok(&self, n: usize) -> bool {
        (1..=MAX_MERGE_INPUTS).contains(&n)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        self.resolve(inputs).map(|(s, _)| s)
    }

    fn macs(&self, _inputs: &[Shape]) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        let mut shapes = [Shape::new(&[])?; MAX_MERGE_INPUTS];
        let batch = sample_shapes(xs, self.input_count_ok(xs.len()), &mut shapes)?;
        let inputs = &shapes[..xs.len()];
        let (out, axis) = self.resolve(inputs)?;
        check_output(batch, out, y.shape())?;
        let l = Self::layout(inputs, axis, batch, out);
        for (o, block) in y.data().chunks_exact_mut(l.total).take(l.outer).enumerate() {
            let mut at = 0;
            for (x, &c) in xs.iter().zip(&l.chunks) {
                block[at..at + c].copy_from_slice(&x.data()[o * c..(o + 1) * c]);
                at += c;
            }
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        let mut shapes = [Shape::new(&[])?; MAX_MERGE_INPUTS];
        let batch = sample_shapes(xs, self.input_count_ok(xs.len()), &mut shapes)?;
        let inputs = &shapes[..xs.len()];
        let (out, axis) = self.resolve(inputs)?;
        check_output(batch, out, y.shape())?;
        check_grads(xs, y, dy, dxs)?;
        let l = Self::layout(inputs, axis, batch, out);
        for (o, block) in dy.chunks_exact(l.total).take(l.outer).enumerate() {
            let mut at = 0;
            for (dx, &c) in dxs.iter_mut().zip(&l.chunks) {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[o * c..(o + 1) * c].copy_from_slice(&block[at..at + c]);
                }
                at += c;
            }
        }
        Ok(())
    }
}
