//! [`Q16_16`]: signed 32-bit fixed point with 16 fractional bits.

use core::ops::{Add, Mul, Neg, Sub};

use super::{DType, Scalar};

/// Signed Q16.16 fixed point: `value = raw / 65536`.
///
/// Why this format: it covers ±32768 with a resolution of 2⁻¹⁶ ≈ 1.5·10⁻⁵, enough range
/// for logits, sums of squares and pre-activations of small networks and enough precision
/// for weights and SGD updates, in one 32-bit word an M0 multiplies natively (the 64-bit
/// product needs a few `MULS` on v6-M and one `SMULL` on v7-M).
///
/// Arithmetic is **saturating** (results clamp to [`Q16_16::MIN`], [`Q16_16::MAX`]) and
/// **correctly rounded**: products and quotients round to nearest, ties to even. Dot
/// products accumulate exact Q32.32 products in an `i64` and round once
/// ([`Scalar::narrow`]); the accumulator cannot overflow before its sum exceeds 2³¹ in
/// magnitude (2¹⁶ times the representable range).
///
/// `exp`, `ln`, `sqrt`, `tanh` and `sigmoid` go through `f32` (libm, soft-float on an
/// FPU-less core): exact to 1 LSB for |x| < 256, slower than the MACs but off the inner
/// loops.
///
/// Known limit: Adam's second-moment estimate `v ≈ g²` underflows to 0 for |g| < 2⁻⁸, so
/// Adam in `Q16_16` degrades to sign-SGD-like steps; use SGD for fixed-point training.
///
/// ```
/// use ember_nn::{Q16_16, Scalar};
/// let a = Q16_16::from_f32(1.5);
/// let b = Q16_16::from_f32(-2.25);
/// assert_eq!((a * b).to_f32(), -3.375);
/// assert_eq!(Q16_16::MAX + Q16_16::ONE, Q16_16::MAX); // saturates
/// ```
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, bytemuck::Pod, bytemuck::Zeroable,
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Q16_16(pub i32);

const FRAC: u32 = 16;

impl Q16_16 {
    /// Largest value, 32767.99998…
    pub const MAX: Self = Q16_16(i32::MAX);
    /// Smallest value, −32768.
    pub const MIN: Self = Q16_16(i32::MIN);
    /// The smallest positive value, 2⁻¹⁶.
    pub const EPSILON: Self = Q16_16(1);

    /// The raw `i32`.
    pub const fn to_bits(self) -> i32 {
        self.0
    }

    /// From the raw `i32`.
    pub const fn from_bits(bits: i32) -> Self {
        Q16_16(bits)
    }
}

/// Saturates an `i64` to `i32`.
#[inline(always)]
fn sat(x: i64) -> i32 {
    if x > i32::MAX as i64 {
        i32::MAX
    } else if x < i32::MIN as i64 {
        i32::MIN
    } else {
        x as i32
    }
}

/// `x / 2^shift` rounded to nearest, ties to even (arithmetic on `i64`, `shift` in 1..=62).
#[inline(always)]
fn round_shift(x: i64, shift: u32) -> i64 {
    let floor = x >> shift;
    let rem = x - (floor << shift);
    let half = 1i64 << (shift - 1);
    if rem > half || (rem == half && (floor & 1) == 1) {
        floor + 1
    } else {
        floor
    }
}

impl Add for Q16_16 {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Q16_16(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Q16_16 {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Q16_16(self.0.saturating_sub(rhs.0))
    }
}

impl Mul for Q16_16 {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Q16_16(sat(round_shift(self.0 as i64 * rhs.0 as i64, FRAC)))
    }
}

impl Neg for Q16_16 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Q16_16(self.0.saturating_neg())
    }
}

impl core::fmt::Debug for Q16_16 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}q", self.to_f32())
    }
}

impl Scalar for Q16_16 {
    const DTYPE: DType = DType::Q16_16;
    const ZERO: Self = Q16_16(0);
    const ONE: Self = Q16_16(1 << FRAC);
    /// Exact Q32.32 sum of products.
    type Acc = i64;

    #[inline(always)]
    fn widen(self) -> i64 {
        (self.0 as i64) << FRAC
    }
    #[inline(always)]
    fn mac(acc: i64, a: Self, b: Self) -> i64 {
        acc.wrapping_add(a.0 as i64 * b.0 as i64)
    }
    #[inline(always)]
    fn narrow(acc: i64) -> Self {
        Q16_16(sat(round_shift(acc, FRAC)))
    }
    fn from_f32(x: f32) -> Self {
        if x.is_nan() {
            return Q16_16(0);
        }
        // `as` saturates; round half to even like the other operations.
        let scaled = x * (1u32 << FRAC) as f32;
        Q16_16(libm::rintf(scaled) as i32)
    }
    #[inline]
    fn to_f32(self) -> f32 {
        self.0 as f32 / (1u32 << FRAC) as f32
    }
    fn div(self, rhs: Self) -> Self {
        if rhs.0 == 0 {
            return match self.0 {
                0 => Q16_16(0),
                n if n > 0 => Self::MAX,
                _ => Self::MIN,
            };
        }
        // (a << 16) / b with round-to-nearest, ties to even.
        let num = (self.0 as i64) << FRAC;
        let den = rhs.0 as i64;
        let q = num / den;
        let r = num % den;
        let twice = 2 * r.abs();
        let adj = if twice > den.abs() || (twice == den.abs() && (q & 1) != 0) {
            if (num < 0) != (den < 0) {
                -1
            } else {
                1
            }
        } else {
            0
        };
        Q16_16(sat(q + adj))
    }
    fn exp(self) -> Self {
        Self::from_f32(libm::expf(self.to_f32()))
    }
    fn ln(self) -> Self {
        if self.0 <= 0 {
            return Self::MIN;
        }
        Self::from_f32(libm::logf(self.to_f32()))
    }
    fn sqrt(self) -> Self {
        if self.0 <= 0 {
            return Self::ZERO;
        }
        // Exact integer square root of raw << 16, rounded to nearest.
        let n = (self.0 as u64) << FRAC;
        let mut x = libm::sqrt(n as f64) as u64;
        while x * x > n {
            x -= 1;
        }
        while (x + 1) * (x + 1) <= n {
            x += 1;
        }
        // Round: compare n with (x + 0.5)^2 = x^2 + x + 0.25.
        if n - x * x > x {
            x += 1;
        }
        Q16_16(x as i32)
    }
    fn tanh(self) -> Self {
        Self::from_f32(libm::tanhf(self.to_f32()))
    }
    fn sigmoid(self) -> Self {
        Self::from_f32(f32::sigmoid(self.to_f32()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(x: f32) -> Q16_16 {
        Q16_16::from_f32(x)
    }

    #[test]
    fn multiply_rounds_to_nearest_even() {
        // 2^-16 * 0.5 = 2^-17: exactly half an LSB, ties to even -> 0.
        assert_eq!(Q16_16(1) * q(0.5), Q16_16(0));
        // 3 * 2^-16 * 0.5 = 1.5 LSB -> 2 (even).
        assert_eq!(Q16_16(3) * q(0.5), Q16_16(2));
        assert_eq!(Q16_16(-3) * q(0.5), Q16_16(-2));
        assert_eq!(Q16_16(5) * q(0.5), Q16_16(2));
        assert_eq!((q(3.0) * q(-2.5)).to_f32(), -7.5);
    }

    #[test]
    fn saturates() {
        assert_eq!(q(30000.0) * q(2.0), Q16_16::MAX);
        assert_eq!(q(-30000.0) * q(2.0), Q16_16::MIN);
        assert_eq!(Q16_16::MIN - Q16_16::ONE, Q16_16::MIN);
        assert_eq!(-Q16_16::MIN, Q16_16::MAX);
        assert_eq!(q(1e9), Q16_16::MAX);
        assert_eq!(q(f32::NAN), Q16_16::ZERO);
        assert_eq!(q(1.0).div(Q16_16::ZERO), Q16_16::MAX);
        assert_eq!(q(-1.0).div(Q16_16::ZERO), Q16_16::MIN);
    }

    #[test]
    fn division_rounds_to_nearest() {
        assert_eq!(q(1.0).div(q(3.0)), Q16_16(21845)); // 21845.33
        assert_eq!(q(2.0).div(q(3.0)), Q16_16(43691)); // 43690.67
        assert_eq!(q(-2.0).div(q(3.0)), Q16_16(-43691));
        assert_eq!(q(7.5).div(q(-2.5)).to_f32(), -3.0);
    }

    #[test]
    fn accumulates_exactly_then_rounds_once() {
        // 100 products of half an LSB each: per-product rounding would give 0.
        let mut acc = Q16_16::ZERO.widen();
        for _ in 0..100 {
            acc = Q16_16::mac(acc, Q16_16(1), q(0.5));
        }
        assert_eq!(Q16_16::narrow(acc), Q16_16(50));
    }

    #[test]
    fn transcendental_within_one_lsb() {
        for i in -400..400 {
            let x = i as f32 / 50.0;
            let lsb = 1.0 / 65536.0;
            assert!(
                (q(x).exp().to_f32() - libm::expf(q(x).to_f32())).abs()
                    <= lsb.max(1e-7 * libm::expf(x))
            );
            assert!((q(x).tanh().to_f32() - libm::tanhf(q(x).to_f32())).abs() <= lsb);
            assert!((q(x).sigmoid().to_f32() - f32::sigmoid(q(x).to_f32())).abs() <= lsb);
            if x > 0.0 {
                let s = q(x).sqrt().to_f32();
                assert!((s - libm::sqrtf(q(x).to_f32())).abs() <= lsb, "sqrt {x}");
            }
        }
    }
}
