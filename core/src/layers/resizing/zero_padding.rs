//! [`ZeroPadding1D`] and [`ZeroPadding2D`]: Keras's `keras.layers.ZeroPadding1D` and
//! `keras.layers.ZeroPadding2D`.

use serde::{Deserialize, Serialize};

use super::{hwc, offsets, resized, shape_of, shift_backward, shift_forward, Shift};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Zero rows before and after the steps of a `(steps, c)` sample: Keras's
/// `keras.layers.ZeroPadding1D(padding=1)`, `padding = (before, after)`; output
/// `(before + steps + after, c)`. The backward pass crops the gradient back.
///
/// ```
/// use ember_nn::layers::{Context, Layer, ZeroPadding1D};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pad = ZeroPadding1D { padding: [1, 2] };
/// let x = [1.0f32, 2.0];
/// let mut y = [9.0f32; 5];
/// pad.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 5, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [0.0, 1.0, 2.0, 0.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ZeroPadding1D {
    /// Steps of zeros before and after (`padding=`; Keras's int `p` is `(p, p)`).
    pub padding: [u32; 2],
}

/// Zero rows and columns around a `(h, w, c)` sample: Keras's
/// `keras.layers.ZeroPadding2D(padding=(1, 1))`,
/// `padding = ((top, bottom), (left, right))`; output
/// `(top + h + bottom, left + w + right, c)`. The backward pass crops the gradient back.
///
/// ```
/// use ember_nn::layers::{Layer, ZeroPadding2D};
/// use ember_nn::Shape;
///
/// let pad = ZeroPadding2D { padding: [[1, 0], [2, 3]] };
/// let out = pad.output_shape(Shape::new(&[4, 4, 3]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[5, 9, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ZeroPadding2D {
    /// `((top, bottom), (left, right))` (`padding=`; Keras's int `p` is
    /// `((p, p), (p, p))` and `(a, b)` is `((a, a), (b, b))`).
    pub padding: [[u32; 2]; 2],
}

/// The output `(h, w, c)` of `[[top, bottom], [left, right]]` padding.
fn out_hwc(
    padding: [[u32; 2]; 2],
    (h, w, c): (usize, usize, usize),
) -> Result<(usize, usize, usize)> {
    let [[t, b], [l, r]] = padding;
    Ok((
        resized(resized(h, t, 0)?, b, 0)?,
        resized(resized(w, l, 0)?, r, 0)?,
        c,
    ))
}

/// The output `(h, w)` and the forward shift for `padding` on an `(h, w, c)` sample.
fn geometry(padding: [[u32; 2]; 2], input: (usize, usize, usize)) -> Result<Shift> {
    let (oh, ow, _) = out_hwc(padding, input)?;
    Ok(Shift {
        out_hw: (oh, ow),
        offset: offsets(padding[0][0], padding[1][0], 1)?,
    })
}

impl ZeroPadding1D {
    fn as_2d(&self) -> [[u32; 2]; 2] {
        [[0, 0], self.padding]
    }
}

impl Layer for ZeroPadding1D {
    const KERAS_CLASS: &'static str = "ZeroPadding1D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        shape_of(2, out_hwc(self.as_2d(), hwc(input, 2)?)?)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.output_shape(input)?;
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
        let p = self.as_2d();
        shift_forward(2, params, x, y.data(), |s| geometry(p, s))
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
        let p = self.as_2d();
        shift_backward(2, params, x, y, dy, dx, |s| geometry(p, s))
    }
}

impl Layer for ZeroPadding2D {
    const KERAS_CLASS: &'static str = "ZeroPadding2D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        shape_of(3, out_hwc(self.padding, hwc(input, 3)?)?)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.output_shape(input)?;
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
        shift_forward(3, params, x, y.data(), |s| geometry(self.padding, s))
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
        shift_backward(3, params, x, y, dy, dx, |s| geometry(self.padding, s))
    }
}
