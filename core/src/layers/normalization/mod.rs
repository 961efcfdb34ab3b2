//! Normalization layers.

mod batch_normalization;
mod layer_normalization;
mod moments;

pub use batch_normalization::BatchNormalization;
pub use layer_normalization::LayerNormalization;
