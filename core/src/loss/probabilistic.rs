//! Kullback–Leibler divergence and Poisson. Keras: `keras.losses.kl_divergence`,
//! `keras.losses.poisson`.
//!
//! Same row convention as the regression losses: return ℓ, write `scale · ∂ℓ/∂p`.

use crate::Scalar;

use super::math::clip;

/// `Σ t·ln(t / p)` with `t` and `p` clipped to `[ε, 1]` (a sum over the row, not a mean).
pub(crate) fn kl_divergence<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T, eps: T) -> T {
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let (tc, _) = clip(ti, eps, T::ONE);
        let (pc, d) = clip(pi, eps, T::ONE);
        sum = sum + tc * tc.div(pc).ln();
        *gi = if d == T::ZERO {
            T::ZERO
        } else {
            -(tc.div(pc)) * d * scale
        };
    }
    sum
}

/// `mean(p − t·ln(p + ε))`.
pub(crate) fn poisson<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T, eps: T) -> T {
    let n = T::from_usize(p.len());
    let c = scale.div(n);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let q = pi + eps;
        sum = sum + (pi - ti * q.ln());
        *gi = (T::ONE - ti.div(q)) * c;
    }
    sum.div(n)
}
