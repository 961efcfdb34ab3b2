//! `ember inspect`: a Keras-style summary of a blob with its exact memory needs.
//!
//! A chain (a Keras `Sequential` model) is summarised with [`MemoryPlan`], one row per
//! layer, as Keras's `Sequential.summary()`. A graph (a Keras functional model: several
//! inputs or outputs, branches, merges, shared layers) is summarised with
//! [`FunctionalPlan`], one row per layer *call* with Keras's "Connected to" column, as
//! Keras's `Model.summary()`.

use ember_nn::blob::Blob;
use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::LayerAttrs;
use ember_nn::model::{FunctionalPlan, Graph};
use ember_nn::regularizers::Regularizer;
use ember_nn::{DType, MemoryPlan, Scalar, Sequential, TrainConfig, Q16_16};
use serde::Serialize;

use crate::Result;

/// One row of the summary table: a layer of a chain, or one call of a layer (a Keras
/// node) of a graph.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerRow {
    /// Layer name.
    pub name: String,
    /// Keras class (`TimeDistributed(Dense)` for a call under Keras's `TimeDistributed`).
    pub class: String,
    /// Output shape with the batch as `None`.
    pub output_shape: Vec<Option<usize>>,
    /// Parameter count (0 on the later calls of a shared layer: its weights are counted
    /// on its first call).
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
    /// Which call of the layer this row is (Keras's node index: 0 for the first call).
    pub call: usize,
    /// A later call of a layer called before (a shared layer): its parameters are counted
    /// on the first call's row.
    pub shared: bool,
    /// The tensors the call reads, Keras's "Connected to": `input_<i>` for model input
    /// `i`, `<layer>[<call>][0]` for the output of a layer call.
    pub connected_to: Vec<String>,
}

/// A model input or output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TensorInfo {
    /// `input_<i>`, or the producing call as `<layer>[<call>][0]`.
    pub name: String,
    /// Shape with the batch as `None`.
    pub shape: Vec<Option<usize>>,
}

/// Everything `ember inspect` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Model name.
    pub name: String,
    /// Weight type, `"F32"` or `"Q16_16"`.
    pub dtype: String,
    /// Input shape with the batch as `None` (of the first input).
    pub input_shape: Vec<Option<usize>>,
    /// Whether the model is a graph (a Keras functional model) rather than a chain (a
    /// Keras `Sequential` model); graphs have one row per layer call.
    pub graph: bool,
    /// The model's inputs, in Keras's `model.inputs` order.
    pub inputs: Vec<TensorInfo>,
    /// The model's outputs, in Keras's `model.outputs` order.
    pub outputs: Vec<TensorInfo>,
    /// Rows: one per layer (chains) or per layer call (graphs).
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
    /// Training memory's scratch region: the recurrent layers' state, gates and saved
    /// steps (0 without recurrent layers); part of [`Summary::arena_training_bytes`].
    pub training_scratch_bytes: usize,
    /// Models with recurrent layers that can stream ([`ember_nn::model::Stream`]): its
    /// arena bytes and the state buffer's elements.
    pub stream: Option<StreamSummary>,
    /// Graphs: the inference arena's activation bytes as planned (dead buffers reused);
    /// `None` for chains.
    pub inference_activations_bytes: Option<usize>,
    /// Graphs: what the inference activations would take with one buffer per node output
    /// (no reuse); the difference to [`Summary::inference_activations_bytes`] is what the
    /// planner saves. `None` for chains.
    pub inference_unplanned_activation_bytes: Option<usize>,
}

/// What streaming a recurrent model one step at a time needs.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct StreamSummary {
    /// Exact arena bytes ([`ember_nn::model::Stream::arena_bytes`]).
    pub arena_bytes: usize,
    /// Elements of the caller's state buffer ([`ember_nn::model::Stream::state_elems`]).
    pub state_elems: usize,
}

/// The streaming figures of a blob with recurrent layers that can stream.
fn stream_summary<T: Scalar>(blob: &[u8], recurrent: bool) -> Option<StreamSummary> {
    if !recurrent {
        return None;
    }
    Some(StreamSummary {
        arena_bytes: ember_nn::model::Stream::<T>::arena_bytes(blob).ok()?,
        state_elems: ember_nn::model::Stream::<T>::state_elems(blob).ok()?,
    })
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

/// `input_<i>` for model input `i`; `<layer>[<call>][0]` for node `k`'s output.
fn tensor_name<T: Scalar>(graph: &Graph<'_, T>, id: usize) -> String {
    let n_in = graph.inputs().len();
    match id.checked_sub(n_in) {
        None => format!("input_{id}"),
        Some(k) => {
            let nodes = graph.nodes();
            let layer = nodes[k].layer;
            let call = nodes[..k].iter().filter(|n| n.layer == layer).count();
            format!("{}[{call}][0]", graph.layers()[layer].name)
        }
    }
}

fn tensor_info<T: Scalar>(graph: &Graph<'_, T>, id: usize) -> Result<TensorInfo> {
    Ok(TensorInfo {
        name: tensor_name(graph, id),
        shape: with_batch(graph.tensor_shape(id)?.dims()),
    })
}

fn io_of<T: Scalar>(graph: &Graph<'_, T>) -> Result<(Vec<TensorInfo>, Vec<TensorInfo>)> {
    let inputs = (0..graph.inputs().len())
        .map(|i| tensor_info(graph, i))
        .collect::<Result<_>>()?;
    let outputs = graph
        .outputs()
        .iter()
        .map(|&o| tensor_info(graph, o as usize))
        .collect::<Result<_>>()?;
    Ok((inputs, outputs))
}

fn summarize_as<T: Scalar>(blob: &[u8], batch: usize, train: &TrainConfig) -> Result<Summary> {
    let graph = Graph::<T>::parse(blob)?;
    if !graph.is_chain() {
        return summarize_graph(blob, &graph, batch, train);
    }
    let (inputs, outputs) = io_of(&graph)?;
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
            call: 0,
            shared: false,
            connected_to: vec![tensor_name(&graph, k)],
        })
        .collect();
    Ok(Summary {
        name: graph.name().to_string(),
        dtype: format!("{:?}", T::DTYPE),
        input_shape: with_batch(graph.input_shape().dims()),
        graph: false,
        inputs,
        outputs,
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
        training_scratch_bytes: training.scratch_bytes,
        stream: stream_summary::<T>(blob, graph.layers().iter().any(|l| l.config.is_recurrent())),
        inference_activations_bytes: None,
        inference_unplanned_activation_bytes: None,
        layers,
    })
}

/// The summary of a graph: one row per node, [`FunctionalPlan`]'s arena figures.
fn summarize_graph<T: Scalar>(
    blob: &[u8],
    graph: &Graph<'_, T>,
    batch: usize,
    train: &TrainConfig,
) -> Result<Summary> {
    let inference = FunctionalPlan::inference(graph, batch, None)?;
    let training = FunctionalPlan::training(graph, train)?;
    let regions = training.regions();
    let (inputs, outputs) = io_of(graph)?;
    let nodes = graph.nodes();
    let mut layers = Vec::with_capacity(nodes.len());
    for (k, node) in nodes.iter().enumerate() {
        let l = &graph.layers()[node.layer];
        let call = nodes[..k].iter().filter(|n| n.layer == node.layer).count();
        let shared = call > 0;
        let macs = if node.time_distributed {
            l.config.macs(l.input).saturating_mul(node.output.dim(0))
        } else {
            let shapes = node
                .inputs
                .iter()
                .map(|&t| graph.tensor_shape(t as usize))
                .collect::<core::result::Result<Vec<_>, _>>()?;
            l.config.macs_n(&shapes)
        };
        let class = l.config.keras_class();
        let mask = regions.trained_tensors(node.layer);
        // A shared layer's weights count once: on its first call's row.
        let first = |n: usize| if shared { 0 } else { n };
        layers.push(LayerRow {
            name: l.name.to_string(),
            class: if node.time_distributed {
                format!("TimeDistributed({class})")
            } else {
                class.to_string()
            },
            output_shape: with_batch(node.output.dims()),
            params: first(l.param_count()),
            macs,
            trains: !mask.is_empty(),
            trainable_params: first(l.trainable_param_count()),
            trained_params: first(l.param_count_of(mask)),
            training_attrs: if shared {
                Vec::new()
            } else {
                describe_attrs(&l.attrs)
            },
            call,
            shared,
            connected_to: node
                .inputs
                .iter()
                .map(|&t| tensor_name(graph, t as usize))
                .collect(),
        });
    }
    Ok(Summary {
        name: graph.name().to_string(),
        dtype: format!("{:?}", T::DTYPE),
        input_shape: with_batch(graph.input_shape().dims()),
        graph: true,
        inputs,
        outputs,
        total_params: graph.param_count(),
        macs: graph.macs(),
        blob_bytes: blob.len(),
        raw_weight_bytes: graph.param_count() * core::mem::size_of::<T>(),
        inference_batch: batch,
        arena_inference_bytes: inference.total_bytes(),
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
        training_scratch_bytes: training.scratch_bytes,
        stream: None,
        inference_activations_bytes: Some(inference.activations_bytes),
        inference_unplanned_activation_bytes: Some(inference.unplanned_activation_bytes),
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

/// `" (frozen)"`, `" (trains 10)"` or `" (shared)"` after a row's name.
fn row_mark(l: &LayerRow) -> String {
    if l.shared {
        " (shared)".to_string()
    } else if !l.trains {
        " (frozen)".to_string()
    } else if l.trained_params < l.trainable_params {
        format!(" (trains {})", l.trained_params)
    } else {
        String::new()
    }
}

fn io_str(ts: &[TensorInfo]) -> String {
    ts.iter()
        .map(|t| format!("{} {}", t.name, shape_str(&t.shape)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the summary as Keras's `model.summary()`-style text (with Keras's
/// "Connected to" column for graphs).
pub fn render(s: &Summary) -> String {
    if s.graph {
        return render_graph(s);
    }
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
        out.push_str(&format!(
            "{:<30} {:<22} {:>10} {:>12}\n",
            format!("{} ({}){}", l.name, l.class, row_mark(l)),
            shape_str(&l.output_shape),
            l.params,
            l.macs
        ));
        for a in &l.training_attrs {
            out.push_str(&format!("    {a}\n"));
        }
    }
    out.push_str(&format!("{rule}\n"));
    render_totals(s, &mut out);
    out
}

/// The graph table: one row per layer call, with the tensors it reads.
fn render_graph(s: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Model: \"{}\"  (weights {}; functional: {} inputs, {} outputs, {} layer calls)\n",
        s.name,
        s.dtype,
        s.inputs.len(),
        s.outputs.len(),
        s.layers.len()
    ));
    let rule = "─".repeat(110);
    out.push_str(&format!("{rule}\n"));
    out.push_str(&format!(
        "{:<34} {:<20} {:>9} {:>10}   {}\n",
        "Layer (type)", "Output Shape", "Param #", "MACs", "Connected to"
    ));
    out.push_str(&format!("{rule}\n"));
    for l in &s.layers {
        out.push_str(&format!(
            "{:<34} {:<20} {:>9} {:>10}   {}\n",
            format!("{} ({}){}", l.name, l.class, row_mark(l)),
            shape_str(&l.output_shape),
            l.params,
            l.macs,
            l.connected_to.join(", ")
        ));
        for a in &l.training_attrs {
            out.push_str(&format!("    {a}\n"));
        }
    }
    out.push_str(&format!("{rule}\n"));
    out.push_str(&format!(" Inputs: {}\n", io_str(&s.inputs)));
    out.push_str(&format!(" Outputs: {}\n", io_str(&s.outputs)));
    render_totals(s, &mut out);
    out
}

/// Totals, blob size and arena figures (the planner's saving for graphs).
fn render_totals(s: &Summary, out: &mut String) {
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
    if let (Some(planned), Some(unplanned)) = (
        s.inference_activations_bytes,
        s.inference_unplanned_activation_bytes,
    ) {
        out.push_str(&format!(
            "   = activations {planned} (one buffer per layer call: {unplanned}; the planner \
             reuses dead buffers and saves {})\n",
            unplanned.saturating_sub(planned)
        ));
    }
    let b = s.training_breakdown;
    let scratch = match s.training_scratch_bytes {
        0 => String::new(),
        n => format!(" + scratch {n}"),
    };
    out.push_str(&format!(
        " Arena, training ({}): {} bytes\n   = params {} + grads {} + optimizer {} + layer state {} + activations {} + gradient buffers {}{scratch}\n",
        s.training_config, s.arena_training_bytes, b[0], b[1], b[2], b[3], b[4], b[5]
    ));
    if let Some(st) = s.stream {
        out.push_str(&format!(
            " Streaming (one step per call, ember_nn::model::Stream): arena {} bytes, state {} elements\n",
            st.arena_bytes, st.state_elems
        ));
    }
}
