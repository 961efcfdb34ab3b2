//! The benchmark problem, shared by the firmware and `build.rs` (which runs the same code
//! on the host to produce the expected values): LSTM(64) and GRU(64) on 32 input
//! features over 50 steps, one sample, f32, weights and inputs from a 64-bit LCG.

use ember_nn::layers::{Context, LayerConfig, TensorMask, GRU, LSTM};
use ember_nn::{Result, Shape, TensorView, TensorViewMut};

/// Time steps of the sequence.
pub const STEPS: usize = 50;
/// Input features per step.
pub const INPUTS: usize = 32;
/// Units of both layers.
pub const UNITS: usize = 64;
/// Element counts of LSTM's `kernel (32, 256)`, `recurrent_kernel (64, 256)`, `bias`.
pub const LSTM_PARAMS: [usize; 3] = [INPUTS * 4 * UNITS, UNITS * 4 * UNITS, 4 * UNITS];
/// Element counts of GRU's (`reset_after`) `kernel`, `recurrent_kernel`, `bias (2, 192)`.
pub const GRU_PARAMS: [usize; 3] = [INPUTS * 3 * UNITS, UNITS * 3 * UNITS, 2 * 3 * UNITS];
/// The most parameters of the two layers (LSTM's).
pub const MAX_PARAMS: usize = LSTM_PARAMS[0] + LSTM_PARAMS[1] + LSTM_PARAMS[2];
/// The truncated BPTT window of the windowed training runs.
pub const WINDOW: u32 = 10;

/// Keras's `LSTM(64)` with `bptt_window = window` (0: full BPTT).
pub fn lstm(window: u32) -> LayerConfig {
    let mut l = LSTM::new(UNITS as u32);
    l.rnn.bptt_window = window;
    LayerConfig::LSTM(l)
}

/// Keras's `GRU(64)` (`reset_after=True`) with `bptt_window = window`.
pub fn gru(window: u32) -> LayerConfig {
    let mut g = GRU::new(UNITS as u32);
    g.rnn.bptt_window = window;
    LayerConfig::GRU(g)
}

/// Fills `out` with uniform values in `[-scale, scale)` from a 64-bit LCG seeded `seed`.
pub fn fill(seed: u64, out: &mut [f32], scale: f32) {
    let mut s = seed;
    for v in out.iter_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (s >> 40) as f32 / (1u64 << 24) as f32;
        *v = (2.0 * u - 1.0) * scale;
    }
}

/// Seed of parameter tensor `k` (the same for both layers).
pub fn param_seed(k: usize) -> u64 {
    10 + k as u64
}

/// Seed of the input sequence.
pub const X_SEED: u64 = 1;
/// Seed of the output gradient.
pub const DY_SEED: u64 = 2;
/// Scale of the weights (about Keras's glorot/orthogonal range here).
pub const W_SCALE: f32 = 0.2;

/// The `(batch 1, steps, 32)` shape of a `steps`-step input.
fn input(steps: usize) -> Result<Shape> {
    Shape::new(&[1, steps, INPUTS])
}

/// The layer's forward pass over `x` (`steps·32` values, one sample) into `y` (64).
pub fn forward(
    layer: &LayerConfig,
    params: &[&[f32]],
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let xs = [TensorView::new(input(x.len() / INPUTS)?, x)?];
    let y = TensorViewMut::new(Shape::new(&[1, UNITS])?, y)?;
    layer.forward_call(params, &xs, None, y, scratch, &Context::default())
}

/// One training backward pass over `x`: `dx` receives `∂L/∂x`, `dparams` the gradients
/// of all three tensors (concatenated), for the output gradient `dy` (overwritten).
#[allow(clippy::too_many_arguments)] // the call's tensors, gradients and buffers
pub fn backward(
    layer: &LayerConfig,
    params: &[&[f32]],
    x: &[f32],
    y: &[f32],
    dy: &mut [f32],
    dx: &mut [f32],
    dparams: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let xs = [TensorView::new(input(x.len() / INPUTS)?, x)?];
    let y = TensorView::new(Shape::new(&[1, UNITS])?, y)?;
    let mut dxs = [Some(dx)];
    layer.backward_call(
        params,
        &xs,
        None,
        y,
        dy,
        &mut dxs,
        Some(dparams),
        TensorMask::first(params.len()),
        scratch,
        &Context::training(7),
    )
}

/// Scratch elements of a training call (the most either layer needs, full BPTT).
pub fn training_scratch(layer: &LayerConfig) -> Result<usize> {
    layer.scratch_elems(&[Shape::new(&[STEPS, INPUTS])?], true)
}
