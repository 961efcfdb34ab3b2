//! [`Cell`]: one time step of a recurrent layer, forward and backward, and the gate
//! projections the cells share.

use core::ops::Range;

use super::matvec::{self, Block};
use super::Recurrent;
use crate::layers::ParamShapes;
use crate::{Activation, Error, Result, Scalar, Shape};

/// A cell's parameters, in Keras's layout (`bias` is empty without `use_bias`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellParams<'p, T> {
    pub(crate) kernel: &'p [T],
    pub(crate) recurrent: &'p [T],
    pub(crate) bias: &'p [T],
}

/// Where a cell adds its parameter gradients (same layout as [`CellParams`]).
pub(crate) struct CellGrads<'g, T> {
    pub(crate) kernel: &'g mut [T],
    pub(crate) recurrent: &'g mut [T],
    pub(crate) bias: &'g mut [T],
}

/// The dropout masks of one sample (already scaled by `1 / (1 − rate)`), the same at
/// every step as in Keras. Each holds either one mask shared by every gate, or one mask
/// per gate, concatenated (Keras's `implementation=1`, which it uses whenever
/// `recurrent_dropout > 0`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Drops<'m, T> {
    /// On the step input.
    pub(crate) x: Option<&'m [T]>,
    /// On the previous output `h` where it enters the recurrent products.
    pub(crate) h: Option<&'m [T]>,
}

/// One time step of a recurrent layer. Implemented by [`super::SimpleRNN`],
/// [`super::LSTM`] and [`super::GRU`].
///
/// The state is `STATES` vectors of `units` (`h` first, then LSTM's `c`). A step reads the
/// previous state `prev`, writes the new one into `next` and, for its backward pass,
/// whatever else it needs into `saved` ([`Cell::saved_extra`] elements).
pub(crate) trait Cell {
    /// Gate blocks in the kernels (`G`).
    const GATES: usize;
    /// State vectors (`h`, or `h` and `c`).
    const STATES: usize;
    /// The Keras class.
    const CLASS: &'static str;

    /// The shared options.
    fn options(&self) -> &Recurrent;

    /// Checks every option (activations included).
    fn validate(&self) -> Result<()>;

    /// Shape of the bias.
    fn bias_shape(&self) -> Result<Shape> {
        Shape::new(&[Self::GATES * self.units()])
    }

    /// Elements a step saves for its backward pass, besides the new state.
    fn saved_extra(&self) -> usize;

    /// Work elements one step (forward or backward) needs.
    fn work(&self) -> usize;

    /// `units` as a `usize`.
    fn units(&self) -> usize {
        self.options().units as usize
    }

    /// One step forward.
    #[allow(clippy::too_many_arguments)] // the step's inputs, outputs and buffers
    fn step<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        next: &mut [T],
        saved: &mut [T],
        work: &mut [T],
    ) -> Result<()>;

    /// One step backward: from `dnext` (`∂L/∂next`, may be overwritten) writes
    /// `∂L/∂prev` into `dprev`, **adds** `∂L/∂x` into `dx` and, when given, the parameter
    /// gradients into `grads`.
    #[allow(clippy::too_many_arguments)] // the step's values, gradients and buffers
    fn step_backward<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        saved: &[T],
        next: &[T],
        dnext: &mut [T],
        dprev: &mut [T],
        dx: &mut [T],
        grads: Option<&mut CellGrads<'_, T>>,
        work: &mut [T],
    ) -> Result<()>;

    /// Keras's weight shapes for `n_in` input features: kernel, recurrent kernel, bias.
    fn cell_param_shapes(&self, n_in: usize) -> Result<ParamShapes> {
        let gu = Self::GATES * self.units();
        let mut shapes = ParamShapes::new();
        let _ = shapes.push(Shape::new(&[n_in, gu])?);
        let _ = shapes.push(Shape::new(&[self.units(), gu])?);
        if self.options().use_bias {
            let _ = shapes.push(self.bias_shape()?);
        }
        Ok(shapes)
    }
}

/// Refuses activations whose derivative needs the pre-activation (`silu`, `gelu`): a cell
/// saves only post-activation gates.
pub(super) fn check_activation(a: Activation, what: &'static str) -> Result<()> {
    if a.needs_input() || a == Activation::Softmax || a == Activation::LogSoftmax {
        return Err(Error::InvalidConfig(what));
    }
    Ok(())
}

/// Gate `g`'s mask among `masks` (one shared mask of length `n`, or one per gate).
fn gate_mask<T>(masks: &[T], g: usize, n: usize) -> &[T] {
    if masks.len() == n {
        masks
    } else {
        masks.get(g * n..(g + 1) * n).unwrap_or(&[])
    }
}

/// `out = init + v · W[:, gates]` for the gate blocks `gates` of a `total`-gate kernel,
/// with per-gate dropout masks on `v` when given.
#[allow(clippy::too_many_arguments)] // the product's operands and its geometry
pub(super) fn project<T: Scalar>(
    v: &[T],
    mask: Option<&[T]>,
    w: &[T],
    gates: Range<usize>,
    total: usize,
    units: usize,
    init: Option<&[T]>,
    out: &mut [T],
) {
    let block = |n: usize| Block {
        stride: total * units,
        off: gates.start * units,
        n,
    };
    match mask {
        None if gates.start == 0 && gates.end == total => {
            matvec::forward(v, None, w, Block::all(total * units), init, out)
        }
        None => matvec::forward(v, None, w, block(gates.len() * units), init, out),
        Some(m) => {
            for (k, g) in gates.clone().enumerate() {
                let at = k * units..(k + 1) * units;
                let Some(o) = out.get_mut(at.clone()) else {
                    return;
                };
                let init_g = init.and_then(|s| s.get(at));
                let mg = gate_mask(m, g, v.len());
                matvec::forward(v, Some(mg), w, Block::gate(g, units, total), init_g, o);
            }
        }
    }
}

/// `dv (+)= Σ_g m_g ⊙ (dz_g · W[:, g]ᵀ)` over the gate blocks `gates`; overwrites `dv`
/// unless `add`.
#[allow(clippy::too_many_arguments)] // the product's operands and its geometry
pub(super) fn project_back<T: Scalar>(
    dz: &[T],
    w: &[T],
    gates: Range<usize>,
    total: usize,
    units: usize,
    mask: Option<&[T]>,
    dv: &mut [T],
    add: bool,
) {
    match mask {
        None => {
            let b = Block {
                stride: total * units,
                off: gates.start * units,
                n: gates.len() * units,
            };
            matvec::backward_input(dz, w, b, None, dv, add)
        }
        Some(m) => {
            let n = dv.len();
            for (k, g) in gates.enumerate() {
                let dzg = dz.get(k * units..(k + 1) * units).unwrap_or(&[]);
                let mg = gate_mask(m, g, n);
                let b = Block::gate(g, units, total);
                matvec::backward_input(dzg, w, b, Some(mg), dv, add || k > 0);
            }
        }
    }
}

/// `dW[:, gates] += (v ⊙ m_g) ⊗ dz_g`.
pub(super) fn project_grad<T: Scalar>(
    v: &[T],
    mask: Option<&[T]>,
    dz: &[T],
    dw: &mut [T],
    gates: Range<usize>,
    total: usize,
    units: usize,
) {
    match mask {
        None => {
            let b = Block {
                stride: total * units,
                off: gates.start * units,
                n: gates.len() * units,
            };
            matvec::outer_add(v, None, dz, dw, b)
        }
        Some(m) => {
            for (k, g) in gates.enumerate() {
                let dzg = dz.get(k * units..(k + 1) * units).unwrap_or(&[]);
                let mg = gate_mask(m, g, v.len());
                matvec::outer_add(v, Some(mg), dzg, dw, Block::gate(g, units, total));
            }
        }
    }
}

/// Adds the gradients of one step's gate pre-activations `dz` (gates `gates`) to the
/// kernel (input `x`), and to the bias slice `bias` when there is one.
#[allow(clippy::too_many_arguments)] // the step's operands and its geometry
pub(super) fn input_grads<T: Scalar>(
    grads: &mut CellGrads<'_, T>,
    x: &[T],
    drops: &Drops<'_, T>,
    dz: &[T],
    total: usize,
    units: usize,
    bias: Range<usize>,
) {
    project_grad(x, drops.x, dz, grads.kernel, 0..total, total, units);
    if let Some(b) = grads.bias.get_mut(bias) {
        matvec::add_to(b, dz);
    }
}

/// `a ⊙ b` into `out`.
pub(super) fn mul_into<T: Scalar>(a: &[T], b: &[T], out: &mut [T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// Checks a slice is exactly `n` long.
pub(super) fn check_len(n: usize, found: usize) -> Result<()> {
    if n != found {
        return Err(Error::ShapeMismatch { expected: n, found });
    }
    Ok(())
}
