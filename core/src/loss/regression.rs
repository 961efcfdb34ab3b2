//! Regression losses: mean squared / absolute / percentage / squared-logarithmic error,
//! root mean squared error, Huber and log-cosh. Keras: `keras/src/losses/losses.py`.
//!
//! Every function takes one row (the last axis) of `y_pred` (`p`) and `y_true` (`t`),
//! returns the row's loss ℓ, and writes `scale · ∂ℓ/∂p` into `g` (`scale` folds in the
//! sample weight and the reduction's divisor).

use crate::Scalar;

use super::math::{abs, abs_grad, epsilon, select_grad, softplus};

/// `mean((t − p)²)`.
pub(crate) fn mean_squared_error<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T) -> T {
    let n = T::from_usize(p.len());
    let c = T::from_usize(2) * scale.div(n);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let d = ti - pi;
        sum = sum + d * d;
        *gi = -d * c;
    }
    sum.div(n)
}

/// `mean(|t − p|)`; JAX's `|x|′` is +1 at 0.
pub(crate) fn mean_absolute_error<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T) -> T {
    let n = T::from_usize(p.len());
    let c = scale.div(n);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let d = ti - pi;
        sum = sum + abs(d);
        *gi = -abs_grad(d) * c;
    }
    sum.div(n)
}

/// `100 · mean(|(t − p) / max(|t|, ε)|)`.
pub(crate) fn mean_absolute_percentage_error<T: Scalar>(
    p: &[T],
    t: &[T],
    g: &mut [T],
    scale: T,
) -> T {
    let eps = epsilon::<T>();
    let n = T::from_usize(p.len());
    let hundred = T::from_usize(100);
    let c = hundred * scale.div(n);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let m = abs(ti).max(eps);
        let d = (ti - pi).div(m);
        sum = sum + abs(d);
        *gi = -(abs_grad(d) * c).div(m);
    }
    hundred * sum.div(n)
}

/// `mean((ln(max(p, ε) + 1) − ln(max(t, ε) + 1))²)`.
pub(crate) fn mean_squared_logarithmic_error<T: Scalar>(
    p: &[T],
    t: &[T],
    g: &mut [T],
    scale: T,
) -> T {
    let eps = epsilon::<T>();
    let n = T::from_usize(p.len());
    let c = T::from_usize(2) * scale.div(n);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let pm = pi.max(eps) + T::ONE;
        let d = pm.ln() - (ti.max(eps) + T::ONE).ln();
        sum = sum + d * d;
        *gi = (d * c).div(pm) * select_grad(pi, eps, true);
    }
    sum.div(n)
}

/// `sqrt(mean((t − p)²))` per row. Not a Keras 3.15 loss (Keras has only the metric
/// `RootMeanSquaredError`, the square root of the mean over the whole batch); this is the
/// per-sample form a Keras `LossFunctionWrapper` would compute. Where the row's error is
/// exactly zero the gradient is 0 (JAX would give NaN: `sqrt′(0) = ∞`).
pub(crate) fn root_mean_squared_error<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T) -> T {
    let n = T::from_usize(p.len());
    let mut sum = T::ZERO;
    for (&pi, &ti) in p.iter().zip(t) {
        let d = ti - pi;
        sum = sum + d * d;
    }
    let l = sum.div(n).sqrt();
    // ∂/∂p sqrt(m) = (p − t) / (n · sqrt(m)).
    let c = if l > T::ZERO {
        scale.div(n * l)
    } else {
        T::ZERO
    };
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        *gi = (pi - ti) * c;
    }
    l
}

/// `mean(½e²)` where `|e| ≤ δ`, `mean(δ|e| − ½δ²)` elsewhere, with `e = p − t`.
pub(crate) fn huber<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T, delta: T) -> T {
    let n = T::from_usize(p.len());
    let half = T::ONE.div(T::from_usize(2));
    let c = scale.div(n);
    let linear_offset = half * (delta * delta);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let e = pi - ti;
        let a = abs(e);
        if a <= delta {
            sum = sum + half * (e * e);
            *gi = e * c;
        } else {
            sum = sum + (delta * a - linear_offset);
            *gi = delta * abs_grad(e) * c;
        }
    }
    sum.div(n)
}

/// `mean(ln cosh(p − t))`, computed as Keras does: `x + softplus(−2x) − ln 2`. Its
/// derivative is `1 − 2·sigmoid(−2x)` (= `tanh x`).
pub(crate) fn log_cosh<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T) -> T {
    let n = T::from_usize(p.len());
    let c = scale.div(n);
    let two = T::from_usize(2);
    let ln2 = T::from_f32(core::f32::consts::LN_2);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let x = pi - ti;
        let m = -(two * x);
        sum = sum + ((x + softplus(m)) - ln2);
        *gi = (T::ONE - two * m.sigmoid()) * c;
    }
    sum.div(n)
}
