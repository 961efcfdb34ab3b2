//! Regressions found while fuzzing (`host-tools/fuzz`): inputs that used to panic must be
//! errors. Project rule: nothing panics on bad input.

use ember_cli::convert::DTypeChoice;
use ember_nn::{Adam, Error, Loss, Optimizer, Sequential, TrainConfig, Trainable, Q16_16};
use ember_tests::blob;

/// `dense_relu_softmax` (8 → 16 → 12 → 10): known arena sizes at batch 1, to show the
/// sizing still works where it did.
fn model() -> ember_cli::blob_file::AlignedBytes {
    blob("dense_relu_softmax", DTypeChoice::F32)
}

fn train_config(batch_size: usize) -> TrainConfig {
    TrainConfig {
        batch_size,
        optimizer: Optimizer::adam(Adam::DEFAULT),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    }
}

/// Batches whose activation bytes fit `usize` one by one but not summed: the training
/// layout's running sum (`memory.rs`) and the planner's `offset + size` (`planner.rs`)
/// overflowed (a debug-build panic; a wrapped, too-small arena size in release). On a
/// 32-bit MCU a blob's own shapes reach the same sums at batch 1.
#[test]
fn huge_batch_is_an_error_not_an_overflow() {
    let b = model();
    let bytes = b.as_slice();
    // 2^58 − 1 samples: every activation (≤ 16 floats a sample) fits, their sum does not.
    let batch = (1usize << 58) - 1;
    assert_eq!(
        Sequential::<f32>::inference_bytes(bytes, batch),
        Err(Error::InvalidShape)
    );
    assert_eq!(
        Sequential::<f32>::training_bytes(bytes, &train_config(batch)),
        Err(Error::InvalidShape)
    );
    // Every batch near a power of two, and usize::MAX / k: Ok or Err, never a panic, and
    // an Ok size holds at least the 10 output floats of every sample.
    let mut batches: Vec<usize> = (1..64).map(|s| (1usize << s) - 1).collect();
    batches.extend((1..=64).map(|k| usize::MAX / k));
    for batch in batches {
        for result in [
            Sequential::<f32>::inference_bytes(bytes, batch),
            Sequential::<f32>::training_bytes(bytes, &train_config(batch)),
        ] {
            match result {
                Ok(n) => assert!(n >= batch.saturating_mul(40), "batch {batch}: {n} bytes"),
                Err(e) => assert_eq!(e, Error::InvalidShape, "batch {batch}"),
            }
        }
    }
    let fixed = blob("dense_relu_softmax", DTypeChoice::Fixed);
    assert_eq!(
        Sequential::<Q16_16>::training_bytes(fixed.as_slice(), &train_config(batch)),
        Err(Error::InvalidShape)
    );
}

/// Sizing at an ordinary batch is unchanged by the overflow checks.
#[test]
fn ordinary_batch_sizes_are_unchanged() {
    let b = model();
    assert_eq!(
        Sequential::<f32>::inference_bytes(b.as_slice(), 1).unwrap(),
        112
    );
    assert_eq!(
        Sequential::<f32>::training_bytes(b.as_slice(), &train_config(1)).unwrap(),
        6656
    );
}
