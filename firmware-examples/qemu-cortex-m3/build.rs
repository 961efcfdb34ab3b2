//! Build script: makes `memory.x` visible to the linker (the usual cortex-m-rt pattern),
//! then converts the bundled Keras model and embeds golden vectors
//! (`../common/build_models.rs`).

use std::env;
use std::fs;
use std::path::PathBuf;

#[path = "../common/build_models.rs"]
mod build_models;
#[path = "../qemu-cortex-m4/src/train_config.rs"]
mod train_config;

/// Test samples checked (and measured) on the device.
const TEST_SAMPLES: usize = 16;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR not set"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../qemu-cortex-m4/src/train_config.rs");
    println!("cargo:rerun-if-changed=../common/build_models.rs");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir"));
    build_models::generate(&manifest, &out, &train_config::TRAIN, TEST_SAMPLES);
}
