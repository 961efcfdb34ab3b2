//! [`Functional`]: run and train a graph model (Keras's functional API) from a blob, in a
//! static arena: several inputs and outputs, branches, merges, shared layers and
//! `TimeDistributed` calls.

mod plan;
mod train;

pub(crate) use plan::check_unmasked;
pub use plan::FunctionalPlan;

use heapless::Vec;

use super::runtime::{layer_context, params_of, Training};
use super::{Graph, Node, TrainConfig, DEFAULT_MAX_LAYERS};
use crate::arena::{split_around, typed, Around};
use crate::blob::{MAX_MODEL_IO, MAX_NODE_INPUTS};
use crate::layers::{Context, LambdaFn, LayerConfig};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A Keras functional model loaded from a blob: `predict`, and `train_on_batch` when
/// loaded with [`Functional::for_training`].
///
/// The nodes run in blob order (a topological order). Weights are read in place; in
/// inference the arena holds only node outputs that are still to be read, placed by the
/// greedy planner so that dead buffers are reused ([`FunctionalPlan`]). Training keeps
/// every node output for the backward pass, which walks the nodes in reverse and adds up
/// the gradients where branches join (a tensor read by several nodes) and the parameter
/// gradients of a shared layer (one layer called by several nodes).
///
/// A Keras `Sequential` model is a graph too (a chain); [`crate::Sequential`] runs
/// chains with less bookkeeping.
///
/// ```
/// use ember_nn::blob::{write_graph, GraphSpec, LayerSpec, NodeDesc};
/// use ember_nn::layers::{Dense, LayerConfig};
/// use ember_nn::model::Functional;
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Shape};
///
/// // Two inputs of 2 features; one Dense(1) shared by both; outputs: each input's score.
/// let dense = LayerConfig::Dense(Dense { units: 1, activation: Activation::Linear, use_bias: true });
/// let (kernel, bias) = ([1.0f32, 2.0], [0.5f32]);
/// let params: [&[f32]; 2] = [&kernel, &bias];
/// let layers = [LayerSpec::new("shared", true, dense, &params)];
/// let nodes = [NodeDesc::call(0, &[0]).unwrap(), NodeDesc::call(0, &[1]).unwrap()];
/// let two = Shape::new(&[2]).unwrap();
/// // Tensors: 0, 1 = inputs; 2, 3 = the two calls' outputs.
/// let graph = GraphSpec { inputs: &[two, two], nodes: &nodes, outputs: &[2, 3] };
/// let mut blob = AlignedBlob([0u8; 512]);
/// let len = write_graph("siamese", &graph, &layers, &mut blob.0).unwrap();
///
/// let mut arena = ArenaBuffer::<64>::new();
/// let mut model = Functional::<f32>::new(&blob.0[..len], arena.as_mut_bytes(), 1).unwrap();
/// let (mut a, mut b) = ([0.0f32; 1], [0.0f32; 1]);
/// model.predict(&[&[1.0, 1.0], &[0.0, 1.0]], &mut [&mut a, &mut b]).unwrap();
/// assert_eq!((a, b), ([3.5], [2.5]));
/// // Both outputs go straight to the caller's buffers: no arena needed.
/// assert_eq!(model.memory_plan().total_bytes(), 0);
/// ```
#[derive(Debug)]
pub struct Functional<'a, T, const N: usize = DEFAULT_MAX_LAYERS> {
    graph: Graph<'a, T, N>,
    plan: FunctionalPlan<N>,
    activations: &'a mut [T],
    gbufs: &'a mut [T],
    /// The recurrent layers' working memory ([`FunctionalPlan::scratch_bytes`]).
    scratch: &'a mut [T],
    training: Option<Training<'a, T>>,
    /// The registered Lambda functions, and per layer the index of its function.
    lambdas: &'a [LambdaFn<T>],
    resolved: Vec<Option<u8>, N>,
}

impl<'a, T: Scalar, const N: usize> Functional<'a, T, N> {
    /// Exact arena bytes to run `predict` on `batch` samples at a time.
    pub fn inference_bytes(blob: &[u8], batch: usize) -> Result<usize> {
        let graph = Graph::<T, N>::parse(blob)?;
        Ok(FunctionalPlan::inference(&graph, batch, None)?.total_bytes())
    }

    /// Exact arena bytes to train with `config` (and predict with the same batch).
    pub fn training_bytes(blob: &[u8], config: &TrainConfig) -> Result<usize> {
        let graph = Graph::<T, N>::parse(blob)?;
        Ok(FunctionalPlan::training(&graph, config)?.total_bytes())
    }

    /// Loads a blob for inference, `batch` samples per forward pass.
    pub fn new(blob: &'a [u8], arena: &'a mut [u8], batch: usize) -> Result<Self> {
        Self::with_outputs(blob, arena, batch, None, &[])
    }

    /// [`Functional::new`] for a model with `Lambda` layers: each runs the [`LambdaFn`]
    /// registered under its name ([`Error::UnresolvedLambda`] if one is missing).
    ///
    /// ```
    /// use ember_nn::blob::{write_graph, GraphSpec, LayerSpec, NodeDesc};
    /// use ember_nn::layers::{Lambda, LambdaFn, LayerConfig};
    /// use ember_nn::model::Functional;
    /// use ember_nn::{AlignedBlob, ArenaBuffer, Error, Result, Shape, TensorView, TensorViewMut};
    ///
    /// fn square(x: TensorView<'_, f32>, mut y: TensorViewMut<'_, f32>) -> Result<()> {
    ///     y.data().iter_mut().zip(x.data()).for_each(|(o, i)| *o = i * i);
    ///     Ok(())
    /// }
    /// let two = Shape::new(&[2]).unwrap();
    /// let layers = [LayerSpec::<f32>::new("square", true, LayerConfig::Lambda(Lambda { output: None }), &[])];
    /// let nodes = [NodeDesc::call(0, &[0]).unwrap()];
    /// let graph = GraphSpec { inputs: &[two], nodes: &nodes, outputs: &[1] };
    /// let mut blob = AlignedBlob([0u8; 256]);
    /// let len = write_graph("m", &graph, &layers, &mut blob.0).unwrap();
    /// let mut arena = ArenaBuffer::<16>::new();
    /// // Without the function, loading fails.
    /// let missing = Functional::<f32>::new(&blob.0[..len], arena.as_mut_bytes(), 1);
    /// assert_eq!(missing.unwrap_err(), Error::UnresolvedLambda { layer: 0 });
    /// static LAMBDAS: [LambdaFn<f32>; 1] = [LambdaFn::new("square", square)];
    /// let mut m = Functional::<f32>::new_with_lambdas(&blob.0[..len], arena.as_mut_bytes(), 1, &LAMBDAS).unwrap();
    /// let mut y = [0.0f32; 2];
    /// m.predict(&[&[3.0, -2.0]], &mut [&mut y]).unwrap();
    /// assert_eq!(y, [9.0, 4.0]);
    /// ```
    pub fn new_with_lambdas(
        blob: &'a [u8],
        arena: &'a mut [u8],
        batch: usize,
        lambdas: &'a [LambdaFn<T>],
    ) -> Result<Self> {
        Self::with_outputs(blob, arena, batch, None, lambdas)
    }

    /// Loads a blob for inference of the tensors `outputs` (tensor ids, see
    /// [`Graph::tensor_shape`]; `None`: the model's outputs). Only the nodes those
    /// tensors depend on run, and only their buffers are planned: the sub-graph from the
    /// inputs to `outputs` becomes a function (Keras's `K.function(inputs, outputs)`).
    /// [`Functional::plan_bytes`] gives its arena size.
    pub fn with_outputs(
        blob: &'a [u8],
        arena: &'a mut [u8],
        batch: usize,
        outputs: Option<&[u16]>,
        lambdas: &'a [LambdaFn<T>],
    ) -> Result<Self> {
        let graph = Graph::parse(blob)?;
        let resolved = resolve(&graph, lambdas)?;
        let plan = FunctionalPlan::inference(&graph, batch, outputs)?;
        let all = typed::<T>(arena, plan.total_bytes())?;
        let (activations, scratch) =
            all.split_at_mut(plan.activations_bytes / core::mem::size_of::<T>());
        Ok(Functional {
            graph,
            plan,
            activations,
            gbufs: &mut [],
            scratch,
            training: None,
            lambdas,
            resolved,
        })
    }

    /// Exact arena bytes of [`Functional::with_outputs`].
    pub fn plan_bytes(blob: &[u8], batch: usize, outputs: Option<&[u16]>) -> Result<usize> {
        let graph = Graph::<T, N>::parse(blob)?;
        Ok(FunctionalPlan::inference(&graph, batch, outputs)?.total_bytes())
    }

    /// Loads a blob for training (Keras's `compile` + `train_on_batch`): parameters of the
    /// layers that train are copied into the arena, optimizer state starts at zero.
    pub fn for_training(blob: &'a [u8], arena: &'a mut [u8], config: TrainConfig) -> Result<Self> {
        Self::for_training_with_lambdas(blob, arena, config, &[])
    }

    /// [`Functional::for_training`] for a model with `Lambda` layers; a Lambda the
    /// backward pass goes through needs a registered backward ([`Error::InvalidConfig`]
    /// otherwise).
    pub fn for_training_with_lambdas(
        blob: &'a [u8],
        arena: &'a mut [u8],
        config: TrainConfig,
        lambdas: &'a [LambdaFn<T>],
    ) -> Result<Self> {
        let graph = Graph::parse(blob)?;
        let resolved = resolve(&graph, lambdas)?;
        let plan = FunctionalPlan::training(&graph, &config)?;
        for (k, node) in graph.nodes().iter().enumerate() {
            let f = resolved[node.layer].map(|i| lambdas[i as usize]);
            if plan.backward[k] && f.is_some_and(|f| f.backward.is_none()) {
                return Err(Error::InvalidConfig(
                    "a Lambda the backward pass goes through has no registered backward",
                ));
            }
        }
        let (training, activations, gbufs) = Training::split_arena(
            arena,
            plan.total_bytes(),
            plan.region_bytes(),
            plan.activations_bytes,
            &plan.regions,
            graph.layers(),
            config,
        )?;
        let (gbufs, scratch) =
            gbufs.split_at_mut(plan.gradient_buffers_bytes / core::mem::size_of::<T>());
        Ok(Functional {
            graph,
            plan,
            activations,
            gbufs,
            scratch,
            training: Some(training),
            lambdas,
            resolved,
        })
    }

    /// The decoded model (layers, nodes, shapes).
    pub fn graph(&self) -> &Graph<'a, T, N> {
        &self.graph
    }

    /// The memory plan in use.
    pub fn memory_plan(&self) -> &FunctionalPlan<N> {
        &self.plan
    }

    /// Shapes (no batch) of the tensors computed, in output order.
    pub fn output_shapes(&self) -> impl Iterator<Item = Shape> + '_ {
        self.plan
            .outputs
            .iter()
            .filter_map(|&o| self.graph.tensor_shape(o as usize).ok())
    }

    /// Parameter `index` of layer `layer` (Keras order) as the model currently uses it:
    /// the trained copy for layers that train, the blob's otherwise.
    pub fn param(&self, layer: usize, index: usize) -> Option<&[T]> {
        let entry = self.graph.layers().get(layer)?;
        entry.params.get(index)?;
        params_of(&self.training, &self.plan.regions, layer, entry)
            .get(index)
            .copied()
    }

    /// Runs the model on `inputs` (one slice per model input, in Keras's input order, each
    /// holding the same number of samples) and writes `outputs` (one slice per output).
    /// Inputs larger than the planned batch run in chunks. Returns the number of samples.
    pub fn predict(&mut self, inputs: &[&[T]], outputs: &mut [&mut [T]]) -> Result<usize> {
        let samples = self.check_inputs(inputs, None)?;
        if outputs.len() != self.plan.outputs.len() {
            return Err(Error::ShapeMismatch {
                expected: self.plan.outputs.len(),
                found: outputs.len(),
            });
        }
        for (j, o) in outputs.iter().enumerate() {
            let want = samples * self.out_len(j)?;
            if o.len() != want {
                return Err(Error::ShapeMismatch {
                    expected: want,
                    found: o.len(),
                });
            }
        }
        let ctx = Context::default();
        let batch = self.plan.batch;
        let mut start = 0;
        while start < samples {
            let b = batch.min(samples - start);
            let mut xs: Vec<&[T], MAX_MODEL_IO> = Vec::new();
            for (i, x) in inputs.iter().enumerate() {
                let len = self.graph.inputs()[i].len();
                let _ = xs.push(&x[start * len..(start + b) * len]);
            }
            let mut ys: Vec<&mut [T], MAX_MODEL_IO> = Vec::new();
            for (j, o) in outputs.iter_mut().enumerate() {
                let len = self.out_len(j)?;
                let _ = ys.push(&mut o[start * len..(start + b) * len]);
            }
            self.forward(&xs, b, &ctx, &mut ys)?;
            for (j, y) in ys.iter_mut().enumerate() {
                self.copy_output(&xs, j, b, y)?;
            }
            start += b;
        }
        Ok(samples)
    }

    /// Elements of one sample of planned output `j`.
    fn out_len(&self, j: usize) -> Result<usize> {
        let id = *self.plan.outputs.get(j).ok_or(Error::InvalidShape)?;
        Ok(self.graph.tensor_shape(id as usize)?.len())
    }

    /// Checks one slice per model input with the same number of samples (at most
    /// `max_batch` when given); returns that number.
    fn check_inputs(&self, inputs: &[&[T]], max_batch: Option<usize>) -> Result<usize> {
        let shapes = self.graph.inputs();
        if inputs.len() != shapes.len() {
            return Err(Error::ShapeMismatch {
                expected: shapes.len(),
                found: inputs.len(),
            });
        }
        let samples = inputs[0].len() / shapes[0].len();
        for (x, s) in inputs.iter().zip(shapes) {
            if x.len() != samples * s.len() {
                return Err(Error::ShapeMismatch {
                    expected: samples * s.len(),
                    found: x.len(),
                });
            }
        }
        if let Some(max) = max_batch {
            if samples == 0 {
                return Err(Error::ShapeMismatch {
                    expected: shapes[0].len(),
                    found: 0,
                });
            }
            if samples > max {
                return Err(Error::BatchTooLarge {
                    max,
                    found: samples,
                });
            }
        }
        Ok(samples)
    }

    /// Copies planned output `j` (of `b` samples) into `y` unless the forward pass wrote
    /// it there directly.
    fn copy_output(&self, xs: &[&[T]], j: usize, b: usize, y: &mut [T]) -> Result<()> {
        let id = self.plan.outputs[j] as usize;
        let n_in = self.graph.inputs().len();
        let src = match id.checked_sub(n_in) {
            None => xs[id],
            Some(k) => match self.plan.act_offsets[k] {
                Some(off) => self
                    .activations
                    .get(off..off + y.len())
                    .ok_or(Error::InvalidShape)?,
                None => return Ok(()),
            },
        };
        if src.len() != y.len() || b == 0 {
            return Ok(());
        }
        y.copy_from_slice(src);
        Ok(())
    }

    /// Runs every needed node on a batch of `b` samples; node outputs that go straight to
    /// the caller are written into `direct` (indexed like the planned outputs). In a
    /// training context, then updates the state of the layers that train.
    fn forward(
        &mut self,
        inputs: &[&[T]],
        b: usize,
        ctx: &Context,
        direct: &mut [&mut [T]],
    ) -> Result<()> {
        let n_in = self.graph.inputs().len();
        for (k, node) in self.graph.nodes().iter().enumerate() {
            if !self.plan.needed[k] {
                continue;
            }
            let l = &self.graph.layers()[node.layer];
            let lctx = layer_context(ctx, &self.plan.regions, node.layer, k, l);
            let ps = params_of(&self.training, &self.plan.regions, node.layer, l);
            let y_len = b * node.output.len();
            let (dst, rest) = match self.plan.act_offsets[k] {
                Some(off) => split_around(self.activations, off..off + y_len)?,
                None => {
                    let j = self
                        .plan
                        .outputs
                        .iter()
                        .position(|&o| o as usize == n_in + k)
                        .ok_or(Error::InvalidShape)?;
                    let d = direct.get_mut(j).ok_or(Error::InvalidShape)?;
                    let (_, rest) = split_around(self.activations, 0..0)?;
                    (&mut d[..], rest)
                }
            };
            let xs = node_inputs(&self.graph, &self.plan, node, inputs, &rest, b)?;
            let (views, y_shape) = views_of(&self.graph, node, &xs, b)?;
            let y = TensorViewMut::new(y_shape, dst)?;
            match self.resolved[node.layer] {
                Some(i) => (self.lambdas[i as usize].forward)(views[0], y)?,
                None => {
                    let ids = step_ids(node, inputs);
                    l.config
                        .forward_call(&ps, &views, ids, y, self.scratch, &lctx)?
                }
            }
            drop(ps);
            if let (true, Some(at), Some(t)) = (
                lctx.training,
                self.plan.regions.state_offsets[node.layer],
                self.training.as_mut(),
            ) {
                let n = l.param_count() - l.trainable_param_count();
                l.config
                    .update_state(views[0], &mut t.layer_state[at..at + n])?;
            }
        }
        Ok(())
    }
}

/// The token ids whose zeros mask the steps of `node`'s input, for a layer that consumes
/// masks (a model input; see [`Node::input_mask`]).
fn step_ids<'s, T>(node: &Node, inputs: &[&'s [T]]) -> Option<&'s [T]> {
    let src = node.input_mask?;
    if node.time_distributed {
        return None;
    }
    inputs.get(src as usize).copied()
}

/// Per layer, the index in `lambdas` of its function (`None` for other layers);
/// [`Error::UnresolvedLambda`] for a Lambda without one.
fn resolve<T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    lambdas: &[LambdaFn<T>],
) -> Result<Vec<Option<u8>, N>> {
    let mut resolved = Vec::new();
    for (k, l) in graph.layers().iter().enumerate() {
        let r = match l.config {
            LayerConfig::Lambda(_) => {
                let i = lambdas
                    .iter()
                    .position(|f| f.name == l.name)
                    .ok_or(Error::UnresolvedLambda { layer: k })?;
                Some(
                    u8::try_from(i)
                        .map_err(|_| Error::InvalidConfig("too many Lambda functions"))?,
                )
            }
            _ => None,
        };
        // Capacity: one entry per layer.
        let _ = resolved.push(r);
    }
    Ok(resolved)
}

/// The input slices of `node` for a batch of `b`: model inputs from `inputs`, node
/// outputs from the activations region (`acts`).
fn node_inputs<'s, T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    plan: &FunctionalPlan<N>,
    node: &Node,
    inputs: &[&'s [T]],
    acts: &Around<'s, T>,
    b: usize,
) -> Result<Vec<&'s [T], MAX_NODE_INPUTS>> {
    let n_in = graph.inputs().len();
    let mut xs = Vec::new();
    for &t in &node.inputs {
        let id = t as usize;
        let x = match id.checked_sub(n_in) {
            None => inputs.get(id).copied().ok_or(Error::InvalidShape)?,
            Some(k) => {
                let off = plan.act_offsets[k].ok_or(Error::InvalidShape)?;
                acts.get(off..off + b * graph.tensor_shape(id)?.len())?
            }
        };
        // Capacity equals the node's input capacity.
        let _ = xs.push(x);
    }
    Ok(xs)
}

/// Batched views of `node`'s inputs and its output shape with the batch. Under
/// `TimeDistributed` the steps fold into the batch: `(b, steps, …)` is seen as
/// `(b·steps, …)`.
fn views_of<'s, T: Scalar, const N: usize>(
    graph: &Graph<'_, T, N>,
    node: &Node,
    xs: &[&'s [T]],
    b: usize,
) -> Result<(Vec<TensorView<'s, T>, MAX_NODE_INPUTS>, Shape)> {
    let mut views = Vec::new();
    if node.time_distributed {
        let l = &graph.layers()[node.layer];
        let steps = graph.tensor_shape(node.inputs[0] as usize)?.dim(0);
        let bb = b.checked_mul(steps).ok_or(Error::InvalidShape)?;
        let _ = views.push(TensorView::new(l.input.with_batch(bb)?, xs[0])?);
        return Ok((views, l.output.with_batch(bb)?));
    }
    for (&t, x) in node.inputs.iter().zip(xs) {
        let shape = graph.tensor_shape(t as usize)?.with_batch(b)?;
        let _ = views.push(TensorView::new(shape, x)?);
    }
    Ok((views, node.output.with_batch(b)?))
}
