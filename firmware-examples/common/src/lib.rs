//! Shared runtime of the Ember firmware examples (QEMU mps2 boards):
//!
//! - [`measure`]: instruction counting with SysTick under `-icount shift=0`;
//! - [`exit`]: ends the QEMU run through semihosting with a status;
//! - panic (Rust and defmt) and HardFault handlers that log and exit with failure, so a
//!   broken firmware fails CI instead of hanging;
//! - [`close`]: elementwise comparison with Keras's golden values;
//! - the defmt logger over semihosting (linked by depending on this crate).

#![no_std]

pub mod measure;

use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
// Links the defmt global logger that writes frames to semihosting stdout.
use defmt_semihosting as _;

/// Ends the QEMU run: semihosting exit, QEMU status 0 (`true`) or 1 (`false`).
pub fn exit(success: bool) -> ! {
    debug::exit(if success { EXIT_SUCCESS } else { EXIT_FAILURE });
    // Only reached when not running under a semihosting host.
    loop {
        cortex_m::asm::wfi();
    }
}

/// Ends an example's run with its outcome: `Ok(true)` → "all checks passed", status 0;
/// `Ok(false)` (a comparison with Keras failed) or `Err` (logged) → status 1.
pub fn finish<E: defmt::Format>(result: Result<bool, E>) -> ! {
    match result {
        Ok(true) => {
            defmt::info!("all checks passed");
            exit(true)
        }
        Ok(false) => {
            defmt::error!("a check failed");
            exit(false)
        }
        Err(e) => {
            defmt::error!("ember error: {}", e);
            exit(false)
        }
    }
}

/// `|got − want| ≤ rtol·|want| + atol` elementwise (and equal lengths); logs the first
/// failure.
pub fn close(what: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) -> bool {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = g - w;
        let d = if d < 0.0 { -d } else { d };
        let tol = rtol * if w < 0.0 { -w } else { w } + atol;
        if d > tol || d.is_nan() {
            defmt::error!("{=str}[{=usize}]: got {=f32}, Keras {=f32}", what, i, g, w);
            return false;
        }
    }
    got.len() == want.len()
}

/// Index of the largest value (first on ties; 0 for an empty row).
pub fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
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
