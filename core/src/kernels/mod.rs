//! Compute kernels. `reference` holds the plain loops that are the correctness oracle;
//! optimized twins live beside it (`optimized`) and are tested against it.

pub mod geometry;
pub mod optimized;
pub mod reference;
