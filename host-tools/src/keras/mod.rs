//! Reading Keras models.
//!
//! [`read_keras_file`] and [`read_keras_bytes`] turn a Keras 3 `.keras` archive, or a
//! legacy HDF5 `.h5` model file (Keras 3 or tf.keras 2), into a [`KerasModel`]: the
//! model's layers in order, each with its Keras config and its weights as `f32` tensors. Nothing here knows which layers Ember supports; that check belongs to
//! the converter, which reads [`KerasLayer::class_name`] and [`KerasLayer::config`].
//!
//! The reader is split by concern so other dialects can plug in:
//!
//! * [`archive`]: the `.keras` zip container (`config.json`, `metadata.json`,
//!   `model.weights.h5`).
//! * [`config`]: `config.json` → the layer list and call graph ([`config::ModelConfig`]),
//!   using [`tree`] (the nesting of models and layers, both call dialects) and [`graph`]
//!   (flattening the calls into a [`KerasGraph`]).
//! * [`weights`]: `model.weights.h5` → per-layer weight tensors, matched to layers by the
//!   `name` attribute Keras writes, or by Keras's class-name + counter key when it is missing.
//! * [`legacy_h5`]: a legacy `.h5` model file (`model.save("model.h5")`): `model_config`
//!   attribute (parsed by [`config`]) and the `model_weights` group.
//!
//! Supported: Keras 3 `.keras` files and legacy `.h5` model files (both the Keras 3 and
//! the tf.keras 2 dialect) holding a `Sequential` or `Functional` model with float32
//! weights, with nested models (a `Sequential` or `Functional` used as a layer) at any
//! depth and shared layers (a layer, or a nested model, called several times). A model
//! that is a plain chain of layers has [`KerasModel::graph`] `None`; any other has its
//! call graph there. A weights-only HDF5 file (`save_weights`) is reported as
//! [`Error::Config`] saying it has no architecture.
//!
//! Every malformed input (bad zip, missing entry, unexpected JSON, missing or mistyped
//! dataset) is an `Err`; the reader does not panic on file data.

pub mod archive;
pub mod config;
pub mod graph;
pub mod legacy_h5;
pub mod tree;
pub mod weights;

use std::path::Path;

use crate::error::{Error, Result};

/// A Keras model as read from a file: its layers with configs and weights, and how they
/// are called.
#[derive(Debug, Clone, PartialEq)]
pub struct KerasModel {
    /// Keras model class: `"Sequential"` or `"Functional"` (a legacy `"Model"` reads as
    /// `"Functional"`).
    pub class_name: String,
    /// The model's name (`config.name` in `config.json` or in the `.h5` `model_config`).
    pub name: String,
    /// The Keras version that saved the file (`keras_version` in `metadata.json`, or the
    /// root `keras_version` attribute of a legacy `.h5` file), when present.
    pub keras_version: Option<String>,
    /// The model's input batch shape, including the leading batch dimension, e.g.
    /// `[None, 4]`. `None` marks a dimension Keras leaves open.
    ///
    /// Taken from the `InputLayer`'s `batch_shape` (or `batch_input_shape`), else from the
    /// model's `build_input_shape`, else from the first layer's `build_config.input_shape`.
    /// For a model with a [`graph`](Self::graph), the first input's shape.
    pub input_shape: Vec<Option<usize>>,
    /// The leaf layers, each once even when called several times: in config order, a
    /// nested model's layers in its place (depth first), `InputLayer`s and the nested
    /// models themselves excluded. Names are unique across the whole model (the reader
    /// refuses two leaf layers of one name in different nested models).
    ///
    /// A leaf is trainable only if it and every model containing it are.
    pub layers: Vec<KerasLayer>,
    /// `None` for a model that is a plain chain of `layers`: a `Sequential`, possibly with
    /// nested `Sequential`s (flattened into `layers`), where layer `i` is called once on
    /// layer `i - 1`'s output. `Some` for every `Functional` model (even a chain) and for a
    /// `Sequential` that is not a plain chain (it holds a nested `Functional` with branches).
    pub graph: Option<KerasGraph>,
    /// What `model.compile(...)` saved, untouched: a `.keras` file's `compile_config`
    /// (`{"optimizer": {...}, "loss": ..., "metrics": ..., ...}`) or a legacy `.h5`
    /// file's `training_config` attribute (the same with `optimizer_config` for
    /// `optimizer`). `None` for a model saved without `compile` (or with `null`).
    pub compile_config: Option<serde_json::Value>,
}

/// The call graph of a [`KerasModel`], nested models flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasGraph {
    /// Model inputs in the model's input order (Keras `model.inputs`).
    pub inputs: Vec<KerasInput>,
    /// Every call of every leaf layer, in a topological order (a node refers only to
    /// inputs and to earlier nodes). Nested models are flattened: a nested `Sequential` is
    /// a chain of calls, a nested `Functional` is inlined with its inputs bound to the
    /// tensors the outer call passed; a nested model called twice appears twice. The
    /// order is Keras's own (`functional_from_config`'s) order of processing the calls.
    pub nodes: Vec<KerasNode>,
    /// Model outputs in Keras's output order (Keras `model.outputs`).
    pub outputs: Vec<TensorRef>,
}

/// One input of a [`KerasGraph`] (Keras: an `InputLayer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasInput {
    /// The `InputLayer`'s name.
    pub name: String,
    /// Its batch shape including the batch dimension (`None` = open), e.g. `[None, 4]`.
    pub shape: Vec<Option<usize>>,
}

/// One call of a leaf layer in a [`KerasGraph`]. It has exactly one output tensor,
/// [`TensorRef::Node`] of its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasNode {
    /// The layer called: index into [`KerasModel::layers`].
    pub layer: usize,
    /// The call's input tensors in call order (a merge layer gets several).
    pub inputs: Vec<TensorRef>,
    /// The tensor passed as `mask=` (Keras 3's explicit mask plumbing: the output of a
    /// `NotEqual(ids, 0)` call), `None` without one.
    pub mask: Option<TensorRef>,
}

/// A tensor of a [`KerasGraph`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorRef {
    /// Model input `i` ([`KerasGraph::inputs`]).
    Input(usize),
    /// The (first) output of node `i` ([`KerasGraph::nodes`]).
    Node(usize),
    /// Output `k ≥ 1` of node `i`, a layer call with several outputs
    /// (`LSTM(return_state=True)` → `[output, h, c]`, `Bidirectional(merge_mode=None)`).
    Output(usize, usize),
}

/// One layer of a [`KerasModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct KerasLayer {
    /// The layer's name (`config.name`), unique within the model.
    pub name: String,
    /// Keras class name, e.g. `"Dense"`, `"Conv2D"`, `"LSTM"`.
    pub class_name: String,
    /// The layer's `config` object from `config.json` (or the `.h5` `model_config`), untouched (so `dtype` may be a
    /// `DTypePolicy` object rather than a string, initializers are nested objects, ...).
    pub config: serde_json::Value,
    /// `config.trainable` (`true` when absent).
    pub trainable: bool,
    /// The layer's weights in the order Keras saves them.
    ///
    /// For a plain layer that is Keras's own variable order (trainable, then
    /// non-trainable): Dense is `[kernel (in, out), bias (out)]`, BatchNormalization is
    /// `[gamma, beta, moving_mean, moving_variance]` (minus the ones `scale`/`center`
    /// switch off). A layer holding sub-layers (LSTM's `cell`, Bidirectional's
    /// `forward_layer`/`backward_layer`) stores them in nested groups: the layer's own
    /// variables come first, then each sub-object's, sub-objects sorted by attribute name
    /// as Keras walks them (so Bidirectional lists `backward_layer` before
    /// `forward_layer`). [`KerasWeight::path`] tells which is which.
    ///
    /// Empty for layers without weights (Dropout, Flatten, activations, ...).
    pub weights: Vec<KerasWeight>,
}

/// One weight tensor of a [`KerasLayer`].
#[derive(Debug, Clone, PartialEq)]
pub struct KerasWeight {
    /// The dataset's path in the weights HDF5 file, without a leading `/`, e.g.
    /// `"layers/dense_1/vars/0"` or `"layers/lstm/cell/vars/2"` in a `.keras` file,
    /// `"model_weights/dense/dense/kernel:0"` (tf.keras 2) or
    /// `"model_weights/dense/my_model/dense/kernel"` (Keras 3) in a legacy `.h5` file. A
    /// layer of a nested model: `"layers/functional/layers/dense/vars/0"` (`.keras`),
    /// `"model_weights/inner/inner/dense/kernel"` (Keras 3 `.h5`, nested `Sequential`
    /// `inner`) or `"model_weights/inner/dense/kernel:0"` (tf.keras 2).
    pub path: String,
    /// The tensor's shape, outermost dimension first (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// The values in row-major (C) order; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

/// Magic bytes that start a zip local file header (every `.keras` archive).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// Magic bytes of an HDF5 file with no user block (legacy Keras `.h5` models).
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Read a Keras model file from disk.
///
/// Reads the whole file and hands it to [`read_keras_bytes`].
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; otherwise whatever [`read_keras_bytes`]
/// reports.
pub fn read_keras_file(path: &Path) -> Result<KerasModel> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_keras_bytes(&bytes)
}

/// Read a Keras model from the bytes of a `.keras` file or of a legacy `.h5` model file.
///
/// Bytes starting with the HDF5 signature go to [`legacy_h5::read_legacy_h5`] (see there
/// for its errors); everything else must be a `.keras` zip.
///
/// # Errors
///
/// * [`Error::Archive`]: neither a zip nor an HDF5 file, a damaged zip or HDF5 file, or a
///   missing `config.json` / `model.weights.h5` entry.
/// * [`Error::Config`]: `config.json` or `metadata.json` is not the JSON Keras writes, no
///   input shape can be found, or the layer calls of a `Functional` model do not form a
///   graph (see [`graph::build_graph`]); an HDF5 file without `model_config` (weights only).
/// * [`Error::Hdf5`]: `model.weights.h5` (or an `.h5` file's `model_weights` group) is
///   unreadable, a layer's weights cannot be found or matched unambiguously, or a weight is
///   not float32.
pub fn read_keras_bytes(bytes: &[u8]) -> Result<KerasModel> {
    if bytes.starts_with(HDF5_MAGIC) {
        return legacy_h5::read_legacy_h5(bytes);
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(Error::Archive(
            "neither a zip file (a `.keras` file is a zip archive starting with `PK`) nor an \
             HDF5 file (a legacy `.h5` model)"
                .into(),
        ));
    }
    let archive = archive::KerasArchive::from_bytes(bytes)?;
    let keras_version = match &archive.metadata_json {
        Some(json) => config::parse_keras_version(json)?,
        None => None,
    };
    let model = config::parse_model_config(&archive.config_json)?;
    let weights = weights::read_keras3_weights(archive.weights_h5, &model)?;
    let mut keras_model = assemble(model, weights, keras_version);
    keras_model.compile_config = config::parse_compile_config(&archive.config_json)?;
    Ok(keras_model)
}

/// Attach per-layer weights (one list per [`config::ModelConfig::layers`] entry, in that
/// order; missing trailing lists mean no weights) to a parsed config.
pub fn assemble(
    model: config::ModelConfig,
    weights: Vec<Vec<KerasWeight>>,
    keras_version: Option<String>,
) -> KerasModel {
    let mut weights = weights.into_iter();
    let layers = model
        .layers
        .into_iter()
        .map(|layer| KerasLayer {
            name: layer.name,
            class_name: layer.class_name,
            config: layer.config,
            trainable: layer.trainable,
            weights: weights.next().unwrap_or_default(),
        })
        .collect();
    KerasModel {
        class_name: model.class_name,
        name: model.name,
        keras_version,
        input_shape: model.input_shape,
        layers,
        graph: model.graph,
        compile_config: None,
    }
}
