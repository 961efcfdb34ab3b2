//! [`Scalar`] for `f32`, with libm's correctly rounded-or-close transcendental functions
//! (micromath's approximations are too coarse to match Keras to 1e-5).

use super::{DType, Scalar};

impl Scalar for f32 {
    const DTYPE: DType = DType::F32;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    type Acc = f32;

    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn mac(acc: f32, a: f32, b: f32) -> f32 {
        acc + a * b
    }
    #[inline(always)]
    fn narrow(acc: f32) -> f32 {
        acc
    }
    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn div(self, rhs: f32) -> f32 {
        self / rhs
    }
    #[inline]
    fn exp(self) -> f32 {
        libm::expf(self)
    }
    #[inline]
    fn ln(self) -> f32 {
        libm::logf(self)
    }
    #[inline]
    fn sqrt(self) -> f32 {
        libm::sqrtf(self)
    }
    #[inline]
    fn tanh(self) -> f32 {
        libm::tanhf(self)
    }
    #[inline]
    fn sigmoid(self) -> f32 {
        // Same branch structure as a numerically stable expit: never exp of a large
        // positive number.
        if self >= 0.0 {
            1.0 / (1.0 + libm::expf(-self))
        } else {
            let e = libm::expf(self);
            e / (1.0 + e)
        }
    }
}
