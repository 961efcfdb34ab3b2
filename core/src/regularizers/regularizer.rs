//! [`Regularizer`]: Keras's `L1`, `L2` and `L1L2` penalties, value and gradient.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Scalar};

/// A regularization penalty on a tensor. Keras: `keras.regularizers.L1`, `L2`, `L1L2`.
///
/// | variant | Keras | penalty | gradient |
/// |---|---|---|---|
/// | `L1 { l1 }` | `L1(l1=0.01)` | `l1 · Σ|w|` | `l1 · s(w)` |
/// | `L2 { l2 }` | `L2(l2=0.01)` | `l2 · Σ w²` | `2 · l2 · w` |
/// | `L1L2 { l1, l2 }` | `L1L2(l1=0.0, l2=0.0)` | the sum of both | the sum of both |
///
/// `s(w)` is the derivative JAX gives `|w|`: `+1` for `w ≥ 0` (including `0` and `-0`),
/// `-1` otherwise. Like Keras's `L1L2`, a zero factor contributes nothing. Factors must be
/// finite and `≥ 0` (Keras's `validate_float_arg`; [`Regularizer::check`]).
///
/// ```
/// use ember_nn::regularizers::Regularizer;
/// let r = Regularizer::L1L2 { l1: 0.5, l2: 0.25 };
/// let w = [1.0f32, -2.0, 0.0];
/// // 0.5·(1 + 2 + 0) + 0.25·(1 + 4 + 0)
/// assert_eq!(r.value(&w), 2.75);
/// let mut g = [0.0f32; 3];
/// r.add_gradient(&w, &mut g).unwrap();
/// assert_eq!(g, [0.5 + 0.5, -0.5 - 1.0, 0.5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Regularizer {
    /// `l1 · Σ|w|` (Keras `L1`; Keras's default `l1 = 0.01`, [`Regularizer::L1_DEFAULT`]).
    L1 {
        /// The factor.
        l1: f32,
    },
    /// `l2 · Σ w²` (Keras `L2`; default `l2 = 0.01`, [`Regularizer::L2_DEFAULT`]).
    L2 {
        /// The factor.
        l2: f32,
    },
    /// `l1 · Σ|w| + l2 · Σ w²` (Keras `L1L2`; defaults `0.0`, `0.0`,
    /// [`Regularizer::L1L2_DEFAULT`]).
    L1L2 {
        /// The L1 factor.
        l1: f32,
        /// The L2 factor.
        l2: f32,
    },
}

// Factors are checked finite before use (blob load, writer), so equality is reflexive.
impl Eq for Regularizer {}

impl Regularizer {
    /// Keras's `L1()`.
    pub const L1_DEFAULT: Regularizer = Regularizer::L1 { l1: 0.01 };
    /// Keras's `L2()`.
    pub const L2_DEFAULT: Regularizer = Regularizer::L2 { l2: 0.01 };
    /// Keras's `L1L2()`.
    pub const L1L2_DEFAULT: Regularizer = Regularizer::L1L2 { l1: 0.0, l2: 0.0 };

    /// Keras's class name (`"L1"`, `"L2"`, `"L1L2"`).
    pub fn keras_name(&self) -> &'static str {
        match self {
            Regularizer::L1 { .. } => "L1",
            Regularizer::L2 { .. } => "L2",
            Regularizer::L1L2 { .. } => "L1L2",
        }
    }

    /// `(l1, l2)`, zero for a term the variant does not have.
    pub fn factors(&self) -> (f32, f32) {
        match *self {
            Regularizer::L1 { l1 } => (l1, 0.0),
            Regularizer::L2 { l2 } => (0.0, l2),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        }
    }

    /// The checks of Keras's constructors: each factor finite and `≥ 0`
    /// ([`Error::InvalidConfig`] otherwise).
    pub fn check(&self) -> Result<()> {
        let (l1, l2) = self.factors();
        if [l1, l2].iter().all(|f| f.is_finite() && *f >= 0.0) {
            Ok(())
        } else {
            Err(Error::InvalidConfig(
                "regularizer factors must be finite and >= 0",
            ))
        }
    }

    /// The penalty of `w` (Keras: `regularizer(w)`): `l1 · Σ|w| + l2 · Σ w²`, each sum
    /// accumulated in [`Scalar::Acc`] and rounded once.
    pub fn value<T: Scalar>(&self, w: &[T]) -> T {
        let (l1, l2) = self.factors();
        let mut total = T::ZERO;
        if l1 != 0.0 {
            let acc = w
                .iter()
                .fold(T::ZERO.widen(), |acc, &v| T::mac(acc, abs(v), T::ONE));
            total = total + T::from_f32(l1) * T::narrow(acc);
        }
        if l2 != 0.0 {
            let acc = w.iter().fold(T::ZERO.widen(), |acc, &v| T::mac(acc, v, v));
            total = total + T::from_f32(l2) * T::narrow(acc);
        }
        total
    }

    /// Adds the penalty's gradient to `grad` (same length as `w`, else
    /// [`Error::ShapeMismatch`]): `grad += l1 · s(w) + 2 · l2 · w`.
    pub fn add_gradient<T: Scalar>(&self, w: &[T], grad: &mut [T]) -> Result<()> {
        self.add_scaled_gradient(w, grad, T::ONE)
    }

    /// Adds `scale ×` the penalty's gradient to `grad` (the activity regularizer's
    /// gradient is scaled by `1 / batch`). [`Error::ShapeMismatch`] on unequal lengths.
    pub fn add_scaled_gradient<T: Scalar>(&self, w: &[T], grad: &mut [T], scale: T) -> Result<()> {
        if w.len() != grad.len() {
            return Err(Error::ShapeMismatch {
                expected: w.len(),
                found: grad.len(),
            });
        }
        let (l1, l2) = self.factors();
        if l1 != 0.0 {
            let step = T::from_f32(l1) * scale;
            for (g, &v) in grad.iter_mut().zip(w) {
                *g = *g + if v >= T::ZERO { step } else { -step };
            }
        }
        if l2 != 0.0 {
            let step = T::from_f32(2.0 * l2) * scale;
            for (g, &v) in grad.iter_mut().zip(w) {
                *g = *g + step * v;
            }
        }
        Ok(())
    }
}

fn abs<T: Scalar>(v: T) -> T {
    if v < T::ZERO {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Q16_16;

    #[test]
    fn l1_gradient_at_zero_is_plus_one_as_in_jax() {
        let mut g = [0.0f32; 3];
        Regularizer::L1 { l1: 0.5 }
            .add_gradient(&[0.0, -0.0, -1.0], &mut g)
            .unwrap();
        assert_eq!(g, [0.5, 0.5, -0.5]);
    }

    #[test]
    fn zero_factor_is_skipped_and_checks_refuse_bad_factors() {
        let r = Regularizer::L1L2 { l1: 0.0, l2: 0.0 };
        assert_eq!(r.value(&[f32::INFINITY]), 0.0);
        assert!(Regularizer::L2 { l2: -1.0 }.check().is_err());
        assert!(Regularizer::L1 { l1: f32::NAN }.check().is_err());
        assert!(Regularizer::L2_DEFAULT.check().is_ok());
        let mut g = [0.0f32; 2];
        assert!(r.add_gradient(&[1.0], &mut g).is_err());
    }

    #[test]
    fn fixed_point_agrees() {
        let r = Regularizer::L1L2 { l1: 0.5, l2: 0.25 };
        let w = [1.5f32, -0.25, 2.0];
        let q: [Q16_16; 3] = w.map(Q16_16::from_f32);
        assert!((r.value(&q).to_f32() - r.value(&w)).abs() < 1e-4);
    }
}
