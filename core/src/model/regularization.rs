//! Keras's regularization losses and constraints inside a training step: the penalties
//! added to the loss (`model.losses`), their gradients, and the projections applied after
//! the optimizer update.

use super::graph::LayerEntry;
use super::regions::ParamRegions;
use super::MemoryPlan;
use crate::{Error, Result, Scalar};

/// Σ of Keras's `model.losses` for the current step: each layer's activity penalty of its
/// output in `activations` divided by the batch `b` (Keras: `divide_no_nan(reg(y),
/// batch)`), then each regularized trainable tensor's penalty of the layers that train
/// (Keras: `variable.regularizer(variable)` over `model.trainable_weights`).
pub(super) fn regularization_loss<T: Scalar, const N: usize>(
    layers: &[LayerEntry<'_, T>],
    plan: &MemoryPlan<N>,
    activations: &[T],
    params: &[T],
    b: usize,
) -> Result<T> {
    let mut total = T::ZERO;
    for (k, l) in layers.iter().enumerate() {
        if l.attrs.activity_regularizer.is_some() {
            total = total + activity_loss(l, output(plan, activations, k, l, b)?, b);
        }
    }
    Ok(total + weight_loss(layers, &plan.regions, params)?)
}

/// Layer `l`'s activity penalty of one call's output `y` (batch `b`): Keras's
/// `divide_no_nan(reg(y), batch)`; 0 without an activity regularizer.
pub(super) fn activity_loss<T: Scalar>(l: &LayerEntry<'_, T>, y: &[T], b: usize) -> T {
    match l.attrs.activity_regularizer {
        Some(r) => r.value(y).div(T::from_usize(b)),
        None => T::ZERO,
    }
}

/// Σ of the weight penalties of the tensors that train.
pub(super) fn weight_loss<T: Scalar, const N: usize>(
    layers: &[LayerEntry<'_, T>],
    regions: &ParamRegions<N>,
    params: &[T],
) -> Result<T> {
    let mut total = T::ZERO;
    for_each_tensor(layers, regions, |l, i, range| {
        if let Some(r) = l.attrs.regularizers.get(i).copied().flatten() {
            total = total + r.value(params.get(range).ok_or(Error::NotTraining)?);
        }
        Ok(())
    })?;
    Ok(total)
}

/// Adds layer `l`'s activity penalty gradient (`reg'(y) / b`) to `dy`, the loss gradient
/// at its output `y`.
pub(super) fn add_activity_gradient<T: Scalar>(
    l: &LayerEntry<'_, T>,
    y: &[T],
    dy: &mut [T],
    b: usize,
) -> Result<()> {
    match l.attrs.activity_regularizer {
        Some(r) => r.add_scaled_gradient(y, dy, T::ONE.div(T::from_usize(b))),
        None => Ok(()),
    }
}

/// Adds each regularized trainable tensor's penalty gradient to its gradient.
pub(super) fn add_weight_gradients<T: Scalar, const N: usize>(
    layers: &[LayerEntry<'_, T>],
    plan: &ParamRegions<N>,
    params: &[T],
    grads: &mut [T],
) -> Result<()> {
    for_each_tensor(layers, plan, |l, i, range| {
        match l.attrs.regularizers.get(i).copied().flatten() {
            Some(r) => r.add_gradient(
                params.get(range.clone()).ok_or(Error::NotTraining)?,
                grads.get_mut(range).ok_or(Error::NotTraining)?,
            ),
            None => Ok(()),
        }
    })
}

/// Projects each constrained trainable tensor (Keras: `variable.assign(
/// constraint(variable))` after the optimizer's update).
pub(super) fn apply_constraints<T: Scalar, const N: usize>(
    layers: &[LayerEntry<'_, T>],
    plan: &ParamRegions<N>,
    params: &mut [T],
) -> Result<()> {
    for_each_tensor(layers, plan, |l, i, range| {
        match l.attrs.constraints.get(i).copied().flatten() {
            Some(c) => {
                let shapes = l.config.param_shapes(l.input)?;
                let shape = *shapes.get(i).ok_or(Error::NotTraining)?;
                c.apply(params.get_mut(range).ok_or(Error::NotTraining)?, shape)
            }
            None => Ok(()),
        }
    })
}

/// Whether any layer has a regularizer or constraint (the step skips this module's work
/// otherwise).
pub(super) fn any<T>(layers: &[LayerEntry<'_, T>]) -> bool {
    layers.iter().any(|l| !l.attrs.is_none())
}

/// Layer `k`'s output of the last forward pass (training layouts keep every output).
fn output<'x, T: Scalar, const N: usize>(
    plan: &MemoryPlan<N>,
    activations: &'x [T],
    k: usize,
    l: &LayerEntry<'_, T>,
    b: usize,
) -> Result<&'x [T]> {
    let off = plan
        .act_offsets
        .get(k)
        .copied()
        .flatten()
        .ok_or(Error::NotTraining)?;
    activations
        .get(off..off + b * l.output.len())
        .ok_or(Error::NotTraining)
}

/// Calls `f(layer, tensor index, element range in the parameter region)` for every
/// tensor that trains, in arena (Keras variable) order (Keras regularizes and constrains
/// only `trainable` variables).
fn for_each_tensor<T, const N: usize>(
    layers: &[LayerEntry<'_, T>],
    plan: &ParamRegions<N>,
    mut f: impl FnMut(&LayerEntry<'_, T>, usize, core::ops::Range<usize>) -> Result<()>,
) -> Result<()> {
    for (k, (l, off)) in layers.iter().zip(plan.param_offsets.iter()).enumerate() {
        let Some(mut at) = *off else { continue };
        let mask = plan.trained_tensors(k);
        for (i, p) in l.params[..l.trainable_tensors()].iter().enumerate() {
            if mask.contains(i) {
                f(l, i, at..at + p.len())?;
                at += p.len();
            }
        }
    }
    Ok(())
}
