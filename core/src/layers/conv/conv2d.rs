//! [`Conv2D`]: Keras's `keras.layers.Conv2D`.

use serde::{Deserialize, Serialize};

use super::{resolve, sample_shape, Resolved};
use crate::layers::{Context, Layer, Padding, ParamShapes, TensorMask};
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A 2-D convolution (cross-correlation, as in Keras) over channels-last images:
/// Keras's `keras.layers.Conv2D(filters, kernel_size, strides=(1, 1), padding="valid",
/// dilation_rate=(1, 1), groups=1, activation=None, use_bias=True)`.
///
/// An input `(h, w, c)` gives `(out_h, out_w, filters)` with, per axis, Keras's output
/// length and padding ([`crate::layers::Window::output`]): `valid` drops windows that do
/// not fit; `same` gives `⌈n / stride⌉` and pads the smaller half before (a stride-2,
/// size-3 window on an even input pads 0 before and 1 after). `y[oy, ox, f] =
/// activation(b[f] + Σ_{ky, kx, ci} x[oy·s_h + ky·d_h − pad_top, ox·s_w + kx·d_w −
/// pad_left, grp·c/groups + ci] · kernel[ky, kx, ci, f])`, `grp = f / (filters / groups)`.
///
/// Parameters, in Keras's order: `kernel` of shape `(k_h, k_w, c / groups, filters)` and,
/// if `use_bias`, `bias` of shape `(filters,)`.
///
/// Refused like Keras ([`Error::InvalidConfig`]): zero sizes, `filters` not divisible by
/// `groups`, a stride above 1 together with a dilation above 1, `Padding::Causal`; and,
/// like [`crate::layers::Dense`], an activation that [`Activation::needs_input`] (the
/// converter lowers it to a separate activation layer). An input whose channels are not
/// divisible by `groups` is [`Error::InvalidShape`].
///
/// ```
/// use ember_nn::layers::{Context, Conv2D, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let conv = Conv2D {
///     filters: 1,
///     kernel_size: [2, 2],
///     strides: [1, 1],
///     padding: Padding::Valid,
///     dilation_rate: [1, 1],
///     groups: 1,
///     activation: Activation::Linear,
///     use_bias: true,
/// };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]; // 3×3, one channel
/// let kernel = [1.0f32; 4]; // (2, 2, 1, 1): sums each 2×2 window
/// let bias = [0.5f32];
/// let mut y = [0.0f32; 4];
/// conv.forward(
///     &[&kernel, &bias],
///     TensorView::new(Shape::new(&[1, 3, 3, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [12.5, 16.5, 24.5, 28.5]); // 1+2+4+5, 2+3+5+6, … plus 0.5
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conv2D {
    /// Output channels (`filters`).
    pub filters: u32,
    /// Window `[height, width]` (`kernel_size`).
    pub kernel_size: [u32; 2],
    /// Steps `[height, width]` (`strides`).
    pub strides: [u32; 2],
    /// `padding`: `Valid` or `Same`.
    pub padding: Padding,
    /// Tap spacing `[height, width]` (`dilation_rate`).
    pub dilation_rate: [u32; 2],
    /// Channel groups (`groups`): input and output channels split into this many
    /// independent convolutions.
    pub groups: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl Conv2D {
    fn resolve(&self, input: Shape) -> Result<Resolved> {
        if self.padding == Padding::Causal {
            return Err(Error::InvalidConfig(
                "Conv2D.padding must be valid or same (causal is Conv1D only)",
            ));
        }
        if input.rank() != 3 {
            return Err(Error::InvalidShape);
        }
        resolve(
            (input.dim(0), input.dim(1), input.dim(2)),
            self.filters,
            self.kernel_size,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.groups,
            self.activation,
            self.use_bias,
        )
    }
}

impl Layer for Conv2D {
    const KERAS_CLASS: &'static str = "Conv2D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let r = self.resolve(input)?;
        Shape::new(&[r.g.out_h, r.g.out_w, r.g.out_c])
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let r = self.resolve(input)?;
        r.param_shapes(&[r.g.k_h, r.g.k_w])
    }

    fn macs(&self, input: Shape) -> usize {
        self.resolve(input).map_or(0, |r| r.macs())
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let r = self.resolve(sample_shape(x.shape())?)?;
        r.forward(params, x.data(), y.data())
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
        let r = self.resolve(sample_shape(x.shape())?)?;
        r.backward(params, x.data(), y.data(), dy, dx, dparams, r.all())
    }

    fn backward_masked<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
        _ctx: &Context,
    ) -> Result<()> {
        let r = self.resolve(sample_shape(x.shape())?)?;
        r.backward(params, x.data(), y.data(), dy, dx, dparams, wanted)
    }

    fn bias_tensor(&self) -> Option<usize> {
        self.use_bias.then_some(1)
    }
}
