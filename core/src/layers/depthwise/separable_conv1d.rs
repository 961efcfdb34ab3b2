//! [`SeparableConv1D`]: Keras's `keras.layers.SeparableConv1D`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;
use crate::Activation;

/// A 1-D depthwise-separable convolution: Keras's `keras.layers.SeparableConv1D(filters,
/// kernel_size, strides=1, padding="valid", data_format="channels_last",
/// dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True)`.
///
/// [`crate::layers::SeparableConv2D`] on a height-1 image: input `(steps, in_c)`, output
/// `(out_steps, filters)`. Keras 3 accepts `padding` `"valid"` and `"same"` only.
/// Parameters, in Keras's order: `depthwise_kernel` `(k, in_c, depth_multiplier)`,
/// `pointwise_kernel` `(1, in_c · depth_multiplier, filters)` and, if `use_bias`, `bias`
/// `(filters,)`. `in_c · depth_multiplier` may be at most
/// [`crate::kernels::optimized::separable::MAX_SEPARABLE_CHANNELS`].
///
/// ```
/// use ember_nn::layers::{Context, Layer, Padding, SeparableConv1D};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = SeparableConv1D {
///     filters: 2, kernel_size: 2, strides: 1, padding: Padding::Same, dilation_rate: 1,
///     depth_multiplier: 1, activation: Activation::Linear, use_bias: false,
/// };
/// let x = [1.0f32, 2.0]; // 2 steps, 1 channel
/// let depthwise = [1.0f32, 10.0]; // (2, 1, 1)
/// let pointwise = [1.0f32, -2.0]; // (1, 1, 2)
/// let mut y = [0.0f32; 4];
/// layer.forward(
///     &[&depthwise, &pointwise],
///     TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// // "same", even kernel: no padding before, one after. z = [1 + 20, 2] = [21, 2].
/// assert_eq!(y, [21.0, -42.0, 2.0, -4.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeparableConv1D {
    /// `filters`: output channels of the pointwise step.
    pub filters: u32,
    /// `kernel_size`.
    pub kernel_size: u32,
    /// `strides`.
    pub strides: u32,
    /// `padding`: [`Padding::Valid`] or [`Padding::Same`].
    pub padding: Padding,
    /// `dilation_rate`.
    pub dilation_rate: u32,
    /// `depth_multiplier`: depthwise filters per input channel.
    pub depth_multiplier: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl EngineLayer for SeparableConv1D {
    const KERAS_CLASS: &'static str = "SeparableConv1D";
    type Engine = Spec;

    fn engine(&self) -> Spec {
        Spec {
            kernel: [1, self.kernel_size],
            strides: [1, self.strides],
            dilation: [1, self.dilation_rate],
            padding: self.padding,
            depth_multiplier: self.depth_multiplier,
            activation: self.activation,
            use_bias: self.use_bias,
            filters: Some(self.filters),
            one_d: true,
        }
    }
}
