//! Ember firmware example for QEMU `mps2-an386` (Cortex-M4F).
//!
//! Runs one workload, counts the instructions it executes (see
//! [`measure`]), logs the result with defmt over semihosting and exits QEMU
//! through semihosting: status 0 if the result is correct, 1 otherwise.
//!
//! The workload is a placeholder (an f32 dot product of two 1024-element
//! arrays stored in flash). It will be replaced by an `ember-nn` model: add the
//! path dependency in `Cargo.toml`, then swap the body of [`workload`] and the
//! check in [`main`].
//!
//! Run with `cargo run --release` from `firmware-examples/`.

#![no_std]
#![no_main]

mod measure;

use core::hint::black_box;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
// Links the defmt global logger that writes frames to semihosting stdout.
use defmt_semihosting as _;

/// Vector length of the placeholder workload.
const N: usize = 1024;

// `static` + const-evaluated initialiser => the arrays live in flash
// (.rodata), like model weights would.
static A: [f32; N] = ramp(17, 0.5, -4.0);
static B: [f32; N] = ramp(13, 1.0, -6.0);

/// Exact value of `dot(A, B)`: every product and partial sum is a small
/// multiple of 0.5, so f32 computes it exactly in any summation order.
const EXPECTED: f32 = -23.0;

/// `out[i] = (i % modulus) * scale + offset`, evaluated at compile time.
const fn ramp(modulus: usize, scale: f32, offset: f32) -> [f32; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = (i % modulus) as f32 * scale + offset;
        i += 1;
    }
    out
}

/// The measured work. Placeholder: f32 dot product, one multiply-accumulate
/// (MAC) per element.
// ember-nn: replace with e.g. `model.predict(input, &mut scratch)`.
fn workload(a: &[f32; N], b: &[f32; N]) -> f32 {
    a.iter().zip(b).fold(0.0, |acc, (x, y)| acc + x * y)
}

#[entry]
fn main() -> ! {
    let core = defmt::unwrap!(cortex_m::Peripherals::take());
    measure::init(core.SYST);
    defmt::info!(
        "ember qemu-cortex-m4: measurement overhead {=u64} instructions (subtracted)",
        measure::overhead_instructions()
    );

    // black_box the inputs so the compiler cannot constant-fold the workload.
    let (result, instructions) =
        measure::count_instructions(|| workload(black_box(&A), black_box(&B)));

    let macs = N as u64;
    defmt::info!(
        "f32 dot product, N = {=u64}: result = {=f32}, {=u64} instructions, {=f32} instructions/MAC",
        macs,
        result,
        instructions,
        instructions as f32 / macs as f32
    );

    if result == EXPECTED {
        defmt::info!("result OK");
        exit(true)
    } else {
        defmt::error!(
            "result mismatch: expected {=f32}, got {=f32}",
            EXPECTED,
            result
        );
        exit(false)
    }
}

/// Ends the QEMU run: semihosting exit, QEMU status 0 (`true`) or 1 (`false`).
fn exit(success: bool) -> ! {
    debug::exit(if success { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Only reached when not running under a semihosting host.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Rust panics (`panic!`, `unwrap`, index out of bounds, ...): log via defmt
/// and exit QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

/// `defmt::panic!` / `defmt::unwrap!` / `defmt::assert!`: defmt has already
/// logged the message; just fail.
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(false)
}

/// Faults (bad memory access, undefined instruction, ...): log and fail
/// instead of hanging until the runner's timeout.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!(
        "HardFault: pc = {=u32:#010x}, lr = {=u32:#010x}",
        frame.pc(),
        frame.lr()
    );
    exit(false)
}
