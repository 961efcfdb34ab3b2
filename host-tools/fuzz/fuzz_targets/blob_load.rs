//! Fuzz target: blob loader, inference and one training step, in f32 and Q16.16.
//!
//! The input is a blob. It is tried twice: as given (so the header and CRC checks are
//! exercised), and with its CRC-32 field recomputed when the header's `total_len` fits
//! the input, so mutations reach the graph decoder, the shape checks, the memory planner
//! and the kernels instead of stopping at `ChecksumMismatch`. The byte after `total_len`,
//! if any (the loader ignores bytes past `total_len`), picks the loss and optimizer of
//! the training step; the 8 bytes after it (LE `u64`), if present, are a batch size that
//! is only passed to `inference_bytes` / `training_bytes` (nothing is allocated), to
//! check that sizing any batch is a number or an error. Arenas and inputs over 64 MiB are
//! skipped (a valid blob may
//! declare a model that big; refusing to allocate it is the caller's business).
#![no_main]

use ember_cli::blob_file::AlignedBytes;
use ember_nn::blob::{checksum, HEADER_LEN};
use ember_nn::model::Functional;
use ember_nn::{Adam, Loss, Optimizer, Scalar, Sequential, Sgd, TrainConfig, Trainable, Q16_16};
use libfuzzer_sys::fuzz_target;

/// Largest arena or tensor buffer the target allocates.
const CAP: usize = 64 << 20;
/// Batch used for inference and training.
const BATCH: usize = 2;

fn elems_fit<T>(n: usize) -> bool {
    n.checked_mul(core::mem::size_of::<T>())
        .is_some_and(|b| b <= CAP)
}

fn infer<T: Scalar>(blob: &[u8]) {
    let Ok(needed) = Sequential::<T>::inference_bytes(blob, BATCH) else {
        return;
    };
    if needed > CAP {
        return;
    }
    let mut arena = AlignedBytes::zeroed(needed);
    let Ok(mut m) = Sequential::<T>::new(blob, arena.as_mut_slice(), BATCH) else {
        return;
    };
    // Three samples: one full batch plus a partial one.
    let (Some(x_len), Some(y_len)) = (
        m.input_shape().len().checked_mul(3),
        m.output_shape().len().checked_mul(3),
    ) else {
        return;
    };
    if !elems_fit::<T>(x_len) || !elems_fit::<T>(y_len) {
        return;
    }
    let x = vec![T::ZERO; x_len];
    let mut y = vec![T::ZERO; y_len];
    let _ = m.predict(&x, &mut y);
}

/// The graph runtime on the same blob (chains and graphs): predict on 3 zero samples.
fn infer_graph<T: Scalar>(blob: &[u8]) {
    let Ok(needed) = Functional::<T>::inference_bytes(blob, BATCH) else {
        return;
    };
    if needed > CAP {
        return;
    }
    let mut arena = AlignedBytes::zeroed(needed);
    let Ok(mut m) = Functional::<T>::new(blob, arena.as_mut_slice(), BATCH) else {
        return;
    };
    let g = m.graph().clone();
    let mut xs = Vec::new();
    for s in g.inputs() {
        match s.len().checked_mul(3) {
            Some(n) if elems_fit::<T>(n) => xs.push(vec![T::ZERO; n]),
            _ => return,
        }
    }
    let mut ys = Vec::new();
    for &o in g.outputs() {
        match g
            .tensor_shape(o as usize)
            .ok()
            .and_then(|s| s.len().checked_mul(3))
        {
            Some(n) if elems_fit::<T>(n) => ys.push(vec![T::ZERO; n]),
            _ => return,
        }
    }
    let xr: Vec<&[T]> = xs.iter().map(|v| v.as_slice()).collect();
    let mut yr: Vec<&mut [T]> = ys.iter_mut().map(|v| v.as_mut_slice()).collect();
    let _ = m.predict(&xr, &mut yr);
}

fn train<T: Scalar>(blob: &[u8], selector: u8) {
    let loss = match selector % 4 {
        0 => Loss::mean_squared_error(),
        1 => Loss::categorical_crossentropy(),
        2 => Loss::sparse_categorical_crossentropy(),
        _ => Loss::binary_crossentropy(),
    };
    let optimizer = if selector & 4 == 0 {
        Optimizer::adam(Adam::DEFAULT)
    } else {
        Optimizer::sgd(Sgd {
            momentum: 0.9,
            ..Sgd::DEFAULT
        })
    };
    let config = TrainConfig {
        batch_size: BATCH,
        optimizer,
        loss,
        trainable: Trainable::All,
    };
    let Ok(needed) = Sequential::<T>::training_bytes(blob, &config) else {
        return;
    };
    if needed > CAP {
        return;
    }
    let mut arena = AlignedBytes::zeroed(needed);
    let Ok(mut m) = Sequential::<T>::for_training(blob, arena.as_mut_slice(), config) else {
        return;
    };
    let out = m.output_shape();
    let last = out.last();
    let (Some(x_len), Some(y_pred_len)) = (
        m.input_shape().len().checked_mul(BATCH),
        out.len().checked_mul(BATCH),
    ) else {
        return;
    };
    let y_len = loss.y_true_len(y_pred_len, last);
    if !elems_fit::<T>(x_len) || !elems_fit::<T>(y_len) {
        return;
    }
    let x = vec![T::from_f32(0.5); x_len];
    let y = vec![T::ZERO; y_len];
    let _ = m.train_on_batch(&x, &y);
    let _ = m.train_on_batch(&x[..x_len / BATCH], &y[..y_len / BATCH]);
}

/// Sizes the arenas for a caller-chosen batch (no allocation).
fn size_any_batch<T: Scalar>(blob: &[u8], batch: usize) {
    let _ = Sequential::<T>::inference_bytes(blob, batch);
    let config = TrainConfig {
        batch_size: batch,
        optimizer: Optimizer::adam(Adam::DEFAULT),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    };
    let _ = Sequential::<T>::training_bytes(blob, &config);
}

fn run(blob: &[u8], selector: u8, sizing_batch: Option<usize>) {
    if let Some(batch) = sizing_batch {
        size_any_batch::<f32>(blob, batch);
        size_any_batch::<Q16_16>(blob, batch);
    }
    infer::<f32>(blob);
    infer::<Q16_16>(blob);
    infer_graph::<f32>(blob);
    infer_graph::<Q16_16>(blob);
    train::<f32>(blob, selector);
    train::<Q16_16>(blob, selector);
}

fuzz_target!(|data: &[u8]| {
    let mut aligned = AlignedBytes::from_slice(data);
    let total = data
        .get(8..12)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0);
    let selector = data.get(total).copied().unwrap_or(0);
    let sizing_batch = total
        .checked_add(1)
        .and_then(|at| data.get(at..at.checked_add(8)?))
        .and_then(|b| b.try_into().ok())
        .map(|b| u64::from_le_bytes(b) as usize);
    run(aligned.as_slice(), selector, sizing_batch);
    if (HEADER_LEN..=data.len()).contains(&total) {
        let crc = checksum(&data[..total]);
        aligned.as_mut_slice()[12..16].copy_from_slice(&crc.to_le_bytes());
        run(aligned.as_slice(), selector, sizing_batch);
    }
});
