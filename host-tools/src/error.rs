//! The one error type of `ember-cli`.

use std::path::PathBuf;

/// Everything that can go wrong in the host tools.
///
/// Every failure is a value of this enum; the `ember` binary prints it to stderr and exits
/// with status 1. Nothing in the host tools panics on bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The `.keras` zip container is unreadable or lacks an entry.
    #[error("invalid .keras archive: {0}")]
    Archive(String),
    /// The HDF5 weights file is unreadable or lacks an expected group or dataset.
    #[error("invalid HDF5 weights: {0}")]
    Hdf5(String),
    /// `config.json` (or an `.h5` `model_config`) is not what Keras writes.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A layer class Ember does not implement.
    #[error("layer `{layer}`: class `{class}` is not supported by Ember (supported: {supported})")]
    UnsupportedLayer {
        /// Layer name in the Keras model.
        layer: String,
        /// Keras class name.
        class: String,
        /// What is supported instead.
        supported: String,
    },
    /// A layer option Ember does not implement.
    #[error("layer `{layer}` ({class}): option `{option}` = {value} is not supported (supported: {supported})")]
    UnsupportedOption {
        /// Layer name in the Keras model.
        layer: String,
        /// Keras class name.
        class: String,
        /// The config key.
        option: String,
        /// The value found.
        value: String,
        /// What is supported instead.
        supported: String,
    },
    /// A weight tensor has a shape that does not match its layer.
    #[error("layer `{layer}`: weight {index} has shape {found:?}, expected {expected:?}")]
    WeightShape {
        /// Layer name.
        layer: String,
        /// Index of the weight in Keras order.
        index: usize,
        /// Shape found in the file.
        found: Vec<usize>,
        /// Shape the layer needs.
        expected: Vec<usize>,
    },
    /// An `.npy`/`.csv` tensor file is unreadable or has the wrong shape or type.
    #[error("tensor file {path}: {msg}")]
    Tensor {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The core library refused the blob or the model.
    #[error("{0}")]
    Core(ember_nn::Error),
}

impl From<ember_nn::Error> for Error {
    fn from(e: ember_nn::Error) -> Self {
        Error::Core(e)
    }
}

/// Result alias for the host tools.
pub type Result<T, E = Error> = core::result::Result<T, E>;
