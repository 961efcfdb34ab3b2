//! Ember firmware example for QEMU `mps2-an386` (Cortex-M4F): a small CNN.
//!
//! The bundled Keras model (`tests/fixtures/digits_cnn`: Conv2D(16, 3×3, same) →
//! BatchNormalization → ReLU → MaxPooling2D(2) → DepthwiseConv2D(3×3, same, ×2, relu) →
//! GlobalAveragePooling2D → Dense(10, softmax), trained on the 8×8 digits) is converted at
//! build time into an f32 and a Q16.16 blob, embedded in flash and read in place. The
//! firmware:
//!
//! 1. predicts the whole test split (297 images) in f32 and checks Keras's outputs and
//!    predicted classes; runs the Q16.16 model on them and counts class agreement;
//! 2. measures one inference per layer (instructions and instructions/MAC), f32 and
//!    Q16.16, and the Conv2D and DepthwiseConv2D kernels alone at TinyML sizes
//!    (reference vs optimized twin, which must be bit-identical);
//! 3. trains one epoch (200 images, batches of 32, SGD with momentum) and checks every
//!    weight, moving statistics included, against Keras's after the same epoch;
//! 4. exits QEMU through semihosting: status 0 only if every check passed.
//!
//! Run with `cargo run --release -p qemu-cortex-m4-cnn` from `firmware-examples/`.

#![no_std]
#![no_main]

mod kernels;
mod train_config;

use core::hint::black_box;

use cortex_m_rt::entry;
use ember_nn::layers::Context;
use ember_nn::model::Graph;
use ember_nn::{ArenaBuffer, Scalar, Sequential, TensorView, TensorViewMut, Q16_16};
use firmware_common::{argmax, close, finish, measure};

/// The f32 model: `MODEL_BLOB`, `ARENA_BYTES_INFERENCE`, `ARENA_BYTES_TRAINING`.
mod model {
    include!(concat!(env!("OUT_DIR"), "/cnn.rs"));
}
/// The Q16.16 model.
#[allow(dead_code)]
mod model_q16 {
    include!(concat!(env!("OUT_DIR"), "/cnn_q16.rs"));
}
/// Keras's golden vectors.
mod vectors {
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

use vectors::*;

const INPUTS: usize = 64;
const CLASSES: usize = 10;
/// Largest activation of one sample (8×8×16).
const MAX_ACT: usize = 8 * 8 * 16;

static mut INFER_ARENA: ArenaBuffer<{ model::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut Q16_ARENA: ArenaBuffer<{ model_q16::ARENA_BYTES_INFERENCE }> = ArenaBuffer::new();
static mut TRAIN_ARENA: ArenaBuffer<{ model::ARENA_BYTES_TRAINING }> = ArenaBuffer::new();
static mut Y_TEST: [f32; TEST_SAMPLES * CLASSES] = [0.0; TEST_SAMPLES * CLASSES];
/// Kernel benchmark buffers (f32 and Q16.16).
static mut KX: [f32; 32 * 32 * 16] = [0.0; 32 * 32 * 16];
static mut KW: [f32; 3 * 3 * 16 * 16] = [0.0; 3 * 3 * 16 * 16];
static mut KY0: [f32; 32 * 32 * 16] = [0.0; 32 * 32 * 16];
static mut KY1: [f32; 32 * 32 * 16] = [0.0; 32 * 32 * 16];
static mut QX: [Q16_16; 32 * 32 * 16] = [Q16_16::ZERO; 32 * 32 * 16];
static mut QW: [Q16_16; 3 * 3 * 16 * 16] = [Q16_16::ZERO; 3 * 3 * 16 * 16];
static mut QY0: [Q16_16; 32 * 32 * 16] = [Q16_16::ZERO; 32 * 32 * 16];
static mut QY1: [Q16_16; 32 * 32 * 16] = [Q16_16::ZERO; 32 * 32 * 16];

fn run() -> Result<bool, ember_nn::Error> {
    let mut ok = true;
    defmt::info!(
        "blob {=usize} bytes (f32), {=usize} bytes (Q16.16); arena: inference {=usize} bytes, training (batch 32, SGD momentum) {=usize} bytes",
        model::MODEL_BLOB.0.len(),
        model_q16::MODEL_BLOB.0.len(),
        model::ARENA_BYTES_INFERENCE,
        model::ARENA_BYTES_TRAINING
    );
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

    // 1. The whole test split in f32, against Keras.
    // SAFETY: `run` is called once from `main`; these are the only references.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(INFER_ARENA) };
    // SAFETY: as above, the only reference to this static.
    let y = unsafe { &mut *core::ptr::addr_of_mut!(Y_TEST) };
    let mut m = Sequential::<f32>::new(&model::MODEL_BLOB.0, &mut arena.0, model::INFERENCE_BATCH)?;
    m.predict(&X_TEST, y)?;
    ok &= close("f32 predict", y, &Y_KERAS, 1e-4, 1e-6);
    let (mut same_class, mut correct) = (0usize, 0usize);
    for ((row, keras), &label) in y
        .chunks_exact(CLASSES)
        .zip(Y_KERAS.chunks_exact(CLASSES))
        .zip(LABELS.iter())
    {
        same_class += (argmax(row) == argmax(keras)) as usize;
        correct += (argmax(row) == label as usize) as usize;
    }
    ok &= same_class == TEST_SAMPLES;
    defmt::info!(
        "f32: {=usize}/{=usize} test images get Keras's class; accuracy {=usize}/{=usize}",
        same_class,
        TEST_SAMPLES,
        correct,
        TEST_SAMPLES
    );

    // Q16.16 on the same images.
    // SAFETY: as above.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(Q16_ARENA) };
    let mut q = Sequential::<Q16_16>::new(
        &model_q16::MODEL_BLOB.0,
        &mut arena.0,
        model_q16::INFERENCE_BATCH,
    )?;
    let (mut q_same, mut worst) = (0usize, 0.0f32);
    for (x, keras) in X_TEST
        .chunks_exact(INPUTS)
        .zip(Y_KERAS.chunks_exact(CLASSES))
    {
        let mut xq = [Q16_16::ZERO; INPUTS];
        for (d, &s) in xq.iter_mut().zip(x) {
            *d = Q16_16::from_f32(s);
        }
        let mut yq = [Q16_16::ZERO; CLASSES];
        q.predict(&xq, &mut yq)?;
        let mut yf = [0.0f32; CLASSES];
        for ((d, s), k) in yf.iter_mut().zip(&yq).zip(keras) {
            *d = s.to_f32();
            worst = worst.max((*d - k).abs());
        }
        q_same += (argmax(&yf) == argmax(keras)) as usize;
    }
    defmt::info!(
        "Q16.16: {=usize}/{=usize} test images get Keras's class; largest probability error {=f32}",
        q_same,
        TEST_SAMPLES,
        worst
    );
    ok &= worst < 1e-2;

    // 2. One inference, per layer.
    let total = per_layer("f32", m.graph(), &X_TEST[..INPUTS]);
    let mut xq = [Q16_16::ZERO; INPUTS];
    for (d, &s) in xq.iter_mut().zip(&X_TEST[..INPUTS]) {
        *d = Q16_16::from_f32(s);
    }
    let total_q = per_layer("Q16.16", q.graph(), &xq);
    let mut y1 = [0.0f32; CLASSES];
    let (r, instr) =
        measure::count_instructions(|| m.predict(black_box(&X_TEST[..INPUTS]), &mut y1));
    r?;
    defmt::info!(
        "whole f32 inference {=u64} instructions (layers alone {=u64}, Q16.16 layers {=u64}), {=usize} MACs",
        instr,
        total,
        total_q,
        m.graph().macs()
    );

    // 2b. The conv kernels alone at TinyML sizes, reference vs optimized.
    // SAFETY: `run` is called once from `main`; these are the only references.
    let mut fb = unsafe {
        kernels::Buffers {
            x: &mut *core::ptr::addr_of_mut!(KX),
            w: &mut *core::ptr::addr_of_mut!(KW),
            y_ref: &mut *core::ptr::addr_of_mut!(KY0),
            y_opt: &mut *core::ptr::addr_of_mut!(KY1),
            b: [0.0; 64],
        }
    };
    ok &= kernels::measure_all("f32", &mut fb);
    // SAFETY: as above.
    let mut qb = unsafe {
        kernels::Buffers {
            x: &mut *core::ptr::addr_of_mut!(QX),
            w: &mut *core::ptr::addr_of_mut!(QW),
            y_ref: &mut *core::ptr::addr_of_mut!(QY0),
            y_opt: &mut *core::ptr::addr_of_mut!(QY1),
            b: [Q16_16::ZERO; 64],
        }
    };
    ok &= kernels::measure_all("Q16.16", &mut qb);

    // 3. One epoch of training, against Keras.
    // SAFETY: as above.
    let arena = unsafe { &mut *core::ptr::addr_of_mut!(TRAIN_ARENA) };
    let mut t =
        Sequential::<f32>::for_training(&model::MODEL_BLOB.0, &mut arena.0, train_config::TRAIN)?;
    let b = train_config::TRAIN.batch_size;
    for (k, (x, y)) in EPOCH_X
        .chunks(b * INPUTS)
        .zip(EPOCH_Y.chunks(b * CLASSES))
        .enumerate()
    {
        let (r, instr) = measure::count_instructions(|| t.train_on_batch(x, y));
        let loss = r?;
        defmt::info!(
            "train step {=usize} ({=usize} images): loss {=f32}, {=u64} instructions",
            k,
            x.len() / INPUTS,
            loss,
            instr
        );
    }
    let mut i = 0;
    for l in 0..t.graph().layers().len() {
        for p in 0..t.graph().layers()[l].params.len() {
            let got = t.param(l, p).unwrap_or(&[]);
            ok &= W_EPOCH
                .get(i)
                .is_some_and(|w| close("weight after one epoch", got, w, 1e-4, 1e-5));
            i += 1;
        }
    }
    ok &= i == W_EPOCH.len();
    defmt::info!(
        "{=usize} weight tensors after one epoch match Keras: {=bool}",
        i,
        ok
    );
    Ok(ok)
}

/// Runs one sample through every layer with ping-pong stack buffers, measuring each
/// layer's forward alone; logs instructions and instructions/MAC. Returns the total.
fn per_layer<T: Scalar>(what: &str, g: &Graph<'_, T>, x: &[T]) -> u64 {
    let mut a = [T::ZERO; MAX_ACT];
    let mut b = [T::ZERO; MAX_ACT];
    a[..x.len()].copy_from_slice(x);
    let mut total = 0;
    for (k, l) in g.layers().iter().enumerate() {
        let (n_in, n_out) = (l.input.len(), l.output.len());
        let (Ok(si), Ok(so)) = (l.input.with_batch(1), l.output.with_batch(1)) else {
            return 0;
        };
        let ((), instr) = measure::count_instructions(|| {
            let (Ok(xv), Ok(yv)) = (
                TensorView::new(si, black_box(&a[..n_in])),
                TensorViewMut::new(so, &mut b[..n_out]),
            ) else {
                return;
            };
            let _ = l.config.forward(&l.params, xv, yv, &Context::default());
        });
        total += instr;
        let macs = l.config.macs(l.input);
        defmt::info!(
            "{=str} layer {=usize} {=str}: {=u64} instructions, {=usize} MACs, {=f32} instructions/MAC",
            what,
            k,
            l.config.keras_class(),
            instr,
            macs,
            if macs > 0 { instr as f32 / macs as f32 } else { 0.0 }
        );
        core::mem::swap(&mut a, &mut b);
    }
    total
}

#[entry]
fn main() -> ! {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    measure::init(core.SYST);
    finish(run())
}
