//! Build script: links `memory.x`, converts the bundled Keras model into f32 and Q16.16
//! blobs with exact arena sizes, and embeds Keras's golden vectors
//! (`../common/build_models.rs`).

#[path = "../common/build_models.rs"]
mod build_models;
#[path = "../qemu-cortex-m4/src/train_config.rs"]
mod train_config;

/// Test samples checked (and measured) on the device.
const TEST_SAMPLES: usize = 16;

fn main() {
    build_models::run(
        &train_config::TRAIN,
        "../qemu-cortex-m4/src/train_config.rs",
        TEST_SAMPLES,
    );
}
