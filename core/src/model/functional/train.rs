//! Training a [`Functional`] model: the loss on every output, backward through the graph.

use core::ops::Range;

use heapless::Vec;

use super::super::runtime::{layer_context, split_params};
use super::super::{regularization, TrainConfig};
use super::{node_inputs, step_ids, views_of, Functional};
use crate::arena::{split_many, Around};
use crate::blob::MAX_NODE_INPUTS;
use crate::layers::{mix, Context};
use crate::{Error, Result, Scalar, TensorView};

/// Buffers borrowed at once in one node's backward pass: `dy`, one per input, the
/// accumulation buffer and the shared-parameter buffer.
const MAX_PIECES: usize = MAX_NODE_INPUTS + 3;

impl<T: Scalar, const N: usize> Functional<'_, T, N> {
    /// One step of training on a batch (Keras's `model.train_on_batch(inputs, targets)`):
    /// forward, the compiled loss on every output (summed, as Keras sums the losses of a
    /// multi-output model) plus the regularization losses, backward through the graph,
    /// optimizer update, constraints. `inputs` holds one slice per model input, `targets`
    /// one per output ([`crate::Loss::y_true_len`] elements each). Returns the loss
    /// computed before the update.
    pub fn train_on_batch(&mut self, inputs: &[&[T]], targets: &[&[T]]) -> Result<T> {
        self.train_on_batch_weighted(inputs, targets, None)
    }

    /// [`Functional::train_on_batch`] with one weight per sample (Keras's
    /// `model.train_on_batch(x, y, sample_weight=w)`): every output's per-sample losses
    /// are multiplied by the weights before the loss's reduction.
    pub fn train_on_batch_weighted(
        &mut self,
        inputs: &[&[T]],
        targets: &[&[T]],
        sample_weight: Option<&[T]>,
    ) -> Result<T> {
        // Before the forward pass, which updates moving statistics.
        check_weights(sample_weight, self.check_inputs(inputs, None)?)?;
        let (b, ctx) = self.begin_step(inputs, targets, true)?;
        let mut fresh: Vec<bool, N> = self.graph.nodes().iter().map(|_| true).collect();
        let loss = self.loss(targets, sample_weight, b, &mut fresh)?;
        let mut param_written: Vec<bool, N> = self.graph.layers().iter().map(|_| false).collect();
        for k in (0..self.graph.nodes().len()).rev() {
            if self.plan.backward[k] && !fresh[k] {
                self.backward_node(k, inputs, b, &ctx, &mut fresh, &mut param_written)?;
            }
        }
        let regularized = regularization::any(self.graph.layers());
        let t = self.training.as_mut().ok_or(Error::NotTraining)?;
        t.update(self.graph.layers(), &self.plan.regions, regularized)?;
        Ok(loss)
    }

    /// The loss of a batch without training (Keras's `model.test_on_batch`): forward in
    /// inference mode, the compiled loss on every output plus the regularization losses.
    pub fn test_on_batch(&mut self, inputs: &[&[T]], targets: &[&[T]]) -> Result<T> {
        let (b, _) = self.begin_step(inputs, targets, false)?;
        // The loss gradients are not used: they go to the outputs' own gradient buffers
        // ("fresh"), as in training, rather than through the accumulation scratch, which
        // the plan sizes only for outputs without one.
        let mut fresh: Vec<bool, N> = self.graph.nodes().iter().map(|_| true).collect();
        self.loss(targets, None, b, &mut fresh)
    }

    /// Number of optimizer updates applied (Keras's `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.training.as_ref().map_or(0, |t| t.iterations)
    }

    /// Seeds the dropout and noise layers and restarts their stream (see
    /// [`crate::Sequential::set_seed`]; a node's noise is mixed from the step's seed and
    /// the node's index). [`Error::NotTraining`] for an inference model.
    pub fn set_seed(&mut self, seed: u64) -> Result<()> {
        let t = self.training.as_mut().ok_or(Error::NotTraining)?;
        t.seed = seed;
        t.noise_step = 0;
        Ok(())
    }

    /// Every trainable parameter, concatenated in layer order and Keras order within a
    /// layer (a shared layer's once); empty for an inference model.
    pub fn trainable_params(&self) -> &[T] {
        self.training.as_ref().map_or(&[], |t| &*t.params)
    }

    /// Overwrites every trainable parameter from `src` (as long as
    /// [`Functional::trainable_params`]; Keras's `model.set_weights` for the trainable
    /// part); optimizer state and iterations are kept.
    pub fn set_trainable_params(&mut self, src: &[T]) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .set_params(src)
    }

    /// The non-trainable state of the layers that train (moving statistics), as
    /// [`crate::Sequential::layer_state`].
    pub fn layer_state(&self) -> &[T] {
        self.training.as_ref().map_or(&[], |t| &*t.layer_state)
    }

    /// The training configuration, `None` for a model loaded for inference.
    pub fn train_config(&self) -> Option<&TrainConfig> {
        self.training.as_ref().map(|t| &t.config)
    }

    /// Planned output `output`'s values for the last `b` samples run by
    /// [`Functional::train_on_batch`] or [`Functional::test_on_batch`] (computed before
    /// the update, what Keras's metrics see); `None` for an inference model, an unknown
    /// output or a `b` larger than the batch.
    pub fn last_output(&self, output: usize, b: usize) -> Option<&[T]> {
        let cfg = self.train_config()?;
        if b > cfg.batch_size {
            return None;
        }
        let id = *self.plan.outputs.get(output)? as usize;
        let k = id.checked_sub(self.graph.inputs().len())?;
        let off = (*self.plan.act_offsets.get(k)?)?;
        let len = b.checked_mul(self.graph.tensor_shape(id).ok()?.len())?;
        self.activations.get(off..off + len)
    }

    /// Restores trainable parameters and layer state from a snapshot (as
    /// [`crate::Sequential::restore_snapshot`]: `trainable_params` then `layer_state`);
    /// optimizer state and iterations are kept. [`Error::NotTraining`] for an inference
    /// model, [`Error::ShapeMismatch`] on a wrong length (nothing is changed then).
    pub fn restore_snapshot(&mut self, src: &[T]) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .restore_snapshot(src)
    }

    /// The learning rate of the next update (as [`crate::Sequential::learning_rate`]).
    pub fn learning_rate(&self) -> Option<f32> {
        self.training.as_ref().map(|t| t.learning_rate())
    }

    /// Sets the optimizer's constant learning rate (as
    /// [`crate::Sequential::set_learning_rate`], with the same errors).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .set_learning_rate(lr)
    }

    /// Checks a batch and runs the forward pass; returns the batch size and the context.
    fn begin_step(
        &mut self,
        inputs: &[&[T]],
        targets: &[&[T]],
        training: bool,
    ) -> Result<(usize, Context)> {
        let cfg = self
            .training
            .as_ref()
            .map(|t| t.config)
            .ok_or(Error::NotTraining)?;
        let b = self.check_inputs(inputs, Some(cfg.batch_size))?;
        if targets.len() != self.plan.outputs.len() {
            return Err(Error::ShapeMismatch {
                expected: self.plan.outputs.len(),
                found: targets.len(),
            });
        }
        for (j, y) in targets.iter().enumerate() {
            let id = self.plan.outputs[j] as usize;
            let shape = self.graph.tensor_shape(id)?;
            let want = cfg.loss.y_true_len(b * shape.len(), shape.last());
            if y.len() != want {
                return Err(Error::ShapeMismatch {
                    expected: want,
                    found: y.len(),
                });
            }
        }
        let ctx = match (training, self.training.as_mut()) {
            (true, Some(t)) => {
                t.noise_step += 1;
                Context::training(mix(t.seed, t.noise_step - 1))
            }
            _ => Context::default(),
        };
        self.forward(inputs, b, &ctx, &mut [])?;
        Ok((b, ctx))
    }

    /// The loss of the forward pass just run: the compiled loss of every output, the
    /// activity penalties of every call, the weight penalties. Writes each output's loss
    /// gradient into its gradient buffer (clearing its `fresh` flag) or, when that buffer
    /// was already written, adds it.
    fn loss(
        &mut self,
        targets: &[&[T]],
        sample_weight: Option<&[T]>,
        b: usize,
        fresh: &mut [bool],
    ) -> Result<T> {
        let t = self.training.as_ref().ok_or(Error::NotTraining)?;
        let cfg = t.config;
        let n_in = self.graph.inputs().len();
        let mut total = T::ZERO;
        for (j, &o) in self.plan.outputs.iter().enumerate() {
            let k = (o as usize).checked_sub(n_in).ok_or(Error::NotTraining)?;
            let shape = self.graph.nodes()[k].output;
            let len = b * shape.len();
            let off = self.plan.act_offsets[k].ok_or(Error::NotTraining)?;
            let y_pred = self
                .activations
                .get(off..off + len)
                .ok_or(Error::InvalidShape)?;
            let grad = self.plan.grad_offsets[k].filter(|_| self.plan.backward[k]);
            let direct = grad.filter(|_| fresh[k]);
            let range = match direct {
                Some(g) => g..g + len,
                None => self.plan.scratch.0..self.plan.scratch.0 + len,
            };
            let dst = self.gbufs.get_mut(range).ok_or(Error::InvalidShape)?;
            total = total
                + cfg
                    .loss
                    .value_and_grad(y_pred, targets[j], sample_weight, dst, shape.last())?;
            match (direct, grad) {
                (Some(_), _) => fresh[k] = false,
                (None, Some(g)) => add_scratch(self.gbufs, g..g + len, self.plan.scratch.0)?,
                (None, None) => {}
            }
        }
        for (k, node) in self.graph.nodes().iter().enumerate() {
            let l = &self.graph.layers()[node.layer];
            if self.plan.needed[k] && l.attrs.activity_regularizer.is_some() {
                let off = self.plan.act_offsets[k].ok_or(Error::NotTraining)?;
                let y = self
                    .activations
                    .get(off..off + b * node.output.len())
                    .ok_or(Error::InvalidShape)?;
                total = total + regularization::activity_loss(l, y, b);
            }
        }
        if regularization::any(self.graph.layers()) {
            total = total
                + regularization::weight_loss(self.graph.layers(), &self.plan.regions, t.params)?;
        }
        Ok(total)
    }

    /// Node `k`'s backward pass: its output's gradient (plus its activity penalty's) to
    /// the gradients of the tensors it read that need one, and of its layer's trained
    /// tensors — written directly when first, added through the accumulation buffers
    /// otherwise.
    fn backward_node(
        &mut self,
        k: usize,
        inputs: &[&[T]],
        b: usize,
        ctx: &Context,
        fresh: &mut [bool],
        param_written: &mut [bool],
    ) -> Result<()> {
        let n_in = self.graph.inputs().len();
        let node = &self.graph.nodes()[k];
        let j = node.layer;
        let l = &self.graph.layers()[j];
        let t = self.training.as_mut().ok_or(Error::NotTraining)?;
        let y_len = b * node.output.len();
        let acts = Around::whole(&*self.activations);
        let xs = node_inputs(&self.graph, &self.plan, node, inputs, &acts, b)?;
        let (views, y_shape) = views_of(&self.graph, node, &xs, b)?;
        let off = self.plan.act_offsets[k].ok_or(Error::NotTraining)?;
        let y = acts.get(off..off + y_len)?;
        let g = self.plan.grad_offsets[k].ok_or(Error::NotTraining)?;
        // Where each input's gradient goes: straight into its buffer (first writer), via
        // the accumulation buffer (later writers), or nowhere.
        let mut slots: Vec<Slot, MAX_NODE_INPUTS> = Vec::new();
        for (i, &tid) in node.inputs.iter().enumerate() {
            let p = (tid as usize).checked_sub(n_in);
            let slot = match p.and_then(|p| self.plan.grad_offsets[p].map(|o| (p, o))) {
                Some((p, o)) if self.plan.backward[p] => {
                    let len = b * self.graph.nodes()[p].output.len();
                    let repeated = node.inputs[..i].contains(&tid);
                    if fresh[p] && !repeated {
                        Slot::Direct(p, o..o + len)
                    } else {
                        Slot::Accumulate(o..o + len)
                    }
                }
                _ => Slot::None,
            };
            let _ = slots.push(slot);
        }
        let mask = self.plan.regions.masks[j];
        let trained = self.plan.regions.param_offsets[j].map(|at| at..at + l.param_count_of(mask));
        let shared_params = trained.as_ref().filter(|_| param_written[j]).map(|r| {
            let s = self.plan.param_scratch.0;
            s..s + r.len()
        });
        let scratch_at = self.plan.scratch.0;
        let single = node.inputs.len() == 1;
        // First call: dy, the direct slots (and, for a one-input layer, its accumulation
        // slot), the parameter gradients.
        let mut ranges: Vec<Option<Range<usize>>, MAX_PIECES> = Vec::new();
        let _ = ranges.push(Some(g..g + y_len));
        for s in &slots {
            let r = match s {
                Slot::Direct(_, r) => Some(r.clone()),
                Slot::Accumulate(r) if single => Some(scratch_at..scratch_at + r.len()),
                _ => None,
            };
            let _ = ranges.push(r);
        }
        let _ = ranges.push(shared_params.clone());
        let mut pieces: Vec<Option<&mut [T]>, MAX_PIECES> = split_many(self.gbufs, &ranges)?;
        let shared_piece = pieces.pop().flatten();
        let mut rest = pieces.into_iter();
        let dy = rest.next().flatten().ok_or(Error::InvalidShape)?;
        let mut dxs: Vec<Option<&mut [T]>, MAX_NODE_INPUTS> = rest.collect();
        regularization::add_activity_gradient(l, y, dy, b)?;
        let ps = split_params(t.params, t.layer_state, &self.plan.regions, j, l);
        let lctx = layer_context(ctx, &self.plan.regions, j, k, l);
        let yv = TensorView::new(y_shape, y)?;
        let dparams = match (&trained, shared_piece) {
            (Some(_), Some(piece)) => Some(piece),
            (Some(r), None) => Some(t.grads.get_mut(r.clone()).ok_or(Error::InvalidShape)?),
            (None, _) => None,
        };
        match self.resolved[j].map(|i| self.lambdas[i as usize].backward) {
            // A Lambda: its registered backward, into the one input's slot (a model
            // input needs none).
            Some(backward) => {
                let backward = backward.ok_or(Error::NotTraining)?;
                if let Some(dx) = dxs.get_mut(0).and_then(|d| d.as_deref_mut()) {
                    backward(views[0], yv, dy, dx)?;
                }
            }
            None => l.config.backward_call(
                &ps,
                &views,
                step_ids(node, inputs),
                yv,
                dy,
                &mut dxs,
                dparams,
                mask,
                self.scratch,
                &lctx,
            )?,
        }
        drop(dxs);
        if let (Some(r), true) = (&trained, param_written[j]) {
            let s = self.plan.param_scratch.0;
            let src = self.gbufs.get(s..s + r.len()).ok_or(Error::InvalidShape)?;
            for (d, &v) in t.grads[r.clone()].iter_mut().zip(src) {
                *d = *d + v;
            }
        }
        if trained.is_some() {
            param_written[j] = true;
        }
        // Later writers of a multi-input node: one call per accumulating input (merges
        // read `dy` without changing it).
        for (i, s) in slots.iter().enumerate() {
            match s {
                Slot::Direct(p, _) => fresh[*p] = false,
                Slot::Accumulate(r) if single => add_scratch(self.gbufs, r.clone(), scratch_at)?,
                Slot::Accumulate(r) => {
                    let mut ranges: Vec<Option<Range<usize>>, 2> = Vec::new();
                    let _ = ranges.push(Some(g..g + y_len));
                    let _ = ranges.push(Some(scratch_at..scratch_at + r.len()));
                    let mut pieces: Vec<Option<&mut [T]>, 2> = split_many(self.gbufs, &ranges)?;
                    let dx = pieces.pop().flatten();
                    let dy = pieces.pop().flatten().ok_or(Error::InvalidShape)?;
                    let mut dxs: Vec<Option<&mut [T]>, MAX_NODE_INPUTS> =
                        (0..slots.len()).map(|_| None).collect();
                    dxs[i] = dx;
                    l.config.backward_call(
                        &ps,
                        &views,
                        step_ids(node, inputs),
                        yv,
                        dy,
                        &mut dxs,
                        None,
                        crate::layers::TensorMask::EMPTY,
                        self.scratch,
                        &lctx,
                    )?;
                    drop(dxs);
                    drop(pieces);
                    add_scratch(self.gbufs, r.clone(), scratch_at)?;
                }
                Slot::None => {}
            }
        }
        Ok(())
    }
}

/// Where one input's gradient goes in a node's backward pass.
#[derive(Debug, Clone)]
enum Slot {
    /// Written straight into the gradient buffer of node `.0`'s output (range `.1`).
    Direct(usize, Range<usize>),
    /// Written into the accumulation buffer, then added to this range.
    Accumulate(Range<usize>),
    /// The tensor needs no gradient (a model input, or nothing upstream trains).
    None,
}

/// Checks one sample weight per sample of a batch of `b`.
fn check_weights<T>(sample_weight: Option<&[T]>, b: usize) -> Result<()> {
    match sample_weight {
        Some(w) if w.len() != b => Err(Error::ShapeMismatch {
            expected: b,
            found: w.len(),
        }),
        _ => Ok(()),
    }
}

/// `buf[dst] += buf[scratch..scratch + dst.len()]`.
fn add_scratch<T: Scalar>(buf: &mut [T], dst: Range<usize>, scratch: usize) -> Result<()> {
    let len = dst.len();
    let mut ranges: Vec<Option<Range<usize>>, 2> = Vec::new();
    let _ = ranges.push(Some(dst));
    let _ = ranges.push(Some(scratch..scratch + len));
    let mut pieces: Vec<Option<&mut [T]>, 2> = split_many(buf, &ranges)?;
    let src = pieces.pop().flatten().ok_or(Error::InvalidShape)?;
    let dst = pieces.pop().flatten().ok_or(Error::InvalidShape)?;
    for (d, &s) in dst.iter_mut().zip(src.iter()) {
        *d = *d + s;
    }
    Ok(())
}
