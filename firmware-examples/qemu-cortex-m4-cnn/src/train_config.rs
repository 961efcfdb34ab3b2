//! The training configuration, shared by `build.rs` (which sizes the training arena from
//! it) and the firmware (which trains with it).
//!
//! It mirrors the Keras fixture case `digits_cnn/epoch_sgd`:
//! `SGD(learning_rate=0.05, momentum=0.9)`, categorical cross-entropy, batches of 32.

use ember_nn::{Loss, Optimizer, Sgd, TrainConfig, Trainable};

/// How the firmware trains.
pub const TRAIN: TrainConfig = TrainConfig {
    batch_size: 32,
    optimizer: Optimizer::sgd(Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: false,
    }),
    loss: Loss::categorical_crossentropy(),
    trainable: Trainable::All,
};
