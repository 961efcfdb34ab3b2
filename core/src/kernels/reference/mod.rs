//! Reference kernels: plain, documented loops over slices. Every faster kernel must agree
//! with these on the shared test suite.

pub mod dense;
pub mod depthwise;
pub mod separable;
