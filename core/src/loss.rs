//! Losses, with Keras 3's default reduction `"sum_over_batch_size"`: the per-sample loss
//! (reduced over the last axis) averaged over every other element.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Scalar};

/// Keras's `epsilon()` used to clip probabilities in cross-entropies.
pub const EPSILON: f32 = 1e-7;

/// A loss function. Keras: `keras.losses.*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Loss {
    /// `mean_squared_error`: `mean((y_pred − y_true)², axis=-1)`.
    MeanSquaredError,
    /// `categorical_crossentropy` with `from_logits=False`: predictions are normalised to
    /// sum 1 and clipped to `[ε, 1−ε]`, then `−Σ y_true · ln(y_pred)`.
    CategoricalCrossentropy,
}

impl Loss {
    /// The loss of a batch and its gradient `∂L/∂y_pred`, written to `grad`.
    ///
    /// `y_pred`, `y_true` and `grad` have the same length, a multiple of `last` (the
    /// size of the last axis). The gradient is the exact derivative of what Keras computes
    /// (including the normalisation and the clip of the cross-entropy), so training
    /// follows Keras step for step.
    pub fn value_and_grad<T: Scalar>(
        self,
        y_pred: &[T],
        y_true: &[T],
        grad: &mut [T],
        last: usize,
    ) -> Result<T> {
        if last == 0 || y_pred.len() % last != 0 || y_pred.is_empty() {
            return Err(Error::InvalidShape);
        }
        for len in [y_true.len(), grad.len()] {
            if len != y_pred.len() {
                return Err(Error::ShapeMismatch {
                    expected: y_pred.len(),
                    found: len,
                });
            }
        }
        let rows = y_pred.len() / last;
        let inv_rows = T::ONE.div(T::from_usize(rows));
        let mut total = T::ZERO;
        let rows_iter = y_pred
            .chunks_exact(last)
            .zip(y_true.chunks_exact(last))
            .zip(grad.chunks_exact_mut(last));
        match self {
            Loss::MeanSquaredError => {
                let n = T::from_usize(last);
                let scale = T::from_usize(2).div(T::from_usize(rows * last));
                for ((p, t), g) in rows_iter {
                    let mut sum = T::ZERO;
                    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
                        let d = pi - ti;
                        sum = sum + d * d;
                        *gi = d * scale;
                    }
                    total = total + sum.div(n);
                }
            }
            Loss::CategoricalCrossentropy => {
                let eps = T::from_f32(EPSILON);
                let hi = T::ONE - eps;
                for ((p, t), g) in rows_iter {
                    let mut s = T::ZERO;
                    for &pi in p {
                        s = s + pi;
                    }
                    // Forward: q = clip(p / s), row loss = −Σ t ln q.
                    // Backward: ∂/∂q_j = −t_j / q_j where unclipped, then through p / s:
                    // ∂/∂p_k = g_k / s − Σ_j g_j p_j / s².
                    let mut row = T::ZERO;
                    let mut dot = T::ZERO;
                    for ((&pi, &ti), gi) in p.iter().zip(t).zip(g.iter_mut()) {
                        let q = pi.div(s);
                        let qc = q.max(eps).min(hi);
                        row = row - ti * qc.ln();
                        let gq = if q > eps && q < hi {
                            -(ti.div(qc)) * inv_rows
                        } else {
                            T::ZERO
                        };
                        *gi = gq;
                        dot = dot + gq * pi;
                    }
                    let dot = dot.div(s * s);
                    for gi in g.iter_mut() {
                        *gi = gi.div(s) - dot;
                    }
                    total = total + row;
                }
            }
        }
        Ok(total * inv_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_value_and_gradient() {
        let p = [1.0f32, 2.0, 3.0, 4.0];
        let t = [0.0f32, 2.0, 3.0, 6.0];
        let mut g = [0.0f32; 4];
        let l = Loss::MeanSquaredError
            .value_and_grad(&p, &t, &mut g, 2)
            .unwrap();
        // rows: (1 + 0)/2 = 0.5 and (0 + 4)/2 = 2 -> mean 1.25
        assert_eq!(l, 1.25);
        assert_eq!(g, [0.5, 0.0, 0.0, -1.0]);
    }

    #[test]
    fn cce_matches_closed_form_for_normalised_input() {
        let p = [0.2f32, 0.7, 0.1];
        let t = [0.0f32, 1.0, 0.0];
        let mut g = [0.0f32; 3];
        let l = Loss::CategoricalCrossentropy
            .value_and_grad(&p, &t, &mut g, 3)
            .unwrap();
        assert!((l + libm::logf(0.7)).abs() < 1e-6);
        // For sum(p) = 1: g_k = 1 - t_k / p_k.
        assert!((g[0] - 1.0).abs() < 1e-5);
        assert!((g[1] - (1.0 - 1.0 / 0.7)).abs() < 1e-5);
    }

    #[test]
    fn rejects_mismatched_lengths() {
        let mut g = [0.0f32; 3];
        assert!(Loss::MeanSquaredError
            .value_and_grad(&[1.0f32; 3], &[1.0f32; 2], &mut g, 3)
            .is_err());
        assert!(Loss::MeanSquaredError
            .value_and_grad(&[1.0f32; 3], &[1.0f32; 3], &mut g, 2)
            .is_err());
    }
}
