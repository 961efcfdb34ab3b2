//! The numeric abstraction: every layer, loss and optimizer is written once over
//! [`Scalar`] and runs on `f32` (MCUs with an FPU) and on [`Q16_16`] fixed point (MCUs
//! without one).
//!
//! # Accumulators
//! Dot products go through an accumulator type ([`Scalar::Acc`]): `f32` for `f32`, and an
//! `i64` holding the exact Q32.32 sum of products for `Q16_16`, so a fixed-point dot
//! product is rounded once, at the end, not once per multiply.
//!
//! # Room for int8
//! A later issue adds int8 affine-quantized tensors (TFLite's scheme: `real = scale ·
//! (q − zero_point)`, per tensor or per channel). They are a storage type ([`DType`]
//! gains a variant carrying scale and zero point) computed with `i32` accumulators; the
//! kernels keep this module's shape: widen, multiply-accumulate, narrow once.

mod fixed;
mod float;

pub use fixed::Q16_16;

use core::fmt::Debug;
use core::ops::{Add, Mul, Neg, Sub};

use serde::{Deserialize, Serialize};

/// The storage type of a tensor in a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DType {
    /// IEEE-754 binary32, little-endian.
    F32,
    /// Signed Q16.16 fixed point in an `i32`, little-endian ([`Q16_16`]).
    Q16_16,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::Q16_16 => 4,
        }
    }
}

/// A number type the network computes in.
///
/// Implemented by `f32` and [`Q16_16`]. All arithmetic is total: fixed-point operations
/// saturate instead of overflowing, division by zero saturates, and nothing panics.
pub trait Scalar:
    Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + bytemuck::Pod
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + Send
    + Sync
    + 'static
{
    /// How this type is stored in a blob.
    const DTYPE: DType;
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;

    /// Wide accumulator for dot products.
    type Acc: Copy;

    /// Widens a value into an accumulator (e.g. to start a dot product from a bias).
    fn widen(self) -> Self::Acc;
    /// `acc + a · b`, exact for fixed point.
    fn mac(acc: Self::Acc, a: Self, b: Self) -> Self::Acc;
    /// Rounds an accumulator back (to nearest, saturating).
    fn narrow(acc: Self::Acc) -> Self;

    /// Nearest value to an `f32` (saturating; NaN becomes zero for fixed point).
    fn from_f32(x: f32) -> Self;
    /// The value as `f32`.
    fn to_f32(self) -> f32;

    /// `self / rhs`, correctly rounded; division by zero saturates (fixed) or gives ±inf
    /// (float).
    fn div(self, rhs: Self) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm (`ln 0` is the most negative value for fixed point).
    fn ln(self) -> Self;
    /// Square root (0 for negative fixed-point input).
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Logistic sigmoid `1 / (1 + e^-x)`.
    fn sigmoid(self) -> Self;

    /// The larger of two values.
    #[inline]
    fn max(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }

    /// The smaller of two values.
    #[inline]
    fn min(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }

    /// The value of a count, e.g. a batch size used to average.
    #[inline]
    fn from_usize(n: usize) -> Self {
        Self::from_f32(n as f32)
    }
}
