//! [`FitModel`]: what [`super::fit()`], [`super::evaluate()`] and the [`super::callbacks`]
//! need of a model, implemented by [`Sequential`] and by [`Functional`] (graph models
//! with one input and one output). Static dispatch: `fit` and every callback hook are
//! generic over the model type.

use super::{Functional, Graph, Sequential, TrainConfig};
use crate::{Error, Result, Scalar, Shape};

/// The message of the error a [`Functional`] model with several inputs or outputs gets
/// from [`FitModel`]'s methods.
const ONE_IO: &str = "fit and evaluate take graph models with exactly 1 input and 1 output; use \
     Functional::train_on_batch for several inputs or outputs";

/// A model that [`super::fit()`] can train: Keras's `Model` as `fit`, `evaluate` and the
/// callbacks see it (`train_on_batch`, `test_on_batch`, `get_weights`/`set_weights`,
/// `optimizer.learning_rate`). Implemented by [`Sequential`] and [`Functional`].
///
/// A [`Functional`] model with several inputs or outputs is refused by
/// [`FitModel::input_shape`] and [`FitModel::output_shape`] (so by `fit` and `evaluate`)
/// with [`Error::InvalidConfig`]; train it with [`Functional::train_on_batch`].
///
/// Callbacks read and restore the model through this trait: a callback written once
/// works with both kinds of model.
///
/// ```
/// use ember_nn::model::FitModel;
/// use ember_nn::Scalar;
///
/// /// The weights a callback would keep, for either kind of model.
/// fn keep<T: Scalar, M: FitModel<T, N>, const N: usize>(m: &M, dst: &mut [T]) -> ember_nn::Result<()> {
///     m.write_snapshot(&mut dst[..m.snapshot_len()])
/// }
/// ```
pub trait FitModel<T: Scalar, const N: usize> {
    /// The decoded model (layers, nodes, shapes).
    fn graph(&self) -> &Graph<'_, T, N>;

    /// The training configuration, `None` for an inference model.
    fn train_config(&self) -> Option<&TrainConfig>;

    /// Shape (no batch) of the one model input.
    fn input_shape(&self) -> Result<Shape>;

    /// Shape (no batch) of the one model output.
    fn output_shape(&self) -> Result<Shape>;

    /// One training step on a batch with optional per-sample weights; returns the loss
    /// computed before the update (Keras's `train_on_batch(x, y, sample_weight=w)`).
    fn train_on_batch_weighted(
        &mut self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<T>;

    /// The loss of a batch in inference mode, without training (Keras's `test_on_batch`).
    fn test_on_batch(&mut self, x: &[T], y_true: &[T]) -> Result<T>;

    /// The output of the last `b` samples run by a training or test step.
    fn last_output(&self, b: usize) -> Option<&[T]>;

    /// Parameter `index` of layer `layer` as the model currently uses it.
    fn param(&self, layer: usize, index: usize) -> Option<&[T]>;

    /// Every trainable parameter, concatenated (empty for an inference model).
    fn trainable_params(&self) -> &[T];

    /// Overwrites every trainable parameter from `src`.
    fn set_trainable_params(&mut self, src: &[T]) -> Result<()>;

    /// The non-trainable state that training changes (moving statistics).
    fn layer_state(&self) -> &[T];

    /// Restores a snapshot written by [`FitModel::write_snapshot`].
    fn restore_snapshot(&mut self, src: &[T]) -> Result<()>;

    /// The learning rate of the next update, `None` for an inference model.
    fn learning_rate(&self) -> Option<f32>;

    /// Sets the optimizer's constant learning rate (see
    /// [`Sequential::set_learning_rate`]).
    fn set_learning_rate(&mut self, lr: f32) -> Result<()>;

    /// Elements of a snapshot: `trainable_params().len() + layer_state().len()`.
    fn snapshot_len(&self) -> usize {
        self.trainable_params().len() + self.layer_state().len()
    }

    /// Copies [`FitModel::trainable_params`] then [`FitModel::layer_state`] into `dst`
    /// (exactly [`FitModel::snapshot_len`] elements, else [`Error::ShapeMismatch`]).
    fn write_snapshot(&self, dst: &mut [T]) -> Result<()> {
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
}

impl<T: Scalar, const N: usize> FitModel<T, N> for Sequential<'_, T, N> {
    fn graph(&self) -> &Graph<'_, T, N> {
        Sequential::graph(self)
    }

    fn train_config(&self) -> Option<&TrainConfig> {
        Sequential::train_config(self)
    }

    fn input_shape(&self) -> Result<Shape> {
        Ok(Sequential::input_shape(self))
    }

    fn output_shape(&self) -> Result<Shape> {
        Ok(Sequential::output_shape(self))
    }

    fn train_on_batch_weighted(
        &mut self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<T> {
        Sequential::train_on_batch_weighted(self, x, y_true, sample_weight)
    }

    fn test_on_batch(&mut self, x: &[T], y_true: &[T]) -> Result<T> {
        Sequential::test_on_batch(self, x, y_true)
    }

    fn last_output(&self, b: usize) -> Option<&[T]> {
        Sequential::last_output(self, b)
    }

    fn param(&self, layer: usize, index: usize) -> Option<&[T]> {
        Sequential::param(self, layer, index)
    }

    fn trainable_params(&self) -> &[T] {
        Sequential::trainable_params(self)
    }

    fn set_trainable_params(&mut self, src: &[T]) -> Result<()> {
        Sequential::set_trainable_params(self, src)
    }

    fn layer_state(&self) -> &[T] {
        Sequential::layer_state(self)
    }

    fn restore_snapshot(&mut self, src: &[T]) -> Result<()> {
        Sequential::restore_snapshot(self, src)
    }

    fn learning_rate(&self) -> Option<f32> {
        Sequential::learning_rate(self)
    }

    fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        Sequential::set_learning_rate(self, lr)
    }
}

impl<T: Scalar, const N: usize> FitModel<T, N> for Functional<'_, T, N> {
    fn graph(&self) -> &Graph<'_, T, N> {
        Functional::graph(self)
    }

    fn train_config(&self) -> Option<&TrainConfig> {
        Functional::train_config(self)
    }

    fn input_shape(&self) -> Result<Shape> {
        match self.graph().inputs() {
            [one] => Ok(*one),
            _ => Err(Error::InvalidConfig(ONE_IO)),
        }
    }

    fn output_shape(&self) -> Result<Shape> {
        let mut outs = self.output_shapes();
        match (outs.next(), outs.next()) {
            (Some(one), None) => Ok(one),
            _ => Err(Error::InvalidConfig(ONE_IO)),
        }
    }

    fn train_on_batch_weighted(
        &mut self,
        x: &[T],
        y_true: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<T> {
        Functional::train_on_batch_weighted(self, &[x], &[y_true], sample_weight)
    }

    fn test_on_batch(&mut self, x: &[T], y_true: &[T]) -> Result<T> {
        Functional::test_on_batch(self, &[x], &[y_true])
    }

    fn last_output(&self, b: usize) -> Option<&[T]> {
        Functional::last_output(self, 0, b)
    }

    fn param(&self, layer: usize, index: usize) -> Option<&[T]> {
        Functional::param(self, layer, index)
    }

    fn trainable_params(&self) -> &[T] {
        Functional::trainable_params(self)
    }

    fn set_trainable_params(&mut self, src: &[T]) -> Result<()> {
        Functional::set_trainable_params(self, src)
    }

    fn layer_state(&self) -> &[T] {
        Functional::layer_state(self)
    }

    fn restore_snapshot(&mut self, src: &[T]) -> Result<()> {
        Functional::restore_snapshot(self, src)
    }

    fn learning_rate(&self) -> Option<f32> {
        Functional::learning_rate(self)
    }

    fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        Functional::set_learning_rate(self, lr)
    }
}
