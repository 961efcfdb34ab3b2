//! [`DepthwiseConv2D`]: Keras's `keras.layers.DepthwiseConv2D`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;
use crate::Activation;

/// A 2-D depthwise convolution: Keras's `keras.layers.DepthwiseConv2D(kernel_size,
/// strides=(1, 1), padding="valid", depth_multiplier=1, data_format="channels_last",
/// dilation_rate=(1, 1), activation=None, use_bias=True)`.
///
/// Input `(h, w, in_c)`, output `(out_h, out_w, in_c · depth_multiplier)`; output channel
/// `c · depth_multiplier + m` is input channel `c` convolved with its filter `m`:
/// `y[oy][ox][c·dm + m] = activation(b[c·dm + m] + Σ_ky Σ_kx x[oy·s_h + ky·d_h − pad_top]
/// [ox·s_w + kx·d_w − pad_left][c] · kernel[ky][kx][c][m])`, taps in the padding reading
/// zero. Output sizes and padding follow [`Padding`] (`"same"` puts the smaller half of the
/// padding first, as XLA). Parameters, in Keras's order: `kernel` of shape
/// `(k_h, k_w, in_c, depth_multiplier)` and, if `use_bias`, `bias` of shape
/// `(in_c · depth_multiplier,)`. Strides and dilations may both exceed 1 (the JAX backend
/// allows it). An activation that needs its input (`silu`, `gelu`) is refused, as for
/// [`crate::layers::Dense`].
///
/// ```
/// use ember_nn::layers::{Context, DepthwiseConv2D, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = DepthwiseConv2D {
///     kernel_size: [2, 2], strides: [1, 1], padding: Padding::Valid,
///     dilation_rate: [1, 1], depth_multiplier: 1, activation: Activation::Linear,
///     use_bias: true,
/// };
/// // One 2×2 image with 2 channels: channel 0 is 1, 2, 3, 4; channel 1 is 10, 20, 30, 40.
/// let x = [1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
/// let kernel = [1.0f32, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]; // (2, 2, 2, 1)
/// let bias = [0.5f32, -1.0];
/// let mut y = [0.0f32; 2];
/// layer.forward(
///     &[&kernel, &bias],
///     TensorView::new(Shape::new(&[1, 2, 2, 2]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 1, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [10.5, 4.0]); // [1+2+3+4 + 0.5, 0.5·10 − 1]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DepthwiseConv2D {
    /// `kernel_size` `(k_h, k_w)`.
    pub kernel_size: [u32; 2],
    /// `strides` `(s_h, s_w)`.
    pub strides: [u32; 2],
    /// `padding`: [`Padding::Valid`] or [`Padding::Same`].
    pub padding: Padding,
    /// `dilation_rate` `(d_h, d_w)`.
    pub dilation_rate: [u32; 2],
    /// `depth_multiplier`: filters per input channel.
    pub depth_multiplier: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl EngineLayer for DepthwiseConv2D {
    const KERAS_CLASS: &'static str = "DepthwiseConv2D";
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
            filters: None,
            one_d: false,
        }
    }
}
