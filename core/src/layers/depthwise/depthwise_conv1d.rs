//! [`DepthwiseConv1D`]: Keras's `keras.layers.DepthwiseConv1D`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;
use crate::Activation;

/// A 1-D depthwise convolution: Keras's `keras.layers.DepthwiseConv1D(kernel_size,
/// strides=1, padding="valid", depth_multiplier=1, data_format="channels_last",
/// dilation_rate=1, activation=None, use_bias=True)`.
///
/// Input `(steps, in_c)`, output `(out_steps, in_c · depth_multiplier)`, computed as
/// [`crate::layers::DepthwiseConv2D`] on a height-1 image:
/// `y[t][c·dm + m] = activation(b[c·dm + m] + Σ_k x[t·s + k·d − pad][c] · kernel[k][c][m])`.
/// Keras 3 accepts `padding` `"valid"` and `"same"` only (no `"causal"` for this class).
/// Parameters, in Keras's order: `kernel` of shape `(k, in_c, depth_multiplier)` and, if
/// `use_bias`, `bias` of shape `(in_c · depth_multiplier,)`.
///
/// ```
/// use ember_nn::layers::{Context, DepthwiseConv1D, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = DepthwiseConv1D {
///     kernel_size: 2, strides: 1, padding: Padding::Valid, dilation_rate: 1,
///     depth_multiplier: 2, activation: Activation::Relu, use_bias: false,
/// };
/// let x = [1.0f32, 2.0, 3.0]; // 3 steps, 1 channel
/// let kernel = [1.0f32, -1.0, 1.0, -1.0]; // (2, 1, 2): filter 0 sums, filter 1 negates
/// let mut y = [0.0f32; 4];
/// layer.forward(
///     &[&kernel],
///     TensorView::new(Shape::new(&[1, 3, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [3.0, 0.0, 5.0, 0.0]); // [relu(1+2), relu(-3), relu(2+3), relu(-5)]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DepthwiseConv1D {
    /// `kernel_size`.
    pub kernel_size: u32,
    /// `strides`.
    pub strides: u32,
    /// `padding`: [`Padding::Valid`] or [`Padding::Same`].
    pub padding: Padding,
    /// `dilation_rate`.
    pub dilation_rate: u32,
    /// `depth_multiplier`: filters per input channel.
    pub depth_multiplier: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl EngineLayer for DepthwiseConv1D {
    const KERAS_CLASS: &'static str = "DepthwiseConv1D";
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
            filters: None,
            one_d: true,
        }
    }
}
