//! [`SeparableConv2D`]: Keras's `keras.layers.SeparableConv2D`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;
use crate::Activation;

/// A 2-D depthwise-separable convolution: Keras's `keras.layers.SeparableConv2D(filters,
/// kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
/// dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True)`.
///
/// A [`crate::layers::DepthwiseConv2D`] without bias (`in_c · depth_multiplier`
/// intermediate channels `z`, rounded to the number type as Keras's intermediate
/// `float32` tensor is), then a 1×1 convolution — a Dense product over the channel axis —
/// with bias and activation: `y[p][j] = activation(b[j] + Σ_i z[p][i] · pointwise[i][j])`.
/// Parameters, in Keras's order: `depthwise_kernel` `(k_h, k_w, in_c, depth_multiplier)`,
/// `pointwise_kernel` `(1, 1, in_c · depth_multiplier, filters)` and, if `use_bias`,
/// `bias` `(filters,)`.
///
/// `in_c · depth_multiplier` may be at most
/// [`crate::kernels::optimized::separable::MAX_SEPARABLE_CHANNELS`] (512): the forward
/// pass keeps one pixel's intermediate channels on the stack (the layer interface has no
/// scratch memory); a larger layer is refused with [`crate::Error::InvalidConfig`]. The
/// backward pass needs no buffer: it recomputes the intermediate values it sums (see
/// [`crate::kernels::optimized::separable`]).
///
/// ```
/// use ember_nn::layers::{Context, Layer, Padding, SeparableConv2D};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = SeparableConv2D {
///     filters: 1, kernel_size: [1, 2], strides: [1, 1], padding: Padding::Valid,
///     dilation_rate: [1, 1], depth_multiplier: 1, activation: Activation::Linear,
///     use_bias: true,
/// };
/// let x = [1.0f32, 10.0, 2.0, 20.0]; // one 1×2 image, 2 channels
/// let depthwise = [1.0f32, 1.0, 1.0, 0.5]; // (1, 2, 2, 1)
/// let pointwise = [2.0f32, -1.0]; // (1, 1, 2, 1)
/// let bias = [0.25f32];
/// let mut y = [0.0f32; 1];
/// layer.forward(
///     &[&depthwise, &pointwise, &bias],
///     TensorView::new(Shape::new(&[1, 1, 2, 2]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 1, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// // z = [1 + 2, 10 + 0.5·20] = [3, 20]; y = 0.25 + 2·3 − 20
/// assert_eq!(y, [-13.75]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeparableConv2D {
    /// `filters`: output channels of the pointwise step.
    pub filters: u32,
    /// `kernel_size` `(k_h, k_w)`.
    pub kernel_size: [u32; 2],
    /// `strides` `(s_h, s_w)`.
    pub strides: [u32; 2],
    /// `padding`: [`Padding::Valid`] or [`Padding::Same`].
    pub padding: Padding,
    /// `dilation_rate` `(d_h, d_w)`.
    pub dilation_rate: [u32; 2],
    /// `depth_multiplier`: depthwise filters per input channel.
    pub depth_multiplier: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl EngineLayer for SeparableConv2D {
    const KERAS_CLASS: &'static str = "SeparableConv2D";
    type Engine = Spec;

    fn engine(&self) -> Spec {
        Spec {
            kernel: self.kernel_size,
            strides: self.strides,
            dilation: self.dilation_rate,
            padding: self.padding,
            depth_multiplier: self.depth_multiplier,
            activation: self.activation,
            use_bias: self.use_bias,
            filters: Some(self.filters),
            one_d: false,
        }
    }
}
