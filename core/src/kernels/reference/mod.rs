//! Reference kernels: plain, documented loops over slices. Every faster kernel must agree
//! with these on the shared test suite.

pub mod conv;
pub mod conv_transpose;
pub mod dense;
pub mod depthwise;
pub mod pooling;
pub mod separable;
