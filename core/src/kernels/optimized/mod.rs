//! Optimized kernels: portable, safe Rust twins of [`super::reference`], restructured so
//! that LLVM keeps several accumulators in registers and reads weights contiguously.
//!
//! Each twin has the reference's signature and computes **the same result bit for bit**,
//! for `f32` too: every output is still accumulated in the reference's order, only
//! several outputs are computed side by side. `tests/tests/kernels_twin.rs` checks this
//! on many shapes for `f32` and [`crate::Q16_16`].

pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod separable;
