//! Ember firmware example for QEMU `mps2-an386` (Cortex-M4F).
//!
//! The bundled Keras model (`tests/fixtures/digits_mlp`: Dense 64→32 relu → Dense 32→10
//! softmax, trained on the 8×8 digits) is converted at build time (`build.rs`) into an
//! f32 blob and a Q16.16 blob, embedded in flash and read in place. The firmware:
//!
//! 1. predicts Keras's test samples with the f32 model and checks Keras's outputs;
//! 2. measures one inference (instructions per MAC) in f32 and in Q16.16, and the first
//!    layer's Dense kernel alone, reference vs optimized (outputs must be bit-identical);
//! 3. trains three steps of SGD with momentum on Keras's batches and checks the losses
//!    and the weights against Keras's after the same three steps;
//! 4. exits QEMU through semihosting: status 0 only if every check passed.
//!
//! Arenas are `static` buffers sized at compile time by `ARENA_BYTES_INFERENCE` /
//! `ARENA_BYTES_TRAINING`, generated from the blob by `ember_cli::build_support`.
//!
//! Run with `cargo run --release` from `firmware-examples/`.

#![no_std]
#![no_main]

mod train_config;

use core::hint::black_box;

use cortex_m_rt::entry;
use ember_nn::{ArenaBuffer, Scalar, Sequential, Q16_16};
use firmware_common::{argmax, close, finish, measure};

/// The f32 model: `MODEL_BLOB`, `ARENA_BYTES_INFERENCE`, `ARENA_BYTES_TRAINING`.
mod model {
    include!(concat!(env!("OUT_DIR"), "/digits.rs"));
}
/// The Q16.16 model (inference only here; the M3 example trains it).
#[allow(dead_code)]
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

static mut INFER_ARENA: ArenaBuffer<{ model::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut Q16_ARENA: ArenaBuffer<{ model_q16::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut TRAIN_ARENA: ArenaBuffer<{ model::ARENA_BYTES_TRAINING }> = ArenaBuffer::new();

fn run() -> Result<bool, ember_nn::Error> {
    let mut ok = true;
    defmt::info!(
        "blob {=usize} bytes; arena: inference {=usize} bytes, training {=usize} bytes",
        model::MODEL_BLOB.0.len(),
        model::ARENA_BYTES_INFERENCE,
        model::ARENA_BYTES_TRAINING
    );

    // 0. The memory query on the device gives the bytes the host computed at build time.
    let on_device = (
        Sequential::<f32>::inference_bytes(&model::MODEL_BLOB.0, model::INFERENCE_BATCH)?,
        Sequential::<f32>::training_bytes(&model::MODEL_BLOB.0, &train_config::TRAIN)?,
    );
    let same = on_device == (model::ARENA_BYTES_INFERENCE, model::ARENA_BYTES_TRAINING);
    defmt::info!(
        "arena bytes computed on the device equal the host's: {=bool}",
        same
    );
    ok &= same;

    // 1. f32 inference against Keras.
    // SAFETY: `run` is called once from `main`; this is the only reference to the static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(INFER_ARENA) };
    let mut m = Sequential::<f32>::new(&model::MODEL_BLOB.0, &mut arena.0, model::INFERENCE_BATCH)?;
    let mut y = [0.0f32; TEST_SAMPLES * CLASSES];
    m.predict(&X_TEST, &mut y)?;
    ok &= close("f32 predict", &y, &Y_KERAS, 1e-4, 1e-6);
    let mut digits = [0u8; TEST_SAMPLES];
    for (d, row) in digits.iter_mut().zip(y.chunks_exact(CLASSES)) {
        *d = argmax(row) as u8;
    }
    defmt::info!("predicted digits: {=[u8]}", digits);
    defmt::info!("true labels:      {=[u8]}", LABELS);
    defmt::info!(
        "f32 predictions of {=usize} test samples match Keras: {=bool}",
        TEST_SAMPLES,
        ok
    );

    // 2. One inference, measured.
    let mut y1 = [0.0f32; CLASSES];
    let (r, instr) =
        measure::count_instructions(|| m.predict(black_box(&X_TEST[..INPUTS]), &mut y1));
    r?;
    defmt::info!(
        "f32 inference: {=u64} instructions, {=u64} MACs, {=f32} instructions/MAC",
        instr,
        MACS,
        instr as f32 / MACS as f32
    );

    // SAFETY: as above, the only reference to this static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(Q16_ARENA) };
    let mut q = Sequential::<Q16_16>::new(
        &model_q16::MODEL_BLOB.0,
        &mut arena.0,
        model_q16::INFERENCE_BATCH,
    )?;
    let mut xq = [Q16_16::ZERO; INPUTS];
    for (d, &s) in xq.iter_mut().zip(&X_TEST[..INPUTS]) {
        *d = Q16_16::from_f32(s);
    }
    let mut yq = [Q16_16::ZERO; CLASSES];
    let (r, instr) = measure::count_instructions(|| q.predict(black_box(&xq), &mut yq));
    r?;
    let mut yqf = [0.0f32; CLASSES];
    for (d, s) in yqf.iter_mut().zip(&yq) {
        *d = s.to_f32();
    }
    ok &= close("Q16.16 predict", &yqf, &Y_KERAS[..CLASSES], 0.0, 1e-3);
    defmt::info!(
        "Q16.16 inference: {=u64} instructions, {=f32} instructions/MAC",
        instr,
        instr as f32 / MACS as f32
    );

    // 2b. The Dense kernel alone on the first layer (64→32: no activation, no model
    // overhead), reference vs optimized twin; their outputs must be bit-identical.
    ok &= kernel_only("f32", &X_TEST[..INPUTS], &m);
    ok &= kernel_only("Q16.16", &xq, &q);

    // 3. Training: three SGD-momentum steps on Keras's batches.
    // SAFETY: as above, the only reference to this static.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(TRAIN_ARENA) };
    let mut t =
        Sequential::<f32>::for_training(&model::MODEL_BLOB.0, &mut arena.0, train_config::TRAIN)?;
    let b = train_config::TRAIN.batch_size;
    let mut losses = [0.0f32; 3];
    for (k, loss) in losses.iter_mut().enumerate() {
        let x = &TRAIN_X[k * b * INPUTS..(k + 1) * b * INPUTS];
        let y = &TRAIN_Y[k * b * CLASSES..(k + 1) * b * CLASSES];
        let (r, instr) = measure::count_instructions(|| t.train_on_batch(x, y));
        *loss = r?;
        defmt::info!(
            "train step {=usize}: loss {=f32}, {=u64} instructions",
            k,
            *loss,
            instr
        );
    }
    ok &= close("losses", &losses, &TRAIN_LOSSES, 1e-4, 1e-6);
    let want: [&[f32]; 4] = [&W_AFTER_0, &W_AFTER_1, &W_AFTER_2, &W_AFTER_3];
    for (i, w) in want.iter().enumerate() {
        let got = t.param(i / 2, i % 2).unwrap_or(&[]);
        ok &= close("trained weight", got, w, 1e-4, 1e-5);
    }
    defmt::info!("weights after 3 training steps match Keras: {=bool}", ok);
    Ok(ok)
}

/// Measures `forward` of the first Dense layer (64→32) with the reference and the
/// optimized kernel, logs instructions/MAC and checks the outputs are bit-identical.
fn kernel_only<T: Scalar>(what: &str, x: &[T], m: &Sequential<'_, T>) -> bool {
    use ember_nn::kernels::{optimized, reference};
    const N_OUT: usize = 32;
    const L0_MACS: u64 = (INPUTS * N_OUT) as u64;
    let (Some(w), Some(b)) = (m.param(0, 0), m.param(0, 1)) else {
        return false;
    };
    let mut y_ref = [T::ZERO; N_OUT];
    let mut y_opt = [T::ZERO; N_OUT];
    // Shapes through black_box too: the layer does not know them at compile time either.
    let ((), r) = measure::count_instructions(|| {
        let (n_in, n_out) = black_box((INPUTS, N_OUT));
        reference::dense::forward(black_box(x), w, b, &mut y_ref, n_in, n_out)
    });
    let ((), o) = measure::count_instructions(|| {
        let (n_in, n_out) = black_box((INPUTS, N_OUT));
        optimized::dense::forward(black_box(x), w, b, &mut y_opt, n_in, n_out)
    });
    let same = y_ref == y_opt
        && y_ref
            .iter()
            .zip(&y_opt)
            .all(|(a, b)| a.to_f32().to_bits() == b.to_f32().to_bits());
    defmt::info!(
        "{=str} Dense 64->32 kernel alone: reference {=f32} instructions/MAC, optimized {=f32} instructions/MAC, bit-identical: {=bool}",
        what,
        r as f32 / L0_MACS as f32,
        o as f32 / L0_MACS as f32,
        same
    );
    same
}

#[entry]
fn main() -> ! {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    measure::init(core.SYST);
    defmt::info!(
        "ember qemu-cortex-m4: measurement overhead {=u64} instructions (subtracted)",
        measure::overhead_instructions()
    );
    finish(run())
}
