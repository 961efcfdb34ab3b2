//! Elementwise math ops and their vector-Jacobian products: `abs`, `square`, `sqrt`,
//! `exp`, `log`, `clip`.
//!
//! Each op maps `x` to `out` elementwise; its `_backward` takes the same `x` and the
//! output gradient `dy` and writes `dx = dy · op'(x)`, with the derivative `jax.grad`
//! uses (Keras 3's JAX backend), including its choices at kinks and poles. All slices
//! must have the same length ([`Error::ShapeMismatch`] otherwise).
//!
//! # Fixed point
//! For [`crate::Q16_16`] the transcendental functions go through `f32` (libm) and are
//! within 1 LSB; results outside ±32768 saturate (`exp(11)` is [`crate::Q16_16::MAX`]),
//! `log` of zero or a negative number is [`crate::Q16_16::MIN`] (f32: `-inf`, NaN),
//! `sqrt` of a negative number is 0 (f32: NaN) and a division by zero in a gradient
//! saturates (f32: ±inf).

use crate::{Error, Result, Scalar};

/// Fails unless `a.len() == b.len()`.
pub(super) fn same_len(a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::ShapeMismatch {
            expected: a,
            found: b,
        });
    }
    Ok(())
}

/// `out = f(x)` elementwise.
fn map<T: Scalar>(x: &[T], out: &mut [T], f: impl Fn(T) -> T) -> Result<()> {
    same_len(x.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
    Ok(())
}

/// `dx = g(x, dy)` elementwise.
fn map_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T], g: impl Fn(T, T) -> T) -> Result<()> {
    same_len(x.len(), dy.len())?;
    same_len(x.len(), dx.len())?;
    for ((d, &v), &g_) in dx.iter_mut().zip(x).zip(dy) {
        *d = g(v, g_);
    }
    Ok(())
}

/// `|x|` (`Q16_16::MIN` saturates to `Q16_16::MAX`).
///
/// Keras: `keras.ops.abs` / `keras.ops.absolute`, `K.abs`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 3];
/// ops::abs(&[-1.5, 0.0, 2.0], &mut y).unwrap();
/// assert_eq!(y, [1.5, 0.0, 2.0]);
/// ```
pub fn abs<T: Scalar>(x: &[T], out: &mut [T]) -> Result<()> {
    map(x, out, |v| if v <= T::ZERO { T::ZERO - v } else { v })
}

/// Gradient of [`abs`]: `dy` where `x ≥ 0` (so **1 at 0**, as JAX's
/// `select(x >= 0, g, -g)`), `−dy` elsewhere (including NaN).
///
/// ```
/// use ember_nn::ops;
/// let mut dx = [0.0f32; 3];
/// ops::abs_backward(&[-1.5, 0.0, 2.0], &[1.0, 1.0, 1.0], &mut dx).unwrap();
/// assert_eq!(dx, [-1.0, 1.0, 1.0]);
/// ```
pub fn abs_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) -> Result<()> {
    map_backward(x, dy, dx, |v, g| if v >= T::ZERO { g } else { -g })
}

/// `x²`.
///
/// Keras: `keras.ops.square`, `K.square`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 2];
/// ops::square(&[-3.0, 0.5], &mut y).unwrap();
/// assert_eq!(y, [9.0, 0.25]);
/// ```
pub fn square<T: Scalar>(x: &[T], out: &mut [T]) -> Result<()> {
    map(x, out, |v| v * v)
}

/// Gradient of [`square`]: `dy · (2x)`.
pub fn square_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) -> Result<()> {
    map_backward(x, dy, dx, |v, g| g * (v + v))
}

/// `√x` (f32: `√0 = 0`, NaN below 0; fixed point: 0 below 0).
///
/// Keras: `keras.ops.sqrt`, `K.sqrt`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 2];
/// ops::sqrt(&[4.0, 0.0], &mut y).unwrap();
/// assert_eq!(y, [2.0, 0.0]);
/// ```
pub fn sqrt<T: Scalar>(x: &[T], out: &mut [T]) -> Result<()> {
    map(x, out, T::sqrt)
}

/// Gradient of [`sqrt`]: `dy · (0.5 / √x)` — `+inf · dy` at 0 in f32 (JAX's rule
/// `g · 0.5 / ans`; `-inf` at `-0.0`), saturated in fixed point.
///
/// ```
/// use ember_nn::ops;
/// let mut dx = [0.0f32; 2];
/// ops::sqrt_backward(&[4.0, 0.0], &[1.0, 1.0], &mut dx).unwrap();
/// assert_eq!(dx, [0.25, f32::INFINITY]);
/// ```
pub fn sqrt_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) -> Result<()> {
    let half = T::from_f32(0.5);
    map_backward(x, dy, dx, |v, g| g * half.div(v.sqrt()))
}

/// `eᵡ` (saturating in fixed point).
///
/// Keras: `keras.ops.exp`, `K.exp`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 2];
/// ops::exp(&[0.0, 1.0], &mut y).unwrap();
/// assert_eq!(y, [1.0, core::f32::consts::E]);
/// ```
pub fn exp<T: Scalar>(x: &[T], out: &mut [T]) -> Result<()> {
    map(x, out, T::exp)
}

/// Gradient of [`exp`]: `dy · eᵡ`.
pub fn exp_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) -> Result<()> {
    map_backward(x, dy, dx, |v, g| g * v.exp())
}

/// Natural logarithm (f32: `log 0 = -inf`, NaN below 0; fixed point:
/// `Q16_16::MIN` for `x ≤ 0`).
///
/// Keras: `keras.ops.log`, `K.log`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 2];
/// ops::log(&[1.0, 0.0], &mut y).unwrap();
/// assert_eq!(y, [0.0, f32::NEG_INFINITY]);
/// ```
pub fn log<T: Scalar>(x: &[T], out: &mut [T]) -> Result<()> {
    map(x, out, T::ln)
}

/// Gradient of [`log`]: `dy / x` (JAX's rule; `±inf` at 0 in f32, saturated in fixed
/// point).
pub fn log_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) -> Result<()> {
    map_backward(x, dy, dx, |v, g| g.div(v))
}

/// `max(x, lo)` with NaN propagating from `x`, as `jnp.maximum(lo, x)`.
#[inline]
fn at_least<T: Scalar>(v: T, lo: T) -> T {
    #[allow(clippy::eq_op)] // `v != v` is the generic NaN test
    let nan = v != v;
    if v > lo || nan {
        v
    } else {
        lo
    }
}

/// `min(m, hi)` with NaN propagating from `m`, as `jnp.minimum(hi, m)`.
#[inline]
fn at_most<T: Scalar>(m: T, hi: T) -> T {
    #[allow(clippy::eq_op)]
    let nan = m != m;
    if m < hi || nan {
        m
    } else {
        hi
    }
}

/// `min(max(x, min_value), max_value)`, elementwise. The bounds are converted with
/// [`Scalar::from_f32`] (rounded to the nearest value in fixed point). When
/// `min_value > max_value` every output is `max_value`, as `keras.ops.clip` (JAX's
/// `jnp.clip`); the legacy `K.clip` raises `max_value` to `min_value` first — pass
/// `max_value.max(min_value)` for that.
///
/// Keras: `keras.ops.clip(x, x_min, x_max)`, `K.clip(x, min_value, max_value)`.
///
/// ```
/// use ember_nn::ops;
/// let mut y = [0.0f32; 3];
/// ops::clip(&[-2.0, 0.5, 3.0], -1.0, 1.0, &mut y).unwrap();
/// assert_eq!(y, [-1.0, 0.5, 1.0]);
/// ```
pub fn clip<T: Scalar>(x: &[T], min_value: f32, max_value: f32, out: &mut [T]) -> Result<()> {
    let (lo, hi) = (T::from_f32(min_value), T::from_f32(max_value));
    map(x, out, |v| at_most(at_least(v, lo), hi))
}

/// Gradient of [`clip`]: `dy` strictly inside the bounds, 0 outside, and — as `jax.grad`
/// of `jnp.clip`, whose `maximum`/`minimum` split a tie evenly — `dy / 2` at a bound
/// (`dy / 4` when `x == min_value == max_value`).
///
/// ```
/// use ember_nn::ops;
/// let mut dx = [0.0f32; 5];
/// ops::clip_backward(&[-2.0, -1.0, 0.0, 1.0, 2.0], -1.0, 1.0, &[1.0; 5], &mut dx).unwrap();
/// assert_eq!(dx, [0.0, 0.5, 1.0, 0.5, 0.0]);
/// ```
pub fn clip_backward<T: Scalar>(
    x: &[T],
    min_value: f32,
    max_value: f32,
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    let (lo, hi) = (T::from_f32(min_value), T::from_f32(max_value));
    let half = T::from_f32(0.5);
    let share = |v: T, bound: T, inside: bool| {
        if inside {
            T::ONE
        } else if v == bound {
            half
        } else {
            T::ZERO
        }
    };
    map_backward(x, dy, dx, |v, g| {
        let m = at_least(v, lo);
        let d_max = share(v, lo, v > lo);
        let d_min = share(m, hi, m < hi);
        g * (d_max * d_min)
    })
}
