//! [`SimpleRNN`]: Keras's `keras.layers.SimpleRNN`.

use serde::{Deserialize, Serialize};

use super::cell::{
    check_activation, input_grads, project, project_back, project_grad, Cell, CellGrads,
    CellParams, Drops,
};
use super::Recurrent;
use crate::{Activation, Result, Scalar};

/// Fully connected recurrence: Keras's `keras.layers.SimpleRNN(units, activation="tanh",
/// use_bias=True, ...)`, `h' = act(x·kernel + bias + h·recurrent_kernel)`.
///
/// ```
/// use ember_nn::layers::{Context, LayerConfig, SimpleRNN};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let mut rnn = SimpleRNN::new(1);
/// rnn.rnn.return_sequences = true;
/// let rnn = LayerConfig::SimpleRNN(rnn);
/// let (kernel, recurrent, bias) = ([1.0f32], [0.5f32], [0.0f32]);
/// let x = [1.0f32, 0.0]; // one sample, two steps, one feature
/// let mut y = [0.0f32; 2];
/// let mut scratch = [0.0f32; 16];
/// rnn.forward_call(
///     &[&kernel, &recurrent, &bias],
///     &[TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap()],
///     None,
///     TensorViewMut::new(Shape::new(&[1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &mut scratch,
///     &Context::default(),
/// ).unwrap();
/// let h1 = 1.0f32.tanh();
/// assert!((y[0] - h1).abs() < 1e-6 && (y[1] - (0.5 * h1).tanh()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SimpleRNN {
    /// The options every recurrent layer has.
    pub rnn: Recurrent,
    /// Activation of the new state (`activation=`).
    pub activation: Activation,
}

impl SimpleRNN {
    /// Keras's defaults: `tanh`.
    pub const fn new(units: u32) -> Self {
        SimpleRNN {
            rnn: Recurrent::new(units),
            activation: Activation::Tanh,
        }
    }
}

impl Cell for SimpleRNN {
    const GATES: usize = 1;
    const STATES: usize = 1;
    const CLASS: &'static str = "SimpleRNN";

    fn options(&self) -> &Recurrent {
        &self.rnn
    }

    fn validate(&self) -> Result<()> {
        self.rnn.validate()?;
        check_activation(
            self.activation,
            "SimpleRNN.activation must not be silu, gelu or softmax",
        )
    }

    fn saved_extra(&self) -> usize {
        0 // the new state is the activation's output
    }

    fn work(&self) -> usize {
        self.units()
    }

    fn step<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        next: &mut [T],
        _saved: &mut [T],
        work: &mut [T],
    ) -> Result<()> {
        let u = self.units();
        let zx = &mut work[..u];
        let bias = (!p.bias.is_empty()).then_some(p.bias);
        project(x, drops.x, p.kernel, 0..1, 1, u, bias, zx);
        project(&prev[..u], drops.h, p.recurrent, 0..1, 1, u, Some(zx), next);
        self.activation.forward(next, u);
        Ok(())
    }

    fn step_backward<T: Scalar>(
        &self,
        p: &CellParams<'_, T>,
        x: &[T],
        drops: &Drops<'_, T>,
        prev: &[T],
        _saved: &[T],
        next: &[T],
        dnext: &mut [T],
        dprev: &mut [T],
        dx: &mut [T],
        grads: Option<&mut CellGrads<'_, T>>,
        _work: &mut [T],
    ) -> Result<()> {
        let u = self.units();
        let dz = &mut dnext[..u];
        self.activation.backward(&[], next, dz, u)?;
        project_back(dz, p.kernel, 0..1, 1, u, drops.x, dx, true);
        project_back(dz, p.recurrent, 0..1, 1, u, drops.h, &mut dprev[..u], false);
        if let Some(g) = grads {
            input_grads(g, x, drops, dz, 1, u, 0..u);
            project_grad(&prev[..u], drops.h, dz, g.recurrent, 0..1, 1, u);
        }
        Ok(())
    }
}
