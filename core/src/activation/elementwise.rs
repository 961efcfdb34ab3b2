//! The elementwise activations' values and derivatives, one pair of functions each.
//!
//! Formulas are JAX's (`jax.nn`), which Keras 3's JAX backend calls; derivatives are
//! what `jax.grad` gives, including its choice at kinks. Functions that need `expm1`,
//! `log1p` or `erfc` compute them through `f32` (libm), as [`crate::Q16_16`] does for its
//! own transcendental functions; for `f32` the conversions are the identity.

use crate::Scalar;

/// SELU's `alpha` (Keras / JAX: `1.6732632423543772848170429916717`).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's `scale` (Keras / JAX: `1.0507009873554804934193349852946`).
pub const SELU_SCALE: f32 = 1.050_701;

/// `|v|` (saturating for fixed point).
#[inline]
pub fn abs<T: Scalar>(v: T) -> T {
    if v < T::ZERO {
        -v
    } else {
        v
    }
}

/// Applies an `f32` function to a scalar.
#[inline]
fn via_f32<T: Scalar>(v: T, f: impl Fn(f32) -> f32) -> T {
    T::from_f32(f(v.to_f32()))
}

/// `hard_sigmoid(x) = relu6(x + 3) / 6`.
pub fn hard_sigmoid<T: Scalar>(x: T) -> T {
    let six = T::from_f32(6.0);
    (x + T::from_f32(3.0)).max(T::ZERO).min(six).div(six)
}

/// `hard_sigmoid'`: `1/6` where `0 < y < 1` (JAX's relu6 takes 0 at both kinks), else 0.
pub fn hard_sigmoid_grad<T: Scalar>(y: T, d: T) -> T {
    if y > T::ZERO && y < T::ONE {
        d.div(T::from_f32(6.0))
    } else {
        T::ZERO
    }
}

/// Keras 2's `hard_sigmoid`: `clip(0.2·x + 0.5, 0, 1)`.
pub fn hard_sigmoid_keras2<T: Scalar>(x: T) -> T {
    (x * T::from_f32(0.2) + T::from_f32(0.5))
        .max(T::ZERO)
        .min(T::ONE)
}

/// Keras 2's `hard_sigmoid'`: `0.2` where `0 < y < 1`, else 0.
pub fn hard_sigmoid_keras2_grad<T: Scalar>(y: T, d: T) -> T {
    if y > T::ZERO && y < T::ONE {
        d * T::from_f32(0.2)
    } else {
        T::ZERO
    }
}

/// `softplus(x) = log(1 + e^x)`, as JAX's `logaddexp(x, 0) = max(x, 0) + log1p(e^-|x|)`.
pub fn softplus<T: Scalar>(x: T) -> T {
    x.max(T::ZERO) + via_f32(abs(x), |a| libm::log1pf(libm::expf(-a)))
}

/// `softplus'(x) = sigmoid(x) = 1 − e^-y`, written with `expm1` to stay accurate for
/// small `y`.
pub fn softplus_grad<T: Scalar>(y: T, d: T) -> T {
    d * via_f32(y, |y| -libm::expm1f(-y))
}

/// `softsign(x) = x / (|x| + 1)`.
pub fn softsign<T: Scalar>(x: T) -> T {
    x.div(abs(x) + T::ONE)
}

/// `softsign'(x) = 1 / (1 + |x|)² = (1 − |y|)²`.
pub fn softsign_grad<T: Scalar>(y: T, d: T) -> T {
    let r = T::ONE - abs(y);
    d * (r * r)
}

/// `elu(x) = x` if `x > 0`, else `alpha · (e^x − 1)` (JAX: `alpha * expm1(x)`).
pub fn elu<T: Scalar>(x: T, alpha: T) -> T {
    if x > T::ZERO {
        x
    } else {
        alpha * via_f32(x, libm::expm1f)
    }
}

/// `elu'` from the input: 1 if `x > 0`, else `alpha · e^x` (so `alpha` at 0, as JAX).
pub fn elu_grad_x<T: Scalar>(x: T, alpha: T, d: T) -> T {
    if x > T::ZERO {
        d
    } else {
        d * (alpha * x.exp())
    }
}

/// `elu'` from the output: 1 if `y > 0`, else `y + alpha`.
pub fn elu_grad_y<T: Scalar>(y: T, alpha: T, d: T) -> T {
    if y > T::ZERO {
        d
    } else {
        d * (y + alpha)
    }
}

/// `selu(x) = scale · elu(x, alpha)` with Keras's constants.
pub fn selu<T: Scalar>(x: T) -> T {
    T::from_f32(SELU_SCALE) * elu(x, T::from_f32(SELU_ALPHA))
}

/// `selu'` from the output: `scale` if `y > 0`, else `y + scale · alpha`.
pub fn selu_grad<T: Scalar>(y: T, d: T) -> T {
    if y > T::ZERO {
        d * T::from_f32(SELU_SCALE)
    } else {
        d * (y + T::from_f32(SELU_SCALE * SELU_ALPHA))
    }
}

/// `silu(x) = swish(x) = x · sigmoid(x)`.
pub fn silu<T: Scalar>(x: T) -> T {
    x * x.sigmoid()
}

/// `silu'(x) = s + x · s · (1 − s)` with `s = sigmoid(x)`.
pub fn silu_grad<T: Scalar>(x: T, d: T) -> T {
    let s = x.sigmoid();
    d * (s + x * (s * (T::ONE - s)))
}

/// `1 / √2`.
const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;
/// `1 / √(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Exact `gelu(x) = x/2 · erfc(−x/√2)` (Keras's `gelu`, `approximate=False`).
pub fn gelu<T: Scalar>(x: T) -> T {
    via_f32(x, |x| 0.5 * x * libm::erfcf(-x * SQRT_HALF))
}

/// `gelu'(x) = Φ(x) + x · φ(x)`: `erfc(−x/√2)/2 + x · e^(−x²/2) / √(2π)`.
pub fn gelu_grad<T: Scalar>(x: T, d: T) -> T {
    d * via_f32(x, |x| {
        0.5 * libm::erfcf(-x * SQRT_HALF) + x * libm::expf(-0.5 * x * x) * INV_SQRT_2PI
    })
}

/// `relu6(x) = min(max(x, 0), 6)`.
pub fn relu6<T: Scalar>(x: T) -> T {
    x.max(T::ZERO).min(T::from_f32(6.0))
}

/// `relu6'`: 1 where `0 < y < 6` (JAX takes 0 at both kinks).
pub fn relu6_grad<T: Scalar>(y: T, d: T) -> T {
    if y > T::ZERO && y < T::from_f32(6.0) {
        d
    } else {
        T::ZERO
    }
}

/// Keras's `leaky_relu` function default slope (the *layer* defaults to 0.3).
pub const LEAKY_RELU_SLOPE: f32 = 0.2;

/// `leaky_relu(x) = x` if `x ≥ 0`, else `0.2 · x`.
pub fn leaky_relu<T: Scalar>(x: T) -> T {
    if x >= T::ZERO {
        x
    } else {
        T::from_f32(LEAKY_RELU_SLOPE) * x
    }
}

/// `leaky_relu'`: 1 where `y ≥ 0` (so 1 at 0, as JAX), else 0.2.
pub fn leaky_relu_grad<T: Scalar>(y: T, d: T) -> T {
    if y >= T::ZERO {
        d
    } else {
        T::from_f32(LEAKY_RELU_SLOPE) * d
    }
}

/// `hard_silu(x) = x · hard_sigmoid(x)`.
pub fn hard_silu<T: Scalar>(x: T) -> T {
    x * hard_sigmoid(x)
}

/// `hard_silu'(x) = hard_sigmoid(x) + x/6` inside `(−3, 3)`, `hard_sigmoid(x)` outside.
pub fn hard_silu_grad<T: Scalar>(x: T, d: T) -> T {
    let h = hard_sigmoid(x);
    let inner = hard_sigmoid_grad(h, d);
    d * h + x * inner
}

/// `hard_tanh(x) = clip(x, −1, 1)`, JAX: `where(x > 1, 1, where(x < −1, −1, x))`.
pub fn hard_tanh<T: Scalar>(x: T) -> T {
    x.max(-T::ONE).min(T::ONE)
}

/// `hard_tanh'`: 1 where `−1 ≤ x ≤ 1` (the `where` keeps the bounds), else 0.
pub fn hard_tanh_grad<T: Scalar>(x: T, d: T) -> T {
    if x >= -T::ONE && x <= T::ONE {
        d
    } else {
        T::ZERO
    }
}

/// `tanh_shrink(x) = x − tanh(x)`.
pub fn tanh_shrink<T: Scalar>(x: T) -> T {
    x - x.tanh()
}

/// `tanh_shrink'(x) = 1 − (1 + t)(1 − t)` with `t = tanh(x)` (JAX's tanh derivative).
pub fn tanh_shrink_grad<T: Scalar>(x: T, d: T) -> T {
    let t = x.tanh();
    d - d * ((T::ONE + t) * (T::ONE - t))
}

/// `mish(x) = x · tanh(softplus(x))`.
pub fn mish<T: Scalar>(x: T) -> T {
    x * softplus(x).tanh()
}

/// `mish'(x) = tanh(sp) + x · (1 − tanh²(sp)) · sigmoid(x)`, `sp = softplus(x)`.
pub fn mish_grad<T: Scalar>(x: T, d: T) -> T {
    let t = softplus(x).tanh();
    d * (t + x * ((T::ONE - t * t) * x.sigmoid()))
}

/// `celu(x) = max(x, 0) + alpha · expm1(min(x, 0) / alpha)`; Keras's string default
/// `alpha = 1` makes it equal to [`elu`] with `alpha = 1` (values and gradients).
pub fn celu<T: Scalar>(x: T) -> T {
    x.max(T::ZERO) + via_f32(x.min(T::ZERO), libm::expm1f)
}

/// `log_sigmoid(x) = −softplus(−x)`.
pub fn log_sigmoid<T: Scalar>(x: T) -> T {
    -softplus(-x)
}

/// `log_sigmoid'(x) = sigmoid(−x) = −expm1(y)`.
pub fn log_sigmoid_grad<T: Scalar>(y: T, d: T) -> T {
    d * via_f32(y, |y| -libm::expm1f(y))
}

/// Keras's `soft_shrink` / `hard_shrink` default threshold.
pub const SHRINK_THRESHOLD: f32 = 0.5;

/// `soft_shrink(x) = x − 0.5` if `x > 0.5`, `x + 0.5` if `x < −0.5`, else 0.
pub fn soft_shrink<T: Scalar>(x: T) -> T {
    let t = T::from_f32(SHRINK_THRESHOLD);
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        T::ZERO
    }
}

/// `hard_shrink(x) = x` if `|x| > 0.5`, else 0.
pub fn hard_shrink<T: Scalar>(x: T) -> T {
    if abs(x) > T::from_f32(SHRINK_THRESHOLD) {
        x
    } else {
        T::ZERO
    }
}

/// `soft_shrink'` and `hard_shrink'`: 1 where `y ≠ 0` (i.e. `|x| > 0.5`), else 0.
pub fn shrink_grad<T: Scalar>(y: T, d: T) -> T {
    if y != T::ZERO {
        d
    } else {
        T::ZERO
    }
}

/// `sparse_plus(x)`: 0 for `x ≤ −1`, `x` for `x ≥ 1`, else `(x + 1)² / 4`.
pub fn sparse_plus<T: Scalar>(x: T) -> T {
    if x <= -T::ONE {
        T::ZERO
    } else if x >= T::ONE {
        x
    } else {
        let u = x + T::ONE;
        (u * u).div(T::from_f32(4.0))
    }
}

/// `sparse_plus'(x)`: 0 for `x ≤ −1`, 1 for `x ≥ 1`, else `(x + 1) / 2`.
pub fn sparse_plus_grad<T: Scalar>(x: T, d: T) -> T {
    if x <= -T::ONE {
        T::ZERO
    } else if x >= T::ONE {
        d
    } else {
        d * (x + T::ONE).div(T::from_f32(2.0))
    }
}

/// `sparse_sigmoid(x) = 0.5 · clip(x + 1, 0, 2)`.
pub fn sparse_sigmoid<T: Scalar>(x: T) -> T {
    T::from_f32(0.5) * (x + T::ONE).max(T::ZERO).min(T::from_f32(2.0))
}

/// `sparse_sigmoid'`: 1/2 inside `(−1, 1)`, 1/4 exactly at ±1 (`jnp.clip` passes half
/// the gradient at a tie), 0 outside.
pub fn sparse_sigmoid_grad<T: Scalar>(x: T, d: T) -> T {
    let u = x + T::ONE;
    let two = T::from_f32(2.0);
    let half = T::from_f32(0.5);
    let g = if u > T::ZERO && u < two {
        d
    } else if u == T::ZERO || u == two {
        half * d
    } else {
        T::ZERO
    };
    half * g
}

/// Keras's `squareplus` default `b`.
pub const SQUAREPLUS_B: f32 = 4.0;

/// `squareplus(x) = (x + √(x² + 4)) / 2`.
pub fn squareplus<T: Scalar>(x: T) -> T {
    (x + (x * x + T::from_f32(SQUAREPLUS_B)).sqrt()).div(T::from_f32(2.0))
}

/// `squareplus'(x) = (1 + x / √(x² + 4)) / 2`.
pub fn squareplus_grad<T: Scalar>(x: T, d: T) -> T {
    let r = (x * x + T::from_f32(SQUAREPLUS_B)).sqrt();
    (d + (d * x).div(r)).div(T::from_f32(2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_at_known_points() {
        assert_eq!(hard_sigmoid(0.0f32), 0.5);
        assert_eq!(hard_sigmoid(-3.0f32), 0.0);
        assert_eq!(hard_sigmoid(4.0f32), 1.0);
        assert!((softplus(0.0f32) - core::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(softsign(1.0f32), 0.5);
        assert!((elu(-1.0f32, 1.0) - (libm::expf(-1.0) - 1.0)).abs() < 1e-7);
        assert!((gelu(1.0f32) - 0.841_344_7).abs() < 1e-6);
        assert!((silu(1.0f32) - 0.731_058_6).abs() < 1e-6);
    }
}
