//! [`Sequential`]: run and train a chain of layers from a blob, in a static arena.

use super::regularization;
use super::runtime::{layer_context, params_of, split_params, Training};
use super::{Graph, MemoryPlan, TrainConfig, DEFAULT_MAX_LAYERS};
use crate::arena::{split_pair, typed};
use crate::layers::{mix, Context};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A Keras `Sequential` model loaded from a blob: `predict`, and `train_on_batch` when
/// loaded with [`Sequential::for_training`].
///
/// Weights are read in place from the blob (zero-copy, e.g. from flash); only parameters
/// that train are copied into the arena. All memory is the caller's arena, whose exact
/// size [`Sequential::inference_bytes`] / [`Sequential::training_bytes`] report.
///
/// See [`crate::blob::write()`] for a complete example that builds a blob and predicts.
#[derive(Debug)]
pub struct Sequential<'a, T, const N: usize = DEFAULT_MAX_LAYERS> {
    graph: Graph<'a, T, N>,
    plan: MemoryPlan<N>,
    activations: &'a mut [T],
    gbufs: &'a mut [T],
    /// The recurrent layers' working memory ([`MemoryPlan::scratch_bytes`]).
    scratch: &'a mut [T],
    training: Option<Training<'a, T>>,
}

impl<'a, T: Scalar, const N: usize> Sequential<'a, T, N> {
    /// Exact arena bytes to run `predict` on `batch` samples at a time.
    pub fn inference_bytes(blob: &[u8], batch: usize) -> Result<usize> {
        let graph = Graph::<T, N>::parse(blob)?;
        Ok(MemoryPlan::inference(&graph, batch)?.total_bytes())
    }

    /// Exact arena bytes to train with `config` (and predict with the same batch).
    pub fn training_bytes(blob: &[u8], config: &TrainConfig) -> Result<usize> {
        let graph = Graph::<T, N>::parse(blob)?;
        Ok(MemoryPlan::training(&graph, config)?.total_bytes())
    }

    /// Loads a blob for inference, `batch` samples per forward pass.
    pub fn new(blob: &'a [u8], arena: &'a mut [u8], batch: usize) -> Result<Self> {
        let graph = Graph::parse(blob)?;
        let plan = MemoryPlan::inference(&graph, batch)?;
        let total = plan.total_bytes();
        let all = typed::<T>(arena, total)?;
        let (activations, scratch) =
            all.split_at_mut(plan.activations_bytes / core::mem::size_of::<T>());
        Ok(Sequential {
            graph,
            plan,
            activations,
            gbufs: &mut [],
            scratch,
            training: None,
        })
    }

    /// Loads a blob for training (Keras's `compile` + `train_on_batch`). Parameters of
    /// the layers that train are copied from the blob into the arena; optimizer state
    /// starts at zero, as in a freshly compiled Keras model.
    pub fn for_training(blob: &'a [u8], arena: &'a mut [u8], config: TrainConfig) -> Result<Self> {
        let graph = Graph::parse(blob)?;
        let plan = MemoryPlan::training(&graph, &config)?;
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
        Ok(Sequential {
            graph,
            plan,
            activations,
            gbufs,
            scratch,
            training: Some(training),
        })
    }

    /// The decoded model (names, shapes, parameter counts).
    pub fn graph(&self) -> &Graph<'a, T, N> {
        &self.graph
    }

    /// The memory plan in use.
    pub fn memory_plan(&self) -> &MemoryPlan<N> {
        &self.plan
    }

    /// Number of optimizer updates applied (Keras's `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.training.as_ref().map_or(0, |t| t.iterations)
    }

    /// Seeds the dropout and noise layers (Keras: `keras.utils.set_random_seed(seed)`)
    /// and restarts their stream: two models with the same blob, seed and batches draw
    /// the same noise and train identically. A model starts with seed 0.
    ///
    /// Training step `s` runs with [`Context::seed`] = a mix of `seed` and `s`, and layer
    /// `k` with that mixed with `k` ([`Context::for_layer`]); the backward pass uses the
    /// same contexts, so random layers regenerate their noise instead of storing it.
    /// [`Error::NotTraining`] for an inference model (which never draws noise).
    pub fn set_seed(&mut self, seed: u64) -> Result<()> {
        let t = self.training.as_mut().ok_or(Error::NotTraining)?;
        t.seed = seed;
        t.noise_step = 0;
        Ok(())
    }

    /// Parameter `index` of layer `layer` (Keras order) as the model currently uses it:
    /// the trained copy (or updated state, such as moving statistics) for layers that
    /// train, the blob's otherwise.
    pub fn param(&self, layer: usize, index: usize) -> Option<&[T]> {
        let entry = self.graph.layers().get(layer)?;
        entry.params.get(index)?;
        params_of(&self.training, &self.plan.regions, layer, entry)
            .get(index)
            .copied()
    }

    /// Runs the model on `x` (any number of samples, flattened, each of the input shape)
    /// and writes `y`. Inputs larger than the planned batch run in chunks. Returns the
    /// number of samples.
    pub fn predict(&mut self, x: &[T], y: &mut [T]) -> Result<usize> {
        let in_len = self.graph.input_shape().len();
        let out_len = self.graph.output_shape().len();
        if x.len() % in_len != 0 {
            return Err(Error::ShapeMismatch {
                expected: in_len,
                found: x.len(),
            });
        }
        let samples = x.len() / in_len;
        if y.len() != samples * out_len {
            return Err(Error::ShapeMismatch {
                expected: samples * out_len,
                found: y.len(),
            });
        }
        let ctx = Context::default();
        for (xc, yc) in x
            .chunks(self.plan.batch * in_len)
            .zip(y.chunks_mut(self.plan.batch * out_len))
        {
            let b = xc.len() / in_len;
            self.forward(xc, b, &ctx)?;
            // In training layouts the last output stays in the arena: copy it out.
            let last = self.graph.layers().len() - 1;
            if let Some(off) = self.plan.act_offsets[last] {
                yc.copy_from_slice(&self.activations[off..off + yc.len()]);
            } else {
                self.forward_last(xc, yc, b, &ctx)?;
            }
        }
        Ok(samples)
    }

    /// One step of training on a batch (Keras's `model.train_on_batch(x, y)`): forward,
    /// loss, backward, optimizer update, constraints. Returns the loss of the batch
    /// computed before the update, as Keras does: the compiled loss plus the
    /// regularization losses (activity penalties `reg(y) / batch` of every layer, weight
    /// penalties of the layers that train; see [`crate::regularizers`]), whose gradients
    /// join the backward pass; after the update each constrained tensor of the layers
    /// that train is projected ([`crate::constraints`]). `x` and `y_true` hold up to `batch_size` samples; `y_true`
    /// has [`crate::Loss::y_true_len`] elements (one class index per sample for the sparse
    /// cross-entropy).
    pub fn train_on_batch(&mut self, x: &[T], y_true: &[T]) -> Result<T> {
        self.train_on_batch_weighted(x, y_true, None)
    }

    /// [`Sequential::train_on_batch`] with one weight per sample (Keras's
    /// `model.train_on_batch(x, y, sample_weight=w)`): the per-sample losses are multiplied
    /// by the weights before the loss's reduction.
    pub fn train_on_batch_weighted(
        &mut self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<T> {
        let (cfg, b) = self.check_batch(x, y_true, sample_weight)?;
        let out_len = self.graph.output_shape().len();
        let ctx = match self.training.as_mut() {
            Some(t) => {
                t.noise_step += 1;
                Context::training(mix(t.seed, t.noise_step - 1))
            }
            None => return Err(Error::NotTraining),
        };
        self.forward(x, b, &ctx)?;
        let layers = self.graph.layers();
        let n = layers.len();
        let (g0, g1) = self.gbufs.split_at_mut(self.plan.gbuf_elems);
        let (mut dy, mut dx) = (g0, g1);
        let out_off = self.plan.act_offsets[n - 1].unwrap_or(0);
        let y_pred = &self.activations[out_off..out_off + b * out_len];
        let loss = cfg.loss.value_and_grad(
            y_pred,
            y_true,
            sample_weight,
            &mut dy[..b * out_len],
            self.graph.output_shape().last(),
        )?;
        let Some(t) = self.training.as_mut() else {
            return Err(Error::NotTraining);
        };
        let regularized = regularization::any(layers);
        let loss = if regularized {
            loss + regularization::regularization_loss(
                layers,
                &self.plan,
                self.activations,
                t.params,
                b,
            )?
        } else {
            loss
        };
        let lowest = self
            .plan
            .regions
            .param_offsets
            .iter()
            .position(|o| o.is_some())
            .unwrap_or(0);
        for k in (lowest..n).rev() {
            let l = &layers[k];
            let x_k: &[T] = if k == 0 {
                x
            } else {
                let off = self.plan.act_offsets[k - 1].unwrap_or(0);
                &self.activations[off..off + b * l.input.len()]
            };
            let off = self.plan.act_offsets[k].unwrap_or(0);
            let y_k = &self.activations[off..off + b * l.output.len()];
            let ps = split_params(t.params, t.layer_state, &self.plan.regions, k, l);
            let mask = self.plan.regions.masks[k];
            let dparams = self.plan.regions.param_offsets[k]
                .map(|at| &mut t.grads[at..at + l.param_count_of(mask)]);
            regularization::add_activity_gradient(l, y_k, &mut dy[..b * l.output.len()], b)?;
            let want_dx = k > lowest;
            let xv = TensorView::new(l.input.with_batch(b)?, x_k)?;
            let yv = TensorView::new(l.output.with_batch(b)?, y_k)?;
            let ids = self.graph.nodes()[k].input_mask.map(|_| x);
            let mut dxs = [if want_dx {
                Some(&mut dx[..b * l.input.len()])
            } else {
                None
            }];
            l.config.backward_call(
                &ps,
                &[xv],
                ids,
                yv,
                &mut dy[..b * l.output.len()],
                &mut dxs,
                dparams,
                mask,
                self.scratch,
                &layer_context(&ctx, &self.plan.regions, k, k, l),
            )?;
            core::mem::swap(&mut dy, &mut dx);
        }
        t.update(layers, &self.plan.regions, regularized)?;
        Ok(loss)
    }

    /// Forward through every layer whose output lives in the arena; in a training
    /// context, then updates the state of the layers that train (moving statistics).
    fn forward(&mut self, x: &[T], b: usize, ctx: &Context) -> Result<()> {
        let layers = self.graph.layers();
        for (k, l) in layers.iter().enumerate() {
            let Some(dst_off) = self.plan.act_offsets[k] else {
                break;
            };
            let dst = dst_off..dst_off + b * l.output.len();
            let lctx = layer_context(ctx, &self.plan.regions, k, k, l);
            let out_shape = l.output.with_batch(b)?;
            let in_shape = l.input.with_batch(b)?;
            let src = match k {
                0 => None,
                _ => {
                    let off = self.plan.act_offsets[k - 1].unwrap_or(0);
                    Some(off..off + b * l.input.len())
                }
            };
            {
                let ps = params_of(&self.training, &self.plan.regions, k, l);
                // The step mask's token ids: always the model input in a chain.
                let ids = self.graph.nodes()[k].input_mask.map(|_| x);
                match &src {
                    None => {
                        let yv = TensorViewMut::new(out_shape, &mut self.activations[dst])?;
                        let xv = TensorView::new(in_shape, x)?;
                        l.config
                            .forward_call(&ps, &[xv], ids, yv, self.scratch, &lctx)?;
                    }
                    Some(src) => {
                        let (xs, ys) = split_pair(self.activations, src.clone(), dst)?;
                        let xv = TensorView::new(in_shape, xs)?;
                        let yv = TensorViewMut::new(out_shape, ys)?;
                        l.config
                            .forward_call(&ps, &[xv], ids, yv, self.scratch, &lctx)?;
                    }
                }
            }
            if let (true, Some(at), Some(t)) = (
                lctx.training,
                self.plan.regions.state_offsets[k],
                self.training.as_mut(),
            ) {
                let n = l.param_count() - l.trainable_param_count();
                let xs: &[T] = match src {
                    None => x,
                    Some(src) => &self.activations[src],
                };
                l.config.update_state(
                    TensorView::new(in_shape, xs)?,
                    &mut t.layer_state[at..at + n],
                )?;
            }
        }
        Ok(())
    }

    /// Inference layouts: the last layer writes straight into the caller's output.
    fn forward_last(&mut self, x: &[T], y: &mut [T], b: usize, ctx: &Context) -> Result<()> {
        let layers = self.graph.layers();
        let k = layers.len() - 1;
        let l = &layers[k];
        let src: &[T] = if k == 0 {
            x
        } else {
            let off = self.plan.act_offsets[k - 1].unwrap_or(0);
            &self.activations[off..off + b * l.input.len()]
        };
        let ps = params_of(&self.training, &self.plan.regions, k, l);
        let ids = self.graph.nodes()[k].input_mask.map(|_| x);
        l.config.forward_call(
            &ps,
            &[TensorView::new(l.input.with_batch(b)?, src)?],
            ids,
            TensorViewMut::new(l.output.with_batch(b)?, y)?,
            self.scratch,
            &layer_context(ctx, &self.plan.regions, k, k, l),
        )
    }

    /// Input shape (no batch).
    pub fn input_shape(&self) -> Shape {
        self.graph.input_shape()
    }

    /// Output shape (no batch).
    pub fn output_shape(&self) -> Shape {
        self.graph.output_shape()
    }

    /// The training configuration, `None` for a model loaded with [`Sequential::new`].
    pub fn train_config(&self) -> Option<&TrainConfig> {
        self.training.as_ref().map(|t| &t.config)
    }

    /// Every trainable parameter, concatenated in Keras order (the arena copy the
    /// optimizer updates; empty for an inference model). Keras: the trainable part of
    /// `model.get_weights()`.
    pub fn trainable_params(&self) -> &[T] {
        self.training.as_ref().map_or(&[], |t| &*t.params)
    }

    /// Overwrites every trainable parameter from `src` (as long as
    /// [`Sequential::trainable_params`]); optimizer state and iterations are kept, as Keras's
    /// `model.set_weights` keeps them. [`Error::ShapeMismatch`] on a wrong length.
    pub fn set_trainable_params(&mut self, src: &[T]) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .set_params(src)
    }

    /// The non-trainable state of the layers that train (BatchNormalization's moving mean
    /// and variance), concatenated in layer order and, within a layer, in Keras weight
    /// order; empty for an inference model or a model without such state. Keras: the
    /// non-trainable part of `model.get_weights()` that training changes.
    pub fn layer_state(&self) -> &[T] {
        self.training.as_ref().map_or(&[], |t| &*t.layer_state)
    }

    /// Elements of a weight snapshot ([`Sequential::write_snapshot`]):
    /// `trainable_params().len() + layer_state().len()`.
    pub fn snapshot_len(&self) -> usize {
        self.trainable_params().len() + self.layer_state().len()
    }

    /// Copies every weight that training changes into `dst` (exactly
    /// [`Sequential::snapshot_len`] elements): [`Sequential::trainable_params`] followed by
    /// [`Sequential::layer_state`]. With the blob, whose other weights training never
    /// changes, this is everything needed to restore the model (Keras:
    /// `model.get_weights()`). [`Error::ShapeMismatch`] on a wrong length.
    pub fn write_snapshot(&self, dst: &mut [T]) -> Result<()> {
        let (params, state) = (self.trainable_params(), self.layer_state());
        if dst.len() != params.len() + state.len() {
            return Err(Error::ShapeMismatch {
                expected: params.len() + state.len(),
                found: dst.len(),
            });
        }
        let (a, b) = dst.split_at_mut(params.len());
        a.copy_from_slice(params);
        b.copy_from_slice(state);
        Ok(())
    }

    /// Restores a snapshot written by [`Sequential::write_snapshot`] (Keras:
    /// `model.set_weights(...)`): trainable parameters and layer state; optimizer state and
    /// iterations are kept, as Keras keeps them. [`Error::NotTraining`] for an inference
    /// model, [`Error::ShapeMismatch`] on a wrong length (nothing is changed then).
    pub fn restore_snapshot(&mut self, src: &[T]) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .restore_snapshot(src)
    }

    /// The learning rate of the next update (Keras: `float(model.optimizer.learning_rate)`),
    /// `None` for an inference model.
    pub fn learning_rate(&self) -> Option<f32> {
        self.training.as_ref().map(|t| t.learning_rate())
    }

    /// Sets the optimizer's constant learning rate for the following updates (Keras:
    /// `model.optimizer.learning_rate = lr`, what `ReduceLROnPlateau` and
    /// `LearningRateScheduler` do). Like Keras, this fails
    /// ([`Error::InvalidConfig`]) when the optimizer uses a learning-rate schedule, and
    /// for a non-finite or negative `lr`.
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        self.training
            .as_mut()
            .ok_or(Error::NotTraining)?
            .set_learning_rate(lr)
    }

    /// The loss of a batch without training it (Keras's `model.test_on_batch(x, y)`):
    /// forward in inference mode, then the compiled loss plus the regularization losses
    /// (as Keras's `compute_loss` adds them in evaluation too). Shapes as for
    /// [`Sequential::train_on_batch`]; parameters, optimizer state and iterations are not
    /// touched.
    pub fn test_on_batch(&mut self, x: &[T], y_true: &[T]) -> Result<T> {
        self.test_on_batch_weighted(x, y_true, None)
    }

    /// [`Sequential::test_on_batch`] with one weight per sample (Keras:
    /// `model.test_on_batch(x, y, sample_weight=w)`).
    pub fn test_on_batch_weighted(
        &mut self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<T> {
        let (cfg, b) = self.check_batch(x, y_true, sample_weight)?;
        let out_len = self.graph.output_shape().len();
        let last = self.graph.output_shape().last();
        self.forward(x, b, &Context::default())?;
        let n = self.graph.layers().len();
        let out_off = self.plan.act_offsets[n - 1].unwrap_or(0);
        let y_pred = &self.activations[out_off..out_off + b * out_len];
        let grad = self
            .gbufs
            .get_mut(..b * out_len)
            .ok_or(Error::NotTraining)?;
        let loss = cfg
            .loss
            .value_and_grad(y_pred, y_true, sample_weight, grad, last)?;
        let layers = self.graph.layers();
        match self.training.as_ref() {
            Some(t) if regularization::any(layers) => Ok(loss
                + regularization::regularization_loss(
                    layers,
                    &self.plan,
                    self.activations,
                    t.params,
                    b,
                )?),
            _ => Ok(loss),
        }
    }

    /// Checks a training or test batch against the training configuration: returns the
    /// configuration and the number of samples.
    fn check_batch(
        &self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<(TrainConfig, usize)> {
        let Some(cfg) = self.training.as_ref().map(|t| t.config) else {
            return Err(Error::NotTraining);
        };
        let in_len = self.graph.input_shape().len();
        let out_len = self.graph.output_shape().len();
        if x.is_empty() || x.len() % in_len != 0 {
            return Err(Error::ShapeMismatch {
                expected: in_len,
                found: x.len(),
            });
        }
        let b = x.len() / in_len;
        if b > cfg.batch_size {
            return Err(Error::BatchTooLarge {
                max: cfg.batch_size,
                found: b,
            });
        }
        let y_len = cfg
            .loss
            .y_true_len(b * out_len, self.graph.output_shape().last());
        if y_true.len() != y_len {
            return Err(Error::ShapeMismatch {
                expected: y_len,
                found: y_true.len(),
            });
        }
        if let Some(w) = sample_weight {
            if w.len() != b {
                return Err(Error::ShapeMismatch {
                    expected: b,
                    found: w.len(),
                });
            }
        }
        Ok((cfg, b))
    }

    /// The model's output for the last `b` samples run by [`Sequential::train_on_batch`]
    /// or [`Sequential::test_on_batch`] (computed before the update, what Keras's
    /// metrics see), `None` for an inference model or a `b` larger than the batch.
    pub fn last_output(&self, b: usize) -> Option<&[T]> {
        self.training.as_ref()?;
        let n = self.graph.layers().len();
        let off = self.plan.act_offsets[n - 1]?;
        self.activations
            .get(off..off + b.checked_mul(self.graph.output_shape().len())?)
    }
}
