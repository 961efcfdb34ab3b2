//! [`Slice`]: one output of a layer call that returns several.

use serde::{Deserialize, Serialize};

use super::reshaping::no_params;
use super::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// One output of a layer call with several outputs, cut from the call's flat result.
///
/// Ember-internal (no Keras class of its own): a node computes one tensor, so a Keras
/// call that returns several — `LSTM(return_state=True)` returns `[output, h, c]`,
/// `Bidirectional(merge_mode=None)` its two directions' outputs — computes them
/// concatenated, flattened per sample, and the converter adds one `Slice` per output,
/// reading elements `start..start + shape.len()` of each sample as `shape`. The backward
/// pass scatters the output's gradient back into that range (zeros elsewhere; the
/// runtime adds the gradients of the slices that read one tensor).
///
/// ```
/// use ember_nn::layers::{Context, Layer, Slice};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// // [y (2), h (2), c (2)] of one sample; the slice is h.
/// let h = Slice { start: 2, shape: Shape::new(&[2]).unwrap() };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut y = [0.0f32; 2];
/// h.forward::<f32>(
///     &[],
///     TensorView::new(Shape::new(&[1, 6]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [3.0, 4.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Slice {
    /// First element of the slice within a sample.
    pub start: u32,
    /// The output's shape (no batch).
    pub shape: Shape,
}

impl Slice {
    /// The slice's range within a sample of `input`; an error if it does not fit.
    fn range(&self, input: Shape) -> Result<core::ops::Range<usize>> {
        let start = self.start as usize;
        let end = start
            .checked_add(self.shape.len())
            .ok_or(Error::InvalidShape)?;
        if end > input.len() || self.shape.is_empty() {
            return Err(Error::InvalidShape);
        }
        Ok(start..end)
    }
}

/// The per-sample length and batch of a batched view's shape.
fn per_sample(shape: Shape) -> Result<(usize, usize)> {
    let batch = *shape.dims().first().ok_or(Error::InvalidShape)? as usize;
    let len = shape.len().checked_div(batch).unwrap_or(0);
    Ok((batch, len))
}

impl Layer for Slice {
    const KERAS_CLASS: &'static str = "Slice";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.range(input)?;
        Ok(self.shape)
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
        let (batch, n) = per_sample(x.shape())?;
        let r = self.range(Shape::new(&[n])?)?;
        let y = y.data();
        if y.len() != batch * r.len() {
            return Err(Error::ShapeMismatch {
                expected: batch * r.len(),
                found: y.len(),
            });
        }
        for (row, out) in x.data().chunks_exact(n).zip(y.chunks_exact_mut(r.len())) {
            out.copy_from_slice(&row[r.clone()]);
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        _y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let (batch, n) = per_sample(x.shape())?;
        let r = self.range(Shape::new(&[n])?)?;
        if dy.len() != batch * r.len() {
            return Err(Error::ShapeMismatch {
                expected: batch * r.len(),
                found: dy.len(),
            });
        }
        let Some(dx) = dx else { return Ok(()) };
        if dx.len() != batch * n {
            return Err(Error::ShapeMismatch {
                expected: batch * n,
                found: dx.len(),
            });
        }
        for (row, g) in dx.chunks_exact_mut(n).zip(dy.chunks_exact(r.len())) {
            row.fill(T::ZERO);
            row[r.clone()].copy_from_slice(g);
        }
        Ok(())
    }
}
