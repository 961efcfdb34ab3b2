//! The one error type of the core.

use crate::DType;

/// Everything that can go wrong in `ember-nn`.
///
/// No function in the core panics on bad input — a malformed blob, a too-small arena, a
/// wrongly sized slice — it returns one of these instead. The enum is `#[non_exhaustive]`:
/// later releases add variants without breaking `match`es that have a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The arena is smaller than the memory plan needs. `needed` is exact: an arena of
    /// `needed` bytes (16-byte aligned) works.
    ArenaTooSmall {
        /// Bytes the plan needs.
        needed: usize,
        /// Bytes the caller provided.
        available: usize,
    },
    /// The arena does not start at a multiple of `align` bytes (use [`crate::ArenaBuffer`]).
    ArenaMisaligned {
        /// Required alignment in bytes.
        align: usize,
    },
    /// The blob does not start at a multiple of `align` bytes, so its weights cannot be read
    /// in place (use [`crate::AlignedBlob`] or `ember_cli::build` in a build script).
    BlobMisaligned {
        /// Required alignment in bytes.
        align: usize,
    },
    /// The blob is shorter than its header or its sections say.
    BlobTruncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The blob does not start with the Ember magic `EMBR`.
    BadMagic,
    /// The blob's format version is not one this build reads.
    UnsupportedVersion {
        /// Version in the blob.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The payload's CRC-32 does not match the header: the blob is corrupted.
    ChecksumMismatch {
        /// CRC stored in the header.
        expected: u32,
        /// CRC of the payload as read.
        computed: u32,
    },
    /// The blob is internally inconsistent (bad section bounds, undecodable graph, a weight
    /// outside its section, ...). The string says what.
    MalformedBlob(&'static str),
    /// The blob stores `found` but the model was instantiated for `expected`.
    DTypeMismatch {
        /// The numeric type the model was instantiated with.
        expected: DType,
        /// The numeric type stored in the blob.
        found: DType,
    },
    /// The model has more layers than the `Sequential`'s capacity `N`.
    TooManyLayers {
        /// Capacity of the model type.
        max: usize,
    },
    /// A tensor has a length or shape that does not fit where it is used.
    ShapeMismatch {
        /// Elements expected.
        expected: usize,
        /// Elements found.
        found: usize,
    },
    /// A shape would have more than [`crate::MAX_RANK`] dimensions, or a zero or overflowing
    /// size.
    InvalidShape,
    /// A layer or model configuration is invalid; the string says which field.
    InvalidConfig(&'static str),
    /// A training call on a model that was loaded for inference only.
    NotTraining,
    /// The blob has a layer whose family this build of `ember-nn` leaves out: enable the
    /// cargo feature named (see [`crate::layers::LayerConfig::feature`]).
    LayerNotCompiled {
        /// Keras class of the layer.
        class: &'static str,
        /// The `ember-nn` cargo feature that compiles it.
        feature: &'static str,
    },
    /// A batch larger than the batch size the training memory was planned for.
    BatchTooLarge {
        /// Planned batch size.
        max: usize,
        /// Batch given.
        found: usize,
    },
    /// Element `index` of a sparse target (`y_true` of
    /// [`crate::Loss::SparseCategoricalCrossentropy`]) is not a class index in
    /// `0..classes`.
    LabelOutOfRange {
        /// Position in `y_true`.
        index: usize,
        /// Number of classes (the last axis of `y_pred`).
        classes: usize,
    },
    /// Element `index` of an index input (the token ids of
    /// [`crate::layers::Embedding`]) is not a whole number in `0..len`.
    IndexOutOfRange {
        /// Position in the input (batch included, row-major).
        index: usize,
        /// Number of valid indices (the embedding table's `input_dim`).
        len: usize,
    },
    /// Layer `layer` is a `Lambda` whose function is not registered: load the model with
    /// the [`crate::layers::LambdaFn`] of that layer's name (see
    /// [`crate::model::Functional::new_with_lambdas`]).
    UnresolvedLambda {
        /// Index of the layer in the blob.
        layer: usize,
    },
    /// A checkpoint storage could not save or load (a file or flash write failed); the
    /// string says what failed. See [`crate::model::callbacks::CheckpointStorage`].
    Storage(&'static str),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::ArenaTooSmall { needed, available } => write!(
                f,
                "arena too small: the model needs {needed} bytes, {available} given"
            ),
            Error::ArenaMisaligned { align } => {
                write!(f, "arena must start at a multiple of {align} bytes")
            }
            Error::BlobMisaligned { align } => {
                write!(f, "blob must start at a multiple of {align} bytes")
            }
            Error::BlobTruncated { needed, available } => {
                write!(
                    f,
                    "blob truncated: {needed} bytes needed, {available} present"
                )
            }
            Error::BadMagic => write!(f, "not an Ember blob (bad magic)"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "blob format version {found} is not supported (this build reads {supported})"
            ),
            Error::ChecksumMismatch { expected, computed } => write!(
                f,
                "blob corrupted: CRC-32 {computed:#010x} does not match header {expected:#010x}"
            ),
            Error::MalformedBlob(what) => write!(f, "malformed blob: {what}"),
            Error::DTypeMismatch { expected, found } => write!(
                f,
                "blob holds {found:?} weights but the model was built for {expected:?}"
            ),
            Error::TooManyLayers { max } => {
                write!(f, "model has more layers than the capacity {max}")
            }
            Error::ShapeMismatch { expected, found } => {
                write!(
                    f,
                    "shape mismatch: expected {expected} elements, found {found}"
                )
            }
            Error::InvalidShape => write!(f, "invalid shape"),
            Error::LayerNotCompiled { class, feature } => write!(
                f,
                "layer {class} is not compiled in: enable ember-nn's `{feature}` feature"
            ),
            Error::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            Error::NotTraining => write!(f, "model was not loaded for training"),
            Error::BatchTooLarge { max, found } => {
                write!(f, "batch of {found} exceeds the planned batch size {max}")
            }
            Error::LabelOutOfRange { index, classes } => {
                write!(f, "y_true[{index}] is not a class index in 0..{classes}")
            }
            Error::UnresolvedLambda { layer } => write!(
                f,
                "layer {layer} is a Lambda whose function is not registered"
            ),
            Error::IndexOutOfRange { index, len } => {
                write!(f, "input[{index}] is not an index in 0..{len}")
            }
            Error::Storage(what) => write!(f, "checkpoint storage failed: {what}"),
        }
    }
}

/// `core::error::Error` (stable since Rust 1.81): usable with `?` into
/// `Box<dyn std::error::Error>` on the host, with no `std` in the core.
impl core::error::Error for Error {}

/// Result alias for the core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
