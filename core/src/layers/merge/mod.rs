//! Merge layers: Keras's multi-input layers `Add`, `Subtract`, `Multiply`, `Average`,
//! `Maximum`, `Minimum`, `Concatenate` and `Dot` (`keras/src/layers/merging/`).
//!
//! They take several tensors, so they do not fit the single-input [`super::Layer`]
//! interface: they implement [`Merge`], which a graph (functional model) executor calls
//! with one view per input. None has parameters. Like every layer they are small `Copy`
//! configuration values, stored in the blob as [`super::LayerConfig`] variants; the
//! enum's `*_n` methods ([`super::LayerConfig::forward_n`], …) dispatch to them.

mod broadcast;
mod concatenate;
mod dispatch;
mod dot;
mod elementwise;

pub use concatenate::Concatenate;
pub use dot::Dot;
pub use elementwise::{Add, Average, Maximum, Minimum, Multiply, Subtract};

use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// Most inputs a merge node takes.
pub const MAX_MERGE_INPUTS: usize = 8;

/// The interface of multi-input (merge) layers: no parameters, one or more inputs
/// ([`Merge::input_count_ok`]). Shapes exclude the batch dimension; the views passed to
/// [`Merge::forward`] and [`Merge::backward`] carry it (the same batch for every input).
pub trait Merge {
    /// The Keras class this layer implements (`"Add"`).
    const KERAS_CLASS: &'static str;

    /// Whether the layer takes `n` inputs. Keras's `Merge.build` requires at least one
    /// (`Add()([x])` is `x`); `Subtract` and `Dot` take exactly two. Ember also caps the
    /// count at [`MAX_MERGE_INPUTS`].
    fn input_count_ok(&self, n: usize) -> bool;

    /// Output shape (no batch) for the input shapes (no batch); an error on a wrong
    /// number of inputs or incompatible shapes.
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape>;

    /// Multiply-accumulates for one sample (0 for the additive and selecting merges).
    fn macs(&self, inputs: &[Shape]) -> usize;

    /// Batched forward: `xs[i]` has shape `(batch, inputs[i]…)`, `y` has
    /// `(batch, output…)`.
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()>;

    /// Batched backward. `dy` (`∂L/∂y`, the length of `y`) is only read, so the executor
    /// may call backward several times for one forward. For every `i` with
    /// `dxs[i] = Some(buf)`, **overwrites** `buf` with `∂L/∂x_i` (length
    /// `batch × inputs[i].len()`); `None` entries are skipped. `dxs.len()` must equal
    /// `xs.len()`. Uses no scratch memory.
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()>;
}

/// `Err(ShapeMismatch)` unless `expected == found`.
fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// The per-sample shape of a batched shape (its dims after the first) and the batch.
fn split_batch(batched: Shape) -> Result<(usize, Shape)> {
    if batched.rank() == 0 {
        return Err(Error::InvalidShape);
    }
    let mut dims = [0usize; MAX_RANK];
    for (o, &d) in dims.iter_mut().zip(&batched.dims()[1..]) {
        *o = d as usize;
    }
    Ok((batched.dim(0), Shape::new(&dims[..batched.rank() - 1])?))
}

/// The per-sample input shapes of batched views (into `out`) and their common batch;
/// an error when the views disagree on the batch or the count is not `count_ok`.
fn sample_shapes<T: Scalar>(
    xs: &[TensorView<'_, T>],
    count_ok: bool,
    out: &mut [Shape; MAX_MERGE_INPUTS],
) -> Result<usize> {
    if !count_ok || xs.is_empty() || xs.len() > MAX_MERGE_INPUTS {
        return Err(Error::InvalidConfig(
            "wrong number of inputs for the merge layer",
        ));
    }
    let mut batch = 0;
    for (i, (x, o)) in xs.iter().zip(out.iter_mut()).enumerate() {
        let (b, s) = split_batch(x.shape())?;
        if i > 0 {
            check(batch, b)?;
        }
        batch = b;
        *o = s;
    }
    Ok(batch)
}

/// Checks the batched output view against the expected per-sample output shape.
fn check_output(batch: usize, out: Shape, y: Shape) -> Result<()> {
    let want = out.with_batch(batch)?;
    if want != y {
        return Err(Error::ShapeMismatch {
            expected: want.len(),
            found: y.len(),
        });
    }
    Ok(())
}

/// Checks the backward buffers: one `dxs` entry per input, each `Some` of its input's
/// length, and `dy` of the output's length.
fn check_grads<T: Scalar>(
    xs: &[TensorView<'_, T>],
    y: TensorView<'_, T>,
    dy: &[T],
    dxs: &[Option<&mut [T]>],
) -> Result<()> {
    check(xs.len(), dxs.len())?;
    check(y.shape().len(), dy.len())?;
    for (x, dx) in xs.iter().zip(dxs) {
        if let Some(dx) = dx {
            check(x.shape().len(), dx.len())?;
        }
    }
    Ok(())
}
