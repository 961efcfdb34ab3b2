//! Hinge losses: hinge, squared hinge, categorical hinge. Keras: `keras.losses.hinge`,
//! `squared_hinge`, `categorical_hinge`.
//!
//! Same row convention as the regression losses: return ℓ, write `scale · ∂ℓ/∂p`.

use crate::Scalar;

use super::math::select_grad;

/// Keras's `convert_binary_labels_to_hinge` decision: when **every** label of the batch is
/// 0 or 1, labels are mapped to `2t − 1` (−1 / +1); otherwise they are used as given.
pub(crate) fn labels_are_binary<T: Scalar>(y_true: &[T]) -> bool {
    y_true.iter().all(|&t| t == T::ZERO || t == T::ONE)
}

/// The label as the hinge uses it.
#[inline]
fn label<T: Scalar>(t: T, binary: bool) -> T {
    if binary {
        T::from_usize(2) * t - T::ONE
    } else {
        t
    }
}

/// `mean(max(1 − t·p, 0))` (`squared = false`) or `mean(max(1 − t·p, 0)²)`.
pub(crate) fn hinge<T: Scalar>(
    p: &[T],
    t: &[T],
    g: &mut [T],
    scale: T,
    binary: bool,
    squared: bool,
) -> T {
    let n = T::from_usize(p.len());
    let c = scale.div(n);
    let two = T::from_usize(2);
    let mut sum = T::ZERO;
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let y = label(ti, binary);
        let m = T::ONE - y * pi;
        let h = m.max(T::ZERO);
        // ∂h/∂p = −y where the margin is violated, ½·(−y) at the kink (JAX's tie rule).
        let dh = -(y * select_grad(m, T::ZERO, true));
        if squared {
            sum = sum + h * h;
            *gi = two * h * dh * c;
        } else {
            sum = sum + h;
            *gi = dh * c;
        }
    }
    sum.div(n)
}

/// `max(neg − pos + 1, 0)` with `pos = Σ t·p` and `neg = max((1 − t)·p)`. Ties in the
/// `max` over the row share its gradient equally, as JAX's `reduce_max` does.
pub(crate) fn categorical_hinge<T: Scalar>(p: &[T], t: &[T], g: &mut [T], scale: T) -> T {
    let mut pos = T::ZERO;
    let mut neg = T::ZERO;
    for (i, (&pi, &ti)) in p.iter().zip(t).enumerate() {
        pos = pos + ti * pi;
        let z = (T::ONE - ti) * pi;
        if i == 0 || z > neg {
            neg = z;
        }
    }
    let mut ties = 0usize;
    for (&pi, &ti) in p.iter().zip(t) {
        if (T::ONE - ti) * pi == neg {
            ties += 1;
        }
    }
    let r = (neg - pos) + T::ONE;
    let c = scale * select_grad(r, T::ZERO, true);
    let share = T::ONE.div(T::from_usize(ties.max(1)));
    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
        let one_minus = T::ONE - ti;
        let at_max = if one_minus * pi == neg {
            share
        } else {
            T::ZERO
        };
        *gi = (one_minus * at_max - ti) * c;
    }
    r.max(T::ZERO)
}
