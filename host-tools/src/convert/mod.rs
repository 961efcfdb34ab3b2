//! Keras model → Ember blob.
//!
//! The converter maps each Keras layer class to an [`ember_nn::layers::LayerConfig`],
//! checking every config option: an option Ember does not implement is refused by name
//! ([`Error::UnsupportedOption`]), never approximated. Later issues add classes by adding
//! an arm to [`layer_config`].
//!
//! [`layer_configs`] is the full mapping: it may lower one Keras layer to several Ember
//! layers (`Dense(activation="gelu")` → `Dense(linear)` + `Activation(gelu)`).

use std::borrow::Cow;

use ember_nn::blob::{
    chain_node, encoded_len, encoded_len_graph_with_training, write, write_graph_with_training,
    GraphSpec, LayerSpec, NodeDesc, TrainingDesc,
};
use ember_nn::layers::{
    ActivationLayer, AlphaDropout, Dense, Dropout, Flatten, GaussianDropout, GaussianNoise,
    LayerAttrs, LayerConfig, LeakyReLU, PReLU, Permute, ReLU, RepeatVector, Reshape, Slice,
    Softmax, ThresholdedReLU, ELU,
};
use ember_nn::{Scalar, Shape, Q16_16};
use serde_json::Value;

pub mod compile;
mod conv;
mod conv_transpose;
mod depthwise;
mod effective;
mod embedding;
pub mod fold;
mod graph;
mod lambda;
mod legacy_activations;
mod merge;
mod normalization;
mod options;
mod pooling;
mod recurrent;
pub(crate) use recurrent::bidirectional_weights;
mod resizing;
mod training_attrs;

pub use compile::TrainingSettings;

use crate::blob_file::AlignedBytes;
use crate::keras::{KerasLayer, KerasModel};
use crate::{Error, Result};
use effective::{effective_layers, keras2_layers};
use options::{
    activation_option, float_option, fused_activation, int_list, require_float32, require_null,
    unsupported, ACTIVATIONS,
};

/// The numeric type the blob stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DTypeChoice {
    /// `f32` weights (MCUs with an FPU; matches Keras to float rounding).
    #[default]
    F32,
    /// Q16.16 fixed point (MCUs without an FPU).
    Fixed,
}

/// Layer classes the converter accepts (for error messages).
pub const SUPPORTED_CLASSES: &str = "Dense, Activation, ReLU, LeakyReLU, ELU, PReLU, Softmax, \
ThresholdedReLU, Flatten, Reshape, Permute, RepeatVector, Dropout, GaussianNoise, \
GaussianDropout, AlphaDropout, Conv1D, Conv2D, DepthwiseConv1D, DepthwiseConv2D, \
SeparableConv1D, SeparableConv2D, Conv1DTranspose, Conv2DTranspose, ZeroPadding1D, \
ZeroPadding2D, Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, MaxPooling1D, \
MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, \
GlobalAveragePooling1D, GlobalAveragePooling2D, BatchNormalization, LayerNormalization, \
Embedding, ParametricSoftplus, ThresholdedLinear, \
Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, Lambda, SimpleRNN, \
LSTM, GRU, Bidirectional";

/// One Ember layer produced from a Keras layer (a Keras layer gives one or two).
struct Lowered<'k> {
    name: String,
    config: LayerConfig,
    keras: &'k KerasLayer,
    /// Whether this Ember layer takes the Keras layer's weights (only the first does).
    weights: bool,
    /// Regularizers and constraints: the weights' go with the weights, the activity
    /// regularizer with the last Ember layer (the Keras layer's output).
    attrs: LayerAttrs,
}

impl Lowered<'_> {
    fn weights(&self) -> &[crate::keras::KerasWeight] {
        if self.weights {
            &self.keras.weights
        } else {
            &[]
        }
    }
}

/// Converts a Keras model read by [`crate::keras`] into blob bytes (16-byte aligned).
///
/// A Keras layer usually becomes one Ember layer. `Dense` with an activation whose
/// backward pass needs its input (`silu`/`swish`, `gelu`, … see
/// [`ember_nn::Activation::needs_input`]) becomes two:
/// `Dense(activation=linear)` named like the Keras layer, then an `Activation` layer
/// named `<name>/activation` (see [`layer_configs`]); layer indices after it shift by one.
pub fn convert(model: &KerasModel, dtype: DTypeChoice) -> Result<AlignedBytes> {
    convert_with(
        model,
        &ConvertOptions {
            dtype,
            fold_batchnorm: false,
            ..Default::default()
        },
    )
}

/// Conversion options (`ember convert`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvertOptions {
    /// The numeric type the blob stores (`--dtype`).
    pub dtype: DTypeChoice,
    /// Fold each `BatchNormalization` that directly follows a linear `Dense` or
    /// convolution into that layer's kernel and bias (`--fold-batchnorm`; see
    /// [`fold`]). The model computes the same function in inference (up to float
    /// rounding) with one layer less; the moving statistics can no longer train.
    pub fold_batchnorm: bool,
    /// The length of an open time axis (`--sequence-length`): a Keras input
    /// `(batch, None, features)` (stateful streaming models are often saved so) gets this
    /// many steps. `None`: open dimensions are an error.
    pub sequence_length: Option<usize>,
}

/// [`convert`] with [`ConvertOptions`].
///
/// A `Sequential` model becomes a chain; a functional or nested model ([`KerasModel::graph`])
/// or one with `TimeDistributed` becomes a graph (see the `graph` module). The model's compile settings
/// become the blob's training record ([`TrainingSettings::default`]; see
/// [`convert_with_training`]).
pub fn convert_with(model: &KerasModel, options: &ConvertOptions) -> Result<AlignedBytes> {
    convert_with_training(model, options, &TrainingSettings::default())
}

/// [`convert_with`] choosing the training record ([`compile`]): by default the one
/// Keras's `model.compile(...)` saved in the file; an option Ember does not implement is
/// [`Error::UnsupportedOption`] (convert with [`TrainingSettings::Skip`] to leave the
/// record out, or override the optimizer / loss).
pub fn convert_with_training(
    model: &KerasModel,
    options: &ConvertOptions,
    training: &TrainingSettings,
) -> Result<AlignedBytes> {
    let record = compile::training_record(model, training)?;
    convert_with_record(model, options, record.as_ref())
}

/// [`convert_with`] writing `training` as the blob's training record (e.g. the one
/// [`compile::training_record`] reads, with the batch size and trainable choice
/// `ember convert --train-batch/--trainable` add).
pub fn convert_with_record(
    model: &KerasModel,
    options: &ConvertOptions,
    training: Option<&TrainingDesc>,
) -> Result<AlignedBytes> {
    let keras2 = keras2_layers(model);
    let effective = effective_layers(keras2.as_deref().unwrap_or(&model.layers))?;
    if model.graph.is_some() || effective.iter().any(|(_, td)| *td) {
        return graph::convert_graph(model, &effective, options, training);
    }
    let dtype = options.dtype;
    let input = input_shape(model, options)?;
    let (mut lowered, _, outputs) = lower(&effective)?;
    if let Some(l) = outputs.iter().position(|o| !o.is_empty()) {
        return Err(Error::Config(format!(
            "layer `{}` returns several tensors (return_state or merge_mode=None), which only \
             a functional model can use",
            effective[l].0.name
        )));
    }
    // Check weight shapes against what each layer expects, with Keras-level messages.
    let mut shape = input;
    for lw in &lowered {
        check_weights(lw, shape)?;
        shape = lw.config.output_shape(shape)?;
    }
    let mut params = lowered_params(&lowered);
    if options.fold_batchnorm {
        fold::fold_batchnorm(input, &mut lowered, &mut params)?;
    }
    let topology = Topology::Chain(input);
    match dtype {
        DTypeChoice::F32 => encode::<f32>(model, &topology, &lowered, &params, training),
        DTypeChoice::Fixed => {
            encode::<Q16_16>(model, &topology, &lowered, &fixed(&params), training)
        }
    }
}

/// Lowers every Keras layer to its Ember layers; also returns, per Keras layer, the range
/// of its Ember layers.
/// Ember layers per Keras layer: each Keras layer's chain of Ember layers (its span), then,
/// for a layer whose call returns several tensors, one [`ember_nn::layers::Slice`] per
/// output (configured by the graph converter, which knows the shapes).
type LoweredLayers<'k> = (
    Vec<Lowered<'k>>,
    Vec<std::ops::Range<usize>>,
    Vec<std::ops::Range<usize>>,
);

fn lower<'k>(layers: &'k [(Cow<'k, KerasLayer>, bool)]) -> Result<LoweredLayers<'k>> {
    let mut lowered = Vec::new();
    let mut spans = Vec::new();
    let mut outputs = Vec::new();
    for (l, _) in layers {
        let l: &KerasLayer = l;
        if l.class_name == "NotEqual" {
            // Keras 3's mask plumbing (see `graph`): no Ember layer.
            spans.push(lowered.len()..lowered.len());
            outputs.push(lowered.len()..lowered.len());
            continue;
        }
        let attrs = layer_attrs(l)?;
        let configs = layer_configs(l)?;
        let last = configs.len() - 1;
        let start = lowered.len();
        for (i, config) in configs.into_iter().enumerate() {
            let mut a = if i == 0 { attrs } else { LayerAttrs::NONE };
            a.activity_regularizer = attrs.activity_regularizer.filter(|_| i == last);
            lowered.push(Lowered {
                attrs: a,
                name: if i == 0 {
                    l.name.clone()
                } else {
                    format!("{}/activation", l.name)
                },
                config,
                keras: l,
                weights: i == 0,
            });
        }
        spans.push(start..lowered.len());
        let first_slice = lowered.len();
        let count = crate::keras::config::call_outputs(&l.class_name, &l.config);
        for k in (0..count).filter(|_| count > 1) {
            lowered.push(Lowered {
                attrs: LayerAttrs::NONE,
                name: format!("{}/output_{k}", l.name),
                // A placeholder: the graph converter sets the range and shape.
                config: LayerConfig::Slice(Slice {
                    start: 0,
                    shape: Shape::new(&[1])?,
                }),
                keras: l,
                weights: false,
            });
        }
        outputs.push(first_slice..lowered.len());
    }
    Ok((lowered, spans, outputs))
}

/// Checks one Ember layer's weights against what it expects for `input`, with
/// Keras-level messages.
fn check_weights(lw: &Lowered<'_>, input: Shape) -> Result<()> {
    let (l, c) = (lw.keras, &lw.config);
    let expected = c.param_shapes(input)?;
    if expected.len() != lw.weights().len() {
        return Err(Error::Config(format!(
            "layer `{}` ({}): {} weight tensors in the file, {} expected",
            l.name,
            l.class_name,
            lw.weights().len(),
            expected.len()
        )));
    }
    for (i, (w, e)) in lw.weights().iter().zip(expected.iter()).enumerate() {
        let e: Vec<usize> = e.dims().iter().map(|&d| d as usize).collect();
        if w.shape != e {
            return Err(Error::WeightShape {
                layer: l.name.clone(),
                index: i,
                found: w.shape.clone(),
                expected: e,
            });
        }
    }
    let trainable = expected.len().saturating_sub(c.state_tensors());
    lw.attrs.check(&expected, trainable).map_err(|e| {
        Error::Config(format!(
            "layer `{}` ({}): its regularizers or constraints do not fit its weights \
             (a constraint axis the weight does not have?): {e:?}",
            l.name, l.class_name
        ))
    })
}

fn lowered_params(lowered: &[Lowered<'_>]) -> Vec<Vec<Vec<f32>>> {
    lowered
        .iter()
        .map(|l| l.weights().iter().map(|w| w.data.clone()).collect())
        .collect()
}

fn fixed(params: &[Vec<Vec<f32>>]) -> Vec<Vec<Vec<Q16_16>>> {
    params
        .iter()
        .map(|l| {
            l.iter()
                .map(|w| w.iter().map(|&v| Q16_16::from_f32(v)).collect())
                .collect()
        })
        .collect()
}

/// How the Ember layers connect.
enum Topology {
    /// One input, each layer feeding the next.
    Chain(Shape),
    /// A graph: input shapes, node records, output tensor ids.
    Graph {
        inputs: Vec<Shape>,
        nodes: Vec<NodeDesc>,
        outputs: Vec<u16>,
    },
}

fn encode<T: Scalar>(
    model: &KerasModel,
    topology: &Topology,
    lowered: &[Lowered<'_>],
    params: &[Vec<Vec<T>>],
    training: Option<&TrainingDesc>,
) -> Result<AlignedBytes> {
    let refs: Vec<Vec<&[T]>> = params
        .iter()
        .map(|l| l.iter().map(|p| p.as_slice()).collect())
        .collect();
    let specs: Vec<LayerSpec<'_, T>> = lowered
        .iter()
        .zip(&refs)
        .map(|(l, p)| LayerSpec {
            name: &l.name,
            trainable: l.keras.trainable,
            config: l.config,
            params: p,
            attrs: l.attrs,
        })
        .collect();
    match topology {
        Topology::Chain(input) if training.is_some() => {
            // A chain with a record: the graph writer, with the chain's nodes (the same
            // bytes as `write`, plus the record).
            let n =
                u16::try_from(specs.len()).map_err(|_| Error::Config("too many layers".into()))?;
            let nodes: Vec<NodeDesc> = (0..n).map(chain_node).collect();
            let inputs = [*input];
            let outputs = [n];
            let spec = GraphSpec {
                inputs: &inputs,
                nodes: &nodes,
                outputs: &outputs,
            };
            let len = encoded_len_graph_with_training(&model.name, &spec, &specs, training)?;
            let mut out = AlignedBytes::zeroed(len);
            write_graph_with_training(&model.name, &spec, &specs, training, out.as_mut_slice())?;
            Ok(out)
        }
        Topology::Chain(input) => {
            let len = encoded_len(&model.name, *input, &specs)?;
            let mut out = AlignedBytes::zeroed(len);
            write(&model.name, *input, &specs, out.as_mut_slice())?;
            Ok(out)
        }
        Topology::Graph {
            inputs,
            nodes,
            outputs,
        } => {
            let spec = GraphSpec {
                inputs,
                nodes,
                outputs,
            };
            let len = encoded_len_graph_with_training(&model.name, &spec, &specs, training)?;
            let mut out = AlignedBytes::zeroed(len);
            write_graph_with_training(&model.name, &spec, &specs, training, out.as_mut_slice())?;
            Ok(out)
        }
    }
}

fn input_shape(model: &KerasModel, options: &ConvertOptions) -> Result<Shape> {
    shape_of(&model.input_shape, options.sequence_length)
}

/// The Ember shape (no batch) of a Keras batch shape such as `[None, 8, 8, 1]`; an open
/// first axis (the time axis of a sequence) takes `sequence_length` when given.
fn shape_of(batch_shape: &[Option<usize>], sequence_length: Option<usize>) -> Result<Shape> {
    let dims = batch_shape.get(1..).unwrap_or(&[]);
    let dims = dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = if i == 0 { d.or(sequence_length) } else { *d };
            d.ok_or_else(|| {
                Error::Config(format!(
                    "input shape {batch_shape:?} has an open dimension; Ember needs fixed sizes \
                     (an open time axis: convert with --sequence-length N)"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Shape::new(&dims).map_err(|_| {
        Error::Config(format!(
            "input shape {batch_shape:?} is not supported (rank 1..=4 without batch, no zero dims)"
        ))
    })
}

/// Maps one Keras layer to its Ember configuration, refusing unsupported options.
///
/// For a `Dense` whose activation [`ember_nn::Activation::needs_input`] this is the layer's
/// `Dense(linear)` part; [`layer_configs`] gives the whole lowering.
pub fn layer_config(l: &KerasLayer) -> Result<LayerConfig> {
    let config = match l.class_name.as_str() {
        "Dense" => LayerConfig::Dense(dense(l)?),
        "Activation" => LayerConfig::Activation(activation_layer(l)?),
        "ReLU" => LayerConfig::ReLU(relu(l)?),
        "LeakyReLU" => LayerConfig::LeakyReLU(leaky_relu(l)?),
        "ELU" => LayerConfig::ELU(elu(l)?),
        "ThresholdedReLU" => LayerConfig::ThresholdedReLU(thresholded_relu(l)?),
        "Softmax" => LayerConfig::Softmax(softmax(l)?),
        "PReLU" => LayerConfig::PReLU(prelu(l)?),
        "Flatten" => LayerConfig::Flatten(flatten(l)?),
        "Reshape" => LayerConfig::Reshape(reshape(l)?),
        "Permute" => LayerConfig::Permute(permute(l)?),
        "RepeatVector" => LayerConfig::RepeatVector(repeat_vector(l)?),
        "Dropout" => {
            let (rate, seed) = noise_options(l, "rate")?;
            LayerConfig::Dropout(Dropout { rate, seed })
        }
        "GaussianNoise" => {
            let (stddev, seed) = noise_options(l, "stddev")?;
            LayerConfig::GaussianNoise(GaussianNoise { stddev, seed })
        }
        "GaussianDropout" => {
            let (rate, seed) = noise_options(l, "rate")?;
            LayerConfig::GaussianDropout(GaussianDropout { rate, seed })
        }
        "AlphaDropout" => {
            let (rate, seed) = noise_options(l, "rate")?;
            LayerConfig::AlphaDropout(AlphaDropout { rate, seed })
        }
        "BatchNormalization" => {
            LayerConfig::BatchNormalization(normalization::batch_normalization(l)?)
        }
        "LayerNormalization" => {
            LayerConfig::LayerNormalization(normalization::layer_normalization(l)?)
        }
        "MaxPooling1D" => LayerConfig::MaxPooling1D(pooling::max_pooling_1d(l)?),
        "MaxPooling2D" => LayerConfig::MaxPooling2D(pooling::max_pooling_2d(l)?),
        "AveragePooling1D" => LayerConfig::AveragePooling1D(pooling::average_pooling_1d(l)?),
        "AveragePooling2D" => LayerConfig::AveragePooling2D(pooling::average_pooling_2d(l)?),
        "GlobalMaxPooling1D" => LayerConfig::GlobalMaxPooling1D(pooling::global_max_pooling_1d(l)?),
        "GlobalMaxPooling2D" => LayerConfig::GlobalMaxPooling2D(pooling::global_max_pooling_2d(l)?),
        "GlobalAveragePooling1D" => {
            LayerConfig::GlobalAveragePooling1D(pooling::global_average_pooling_1d(l)?)
        }
        "GlobalAveragePooling2D" => {
            LayerConfig::GlobalAveragePooling2D(pooling::global_average_pooling_2d(l)?)
        }
        "Conv1DTranspose" => LayerConfig::Conv1DTranspose(conv_transpose::conv1d_transpose(l)?),
        "Conv2DTranspose" => LayerConfig::Conv2DTranspose(conv_transpose::conv2d_transpose(l)?),
        "ZeroPadding1D" => LayerConfig::ZeroPadding1D(resizing::zero_padding1d(l)?),
        "ZeroPadding2D" => LayerConfig::ZeroPadding2D(resizing::zero_padding2d(l)?),
        "Cropping1D" => LayerConfig::Cropping1D(resizing::cropping1d(l)?),
        "Cropping2D" => LayerConfig::Cropping2D(resizing::cropping2d(l)?),
        "UpSampling1D" => LayerConfig::UpSampling1D(resizing::up_sampling1d(l)?),
        "UpSampling2D" => LayerConfig::UpSampling2D(resizing::up_sampling2d(l)?),
        "Conv1D" => LayerConfig::Conv1D(conv::conv1d(l)?),
        "Conv2D" => LayerConfig::Conv2D(conv::conv2d(l)?),
        "DepthwiseConv1D" => LayerConfig::DepthwiseConv1D(depthwise::depthwise_conv1d(l)?),
        "DepthwiseConv2D" => LayerConfig::DepthwiseConv2D(depthwise::depthwise_conv2d(l)?),
        "SeparableConv1D" => LayerConfig::SeparableConv1D(depthwise::separable_conv1d(l)?),
        "SeparableConv2D" => LayerConfig::SeparableConv2D(depthwise::separable_conv2d(l)?),
        "Embedding" => LayerConfig::Embedding(embedding::embedding(l)?),
        "ParametricSoftplus" => {
            LayerConfig::ParametricSoftplus(legacy_activations::parametric_softplus(l)?)
        }
        "ThresholdedLinear" => {
            LayerConfig::ThresholdedLinear(legacy_activations::thresholded_linear(l)?)
        }
        "Lambda" => LayerConfig::Lambda(lambda::lambda(l)?),
        "Add" => LayerConfig::Add(merge::add(l)?),
        "Subtract" => LayerConfig::Subtract(merge::subtract(l)?),
        "Multiply" => LayerConfig::Multiply(merge::multiply(l)?),
        "Average" => LayerConfig::Average(merge::average(l)?),
        "Maximum" => LayerConfig::Maximum(merge::maximum(l)?),
        "Minimum" => LayerConfig::Minimum(merge::minimum(l)?),
        "Concatenate" => LayerConfig::Concatenate(merge::concatenate(l)?),
        "Dot" => LayerConfig::Dot(merge::dot(l)?),
        "SimpleRNN" => LayerConfig::SimpleRNN(recurrent::simple_rnn(l)?),
        "LSTM" => LayerConfig::LSTM(recurrent::lstm(l)?),
        "GRU" => LayerConfig::GRU(recurrent::gru(l)?),
        "Bidirectional" => LayerConfig::Bidirectional(recurrent::bidirectional(l)?),
        _ => {
            return Err(Error::UnsupportedLayer {
                layer: l.name.clone(),
                class: l.class_name.clone(),
                supported: SUPPORTED_CLASSES.into(),
            })
        }
    };
    // Refuse unsupported regularizers and constraints here too, by option name.
    layer_attrs(l)?;
    Ok(config)
}

/// The layer's regularizers and constraints (Keras's `kernel_regularizer`,
/// `bias_constraint`, `activity_regularizer`, …), each on the parameter index of its
/// weight; unsupported ones are refused by option name (see `convert/training_attrs.rs`). Every
/// class's `activity_regularizer` is read; the weight options of Dense, PReLU,
/// BatchNormalization, LayerNormalization and Embedding.
pub fn layer_attrs(l: &KerasLayer) -> Result<LayerAttrs> {
    let flag = |key: &str| l.config.get(key).and_then(Value::as_bool).unwrap_or(true);
    match l.class_name.as_str() {
        "Dense" => training_attrs::training_attrs(
            l,
            &[("kernel", Some(0)), ("bias", flag("use_bias").then_some(1))],
        ),
        "Conv1D" | "Conv2D" | "Conv1DTranspose" | "Conv2DTranspose" => {
            training_attrs::training_attrs(
                l,
                &[("kernel", Some(0)), ("bias", flag("use_bias").then_some(1))],
            )
        }
        "DepthwiseConv1D" | "DepthwiseConv2D" => training_attrs::training_attrs(
            l,
            &[
                ("depthwise", Some(0)),
                ("bias", flag("use_bias").then_some(1)),
            ],
        ),
        "SeparableConv1D" | "SeparableConv2D" => training_attrs::training_attrs(
            l,
            &[
                ("depthwise", Some(0)),
                ("pointwise", Some(1)),
                ("bias", flag("use_bias").then_some(2)),
            ],
        ),
        "SimpleRNN" | "LSTM" | "GRU" => training_attrs::training_attrs(
            l,
            &[
                ("kernel", Some(0)),
                ("recurrent", Some(1)),
                ("bias", flag("use_bias").then_some(2)),
            ],
        ),
        "PReLU" => training_attrs::training_attrs(l, &[("alpha", Some(0))]),
        "Embedding" => training_attrs::training_attrs(l, &[("embeddings", Some(0))]),
        "BatchNormalization" | "LayerNormalization" => {
            let (scale, center) = (flag("scale"), flag("center"));
            training_attrs::training_attrs(
                l,
                &[
                    ("gamma", scale.then_some(0)),
                    ("beta", center.then_some(usize::from(scale))),
                ],
            )
        }
        _ => training_attrs::training_attrs(l, &[]),
    }
}

/// Maps one Keras layer to the Ember layers that compute it, in order; the first takes
/// the Keras layer's weights. `Dense(activation=a)` with `a.needs_input()` (`silu`,
/// `gelu`, …) gives `[Dense(linear), Activation(a)]`, since a fused activation's backward
/// pass sees only the layer's output; every other layer gives one config.
pub fn layer_configs(l: &KerasLayer) -> Result<Vec<LayerConfig>> {
    let first = layer_config(l)?;
    let mut out = vec![first];
    if FUSED_ACTIVATION_CLASSES.contains(&l.class_name.as_str()) {
        let a = activation_option(l)?;
        if a.needs_input() {
            out.push(LayerConfig::Activation(ActivationLayer { activation: a }));
        }
    }
    Ok(out)
}

/// Keras classes with an `activation=` option fused into the layer. Their mapping reads
/// it with [`options::fused_activation`], and [`layer_configs`] appends an `Activation`
/// layer when the activation's backward pass needs its input.
const FUSED_ACTIVATION_CLASSES: &[&str] = &[
    "Dense",
    "Conv1D",
    "Conv2D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
];

fn dense(l: &KerasLayer) -> Result<Dense> {
    let c = &l.config;
    require_float32(l)?;
    require_null(l, &["lora_rank", "quantization_config"])?;
    let units_v = c.get("units").unwrap_or(&Value::Null);
    let units = units_v
        .as_u64()
        .filter(|&u| u > 0 && u <= u32::MAX as u64)
        .ok_or_else(|| unsupported(l, "units", units_v, "a positive integer"))?
        as u32;
    let activation = fused_activation(l)?;
    let use_bias = match c.get("use_bias") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(unsupported(l, "use_bias", v, "true or false")),
    };
    Ok(Dense {
        units,
        activation,
        use_bias,
    })
}

fn activation_layer(l: &KerasLayer) -> Result<ActivationLayer> {
    require_float32(l)?;
    if l.config.get("activation").is_none_or(Value::is_null) {
        return Err(unsupported(l, "activation", &Value::Null, ACTIVATIONS));
    }
    Ok(ActivationLayer {
        activation: activation_option(l)?,
    })
}

fn relu(l: &KerasLayer) -> Result<ReLU> {
    require_float32(l)?;
    let max_value = match l.config.get("max_value") {
        None | Some(Value::Null) => None,
        Some(_) => Some(float_option(l, "max_value", 0.0)?),
    };
    Ok(ReLU {
        max_value,
        negative_slope: float_option(l, "negative_slope", 0.0)?,
        threshold: float_option(l, "threshold", 0.0)?,
    })
}

fn leaky_relu(l: &KerasLayer) -> Result<LeakyReLU> {
    require_float32(l)?;
    // Keras 3 saves `negative_slope`; tf.keras 2 saved `alpha` (same meaning).
    let key = if l.config.get("negative_slope").is_some() {
        "negative_slope"
    } else {
        "alpha"
    };
    Ok(LeakyReLU {
        negative_slope: float_option(l, key, LeakyReLU::default().negative_slope)?,
    })
}

fn elu(l: &KerasLayer) -> Result<ELU> {
    require_float32(l)?;
    Ok(ELU {
        alpha: float_option(l, "alpha", 1.0)?,
    })
}

fn thresholded_relu(l: &KerasLayer) -> Result<ThresholdedReLU> {
    require_float32(l)?;
    Ok(ThresholdedReLU {
        theta: float_option(l, "theta", 1.0)?,
    })
}

fn softmax(l: &KerasLayer) -> Result<Softmax> {
    require_float32(l)?;
    let v = l.config.get("axis").unwrap_or(&Value::Null);
    let axis = match v {
        Value::Null => Some(-1),
        Value::Array(a) if a.len() == 1 => a[0].as_i64(),
        _ => v.as_i64(),
    };
    let axis = axis
        .and_then(|a| i32::try_from(a).ok())
        .ok_or_else(|| unsupported(l, "axis", v, "one integer axis"))?;
    Ok(Softmax { axis })
}

fn prelu(l: &KerasLayer) -> Result<PReLU> {
    require_float32(l)?;
    let v = l.config.get("shared_axes").unwrap_or(&Value::Null);
    let axes: Option<Vec<i64>> = match v {
        Value::Null => Some(Vec::new()),
        Value::Array(a) => a.iter().map(Value::as_i64).collect(),
        _ => v.as_i64().map(|a| vec![a]),
    };
    let shared_axes = axes
        .and_then(|a| PReLU::shared_axes_mask(&a))
        .ok_or_else(|| unsupported(l, "shared_axes", v, "null or axes in 1..=5"))?;
    Ok(PReLU { shared_axes })
}

fn flatten(l: &KerasLayer) -> Result<Flatten> {
    require_float32(l)?;
    // Keras saves the resolved data format; absent or null means the Keras default,
    // channels_last. channels_first (a transpose before flattening) is not implemented.
    match l.config.get("data_format") {
        None | Some(Value::Null) => Ok(Flatten),
        Some(Value::String(s)) if s == "channels_last" => Ok(Flatten),
        Some(v) => Err(unsupported(l, "data_format", v, "\"channels_last\"")),
    }
}

fn reshape(l: &KerasLayer) -> Result<Reshape> {
    require_float32(l)?;
    const SUPPORTED: &str = "up to 4 positive integers, one of which may be -1";
    let v = l.config.get("target_shape").unwrap_or(&Value::Null);
    let dims = int_list(l, "target_shape", SUPPORTED)?
        .into_iter()
        .map(i32::try_from)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| unsupported(l, "target_shape", v, SUPPORTED))?;
    Reshape::new(&dims).map_err(|_| unsupported(l, "target_shape", v, SUPPORTED))
}

fn permute(l: &KerasLayer) -> Result<Permute> {
    require_float32(l)?;
    const SUPPORTED: &str = "a permutation of 1..=k, k <= 4";
    let v = l.config.get("dims").unwrap_or(&Value::Null);
    let dims = int_list(l, "dims", SUPPORTED)?
        .into_iter()
        .map(usize::try_from)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| unsupported(l, "dims", v, SUPPORTED))?;
    Permute::new(&dims).map_err(|_| unsupported(l, "dims", v, SUPPORTED))
}

fn repeat_vector(l: &KerasLayer) -> Result<RepeatVector> {
    require_float32(l)?;
    let v = l.config.get("n").unwrap_or(&Value::Null);
    let n = v
        .as_u64()
        .filter(|&n| n > 0 && n <= u32::MAX as u64)
        .ok_or_else(|| unsupported(l, "n", v, "a positive integer"))? as u32;
    Ok(RepeatVector { n })
}

/// The options of the dropout and noise layers: the fraction or deviation `key` (required,
/// in `[0, 1]` as Keras checks) and `seed` (null or an integer; a negative one is kept as
/// its two's-complement bits). `noise_shape` must be null: a mask shared along axes is
/// not implemented.
fn noise_options(l: &KerasLayer, key: &str) -> Result<(f32, Option<u64>)> {
    require_float32(l)?;
    require_null(l, &["noise_shape"])?;
    let v = l.config.get(key).unwrap_or(&Value::Null);
    let value = v
        .as_f64()
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| unsupported(l, key, v, "a number in [0, 1]"))? as f32;
    let seed = match l.config.get("seed") {
        None | Some(Value::Null) => None,
        Some(s) => Some(
            s.as_u64()
                .or_else(|| s.as_i64().map(|i| i as u64))
                .ok_or_else(|| unsupported(l, "seed", s, "null or an integer"))?,
        ),
    };
    Ok((value, seed))
}
