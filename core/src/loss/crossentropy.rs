//! Cross-entropies: binary, categorical and sparse categorical, from probabilities or
//! logits. Keras: `keras.losses.binary_crossentropy` / `categorical_crossentropy` /
//! `sparse_categorical_crossentropy` over `keras.ops.nn` (JAX backend).
//!
//! Same row convention as the regression losses: return ℓ, write `scale · ∂ℓ/∂p`.

use crate::Scalar;

use super::math::{clip, softplus};

/// Keras's label smoothing as `(a, b)` in `t ↦ t·a + b`: `a = 1 − s` and `b = s / k` for
/// the categorical cross-entropy (`k` classes), `b = ½s` for the binary one (`k = 0`).
/// `s = 0` leaves labels untouched (Keras skips the step).
pub(crate) fn smoothing<T: Scalar>(label_smoothing: f32, classes: usize) -> Option<(T, T)> {
    if label_smoothing == 0.0 {
        return None;
    }
    // Keras computes `1.0 - label_smoothing` and `0.5 * label_smoothing` in Python (double).
    let a = T::from_f32((1.0 - label_smoothing as f64) as f32);
    let b = if classes == 0 {
        T::from_f32((0.5 * label_smoothing as f64) as f32)
    } else {
        T::from_f32(label_smoothing).div(T::from_usize(classes))
    };
    Some((a, b))
}

#[inline]
fn smooth<T: Scalar>(t: T, s: Option<(T, T)>) -> T {
    match s {
        Some((a, b)) => t * a + b,
        None => t,
    }
}

/// `mean(−t·ln o − (1 − t)·ln(1 − o))` with `o = clip(p, ε, 1 − ε)`; from logits,
/// `mean(t·softplus(−p) + (1 − t)·softplus(p))` (Keras's `log_sigmoid` form).
pub(crate) fn binary<T: Scalar>(
    p: &[T],
    t: &[T],
    g: &mut [T],
    scale: T,
    from_logits: bool,
    s: Option<(T, T)>,
    eps: T,
) -> T {
    let n = T::from_usize(p.len());
    let c = scale.div(n);
    let hi = T::ONE - eps;
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let ti = smooth(ti, s);
        let ui = T::ONE - ti;
        if from_logits {
            sum = sum + (ti * softplus(-pi) + ui * softplus(pi));
            // ∂/∂p = −t·sigmoid(−p) + (1 − t)·sigmoid(p).
            *gi = (ui * pi.sigmoid() - ti * (-pi).sigmoid()) * c;
        } else {
            let (o, d) = clip(pi, eps, hi);
            let q = T::ONE - o;
            sum = sum - (ti * o.ln() + ui * q.ln());
            *gi = if d == T::ZERO {
                T::ZERO
            } else {
                (ui.div(q) - ti.div(o)) * d * c
            };
        }
    }
    sum.div(n)
}

/// `−Σ t·ln q` over one row, with `t` the (smoothed) target distribution. From
/// probabilities `q = clip(p / Σp, ε, 1 − ε)`; from logits `q = softmax(p)` via
/// `log_softmax`. `target` yields the target of element `i`; `target_sum` is `Σ t`.
fn categorical_row<T: Scalar>(
    p: &[T],
    g: &mut [T],
    scale: T,
    from_logits: bool,
    eps: T,
    target: impl Fn(usize) -> T,
) -> T {
    let mut row = T::ZERO;
    if from_logits {
        let Some(&first) = p.first() else {
            return T::ZERO;
        };
        let mut m = first;
        for &pi in p {
            m = m.max(pi);
        }
        let mut z = T::ZERO;
        for &pi in p {
            z = z + (pi - m).exp();
        }
        let lse = z.ln();
        let mut target_sum = T::ZERO;
        for (i, (&pi, gi)) in p.iter().zip(g.iter_mut()).enumerate() {
            let ti = target(i);
            let log_prob = (pi - m) - lse;
            row = row - ti * log_prob;
            target_sum = target_sum + ti;
            *gi = log_prob;
        }
        // ∂/∂p_k = softmax_k · Σt − t_k.
        for (i, gi) in g.iter_mut().enumerate() {
            *gi = (gi.exp() * target_sum - target(i)) * scale;
        }
    } else {
        let mut s = T::ZERO;
        for &pi in p {
            s = s + pi;
        }
        let hi = T::ONE - eps;
        // Forward: q = clip(p / s), ℓ = −Σ t ln q. Backward: ∂ℓ/∂q_j = −t_j / q_j (times
        // the clip's derivative), then through p / s:
        // ∂ℓ/∂p_k = g_k / s − Σ_j g_j·p_j / s².
        let mut dot = T::ZERO;
        for (i, (&pi, gi)) in p.iter().zip(g.iter_mut()).enumerate() {
            let ti = target(i);
            let (q, d) = clip(pi.div(s), eps, hi);
            row = row - ti * q.ln();
            let gq = if d == T::ZERO {
                T::ZERO
            } else {
                -(ti.div(q)) * d * scale
            };
            *gi = gq;
            dot = dot + gq * pi;
        }
        let dot = dot.div(s * s);
        for gi in g.iter_mut() {
            *gi = gi.div(s) - dot;
        }
    }
    row
}

/// Categorical cross-entropy of one row with a (smoothed) one-hot or soft target `t`.
pub(crate) fn categorical<T: Scalar>(
    p: &[T],
    t: &[T],
    g: &mut [T],
    scale: T,
    from_logits: bool,
    s: Option<(T, T)>,
    eps: T,
) -> T {
    categorical_row(p, g, scale, from_logits, eps, |i| smooth(t[i], s))
}

/// Sparse categorical cross-entropy of one row whose target is class `class`.
pub(crate) fn sparse_categorical<T: Scalar>(
    p: &[T],
    class: usize,
    g: &mut [T],
    scale: T,
    from_logits: bool,
    eps: T,
) -> T {
    categorical_row(p, g, scale, from_logits, eps, |i| {
        if i == class {
            T::ONE
        } else {
            T::ZERO
        }
    })
}
