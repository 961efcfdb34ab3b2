//! The activation layers: Keras's `keras.layers.Activation` and the "advanced
//! activation" layers (`ReLU`, `LeakyReLU`, `ELU`, `PReLU`, `Softmax`, and Keras 2's
//! `ThresholdedReLU`), plus two legacy Keras 1 layers ([`ParametricSoftplus`],
//! [`ThresholdedLinear`]). All keep the input shape; [`PReLU`] and [`ParametricSoftplus`]
//! have parameters.

mod activation;
mod common;
mod elu;
mod leaky_relu;
mod parametric_softplus;
mod prelu;
mod relu;
mod softmax;
mod thresholded_linear;
mod thresholded_relu;

pub use activation::ActivationLayer;
pub(crate) use common::check;
pub use elu::ELU;
pub use leaky_relu::LeakyReLU;
pub use parametric_softplus::ParametricSoftplus;
pub use prelu::PReLU;
pub use relu::ReLU;
pub use softmax::Softmax;
pub use thresholded_linear::ThresholdedLinear;
pub use thresholded_relu::ThresholdedReLU;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;

    /// The encodings `core/docs/blob-format.md` documents.
    #[test]
    fn blob_encoding_matches_the_spec() {
        let enc = |c: LayerConfig| postcard::to_allocvec(&c).unwrap();
        let relu = LayerConfig::ReLU(ReLU {
            max_value: Some(1.0),
            negative_slope: 0.0,
            threshold: 0.0,
        });
        assert_eq!(enc(relu), [2, 1, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(enc(LayerConfig::ReLU(ReLU::default()))[..2], [2, 0]);
        assert_eq!(enc(LayerConfig::Softmax(Softmax { axis: -1 })), [6, 1]);
        assert_eq!(enc(LayerConfig::Softmax(Softmax { axis: 2 })), [6, 4]);
        assert_eq!(
            enc(LayerConfig::PReLU(PReLU { shared_axes: 0b110 })),
            [7, 6]
        );
        let a = LayerConfig::Activation(ActivationLayer {
            activation: crate::Activation::Gelu,
        });
        assert_eq!(enc(a), [1, 12]);
    }
}
