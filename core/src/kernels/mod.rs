//! Compute kernels. `reference` holds the plain loops that are the correctness oracle;
//! optimized twins (e.g. Cortex-M DSP) live beside it and are tested against it.

pub mod reference;
