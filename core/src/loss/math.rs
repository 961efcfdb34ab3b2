//! Elementwise helpers shared by the losses: the value of a primitive Keras uses, and the
//! derivative JAX assigns to it — including at ties and kinks, so that gradients match
//! `jax.grad` of the Keras loss exactly.

use crate::Scalar;

use super::EPSILON;

/// Keras's `backend.epsilon()` in `T`. For a type in which `1e-7` rounds to zero (Q16.16)
/// it is the smallest positive value of the form `1e-7 · 2ᵏ` that `T` represents, so the
/// clips still keep logarithms finite.
pub(crate) fn epsilon<T: Scalar>() -> T {
    let mut e = EPSILON;
    let mut v = T::from_f32(e);
    while v <= T::ZERO && e < 1.0 {
        e *= 2.0;
        v = T::from_f32(e);
    }
    v
}

/// `|x|`.
#[inline]
pub(crate) fn abs<T: Scalar>(x: T) -> T {
    if x < T::ZERO {
        -x
    } else {
        x
    }
}

/// JAX's derivative of `|x|`: `−1` for `x < 0`, `+1` otherwise (also at 0).
#[inline]
pub(crate) fn abs_grad<T: Scalar>(x: T) -> T {
    if x < T::ZERO {
        -T::ONE
    } else {
        T::ONE
    }
}

/// The weight JAX's gradient gives operand `x` of `maximum(x, other)` (or of
/// `minimum(x, other)` with `above = false`): 1 when `x` is chosen, 0 when `other` is,
/// ½ at a tie.
#[inline]
pub(crate) fn select_grad<T: Scalar>(x: T, other: T, above: bool) -> T {
    if x == other {
        T::ONE.div(T::from_usize(2))
    } else if (x > other) == above {
        T::ONE
    } else {
        T::ZERO
    }
}

/// `clip(x, lo, hi)` (`minimum(hi, maximum(lo, x))`, as `jnp.clip`) and its derivative:
/// 1 inside, 0 outside, ½ exactly at a bound.
#[inline]
pub(crate) fn clip<T: Scalar>(x: T, lo: T, hi: T) -> (T, T) {
    let m = x.max(lo);
    let d_lo = select_grad(x, lo, true);
    let c = m.min(hi);
    (c, d_lo * select_grad(m, hi, false))
}

/// `ln(1 + x)`, accurate for small `x` (libm's `log1pf`).
#[inline]
pub(crate) fn log1p<T: Scalar>(x: T) -> T {
    T::from_f32(libm::log1pf(x.to_f32()))
}

/// `softplus(x) = ln(1 + eˣ)`, computed as JAX's `logaddexp(x, 0)`:
/// `max(x, 0) + log1p(exp(−|x|))`. Its derivative is `sigmoid(x)`.
#[inline]
pub(crate) fn softplus<T: Scalar>(x: T) -> T {
    x.max(T::ZERO) + log1p((-abs(x)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Q16_16;

    #[test]
    fn epsilon_is_keras_for_f32_and_positive_for_fixed_point() {
        assert_eq!(epsilon::<f32>(), 1e-7);
        let q = epsilon::<Q16_16>();
        assert!(q > Q16_16::ZERO && q.to_f32() < 2e-5);
    }

    #[test]
    fn clip_derivative_is_half_at_the_bounds() {
        assert_eq!(clip(0.5f32, 0.0, 1.0), (0.5, 1.0));
        assert_eq!(clip(-1.0f32, 0.0, 1.0), (0.0, 0.0));
        assert_eq!(clip(2.0f32, 0.0, 1.0), (1.0, 0.0));
        assert_eq!(clip(0.0f32, 0.0, 1.0), (0.0, 0.5));
        assert_eq!(clip(1.0f32, 0.0, 1.0), (1.0, 0.5));
    }

    #[test]
    fn softplus_is_stable() {
        assert!((softplus(0.0f32) - core::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(softplus(100.0f32), 100.0);
        assert!(softplus(-100.0f32) > 0.0 && softplus(-100.0f32) < 1e-40);
        assert_eq!(abs_grad(0.0f32), 1.0);
        assert_eq!(abs_grad(-0.5f32), -1.0);
    }
}
