//! Ember on a core **without an FPU**: QEMU `mps2-an385` (Cortex-M3, `thumbv7m-none-eabi`).
//!
//! The same bundled Keras digits model as the Cortex-M4 example, converted at build time
//! to Q16.16 fixed point (and to f32, which here runs on soft-float, for comparison). The
//! firmware:
//!
//! 1. checks the on-device memory query against the host's build-time constants;
//! 2. predicts Keras's test samples in Q16.16 and checks them against Keras;
//! 3. measures one inference in Q16.16 and in soft-float f32 (instructions per MAC);
//! 4. trains three SGD-momentum steps **in Q16.16** on Keras's batches and checks the
//!    weights against Keras's after the same steps (within the documented fixed-point
//!    tolerance);
//! 5. exits QEMU through semihosting: status 0 only if every check passed.
//!
//! Run with `cargo run --release -p qemu-cortex-m3 --target thumbv7m-none-eabi` from
//! `firmware-examples/`.

#![no_std]
#![no_main]

#[path = "../../qemu-cortex-m4/src/train_config.rs"]
mod train_config;

use core::hint::black_box;

use cortex_m_rt::entry;
use ember_nn::{ArenaBuffer, Scalar, Sequential, Q16_16};
use firmware_common::{argmax, close, finish, measure};

/// The f32 model (soft-float here; inference only).
#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/digits.rs"));
}
/// The Q16.16 model: `MODEL_BLOB`, `ARENA_BYTES_INFERENCE`, `ARENA_BYTES_TRAINING`.
mod model_q16 {
    include!(concat!(env!("OUT_DIR"), "/digits_q16.rs"));
}
/// Keras's golden vectors.
mod vectors {
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

use vectors::*;

const INPUTS: usize = 64;
const CLASSES: usize = 10;
/// Multiply-accumulates of one inference: 64·32 + 32·10.
const MACS: u64 = 64 * 32 + 32 * 10;
/// Q16.16 against Keras's f32 (see tests/tests/fixed_point.rs for the host figures).
const Q16_PREDICT_ATOL: f32 = 1e-3;
const Q16_WEIGHT_ATOL: f32 = 2e-4;

static mut Q16_ARENA: ArenaBuffer<{ model_q16::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut F32_ARENA: ArenaBuffer<{ model::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut TRAIN_ARENA: ArenaBuffer<{ model_q16::ARENA_BYTES_TRAINING }> = ArenaBuffer::new();

fn to_q16<const N: usize>(x: &[f32]) -> [Q16_16; N] {
    let mut out = [Q16_16::ZERO; N];
    for (d, &s) in out.iter_mut().zip(x) {
        *d = Q16_16::from_f32(s);
    }
    out
}

fn to_f32<const N: usize>(x: &[Q16_16]) -> [f32; N] {
    let mut out = [0.0; N];
    for (d, s) in out.iter_mut().zip(x) {
        *d = s.to_f32();
    }
    out
}

fn run() -> Result<bool, ember_nn::Error> {
    let mut ok = true;
    let blob = &model_q16::MODEL_BLOB.0;
    let on_device = (
        Sequential::<Q16_16>::inference_bytes(blob, model_q16::INFERENCE_BATCH)?,
        Sequential::<Q16_16>::training_bytes(blob, &train_config::TRAIN)?,
    );
    let same = on_device
        == (
            model_q16::ARENA_BYTES_INFERENCE,
            model_q16::ARENA_BYTES_TRAINING,
        );
    defmt::info!(
        "Q16.16 blob {=usize} bytes; arena: inference {=usize}, training {=usize} bytes; same on the device: {=bool}",
        blob.len(),
        model_q16::ARENA_BYTES_INFERENCE,
        model_q16::ARENA_BYTES_TRAINING,
        same
    );
    ok &= same;

    // Q16.16 inference against Keras.
    // SAFETY: `run` is called once from `main`; this is the only reference to the static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(Q16_ARENA) };
    let mut q = Sequential::<Q16_16>::new(blob, &mut arena.0, model_q16::INFERENCE_BATCH)?;
    let x: [Q16_16; TEST_SAMPLES * INPUTS] = to_q16(&X_TEST);
    let mut y = [Q16_16::ZERO; TEST_SAMPLES * CLASSES];
    q.predict(&x, &mut y)?;
    let yf: [f32; TEST_SAMPLES * CLASSES] = to_f32(&y);
    ok &= close("Q16.16 predict", &yf, &Y_KERAS, 0.0, Q16_PREDICT_ATOL);
    let mut digits = [0u8; TEST_SAMPLES];
    for (d, row) in digits.iter_mut().zip(yf.chunks_exact(CLASSES)) {
        *d = argmax(row) as u8;
    }
    ok &= digits == LABELS;
    defmt::info!("predicted digits: {=[u8]}", digits);
    defmt::info!("true labels:      {=[u8]}", LABELS);

    let mut y1 = [Q16_16::ZERO; CLASSES];
    let (r, instr) = measure::count_instructions(|| q.predict(black_box(&x[..INPUTS]), &mut y1));
    r?;
    defmt::info!(
        "Q16.16 inference: {=u64} instructions, {=f32} instructions/MAC",
        instr,
        instr as f32 / MACS as f32
    );

    // The same model in f32 on soft-float, for comparison.
    // SAFETY: as above, the only reference to this static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(F32_ARENA) };
    let mut f = Sequential::<f32>::new(&model::MODEL_BLOB.0, &mut arena.0, 1)?;
    let mut yf1 = [0.0f32; CLASSES];
    let (r, instr) =
        measure::count_instructions(|| f.predict(black_box(&X_TEST[..INPUTS]), &mut yf1));
    r?;
    ok &= close(
        "soft-float f32 predict",
        &yf1,
        &Y_KERAS[..CLASSES],
        1e-4,
        1e-6,
    );
    defmt::info!(
        "f32 (soft-float) inference: {=u64} instructions, {=f32} instructions/MAC",
        instr,
        instr as f32 / MACS as f32
    );

    // Training in Q16.16: three SGD-momentum steps on Keras's batches.
    // SAFETY: as above, the only reference to this static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(TRAIN_ARENA) };
    let mut t = Sequential::<Q16_16>::for_training(blob, &mut arena.0, train_config::TRAIN)?;
    let b = train_config::TRAIN.batch_size;
    for k in 0..3 {
        let xb: [Q16_16; 16 * INPUTS] = to_q16(&TRAIN_X[k * b * INPUTS..(k + 1) * b * INPUTS]);
        let yb: [Q16_16; 16 * CLASSES] = to_q16(&TRAIN_Y[k * b * CLASSES..(k + 1) * b * CLASSES]);
        let (r, instr) =
            measure::count_instructions(|| t.train_on_batch(&xb[..b * INPUTS], &yb[..b * CLASSES]));
        let loss = r?.to_f32();
        ok &= close("Q16.16 loss", &[loss], &TRAIN_LOSSES[k..k + 1], 0.0, 1e-3);
        defmt::info!(
            "Q16.16 train step {=usize}: loss {=f32}, {=u64} instructions",
            k,
            loss,
            instr
        );
    }
    let want: [&[f32]; 4] = [&W_AFTER_0, &W_AFTER_1, &W_AFTER_2, &W_AFTER_3];
    let mut trained = true;
    for (i, w) in want.iter().enumerate() {
        let got = t.param(i / 2, i % 2).unwrap_or(&[]);
        let mut buf = [0.0f32; 64 * 32];
        for (d, s) in buf.iter_mut().zip(got) {
            *d = s.to_f32();
        }
        trained &= close(
            "Q16.16 trained weight",
            &buf[..got.len()],
            w,
            0.0,
            Q16_WEIGHT_ATOL,
        );
    }
    defmt::info!(
        "Q16.16 weights after 3 training steps match Keras within {=f32}: {=bool}",
        Q16_WEIGHT_ATOL,
        trained
    );
    Ok(ok && trained)
}

#[entry]
fn main() -> ! {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    measure::init(core.SYST);
    defmt::info!("ember qemu-cortex-m3 (no FPU)");
    finish(run())
}
