//! Makes `memory.x` visible to the linker.
//!
//! cortex-m-rt's `link.x` does `INCLUDE memory.x`; the linker looks for it in
//! the library search path, so copy it into OUT_DIR and add OUT_DIR to that
//! path. (This is the usual cortex-m-rt pattern; it also works when the crate
//! is built from another directory.)

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR not set"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());

    // Re-link only when the memory map changes.
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
