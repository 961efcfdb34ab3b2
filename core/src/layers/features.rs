//! [`LayerConfig::feature`]: which cargo feature of `ember-nn` compiles each layer
//! family, so firmware keeps only the families its models use.

use super::LayerConfig;
use crate::Error;

impl LayerConfig {
    /// The cargo feature of `ember-nn` that compiles this layer's forward and backward
    /// passes (`None`: always compiled). Disabling a family keeps its variants (blob
    /// variant indices never change) but drops their code from the firmware.
    pub fn feature(&self) -> Option<&'static str> {
        match self {
            LayerConfig::Conv1D(_)
            | LayerConfig::Conv2D(_)
            | LayerConfig::DepthwiseConv1D(_)
            | LayerConfig::DepthwiseConv2D(_)
            | LayerConfig::SeparableConv1D(_)
            | LayerConfig::SeparableConv2D(_)
            | LayerConfig::Conv1DTranspose(_)
            | LayerConfig::Conv2DTranspose(_) => Some("conv"),
            LayerConfig::ZeroPadding1D(_)
            | LayerConfig::ZeroPadding2D(_)
            | LayerConfig::Cropping1D(_)
            | LayerConfig::Cropping2D(_)
            | LayerConfig::UpSampling1D(_)
            | LayerConfig::UpSampling2D(_) => Some("resizing"),
            LayerConfig::MaxPooling1D(_)
            | LayerConfig::MaxPooling2D(_)
            | LayerConfig::AveragePooling1D(_)
            | LayerConfig::AveragePooling2D(_)
            | LayerConfig::GlobalMaxPooling1D(_)
            | LayerConfig::GlobalMaxPooling2D(_)
            | LayerConfig::GlobalAveragePooling1D(_)
            | LayerConfig::GlobalAveragePooling2D(_) => Some("pooling"),
            LayerConfig::BatchNormalization(_) | LayerConfig::LayerNormalization(_) => {
                Some("normalization")
            }
            LayerConfig::SimpleRNN(_)
            | LayerConfig::LSTM(_)
            | LayerConfig::GRU(_)
            | LayerConfig::Bidirectional(_) => Some("recurrent"),
            _ => None,
        }
    }

    /// Whether this build of `ember-nn` can run the layer (its [`LayerConfig::feature`] is
    /// enabled). [`crate::model::Graph::parse`] refuses a blob with a layer that cannot.
    pub fn is_compiled(&self) -> bool {
        match self.feature() {
            None => true,
            Some("conv") => cfg!(feature = "conv"),
            Some("resizing") => cfg!(feature = "resizing"),
            Some("pooling") => cfg!(feature = "pooling"),
            Some("normalization") => cfg!(feature = "normalization"),
            Some("recurrent") => cfg!(feature = "recurrent"),
            Some(_) => false,
        }
    }

    /// The error for running a layer whose family is not compiled in.
    pub(in crate::layers) fn not_compiled(&self) -> Error {
        Error::LayerNotCompiled {
            class: self.keras_class(),
            feature: self.feature().unwrap_or(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Context;
    use crate::layers::{Conv2D, Padding};
    use crate::{Activation, Shape, TensorView, TensorViewMut};

    /// `cargo test -p ember-nn --no-default-features --lib` runs the disabled side.
    #[test]
    fn families_report_their_feature() {
        let conv = LayerConfig::Conv2D(Conv2D {
            filters: 1,
            kernel_size: [1, 1],
            strides: [1, 1],
            padding: Padding::Valid,
            dilation_rate: [1, 1],
            groups: 1,
            activation: Activation::Linear,
            use_bias: false,
        });
        assert_eq!(conv.feature(), Some("conv"));
        assert_eq!(conv.is_compiled(), cfg!(feature = "conv"));
        let s = Shape::new(&[1, 1, 1]).unwrap();
        let (x, w) = ([1.0f32], [2.0f32]);
        let mut y = [0.0f32];
        let r = conv.forward(
            &[&w],
            TensorView::new(s.with_batch(1).unwrap(), &x).unwrap(),
            TensorViewMut::new(s.with_batch(1).unwrap(), &mut y).unwrap(),
            &Context::default(),
        );
        if cfg!(feature = "conv") {
            assert_eq!((r, y), (Ok(()), [2.0]));
        } else {
            assert_eq!(
                r,
                Err(Error::LayerNotCompiled {
                    class: "Conv2D",
                    feature: "conv"
                })
            );
        }
    }
}
