//! [`Cropping1D`] and [`Cropping2D`]: Keras's `keras.layers.Cropping1D` and
//! `keras.layers.Cropping2D`.

use serde::{Deserialize, Serialize};

use super::{hwc, offsets, resized, shape_of, shift_backward, shift_forward, Shift};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Drops steps at both ends of a `(steps, c)` sample: Keras's
/// `keras.layers.Cropping1D(cropping=(1, 1))`, `cropping = (before, after)`; output
/// `(steps − before − after, c)`, which must be positive ([`crate::Error::InvalidShape`]
/// otherwise, as Keras raises). The backward pass pads the gradient back with zeros.
///
/// ```
/// use ember_nn::layers::{Context, Cropping1D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let crop = Cropping1D { cropping: [1, 2] };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0];
/// let mut y = [0.0f32; 2];
/// crop.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 5, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [2.0, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cropping1D {
    /// Steps dropped before and after (`cropping=`; Keras's int `p` is `(p, p)`).
    pub cropping: [u32; 2],
}

/// Drops rows and columns at the borders of a `(h, w, c)` sample: Keras's
/// `keras.layers.Cropping2D(cropping=((0, 0), (0, 0)))`,
/// `cropping = ((top, bottom), (left, right))`; output
/// `(h − top − bottom, w − left − right, c)`, each positive. The backward pass pads the
/// gradient back with zeros.
///
/// ```
/// use ember_nn::layers::{Cropping2D, Layer};
/// use ember_nn::Shape;
///
/// let crop = Cropping2D { cropping: [[1, 0], [2, 1]] };
/// let out = crop.output_shape(Shape::new(&[4, 5, 3]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[3, 2, 3]);
/// assert!(crop.output_shape(Shape::new(&[4, 3, 3]).unwrap()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cropping2D {
    /// `((top, bottom), (left, right))` (`cropping=`; Keras's int `p` is
    /// `((p, p), (p, p))` and `(a, b)` is `((a, a), (b, b))`).
    pub cropping: [[u32; 2]; 2],
}

/// The output `(h, w, c)` of `[[top, bottom], [left, right]]` cropping.
fn out_hwc(
    cropping: [[u32; 2]; 2],
    (h, w, c): (usize, usize, usize),
) -> Result<(usize, usize, usize)> {
    let [[t, b], [l, r]] = cropping;
    Ok((
        resized(resized(h, 0, t)?, 0, b)?,
        resized(resized(w, 0, l)?, 0, r)?,
        c,
    ))
}

/// The output `(h, w)` and the forward shift (`−crop`) on an `(h, w, c)` sample.
fn geometry(cropping: [[u32; 2]; 2], input: (usize, usize, usize)) -> Result<Shift> {
    let (oh, ow, _) = out_hwc(cropping, input)?;
    Ok(Shift {
        out_hw: (oh, ow),
        offset: offsets(cropping[0][0], cropping[1][0], -1)?,
    })
}

impl Cropping1D {
    fn as_2d(&self) -> [[u32; 2]; 2] {
        [[0, 0], self.cropping]
    }
}

impl Layer for Cropping1D {
    const KERAS_CLASS: &'static str = "Cropping1D";

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

impl Layer for Cropping2D {
    const KERAS_CLASS: &'static str = "Cropping2D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        shape_of(3, out_hwc(self.cropping, hwc(input, 3)?)?)
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
        shift_forward(3, params, x, y.data(), |s| geometry(self.cropping, s))
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
        shift_backward(3, params, x, y, dy, dx, |s| geometry(self.cropping, s))
    }
}
