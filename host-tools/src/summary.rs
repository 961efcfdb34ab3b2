//! `ember inspect`: a Keras-style summary of a blob with its exact memory needs.

use ember_nn::blob::Blob;
use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::LayerAttrs;
use ember_nn::model::Graph;
use ember_nn::regularizers::Regularizer;
use ember_nn::{DType, MemoryPlan, Scalar, Sequential, TrainConfig, Q16_16};
use serde::Serialize;

use crate::Result;

/// One row of the summary table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerRow {
    /// Layer name.
    pub name: String,
    /// Keras class.
    pub class: String,
    /// Output shape with the batch as `None`.
    pub output_shape: Vec<Option<usize>>,
    /// Parameter count.
    pub params: usize,
    /// Multiply-accumulates per sample.
    pub macs: usize,
    /// Whether the layer trains under the given training configuration.
    pub trains: bool,
    /// Parameter elements of the layer's trainable tensors (all but state such as moving
    /// statistics).
    pub trainable_params: usize,
    /// Of those, the elements that train under the given training configuration (only
    /// the bias under `--trainable bias-only`).
    pub trained_params: usize,
    /// Regularizers and constraints, Keras-style (`"param 0: L2(l2=0.01)"`,
    /// `"activity: L1(l1=0.01)"`); empty when the layer has none.
    pub training_attrs: Vec<String>,
}

/// Everything `ember inspect` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Model name.
    pub name: String,
    /// Weight type, `"F32"` or `"Q16_16"`.
    pub dtype: String,
    /// Input shape with the batch as `None`.
    pub input_shape: Vec<Option<usize>>,
    /// Layers.
    pub layers: Vec<LayerRow>,
    /// Total parameters.
    pub total_params: usize,
    /// MACs per sample.
    pub macs: usize,
    /// Size of the blob.
    pub blob_bytes: usize,
    /// Bytes of the raw weights (parameters × element size), for comparison.
    pub raw_weight_bytes: usize,
    /// Inference batch the arena figure is for.
    pub inference_batch: usize,
    /// Exact arena bytes for inference.
    pub arena_inference_bytes: usize,
    /// Exact arena bytes for training (with [`Summary::training_config`]).
    pub arena_training_bytes: usize,
    /// Human-readable description of the training configuration.
    pub training_config: String,
    /// Breakdown of training memory: params, grads, optimizer, layer state (moving
    /// statistics), activations, gradient buffers.
    pub training_breakdown: [usize; 6],
}

/// Summarises a blob for inference batches of `batch` and the training configuration
/// `train`.
pub fn summarize(blob: &[u8], batch: usize, train: &TrainConfig) -> Result<Summary> {
    let (header, _) = Blob::parse(blob)?.graph()?;
    match header.dtype {
        DType::Q16_16 => summarize_as::<Q16_16>(blob, batch, train),
        _ => summarize_as::<f32>(blob, batch, train),
    }
}

fn with_batch(dims: &[u32]) -> Vec<Option<usize>> {
    std::iter::once(None)
        .chain(dims.iter().map(|&d| Some(d as usize)))
        .collect()
}

fn summarize_as<T: Scalar>(blob: &[u8], batch: usize, train: &TrainConfig) -> Result<Summary> {
    let graph = Graph::<T>::parse(blob)?;
    let training = MemoryPlan::training(&graph, train)?;
    let layers: Vec<LayerRow> = graph
        .layers()
        .iter()
        .enumerate()
        .map(|(k, l)| LayerRow {
            name: l.name.to_string(),
            class: l.config.keras_class().to_string(),
            output_shape: with_batch(l.output.dims()),
            params: l.param_count(),
            macs: l.config.macs(l.input),
            trains: !training.trained_tensors(k).is_empty(),
            trainable_params: l.trainable_param_count(),
            trained_params: l.param_count_of(training.trained_tensors(k)),
            training_attrs: describe_attrs(&l.attrs),
        })
        .collect();
    Ok(Summary {
        name: graph.name().to_string(),
        dtype: format!("{:?}", T::DTYPE),
        input_shape: with_batch(graph.input_shape().dims()),
        total_params: graph.param_count(),
        macs: graph.macs(),
        blob_bytes: blob.len(),
        raw_weight_bytes: graph.param_count() * core::mem::size_of::<T>(),
        inference_batch: batch,
        arena_inference_bytes: Sequential::<T>::inference_bytes(blob, batch)?,
        arena_training_bytes: training.total_bytes(),
        training_config: describe(train),
        training_breakdown: [
            training.params_bytes,
            training.grads_bytes,
            training.optimizer_bytes,
            training.state_bytes,
            training.activations_bytes,
            training.gradient_buffers_bytes,
        ],
        layers,
    })
}

/// `batch 16, SGD(learning_rate=0.01, momentum=0.9, nesterov=False), CategoricalCrossentropy,
/// trainable All`.
fn describe(t: &TrainConfig) -> String {
    format!(
        "batch {}, {}, {:?}, trainable {:?}",
        t.batch_size,
        crate::train_spec::describe_optimizer(&t.optimizer),
        t.loss,
        t.trainable
    )
}

/// Keras-style text of a layer's regularizers and constraints.
pub fn describe_attrs(a: &LayerAttrs) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &a.activity_regularizer {
        out.push(format!("activity: {}", regularizer_str(r)));
    }
    for (i, (r, c)) in a.regularizers.iter().zip(&a.constraints).enumerate() {
        let parts: Vec<String> = r
            .iter()
            .map(regularizer_str)
            .chain(c.iter().map(constraint_str))
            .collect();
        if !parts.is_empty() {
            out.push(format!("param {i}: {}", parts.join(", ")));
        }
    }
    out
}

fn regularizer_str(r: &Regularizer) -> String {
    match *r {
        Regularizer::L1 { l1 } => format!("L1(l1={l1})"),
        Regularizer::L2 { l2 } => format!("L2(l2={l2})"),
        Regularizer::L1L2 { l1, l2 } => format!("L1L2(l1={l1}, l2={l2})"),
    }
}

fn axes_str(a: NormAxes) -> String {
    let mut axes: Vec<i32> = (0..8).filter(|i| a.from_start & (1 << i) != 0).collect();
    axes.extend(
        (0..8)
            .filter(|i| a.from_end & (1 << i) != 0)
            .map(|i| -i - 1),
    );
    match axes.as_slice() {
        [one] => one.to_string(),
        many => format!("{many:?}"),
    }
}

fn constraint_str(c: &Constraint) -> String {
    match *c {
        Constraint::MaxNorm { max_value, axis } => {
            format!("MaxNorm(max_value={max_value}, axis={})", axes_str(axis))
        }
        Constraint::NonNeg => "NonNeg()".into(),
        Constraint::UnitNorm { axis } => format!("UnitNorm(axis={})", axes_str(axis)),
        Constraint::MinMaxNorm {
            min_value,
            max_value,
            rate,
            axis,
        } => format!(
            "MinMaxNorm(min_value={min_value}, max_value={max_value}, rate={rate}, axis={})",
            axes_str(axis)
        ),
    }
}

fn shape_str(s: &[Option<usize>]) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|d| d.map_or("None".to_string(), |d| d.to_string()))
        .collect();
    format!("({})", parts.join(", "))
}

/// Renders the summary as Keras's `model.summary()`-style text.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!("Model: \"{}\"  (weights {})\n", s.name, s.dtype));
    let rule = "─".repeat(78);
    out.push_str(&format!("{rule}\n"));
    out.push_str(&format!(
        "{:<30} {:<22} {:>10} {:>12}\n",
        "Layer (type)", "Output Shape", "Param #", "MACs"
    ));
    out.push_str(&format!("{rule}\n"));
    for l in &s.layers {
        let mark = if !l.trains {
            " (frozen)".to_string()
        } else if l.trained_params < l.trainable_params {
            format!(" (trains {})", l.trained_params)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{:<30} {:<22} {:>10} {:>12}\n",
            format!("{} ({}){}", l.name, l.class, mark),
            shape_str(&l.output_shape),
            l.params,
            l.macs
        ));
        for a in &l.training_attrs {
            out.push_str(&format!("    {a}\n"));
        }
    }
    out.push_str(&format!("{rule}\n"));
    out.push_str(&format!(" Total params: {}\n", s.total_params));
    out.push_str(&format!(" MACs per sample: {}\n", s.macs));
    out.push_str(&format!(
        " Blob: {} bytes (raw weights {} bytes, overhead {} bytes)\n",
        s.blob_bytes,
        s.raw_weight_bytes,
        s.blob_bytes as i64 - s.raw_weight_bytes as i64
    ));
    out.push_str(&format!(
        " Arena, inference (batch {}): {} bytes\n",
        s.inference_batch, s.arena_inference_bytes
    ));
    let b = s.training_breakdown;
    out.push_str(&format!(
        " Arena, training ({}): {} bytes\n   = params {} + grads {} + optimizer {} + layer state {} + activations {} + gradient buffers {}\n",
        s.training_config, s.arena_training_bytes, b[0], b[1], b[2], b[3], b[4], b[5]
    ));
    out
}
