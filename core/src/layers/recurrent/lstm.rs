//! [`LSTM`]: Keras's `keras.layers.LSTM`.

use serde::{Deserialize, Serialize};

use super::cell::{
    check_activation, input_grads, mul_into, project, project_back, project_grad, Cell, CellGrads,
    CellParams, Drops,
};
use super::Recurrent;
use crate::{Activation, Result, Scalar};

/// Long short-term memory: Keras's `keras.layers.LSTM(units, activation="tanh",
/// recurrent_activation="sigmoid", use_bias=True, unit_forget_bias=True, ...)`.
///
/// Gates in Keras's order `i, f, c, o`: with `z = x·kernel + h·recurrent_kernel + bias`
/// split in four, `c' = σ(z_f)·c + σ(z_i)·act(z_c)` and `h' = σ(z_o)·act(c')` (σ the
/// recurrent activation). State `[h, c]`; the output is `h`.
///
/// ```
/// use ember_nn::layers::{LayerConfig, Recurrent, LSTM};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
/// use ember_nn::layers::Context;
///
/// let lstm = LayerConfig::LSTM(LSTM::new(1));
/// // One input feature, one unit: kernel (1, 4), recurrent kernel (1, 4), bias (4,).
/// let (kernel, recurrent, bias) = ([1.0f32, 1.0, 1.0, 1.0], [0.0f32; 4], [0.0f32; 4]);
/// let x = [2.0f32]; // one sample, one step
/// let input = Shape::new(&[1, 1]).unwrap();
/// let mut scratch = [0.0f32; 64];
/// assert!(lstm.scratch_elems(&[input], false).unwrap() <= 64);
/// let mut y = [0.0f32];
/// lstm.forward_call(
///     &[&kernel, &recurrent, &bias],
///     &[TensorView::new(input.with_batch(1).unwrap(), &x).unwrap()],
///     None,
///     TensorViewMut::new(Shape::new(&[1, 1]).unwrap(), &mut y).unwrap(),
///     &mut scratch,
///     &Context::default(),
/// ).unwrap();
/// let s = 1.0 / (1.0 + (-2.0f32).exp()); // σ(2)
/// let c = s * 2.0f32.tanh(); // f·0 + i·tanh(2)
/// assert!((y[0] - s * c.tanh()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LSTM {
    /// The options every recurrent layer has.
    pub rnn: Recurrent,
    /// Activation of the cell candidate and of the output (`activation=`).
    pub activation: Activation,
    /// Activation of the gates (`recurrent_activation=`).
    pub recurrent_activation: Activation,
    /// Keras's `unit_forget_bias=`: the forget gate's bias starts at 1 (an initializer
    /// option: it matters only when Ember initializes the layer).
    pub unit_forget_bias: bool,
}

impl LSTM {
    /// Keras's defaults: `tanh`, `sigmoid`, `unit_forget_bias=True`.
    pub const fn new(units: u32) -> Self {
        LSTM {
            rnn: Recurrent::new(units),
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            unit_forget_bias: true,
        }
    }
}

impl Cell for LSTM {
    const GATES: usize = 4;
    const STATES: usize = 2;
    const CLASS: &'static str = "LSTM";

    fn options(&self) -> &Recurrent {
        &self.rnn
    }

    fn validate(&self) -> Result<()> {
        self.rnn.validate()?;
        check_activation(
            self.activation,
            "LSTM.activation must not be silu, gelu or softmax",
        )?;
        check_activation(
            self.recurrent_activation,
            "LSTM.recurrent_activation must not be silu, gelu or softmax",
        )
    }

    fn saved_extra(&self) -> usize {
        4 * self.units() // the gates i, f, c, o after their activations
    }

    fn work(&self) -> usize {
        8 * self.units()
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
        let (zx, rest) = work.split_at_mut(4 * u);
        let z = &mut rest[..4 * u];
        let bias = (!p.bias.is_empty()).then_some(p.bias);
        project(x, drops.x, p.kernel, 0..4, 4, u, bias, zx);
        let (h_prev, c_prev) = prev.split_at(u);
        project(h_prev, drops.h, p.recurrent, 0..4, 4, u, Some(zx), z);
        let (zi, rest) = z.split_at_mut(u);
        let (zf, rest) = rest.split_at_mut(u);
        let (zc, zo) = rest.split_at_mut(u);
        let ra = self.recurrent_activation;
        ra.forward(zi, u);
        ra.forward(zf, u);
        self.activation.forward(zc, u);
        ra.forward(zo, u);
        let (h, c) = next.split_at_mut(u);
        for j in 0..u {
            c[j] = zf[j] * c_prev[j] + zi[j] * zc[j];
        }
        h.copy_from_slice(c);
        self.activation.forward(h, u);
        for (hj, &o) in h.iter_mut().zip(zo.iter()) {
            *hj = o * *hj;
        }
        saved.copy_from_slice(z);
        Ok(())
    }

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
    ) -> Result<()> {
        let u = self.units();
        let (h_prev, c_prev) = prev.split_at(u);
        let c = &next[u..2 * u];
        let (gi, rest) = saved.split_at(u);
        let (gf, rest) = rest.split_at(u);
        let (gc, go) = rest.split_at(u);
        let (dh, dc) = dnext.split_at_mut(u);
        let (a, rest) = work.split_at_mut(u);
        let (t, rest) = rest.split_at_mut(u);
        let dz = &mut rest[..4 * u];
        // h' = o·act(c'): through act into c'.
        a.copy_from_slice(c);
        self.activation.forward(a, u);
        mul_into(dh, go, t);
        self.activation.backward(c, a, t, u)?;
        for (tj, &d) in t.iter_mut().zip(dc.iter()) {
            *tj = *tj + d; // ∂L/∂c' in total
        }
        let (dzi, rest) = dz.split_at_mut(u);
        let (dzf, rest) = rest.split_at_mut(u);
        let (dzc, dzo) = rest.split_at_mut(u);
        mul_into(dh, a, dzo);
        mul_into(t, gc, dzi);
        mul_into(t, c_prev, dzf);
        mul_into(t, gi, dzc);
        mul_into(t, gf, &mut dprev[u..2 * u]);
        let ra = self.recurrent_activation;
        ra.backward(&[], gi, dzi, u)?;
        ra.backward(&[], gf, dzf, u)?;
        self.activation.backward(&[], gc, dzc, u)?;
        ra.backward(&[], go, dzo, u)?;
        project_back(dz, p.kernel, 0..4, 4, u, drops.x, dx, true);
        project_back(dz, p.recurrent, 0..4, 4, u, drops.h, &mut dprev[..u], false);
        if let Some(g) = grads {
            input_grads(g, x, drops, dz, 4, u, 0..4 * u);
            project_grad(h_prev, drops.h, dz, g.recurrent, 0..4, 4, u);
        }
        Ok(())
    }
}
