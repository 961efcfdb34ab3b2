//! The sequence driver: runs a [`Cell`] over the time steps of one sample, forward and
//! backward (backpropagation through time), with Keras's masking, `go_backwards`,
//! `return_sequences`, initial states and dropout; and the scratch layout it needs.

use super::cell::{check_len, Cell, CellGrads, CellParams, Drops};
use crate::layers::mix;
use crate::random::Rng;
use crate::{Error, Result, Scalar};

/// The sizes of one call, per sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub(crate) steps: usize,
    pub(crate) n_in: usize,
}

/// How a sample's outputs are written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mode {
    /// Training (dropout acts).
    pub(crate) training: bool,
    /// Keras's `zero_output_for_mask`: masked steps output zeros instead of repeating
    /// the previous output (Bidirectional sets it when returning sequences).
    pub(crate) zero_masked: bool,
    /// Seed of this sample's dropout masks.
    pub(crate) seed: u64,
}

/// Elements of one step's saved record: the cell's extra values, then the new state.
fn record<C: Cell>(cell: &C) -> usize {
    cell.saved_extra() + C::STATES * cell.units()
}

/// Steps a training pass keeps at once: the BPTT window, or the whole sequence.
pub(crate) fn window<C: Cell>(cell: &C, steps: usize) -> usize {
    match cell.options().bptt_window as usize {
        0 => steps,
        w => w.min(steps),
    }
}

/// Scratch elements one call needs (per call, not per sample: samples run one by one).
pub(crate) fn scratch_elems<C: Cell>(cell: &C, d: Dims, training: bool) -> Option<usize> {
    let u = cell.units();
    let s = C::STATES.checked_mul(u)?;
    let masks = C::GATES.checked_mul(d.n_in.checked_add(u)?)?;
    let base = [2 * s, masks, cell.saved_extra(), cell.work()]
        .iter()
        .try_fold(0usize, |a, &b| a.checked_add(b))?;
    if !training {
        return Some(base);
    }
    let chain = window(cell, d.steps).checked_mul(record(cell))?;
    base.checked_add(chain)?.checked_add(3 * s)
}

/// The scratch of one sample, split.
struct Parts<'s, T> {
    state: &'s mut [T],
    other: &'s mut [T],
    masks: &'s mut [T],
    extra: &'s mut [T],
    work: &'s mut [T],
    /// Training only: `window` step records, the window's start state, ∂next, ∂prev.
    chain: &'s mut [T],
    start: &'s mut [T],
    dnext: &'s mut [T],
    dprev: &'s mut [T],
}

fn take<'s, T>(rest: &mut &'s mut [T], n: usize) -> Result<&'s mut [T]> {
    let r = core::mem::take(rest);
    if r.len() < n {
        return Err(Error::InvalidConfig("recurrent scratch too small"));
    }
    let (a, b) = r.split_at_mut(n);
    *rest = b;
    Ok(a)
}

fn split<'s, T, C: Cell>(
    cell: &C,
    d: Dims,
    training: bool,
    scratch: &'s mut [T],
) -> Result<Parts<'s, T>> {
    let needed = scratch_elems(cell, d, training).ok_or(Error::InvalidShape)?;
    if scratch.len() < needed {
        return Err(Error::ArenaTooSmall {
            needed,
            available: scratch.len(),
        });
    }
    let u = cell.units();
    let s = C::STATES * u;
    let mut rest = scratch;
    let state = take(&mut rest, s)?;
    let other = take(&mut rest, s)?;
    let masks = take(&mut rest, C::GATES * (d.n_in + u))?;
    let extra = take(&mut rest, cell.saved_extra())?;
    let work = take(&mut rest, cell.work())?;
    let (chain, start, dnext, dprev) = if training {
        (
            take(&mut rest, window(cell, d.steps) * record(cell))?,
            take(&mut rest, s)?,
            take(&mut rest, s)?,
            take(&mut rest, s)?,
        )
    } else {
        Default::default()
    };
    Ok(Parts {
        state,
        other,
        masks,
        extra,
        work,
        chain,
        start,
        dnext,
        dprev,
    })
}

/// One sample's tensors.
pub(crate) struct Sample<'a, T> {
    /// `(steps, n_in)`.
    pub(crate) x: &'a [T],
    /// The token ids of the step mask, `(steps,)` (0 = masked), if any.
    pub(crate) ids: Option<&'a [T]>,
    /// Initial states (`h`, then LSTM's `c`), each `(units,)`; empty = zeros.
    pub(crate) init: &'a [&'a [T]],
}

impl<T: Scalar> Sample<'_, T> {
    fn masked(&self, t: usize) -> bool {
        self.ids
            .and_then(|ids| ids.get(t))
            .is_some_and(|&id| id == T::ZERO)
    }
}

/// The time index of the `k`-th processed step.
fn time<C: Cell>(cell: &C, steps: usize, k: usize) -> usize {
    if cell.options().go_backwards {
        steps - 1 - k
    } else {
        k
    }
}

/// Draws the sample's dropout masks into `masks`; returns the [`Drops`] view.
fn draw_drops<'m, T: Scalar, C: Cell>(
    cell: &C,
    d: Dims,
    mode: Mode,
    masks: &'m mut [T],
) -> Drops<'m, T> {
    let o = cell.options();
    let (drop_x, drop_h) = (o.drops_inputs(mode.training), o.drops_state(mode.training));
    if !drop_x && !drop_h {
        return Drops::default();
    }
    let u = cell.units();
    // Keras's implementation 1 (one mask per gate) whenever recurrent dropout acts.
    let per_gate = if drop_h { C::GATES } else { 1 };
    let (xm, hm) = masks.split_at_mut(C::GATES * d.n_in);
    let xm = &mut xm[..per_gate * d.n_in];
    let hm = &mut hm[..C::GATES * u];
    let mut rng = Rng::from_seed(mode.seed);
    let mut fill = |m: &mut [T], rate: f32| {
        let keep = 1.0 - rate;
        let scale = T::ONE.div(T::from_f32(keep));
        for v in m.iter_mut() {
            *v = if rng.uniform() < keep { scale } else { T::ZERO };
        }
    };
    if drop_x {
        fill(xm, o.dropout);
    }
    if drop_h {
        fill(hm, o.recurrent_dropout);
    }
    Drops {
        x: drop_x.then_some(&*xm),
        h: drop_h.then_some(&*hm),
    }
}

/// The seed of sample `b`'s dropout masks in a call with context seed `seed`; `salt`
/// separates the two directions of a [`super::Bidirectional`].
pub(crate) fn sample_seed(seed: u64, salt: u64, b: usize) -> u64 {
    mix(mix(seed, salt), b as u64)
}

/// Copies the initial state (or zeros) into `state`.
fn initial<T: Scalar>(init: &[&[T]], state: &mut [T], u: usize) -> Result<()> {
    if init.is_empty() {
        state.fill(T::ZERO);
        return Ok(());
    }
    for (k, chunk) in state.chunks_exact_mut(u).enumerate() {
        let src = init.get(k).ok_or(Error::InvalidShape)?;
        check_len(u, src.len())?;
        chunk.copy_from_slice(src);
    }
    Ok(())
}

/// Runs one sample forward: writes `y` (`(steps, units)` or `(units,)`).
pub(crate) fn forward_sample<T: Scalar, C: Cell>(
    cell: &C,
    p: &CellParams<'_, T>,
    d: Dims,
    s: &Sample<'_, T>,
    y: &mut [T],
    mode: Mode,
    scratch: &mut [T],
) -> Result<()> {
    let u = cell.units();
    let o = *cell.options();
    check_len(d.steps * d.n_in, s.x.len())?;
    check_len(o.output_len(d.steps, C::STATES), y.len())?;
    let y_len = if o.return_sequences { d.steps * u } else { u };
    let (y, y_state) = y.split_at_mut(y_len);
    let parts = split(cell, d, false, scratch)?;
    let drops = draw_drops(cell, d, mode, parts.masks);
    let (mut cur, mut nxt) = (parts.state, parts.other);
    initial(s.init, cur, u)?;
    let mut last_masked = false;
    for k in 0..d.steps {
        let t = time(cell, d.steps, k);
        last_masked = s.masked(t);
        if !last_masked {
            let x = &s.x[t * d.n_in..(t + 1) * d.n_in];
            cell.step(p, x, &drops, cur, nxt, parts.extra, parts.work)?;
            core::mem::swap(&mut cur, &mut nxt);
        }
        if o.return_sequences {
            let out = &mut y[k * u..(k + 1) * u];
            if last_masked && mode.zero_masked {
                out.fill(T::ZERO);
            } else {
                out.copy_from_slice(&cur[..u]);
            }
        }
    }
    if !o.return_sequences {
        if last_masked && mode.zero_masked {
            y.fill(T::ZERO);
        } else {
            y.copy_from_slice(&cur[..u]);
        }
    }
    // return_state: the final state after the output.
    y_state.copy_from_slice(&cur[..y_state.len()]);
    Ok(())
}

/// Where a sample's backward pass writes.
pub(crate) struct SampleGrads<'g, 'h, T> {
    /// `∂L/∂x`, `(steps, n_in)`, **added to** (the caller zeroes it first); empty when
    /// not wanted.
    pub(crate) dx: &'g mut [T],
    /// `∂L/∂(initial state)`, written when the sample has initial states (`STATES·units`).
    pub(crate) dinit: Option<&'g mut [T]>,
    /// Parameter gradients, added to.
    pub(crate) params: Option<&'g mut CellGrads<'h, T>>,
}

/// One sample backward: recomputes the forward pass window by window, saving each step,
/// then backpropagates `dy` through the window's steps in reverse.
#[allow(clippy::too_many_arguments)] // the sample, its gradients and the buffers
pub(crate) fn backward_sample<T: Scalar, C: Cell>(
    cell: &C,
    p: &CellParams<'_, T>,
    d: Dims,
    s: &Sample<'_, T>,
    dy: &[T],
    g: &mut SampleGrads<'_, '_, T>,
    mode: Mode,
    scratch: &mut [T],
) -> Result<()> {
    let u = cell.units();
    let n_state = C::STATES * u;
    let o = *cell.options();
    check_len(d.steps * d.n_in, s.x.len())?;
    if !g.dx.is_empty() {
        check_len(d.steps * d.n_in, g.dx.len())?; // empty: no input gradient wanted
    }
    check_len(o.output_len(d.steps, C::STATES), dy.len())?;
    let y_len = if o.return_sequences { d.steps * u } else { u };
    let (dy, dy_state) = dy.split_at(y_len);
    let rec = record(cell);
    let parts = split(cell, d, true, scratch)?;
    let drops = draw_drops(cell, d, mode, parts.masks);
    let (start, dnext, dprev) = (parts.start, parts.dnext, parts.dprev);
    initial(s.init, start, u)?;
    let w = window(cell, d.steps).max(1);
    let last_k = d.steps.saturating_sub(1);
    // Windows end at the last step: the first holds the remainder, so the loss at the
    // end always flows back through a whole window.
    let first = match d.steps % w {
        0 => w,
        r => r,
    };
    let mut k0 = 0;
    while k0 < d.steps {
        let k1 = if k0 == 0 { first } else { k0 + w }.min(d.steps);
        // Forward over the window, saving every step's record.
        for k in k0..k1 {
            let (before, here) = parts.chain.split_at_mut((k - k0) * rec);
            let prev: &[T] = if k == k0 {
                start
            } else {
                &before[before.len() - n_state..]
            };
            let (extra, state) = here[..rec].split_at_mut(cell.saved_extra());
            let t = time(cell, d.steps, k);
            if s.masked(t) {
                state.copy_from_slice(prev);
            } else {
                let x = &s.x[t * d.n_in..(t + 1) * d.n_in];
                cell.step(p, x, &drops, prev, state, extra, parts.work)?;
            }
        }
        let gets_grad = o.return_sequences || k1 == d.steps;
        if gets_grad {
            dnext.fill(T::ZERO);
            if k1 == d.steps {
                // return_state: the final state's own gradient.
                for (a, &b) in dnext.iter_mut().zip(dy_state) {
                    *a = *a + b;
                }
            }
            let last_zeroed = mode.zero_masked && s.masked(time(cell, d.steps, last_k));
            if !o.return_sequences && !last_zeroed {
                for (a, &b) in dnext.iter_mut().zip(dy) {
                    *a = *a + b;
                }
            }
            for k in (k0..k1).rev() {
                let t = time(cell, d.steps, k);
                let masked = s.masked(t);
                if o.return_sequences && !(masked && mode.zero_masked) {
                    for (a, &b) in dnext.iter_mut().zip(&dy[k * u..(k + 1) * u]) {
                        *a = *a + b;
                    }
                }
                if masked {
                    continue; // the state passed through unchanged
                }
                let here = &parts.chain[(k - k0) * rec..(k - k0 + 1) * rec];
                let prev: &[T] = if k == k0 {
                    start
                } else {
                    &parts.chain[(k - k0) * rec - n_state..(k - k0) * rec]
                };
                let (extra, state) = here.split_at(cell.saved_extra());
                let x = &s.x[t * d.n_in..(t + 1) * d.n_in];
                let dx =
                    g.dx.get_mut(t * d.n_in..(t + 1) * d.n_in)
                        .unwrap_or(&mut []);
                cell.step_backward(
                    p,
                    x,
                    &drops,
                    prev,
                    extra,
                    state,
                    dnext,
                    dprev,
                    dx,
                    g.params.as_deref_mut(),
                    parts.work,
                )?;
                dnext.copy_from_slice(dprev);
            }
            if k0 == 0 {
                if let Some(di) = g.dinit.as_deref_mut() {
                    di.copy_from_slice(dnext);
                }
            }
        } else if k0 == 0 {
            if let Some(di) = g.dinit.as_deref_mut() {
                di.fill(T::ZERO); // truncated away
            }
        }
        let end = (k1 - k0) * rec;
        start.copy_from_slice(&parts.chain[end - n_state..end]);
        k0 = k1;
    }
    Ok(())
}

/// One streamed step: advances `state` (`STATES·units`, read and written in place) by the
/// input `x` (`n_in`), or keeps it when the step is `masked`, and writes the step's output
/// into `y` (`units`). The streaming twin of [`forward_sample`] on a one-step sequence.
#[allow(clippy::too_many_arguments)] // the step's tensors and buffers
pub(crate) fn stream_step<T: Scalar, C: Cell>(
    cell: &C,
    p: &CellParams<'_, T>,
    x: &[T],
    masked: bool,
    state: &mut [T],
    y: &mut [T],
    scratch: &mut [T],
) -> Result<()> {
    let u = cell.units();
    let d = Dims {
        steps: 1,
        n_in: x.len(),
    };
    check_len(C::STATES * u, state.len())?;
    check_len(u, y.len())?;
    if masked {
        if cell.options().zero_output_for_mask {
            y.fill(T::ZERO);
        } else {
            y.copy_from_slice(&state[..u]);
        }
        return Ok(());
    }
    let parts = split(cell, d, false, scratch)?;
    parts.state.copy_from_slice(state);
    let drops = Drops::default();
    cell.step(
        p,
        x,
        &drops,
        parts.state,
        parts.other,
        parts.extra,
        parts.work,
    )?;
    state.copy_from_slice(parts.other);
    y.copy_from_slice(&state[..u]);
    Ok(())
}
