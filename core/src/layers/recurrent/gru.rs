//! [`GRU`]: Keras's `keras.layers.GRU`.

use serde::{Deserialize, Serialize};

use super::cell::{
    check_activation, input_grads, mul_into, project, project_back, project_grad, Cell, CellGrads,
    CellParams, Drops,
};
use super::matvec::add_to;
use super::Recurrent;
use crate::{Activation, Result, Scalar, Shape};

/// Gated recurrent unit: Keras's `keras.layers.GRU(units, activation="tanh",
/// recurrent_activation="sigmoid", use_bias=True, reset_after=True, ...)`.
///
/// Gates in Keras's order `z, r, h`. With `x_* = x·kernel_* + b_in_*`:
/// `z = σ(x_z + h·U_z + b_rz)`, `r = σ(x_r + h·U_r + b_rr)` and the candidate
/// `hh = act(x_h + r ⊙ (h·U_h + b_rh))` when `reset_after` (bias `(2, 3·units)`: row 0
/// input, row 1 recurrent), or `hh = act(x_h + (r ⊙ h)·U_h)` otherwise (bias `(3·units,)`,
/// input only); then `h' = z ⊙ h + (1 − z) ⊙ hh`.
///
/// ```
/// use ember_nn::layers::{Context, LayerConfig, GRU};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let gru = LayerConfig::GRU(GRU::new(1));
/// // kernel (1, 3), recurrent kernel (1, 3), bias (2, 3): z = σ(0) = ½, hh = tanh(x).
/// let (kernel, recurrent, bias) = ([0.0f32, 0.0, 1.0], [0.0f32; 3], [0.0f32; 6]);
/// let x = [0.5f32, 0.5]; // one sample, two steps
/// let mut y = [0.0f32];
/// let mut scratch = [0.0f32; 64];
/// gru.forward_call(
///     &[&kernel, &recurrent, &bias],
///     &[TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap()],
///     None,
///     TensorViewMut::new(Shape::new(&[1, 1]).unwrap(), &mut y).unwrap(),
///     &mut scratch,
///     &Context::default(),
/// ).unwrap();
/// let t = 0.5f32.tanh();
/// let h1 = 0.5 * t; // ½·0 + ½·tanh(½)
/// assert!((y[0] - (0.5 * h1 + 0.5 * t)).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GRU {
    /// The options every recurrent layer has.
    pub rnn: Recurrent,
    /// Activation of the candidate (`activation=`).
    pub activation: Activation,
    /// Activation of the gates (`recurrent_activation=`).
    pub recurrent_activation: Activation,
    /// Apply the reset gate after the recurrent product (`reset_after=`, Keras's default
    /// `True`, the cuDNN-compatible form).
    pub reset_after: bool,
}

impl GRU {
    /// Keras's defaults: `tanh`, `sigmoid`, `reset_after=True`.
    pub const fn new(units: u32) -> Self {
        GRU {
            rnn: Recurrent::new(units),
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            reset_after: true,
        }
    }

    /// The input and recurrent bias slices (`(b_in, b_rec)`; `b_rec` empty unless
    /// `reset_after`).
    fn biases<'p, T>(&self, bias: &'p [T]) -> (Option<&'p [T]>, Option<&'p [T]>) {
        let n = 3 * self.units();
        match (bias.is_empty(), self.reset_after) {
            (true, _) => (None, None),
            (false, false) => (Some(bias), None),
            (false, true) => (bias.get(..n), bias.get(n..2 * n)),
        }
    }
}

impl Cell for GRU {
    const GATES: usize = 3;
    const STATES: usize = 1;
    const CLASS: &'static str = "GRU";

    fn options(&self) -> &Recurrent {
        &self.rnn
    }

    fn validate(&self) -> Result<()> {
        self.rnn.validate()?;
        check_activation(
            self.activation,
            "GRU.activation must not be silu, gelu or softmax",
        )?;
        check_activation(
            self.recurrent_activation,
            "GRU.recurrent_activation must not be silu, gelu or softmax",
        )
    }

    fn bias_shape(&self) -> Result<Shape> {
        let n = 3 * self.units();
        if self.reset_after {
            Shape::new(&[2, n])
        } else {
            Shape::new(&[n])
        }
    }

    fn saved_extra(&self) -> usize {
        // z, r, hh after their activations, and (reset_after) h·U_h + b_rh.
        if self.reset_after {
            4 * self.units()
        } else {
            3 * self.units()
        }
    }

    fn work(&self) -> usize {
        7 * self.units()
    }

    fn step<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        next: &mut [T],
        saved: &mut [T],
        work: &mut [T],
    ) -> Result<()> {
        let u = self.units();
        let (b_in, b_rec) = self.biases(p.bias);
        let (zx, rest) = work.split_at_mut(3 * u);
        let (zh, rest) = rest.split_at_mut(3 * u);
        let rh = &mut rest[..u];
        project(x, drops.x, p.kernel, 0..3, 3, u, b_in, zx);
        let h_prev = &prev[..u];
        let gates = if self.reset_after { 0..3 } else { 0..2 };
        let n_zh = gates.len() * u;
        project(
            h_prev,
            drops.h,
            p.recurrent,
            gates,
            3,
            u,
            b_rec,
            &mut zh[..n_zh],
        );
        let (sz, rest) = saved.split_at_mut(u);
        let (sr, rest) = rest.split_at_mut(u);
        let (shh, inner) = rest.split_at_mut(u);
        for j in 0..u {
            sz[j] = zx[j] + zh[j];
            sr[j] = zx[u + j] + zh[u + j];
        }
        self.recurrent_activation.forward(sz, u);
        self.recurrent_activation.forward(sr, u);
        if self.reset_after {
            inner[..u].copy_from_slice(&zh[2 * u..3 * u]);
            for j in 0..u {
                shh[j] = zx[2 * u + j] + sr[j] * inner[j];
            }
        } else {
            mul_into(sr, h_prev, rh);
            project(
                rh,
                drops.h,
                p.recurrent,
                2..3,
                3,
                u,
                Some(&zx[2 * u..]),
                shh,
            );
        }
        self.activation.forward(shh, u);
        for j in 0..u {
            next[j] = sz[j] * h_prev[j] + (T::ONE - sz[j]) * shh[j];
        }
        Ok(())
    }

    fn step_backward<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        saved: &[T],
        _next: &[T],
        dnext: &mut [T],
        dprev: &mut [T],
        dx: &mut [T],
        grads: Option<&mut CellGrads<'_, T>>,
        work: &mut [T],
    ) -> Result<()> {
        let u = self.units();
        let h_prev = &prev[..u];
        let (z, rest) = saved.split_at(u);
        let (r, rest) = rest.split_at(u);
        let (hh, inner) = rest.split_at(u);
        let dh = &dnext[..u];
        let (dzx, rest) = work.split_at_mut(3 * u);
        let (dzh, rest) = rest.split_at_mut(3 * u);
        let rh = &mut rest[..u];
        let dprev = &mut dprev[..u];
        {
            let (dz, rest) = dzx.split_at_mut(u);
            let (dr, dhh) = rest.split_at_mut(u);
            for j in 0..u {
                dz[j] = dh[j] * (h_prev[j] - hh[j]);
                dhh[j] = dh[j] * (T::ONE - z[j]);
                dprev[j] = dh[j] * z[j];
            }
            self.activation.backward(&[], hh, dhh, u)?;
            if self.reset_after {
                for j in 0..u {
                    dr[j] = dhh[j] * inner[j];
                    dzh[2 * u + j] = dhh[j] * r[j];
                }
            } else {
                // hh_pre = x_h + (r ⊙ h)·U_h: back through the product into r and h.
                project_back(dhh, p.recurrent, 2..3, 3, u, drops.h, rh, false);
                for j in 0..u {
                    dr[j] = rh[j] * h_prev[j];
                    dprev[j] = dprev[j] + rh[j] * r[j];
                }
            }
            self.recurrent_activation.backward(&[], z, dz, u)?;
            self.recurrent_activation.backward(&[], r, dr, u)?;
        }
        dzh[..2 * u].copy_from_slice(&dzx[..2 * u]);
        project_back(dzx, p.kernel, 0..3, 3, u, drops.x, dx, true);
        let gates = if self.reset_after { 0..3 } else { 0..2 };
        let n = gates.len() * u;
        project_back(
            &dzh[..n],
            p.recurrent,
            gates.clone(),
            3,
            u,
            drops.h,
            dprev,
            true,
        );
        if let Some(g) = grads {
            input_grads(g, x, drops, dzx, 3, u, 0..3 * u);
            project_grad(h_prev, drops.h, &dzh[..n], g.recurrent, gates, 3, u);
            if self.reset_after {
                if let Some(b) = g.bias.get_mut(3 * u..6 * u) {
                    add_to(b, dzh);
                }
            } else {
                mul_into(r, h_prev, rh);
                project_grad(rh, drops.h, &dzx[2 * u..], g.recurrent, 2..3, 3, u);
            }
        }
        Ok(())
    }
}
