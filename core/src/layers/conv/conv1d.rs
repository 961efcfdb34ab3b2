//! [`Conv1D`]: Keras's `keras.layers.Conv1D`, computed as a [`super::Conv2D`] of
//! height 1.

use serde::{Deserialize, Serialize};

use super::{resolve, sample_shape, Resolved};
use crate::layers::{Context, Layer, Padding, ParamShapes, TensorMask};
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A 1-D convolution (cross-correlation) over channels-last sequences: Keras's
/// `keras.layers.Conv1D(filters, kernel_size, strides=1, padding="valid",
/// dilation_rate=1, groups=1, activation=None, use_bias=True)`.
///
/// An input `(steps, c)` gives `(out_steps, filters)`: `valid` gives
/// `⌊(steps − span) / stride⌋ + 1` (`span = (kernel_size − 1)·dilation_rate + 1`);
/// `same` gives `⌈steps / stride⌉`, padding the smaller half before; `causal` gives
/// `⌈steps / stride⌉` with all `span − 1` padding before (Keras pads the input on the left,
/// then runs a `valid` convolution), so output `t` sees inputs up to `t·stride` only.
/// `y[t, f] = activation(b[f] + Σ_{k, ci} x[t·stride + k·dilation − pad, grp·c/groups +
/// ci] · kernel[k, ci, f])`. It runs as a height-1 [`super::Conv2D`].
///
/// Parameters, in Keras's order: `kernel` of shape `(kernel_size, c / groups, filters)`
/// and, if `use_bias`, `bias` of shape `(filters,)`.
///
/// Refused like Keras ([`Error::InvalidConfig`]): zero sizes, `filters` not divisible by
/// `groups`, `strides > 1` together with `dilation_rate > 1`; and an activation that
/// [`Activation::needs_input`]. Input channels not divisible by `groups` are
/// [`Error::InvalidShape`].
///
/// ```
/// use ember_nn::layers::{Context, Conv1D, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let conv = Conv1D {
///     filters: 1,
///     kernel_size: 2,
///     strides: 1,
///     padding: Padding::Causal,
///     dilation_rate: 1,
///     groups: 1,
///     activation: Activation::Linear,
///     use_bias: true,
/// };
/// let x = [1.0f32, 2.0, 3.0, 4.0]; // 4 steps, one channel
/// let kernel = [2.0f32, 1.0]; // (2, 1, 1): y[t] = 2·x[t − 1] + x[t] + b
/// let bias = [0.5f32];
/// let mut y = [0.0f32; 4];
/// conv.forward(
///     &[&kernel, &bias],
///     TensorView::new(Shape::new(&[1, 4, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 4, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [1.5, 4.5, 7.5, 10.5]); // x[−1] is padding (0)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conv1D {
    /// Output channels (`filters`).
    pub filters: u32,
    /// Window length (`kernel_size`).
    pub kernel_size: u32,
    /// Step (`strides`).
    pub strides: u32,
    /// `padding`: `Valid`, `Same` or `Causal`.
    pub padding: Padding,
    /// Tap spacing (`dilation_rate`).
    pub dilation_rate: u32,
    /// Channel groups (`groups`).
    pub groups: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl Conv1D {
    /// The height-1 Conv2D geometry of a `(steps, channels)` input.
    fn resolve(&self, input: Shape) -> Result<Resolved> {
        if input.rank() != 2 {
            return Err(Error::InvalidShape);
        }
        resolve(
            (1, input.dim(0), input.dim(1)),
            self.filters,
            [1, self.kernel_size],
            [1, self.strides],
            self.padding,
            [1, self.dilation_rate],
            self.groups,
            self.activation,
            self.use_bias,
        )
    }
}

impl Layer for Conv1D {
    const KERAS_CLASS: &'static str = "Conv1D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let r = self.resolve(input)?;
        Shape::new(&[r.g.out_w, r.g.out_c])
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let r = self.resolve(input)?;
        r.param_shapes(&[r.g.k_w])
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
