//! Instruction counting with SysTick, for firmware running under QEMU.
//!
//! # Why SysTick, and why this counts *instructions*
//!
//! QEMU does not model cycle timing: the DWT cycle counter (`CYCCNT`) reads 0.
//! But when QEMU is started with `-icount shift=0` (our runner does this, see
//! `../qemu-run.sh`) every executed guest instruction advances the virtual
//! clock by exactly 2^0 = 1 ns, and the SysTick timer of the mps2 boards is
//! clocked at 25 MHz from that virtual clock, i.e. it ticks once every 40 ns:
//!
//! ```text
//! INSTRUCTIONS_PER_TICK = (1e9 ns/s / 25e6 ticks/s) / (1 ns / instruction) = 40
//! ```
//!
//! So SysTick ticks × 40 = instructions executed, deterministically (the same
//! binary gives the same count on every run and every host).
//!
//! # Limits
//!
//! * **Only valid under QEMU with `-icount shift=0`.** On real hardware SysTick
//!   counts core clock cycles instead, and on QEMU without `-icount` it follows
//!   host wall-clock time; the numbers returned here are then meaningless.
//! * Instructions are not cycles: on a real Cortex-M4 loads, FPU ops,
//!   divisions, taken branches and flash wait states cost extra cycles. Treat
//!   the count as a machine-independent work metric, not a latency.
//! * Resolution is one tick = 40 instructions: each result is accurate to about
//!   ±40 instructions. Measure work that is much longer than that (or repeat it
//!   in a loop and divide).
//! * The fixed cost of taking the two timestamps is measured once in [`init`]
//!   (averaged over many empty measurements) and subtracted.
//! * SysTick interrupts fire every 2^24 ticks (≈ 671 M instructions) to extend
//!   the 24-bit counter; the few instructions of that handler are included in
//!   long measurements.
//! * The compiler may move pure computations across the timestamps. Pass the
//!   measured function's inputs through [`core::hint::black_box`]; its result
//!   is passed through `black_box` here before the end timestamp is taken.

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

/// SysTick reload value: the full 24-bit range. The counter period is
/// `RELOAD + 1` ticks.
pub const RELOAD: u32 = 0x00FF_FFFF;
const PERIOD: u64 = RELOAD as u64 + 1;

/// SysTick input clock on QEMU's mps2 boards (`-cpu` core clock = 25 MHz).
pub const SYSTICK_HZ: u64 = 25_000_000;

/// Virtual nanoseconds per instruction with `-icount shift=N` is 2^N; we use N = 0.
pub const ICOUNT_SHIFT: u32 = 0;

/// Instructions executed per SysTick tick under `-icount shift=0`: 40.
pub const INSTRUCTIONS_PER_TICK: u64 = (1_000_000_000 / SYSTICK_HZ) >> ICOUNT_SHIFT;

/// Number of SysTick wraps (1 -> 0 transitions) seen by the exception handler.
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Measured cost, in instructions, of an empty [`count_instructions`] call.
/// (Cortex-M has no 64-bit atomics; the overhead is a few dozen anyway.)
static OVERHEAD_INSTRUCTIONS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick as a free-running counter and calibrates the measurement
/// overhead. Call once, early, before [`count_instructions`].
///
/// Takes the `SYST` peripheral by value so nobody else can reconfigure it.
pub fn init(mut syst: SYST) {
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();

    // Calibrate: average the (quantised) tick count of many empty
    // measurements. The phase of the 40-instruction tick grid drifts between
    // repetitions, so the average resolves the overhead to below one tick.
    const REPS: u64 = 256;
    let mut ticks = 0;
    for _ in 0..REPS {
        ticks += measure_ticks(|| ()).1;
    }
    let overhead = (ticks * INSTRUCTIONS_PER_TICK + REPS / 2) / REPS;
    let overhead = u32::try_from(overhead).unwrap_or(u32::MAX);
    OVERHEAD_INSTRUCTIONS.store(overhead, Ordering::Relaxed);
}

/// The overhead (instructions) subtracted from every measurement.
pub fn overhead_instructions() -> u64 {
    u64::from(OVERHEAD_INSTRUCTIONS.load(Ordering::Relaxed))
}

/// Runs `f` and returns its result together with the number of instructions
/// it executed (SysTick ticks × [`INSTRUCTIONS_PER_TICK`], minus the
/// calibrated overhead of an empty closure; see the module docs for limits).
///
/// [`init`] must have been called first.
pub fn count_instructions<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let (r, ticks) = measure_ticks(f);
    let instructions = (ticks * INSTRUCTIONS_PER_TICK).saturating_sub(overhead_instructions());
    (r, instructions)
}

/// Runs `f` between two timestamps; returns its result and the elapsed ticks.
#[inline(always)]
fn measure_ticks<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let start = now_ticks();
    // black_box: the result must be fully computed before the end timestamp.
    let r = black_box(f());
    let end = now_ticks();
    (r, end.wrapping_sub(start))
}

/// Ticks since [`init`], as a 64-bit monotonic value.
///
/// Not inlined, so its cost is the same everywhere (the calibrated overhead
/// then matches every call site).
#[inline(never)]
fn now_ticks() -> u64 {
    cortex_m::interrupt::free(|_| {
        // With interrupts masked WRAPS cannot change under us. If the counter
        // wrapped (1 -> 0) but the SysTick handler has not run yet, the
        // exception is pending: count that wrap ourselves and re-read the
        // counter, which is then guaranteed to be post-wrap.
        let mut wraps = u64::from(WRAPS.load(Ordering::Relaxed));
        let mut current = SYST::get_current();
        if SCB::is_pendst_pending() {
            wraps += 1;
            current = SYST::get_current();
        }
        // The counter goes ..., 2, 1, 0 (wrap counted here), RELOAD, ..., so
        // the ticks elapsed in the current period are (PERIOD - current) mod PERIOD.
        wraps * PERIOD + (PERIOD - u64::from(current)) % PERIOD
    })
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}
