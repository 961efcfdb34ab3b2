//! Ember firmware example for QEMU `mps2-an386` (Cortex-M4F): recurrent layers.
//!
//! LSTM(64) and GRU(64) (Keras's defaults, `reset_after=True`) on 32 input features over
//! a 50-step sequence, one sample, f32, built directly in `main` (no blob) with weights
//! from a 64-bit LCG (`problem.rs`). For each layer the firmware:
//!
//! 1. runs the sequence forward (inference) and a one-step call (streaming), and reports
//!    instructions per timestep and per MAC (`G·units·(inputs + units)` MACs a step);
//! 2. runs one training backward pass over the 50 steps (full BPTT: recompute the
//!    forward pass saving every step, then backpropagate: parameter and input
//!    gradients), and again with `bptt_window = 10`; reports instructions per timestep;
//! 3. checks the output, the input gradient and the parameter gradients against the same
//!    computation run on the host by `build.rs` (relative tolerance 1e-4);
//! 4. streams the drug-review sentiment model trained in Keras
//!    (`tests/fixtures/sentiment/lstm.keras`: Embedding(mask_zero) → LSTM(16) → Dense,
//!    converted by `build.rs`) over the first 16 test reviews one token per call with
//!    `ember_nn::model::Stream`, its state in a static buffer, and checks each review's
//!    final output against Keras's prediction; reports instructions per token;
//! 5. exits QEMU through semihosting: status 0 only if every check passed.
//!
//! The scratch memory is one static arena of `SCRATCH_ELEMS` floats, computed by
//! `build.rs` with `LayerConfig::scratch_elems` (and checked again here).
//!
//! Run with `cargo run --release -p qemu-cortex-m4-rnn` from `firmware-examples/`.

#![no_std]
#![no_main]

mod problem;
mod sentiment;

use core::hint::black_box;

use cortex_m_rt::entry;
use ember_nn::layers::LayerConfig;
use ember_nn::Error;
use firmware_common::{close, finish, measure};
use problem::*;

/// Expected values from the host: `Y_*`, `DX_*`, `DP_*` (`_W10`: window 10),
/// `SCRATCH_ELEMS`.
mod expected {
    include!(concat!(env!("OUT_DIR"), "/expected.rs"));
}

/// Every buffer of the run, in one static (zero-initialized, in `.bss`).
struct Buffers {
    params: [f32; MAX_PARAMS],
    dparams: [f32; MAX_PARAMS],
    x: [f32; STEPS * INPUTS],
    dx: [f32; STEPS * INPUTS],
    y: [f32; UNITS],
    dy: [f32; UNITS],
    scratch: [f32; expected::SCRATCH_ELEMS],
}

static mut BUFFERS: Buffers = Buffers {
    params: [0.0; MAX_PARAMS],
    dparams: [0.0; MAX_PARAMS],
    x: [0.0; STEPS * INPUTS],
    dx: [0.0; STEPS * INPUTS],
    y: [0.0; UNITS],
    dy: [0.0; UNITS],
    scratch: [0.0; expected::SCRATCH_ELEMS],
};

/// Relative and absolute tolerance of the comparisons with the host.
const RTOL: f32 = 1e-4;
const ATOL: f32 = 1e-6;

/// One layer's expected values.
struct Expected {
    y: &'static [f32],
    dx: &'static [f32],
    dp: &'static [f32],
    dx_w: &'static [f32],
    dp_w: &'static [f32],
}

/// Runs and checks one layer; returns whether every comparison passed.
fn run_layer(
    name: &str,
    make: fn(u32) -> LayerConfig,
    sizes: [usize; 3],
    gates: usize,
    want: &Expected,
    b: &mut Buffers,
) -> Result<bool, Error> {
    let full = make(0);
    let needed = training_scratch(&full)?;
    if needed > b.scratch.len() {
        defmt::error!("the static scratch arena is smaller than scratch_elems");
        return Err(Error::ArenaTooSmall {
            needed,
            available: b.scratch.len(),
        });
    }
    let input = ember_nn::Shape::new(&[STEPS, INPUTS])?;
    defmt::info!(
        "{=str}(64), 32 inputs, 50 steps: scratch {=usize} B inference, {=usize} B training (full BPTT), {=usize} B training (window 10)",
        name,
        4 * full.scratch_elems(&[input], false)?,
        4 * needed,
        4 * training_scratch(&make(WINDOW))?
    );
    let total: usize = sizes.iter().sum();
    let (k, rest) = b.params[..total].split_at_mut(sizes[0]);
    let (r, bias) = rest.split_at_mut(sizes[1]);
    fill(param_seed(0), k, W_SCALE);
    fill(param_seed(1), r, W_SCALE);
    fill(param_seed(2), bias, W_SCALE);
    let p: [&[f32]; 3] = [k, r, bias];
    fill(X_SEED, &mut b.x, 1.0);
    let macs_step = gates * UNITS * (INPUTS + UNITS);

    // 1. Inference: the whole sequence, and one streaming step.
    let (res, instr) = measure::count_instructions(|| {
        forward(
            &full,
            black_box(&p),
            black_box(&b.x),
            &mut b.y,
            &mut b.scratch,
        )
    });
    res?;
    let per_step = instr / STEPS as u64;
    defmt::info!(
        "{=str} forward, 50 steps: {=u64} instructions, {=u64} per step, {=usize} MACs per step, {=f32} instructions/MAC",
        name,
        instr,
        per_step,
        macs_step,
        instr as f32 / (STEPS * macs_step) as f32
    );
    let mut ok = close("forward output", &b.y, want.y, RTOL, ATOL);
    let mut y1 = [0.0f32; UNITS];
    let (res, instr) = measure::count_instructions(|| {
        forward(
            &full,
            &p,
            black_box(&b.x[..INPUTS]),
            &mut y1,
            &mut b.scratch,
        )
    });
    res?;
    defmt::info!(
        "{=str} streaming, one step per call: {=u64} instructions, {=f32} instructions/MAC",
        name,
        instr,
        instr as f32 / macs_step as f32
    );

    // 2. Training: one backward pass, full BPTT then window 10.
    for (window, dx_want, dp_want) in [(0, want.dx, want.dp), (WINDOW, want.dx_w, want.dp_w)] {
        let layer = make(window);
        fill(DY_SEED, &mut b.dy, 0.1);
        let dp = &mut b.dparams[..total];
        let (res, instr) = measure::count_instructions(|| {
            backward(
                &layer,
                &p,
                black_box(&b.x),
                &b.y,
                &mut b.dy,
                &mut b.dx,
                dp,
                &mut b.scratch,
            )
        });
        res?;
        defmt::info!(
            "{=str} BPTT backward, 50 steps, window {=u32} (0 = full): {=u64} instructions, {=u64} per step, {=f32} instructions per forward MAC",
            name,
            window,
            instr,
            instr / STEPS as u64,
            instr as f32 / (STEPS * macs_step) as f32
        );
        ok &= close("input gradient", &b.dx, dx_want, RTOL, ATOL);
        ok &= close("parameter gradients", dp, dp_want, RTOL, ATOL);
    }
    defmt::info!(
        "{=str}: output and gradients match the host run: {=bool}",
        name,
        ok
    );
    Ok(ok)
}

fn run() -> Result<bool, Error> {
    // SAFETY: `run` is called once from `main`; this is the only reference to BUFFERS.
    let b = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let lstm_want = Expected {
        y: &expected::Y_LSTM,
        dx: &expected::DX_LSTM,
        dp: &expected::DP_LSTM,
        dx_w: &expected::DX_LSTM_W10,
        dp_w: &expected::DP_LSTM_W10,
    };
    let gru_want = Expected {
        y: &expected::Y_GRU,
        dx: &expected::DX_GRU,
        dp: &expected::DP_GRU,
        dx_w: &expected::DX_GRU_W10,
        dp_w: &expected::DP_GRU_W10,
    };
    let mut ok = run_layer("LSTM", lstm, LSTM_PARAMS, 4, &lstm_want, b)?;
    ok &= run_layer("GRU", gru, GRU_PARAMS, 3, &gru_want, b)?;
    ok &= sentiment::run()?;
    Ok(ok)
}

#[entry]
fn main() -> ! {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    measure::init(core.SYST);
    finish(run())
}
