//! A [`Cell`] as a layer: shapes, parameters, and the batched forward and backward
//! passes (one sample at a time through the sequence driver).

use heapless::Vec;

use super::cell::{check_len, Cell, CellGrads, CellParams};
use super::sequence::{self, Dims, Mode, Sample, SampleGrads};
use crate::layers::{Context, ParamShapes, TensorMask};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Most state vectors a cell has (LSTM: `h`, `c`).
pub(crate) const MAX_STATES: usize = 2;

/// `(steps, features)` of a recurrent layer's input (Keras wants rank 3 with the batch).
pub(crate) fn dims(input: Shape) -> Result<Dims> {
    match input.dims() {
        &[steps, n_in] if steps > 0 && n_in > 0 => Ok(Dims {
            steps: steps as usize,
            n_in: n_in as usize,
        }),
        _ => Err(Error::InvalidShape),
    }
}

/// The batch size and [`Dims`] of a batched `(batch, steps, features)` input.
pub(crate) fn batch_dims(shape: Shape) -> Result<(usize, Dims)> {
    match shape.dims() {
        &[batch, steps, n_in] if steps > 0 && n_in > 0 => Ok((
            batch as usize,
            Dims {
                steps: steps as usize,
                n_in: n_in as usize,
            },
        )),
        _ => Err(Error::InvalidShape),
    }
}

/// Whether `n` inputs are allowed: the sequence, optionally followed by the initial
/// states (Keras's `initial_state=`).
pub(crate) fn input_count_ok<C: Cell>(n: usize) -> bool {
    n == 1 || n == 1 + C::STATES
}

/// The shapes of a call's outputs: the output (`(steps, units)` with
/// `return_sequences`, else `(units,)`), then with `return_state` each state vector
/// (`(units,)`).
pub(crate) fn output_parts<C: Cell>(cell: &C, input: Shape) -> Result<heapless::Vec<Shape, 8>> {
    let d = dims(input)?;
    let o = cell.options();
    let u = cell.units();
    let mut parts = heapless::Vec::new();
    let first = if o.return_sequences {
        Shape::new(&[d.steps, u])?
    } else {
        Shape::new(&[u])?
    };
    let _ = parts.push(first);
    if o.return_state {
        for _ in 0..C::STATES {
            let _ = parts.push(Shape::new(&[u])?);
        }
    }
    Ok(parts)
}

/// Output shape: `(steps, units)` with `return_sequences`, else `(units,)`; with
/// `return_state` the flat `(output + states,)` that [`output_parts`] describes. Initial
/// states, when given, must be `(units,)` each.
pub(crate) fn output_shape<C: Cell>(cell: &C, inputs: &[Shape]) -> Result<Shape> {
    cell.validate()?;
    let (x, states) = inputs.split_first().ok_or(Error::InvalidShape)?;
    if !input_count_ok::<C>(inputs.len()) {
        return Err(Error::InvalidConfig(
            "a recurrent layer takes the sequence, then optionally one initial state per state vector",
        ));
    }
    let d = dims(*x)?;
    let u = cell.units();
    if states.iter().any(|s| s.rank() != 1 || s.dim(0) != u) {
        return Err(Error::InvalidShape);
    }
    let o = cell.options();
    if o.return_state {
        Shape::new(&[o.output_len(d.steps, C::STATES)])
    } else if o.return_sequences {
        Shape::new(&[d.steps, u])
    } else {
        Shape::new(&[u])
    }
}

/// Keras's weight shapes for the sequence input shape.
pub(crate) fn param_shapes<C: Cell>(cell: &C, input: Shape) -> Result<ParamShapes> {
    cell.validate()?;
    cell.cell_param_shapes(dims(input)?.n_in)
}

/// Multiply-accumulates per sample: the two products of every step.
pub(crate) fn macs<C: Cell>(cell: &C, input: Shape) -> usize {
    let Ok(d) = dims(input) else { return 0 };
    let gu = C::GATES * cell.units();
    d.steps * gu * (d.n_in + cell.units())
}

/// Scratch elements of one call (training adds the saved steps and the initial states'
/// gradient).
pub(crate) fn scratch_elems<C: Cell>(cell: &C, input: Shape, training: bool) -> Result<usize> {
    let d = dims(input)?;
    let base = sequence::scratch_elems(cell, d, training).ok_or(Error::InvalidShape)?;
    let dinit = if training {
        C::STATES * cell.units()
    } else {
        0
    };
    base.checked_add(dinit).ok_or(Error::InvalidShape)
}

/// The cell's parameter slices, checked against Keras's shapes.
pub(crate) fn cell_params<'p, T, C: Cell>(
    cell: &C,
    params: &[&'p [T]],
    n_in: usize,
) -> Result<CellParams<'p, T>> {
    let shapes = cell.cell_param_shapes(n_in)?;
    check_len(shapes.len(), params.len())?;
    for (s, p) in shapes.iter().zip(params) {
        check_len(s.len(), p.len())?;
    }
    Ok(CellParams {
        kernel: params[0],
        recurrent: params[1],
        bias: params.get(2).copied().unwrap_or(&[]),
    })
}

/// Splits concatenated parameter gradients into the cell's three tensors.
pub(crate) fn cell_grads<'g, T, C: Cell>(
    cell: &C,
    dparams: &'g mut [T],
    n_in: usize,
) -> Result<CellGrads<'g, T>> {
    let shapes = cell.cell_param_shapes(n_in)?;
    let total: usize = shapes.iter().map(|s| s.len()).sum();
    check_len(total, dparams.len())?;
    let (kernel, rest) = dparams.split_at_mut(shapes[0].len());
    let (recurrent, bias) = rest.split_at_mut(shapes[1].len());
    Ok(CellGrads {
        kernel,
        recurrent,
        bias,
    })
}

/// The sequence and initial states of a call, checked: returns the dims, batch and the
/// initial-state views.
fn call_inputs<'a, T: Scalar, C: Cell>(
    cell: &C,
    xs: &[TensorView<'a, T>],
    ids: Option<&[T]>,
) -> Result<(Dims, usize, Vec<&'a [T], MAX_STATES>)> {
    let (x, states) = xs.split_first().ok_or(Error::InvalidShape)?;
    let (batch, d) = batch_dims(x.shape())?;
    if !input_count_ok::<C>(xs.len()) {
        return Err(Error::InvalidShape);
    }
    let mut init = Vec::new();
    for s in states {
        check_len(batch * cell.units(), s.data().len())?;
        let _ = init.push(s.data());
    }
    if let Some(ids) = ids {
        check_len(batch * d.steps, ids.len())?;
    }
    Ok((d, batch, init))
}

/// Sample `b`'s rows of each initial state.
fn sample_init<'a, T>(init: &[&'a [T]], b: usize, u: usize) -> Vec<&'a [T], MAX_STATES> {
    init.iter().map(|s| &s[b * u..(b + 1) * u]).collect()
}

/// Batched forward pass of a cell layer.
#[allow(clippy::too_many_arguments)] // the call's tensors, buffers and driver options
pub(crate) fn forward<T: Scalar, C: Cell>(
    cell: &C,
    params: &[&[T]],
    xs: &[TensorView<'_, T>],
    ids: Option<&[T]>,
    mut y: TensorViewMut<'_, T>,
    scratch: &mut [T],
    ctx: &Context,
    salt: u64,
    zero_masked: bool,
) -> Result<()> {
    cell.validate()?;
    let (d, batch, init) = call_inputs(cell, xs, ids)?;
    let p = cell_params(cell, params, d.n_in)?;
    let u = cell.units();
    let out = cell.options().output_len(d.steps, C::STATES);
    let y = y.data();
    check_len(batch * out, y.len())?;
    let x = xs[0].data();
    for b in 0..batch {
        let init_b = sample_init(&init, b, u);
        let s = Sample {
            x: &x[b * d.steps * d.n_in..(b + 1) * d.steps * d.n_in],
            ids: ids.map(|i| &i[b * d.steps..(b + 1) * d.steps]),
            init: &init_b,
        };
        let mode = Mode {
            training: ctx.training,
            zero_masked,
            seed: sequence::sample_seed(ctx.seed, salt, b),
        };
        let y_b = &mut y[b * out..(b + 1) * out];
        sequence::forward_sample(cell, &p, d, &s, y_b, mode, scratch)?;
    }
    Ok(())
}

/// Checks `wanted` is all of a layer's tensors or none; returns whether any trains.
pub(crate) fn wants_params(wanted: TensorMask, n: usize) -> Result<bool> {
    if wanted == TensorMask::EMPTY {
        Ok(false)
    } else if wanted == TensorMask::first(n) {
        Ok(true)
    } else {
        Err(Error::InvalidConfig(
            "a recurrent layer trains all of its tensors or none",
        ))
    }
}

/// Batched backward pass of a cell layer: `dxs[0]` (if given) receives `∂L/∂x`,
/// `dxs[1..]` the initial states' gradients, `dparams` the parameter gradients.
#[allow(clippy::too_many_arguments)] // the call's tensors, gradients and buffers
pub(crate) fn backward<T: Scalar, C: Cell>(
    cell: &C,
    params: &[&[T]],
    xs: &[TensorView<'_, T>],
    ids: Option<&[T]>,
    dy: &[T],
    dxs: &mut [Option<&mut [T]>],
    dparams: Option<&mut [T]>,
    scratch: &mut [T],
    ctx: &Context,
    salt: u64,
    zero_masked: bool,
) -> Result<()> {
    cell.validate()?;
    let (d, batch, init) = call_inputs(cell, xs, ids)?;
    let p = cell_params(cell, params, d.n_in)?;
    let u = cell.units();
    let n_state = C::STATES * u;
    check_len(xs.len(), dxs.len())?;
    let out = cell.options().output_len(d.steps, C::STATES);
    check_len(batch * out, dy.len())?;
    let mut grads = match dparams {
        Some(dp) if !dp.is_empty() => {
            dp.fill(T::ZERO);
            Some(cell_grads(cell, dp, d.n_in)?)
        }
        _ => None,
    };
    let (dx_all, dstates) = dxs.split_first_mut().ok_or(Error::InvalidShape)?;
    let per = d.steps * d.n_in;
    if let Some(dx) = dx_all.as_deref_mut() {
        check_len(batch * per, dx.len())?;
        dx.fill(T::ZERO);
    }
    if scratch.len() < n_state {
        return Err(Error::ArenaTooSmall {
            needed: n_state,
            available: scratch.len(),
        });
    }
    let (dinit, scratch) = scratch.split_at_mut(n_state);
    let x = xs[0].data();
    for b in 0..batch {
        let init_b = sample_init(&init, b, u);
        let s = Sample {
            x: &x[b * per..(b + 1) * per],
            ids: ids.map(|i| &i[b * d.steps..(b + 1) * d.steps]),
            init: &init_b,
        };
        let mode = Mode {
            training: ctx.training,
            zero_masked,
            seed: sequence::sample_seed(ctx.seed, salt, b),
        };
        let dx_b: &mut [T] = match dx_all.as_deref_mut() {
            Some(dx) => &mut dx[b * per..(b + 1) * per],
            None => &mut [],
        };
        let mut g = SampleGrads {
            dx: dx_b,
            dinit: (!init.is_empty()).then_some(&mut *dinit),
            params: grads.as_mut(),
        };
        let dy_b = &dy[b * out..(b + 1) * out];
        sequence::backward_sample(cell, &p, d, &s, dy_b, &mut g, mode, scratch)?;
        if !init.is_empty() {
            for (k, ds) in dstates.iter_mut().enumerate() {
                if let Some(ds) = ds.as_deref_mut() {
                    check_len(batch * u, ds.len())?;
                    ds[b * u..(b + 1) * u].copy_from_slice(&dinit[k * u..(k + 1) * u]);
                }
            }
        }
    }
    Ok(())
}

/// State elements a streamed cell keeps between steps.
pub(crate) fn state_elems<C: Cell>(cell: &C) -> usize {
    C::STATES * cell.units()
}

/// One streamed step of a cell layer (see [`crate::layers::LayerConfig::stream_step`]).
#[allow(clippy::too_many_arguments)] // the step's tensors and buffers
pub(crate) fn stream_step<T: Scalar, C: Cell>(
    cell: &C,
    params: &[&[T]],
    x: &[T],
    masked: bool,
    state: &mut [T],
    y: &mut [T],
    scratch: &mut [T],
) -> Result<()> {
    cell.validate()?;
    if cell.options().go_backwards {
        return Err(Error::InvalidConfig(
            "a go_backwards layer cannot stream: it needs the sequence's end first",
        ));
    }
    let p = cell_params(cell, params, x.len())?;
    sequence::stream_step(cell, &p, x, masked, state, y, scratch)
}
