//! [`Constraint`]: Keras's `MaxNorm`, `NonNeg`, `UnitNorm` and `MinMaxNorm` projections.

use serde::{Deserialize, Serialize};

use super::NormAxes;
use crate::{Error, Result, Scalar, Shape, MAX_RANK};

/// Keras's `backend.epsilon()` (`1e-7`), added to the norms before dividing. In
/// [`crate::Q16_16`] it rounds to 0 (a zero norm then leaves the zero weights at zero).
pub const EPSILON: f32 = 1e-7;

/// A projection applied to a weight tensor after each optimizer update. Keras:
/// `keras.constraints.MaxNorm`, `NonNeg`, `UnitNorm`, `MinMaxNorm`.
///
/// With `n` the L2 norm of each slice over `axis` (Keras: `sqrt(sum(square(w), axis,
/// keepdims=True))`) and `ε` = [`EPSILON`]:
///
/// | variant | Keras (defaults) | result |
/// |---|---|---|
/// | `MaxNorm` | `MaxNorm(max_value=2, axis=0)` | `w · (clip(n, 0, max_value) / (ε + n))` |
/// | `NonNeg` | `NonNeg()` | `max(w, 0)` |
/// | `UnitNorm` | `UnitNorm(axis=0)` | `w / (ε + n)` |
/// | `MinMaxNorm` | `MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)` | `w · ((rate · clip(n, min_value, max_value) + (1 − rate) · n) / (ε + n))` |
///
/// `clip(x, lo, hi)` is `min(max(x, lo), hi)` (`jnp.clip`).
///
/// ```
/// use ember_nn::constraints::{Constraint, NormAxes};
/// use ember_nn::Shape;
/// // A (2, 2) Dense kernel; axis 0: one norm per column (per unit).
/// let mut w = [3.0f32, 0.6, 4.0, 0.8]; // columns (3, 4) norm 5 and (0.6, 0.8) norm 1
/// let c = Constraint::MaxNorm { max_value: 2.0, axis: NormAxes::FIRST };
/// c.apply(&mut w, Shape::new(&[2, 2]).unwrap()).unwrap();
/// assert!((w[0] - 1.2).abs() < 1e-6 && (w[2] - 1.6).abs() < 1e-6); // rescaled to norm 2
/// assert!((w[1] - 0.6).abs() < 1e-6 && (w[3] - 0.8).abs() < 1e-6); // within: kept
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Constraint {
    /// Rescales slices whose norm exceeds `max_value` (Keras `MaxNorm`).
    MaxNorm {
        /// Largest norm.
        max_value: f32,
        /// Axes the norm sums over.
        axis: NormAxes,
    },
    /// Clamps negative weights to zero (Keras `NonNeg`).
    NonNeg,
    /// Rescales every slice to norm 1 (Keras `UnitNorm`).
    UnitNorm {
        /// Axes the norm sums over.
        axis: NormAxes,
    },
    /// Moves slice norms towards `[min_value, max_value]` at `rate` (Keras `MinMaxNorm`).
    MinMaxNorm {
        /// Smallest norm.
        min_value: f32,
        /// Largest norm.
        max_value: f32,
        /// Enforcement rate (1: strict).
        rate: f32,
        /// Axes the norm sums over.
        axis: NormAxes,
    },
}

// Hyperparameters are checked finite before use (blob load, writer).
impl Eq for Constraint {}

impl Constraint {
    /// Keras's `MaxNorm()`.
    pub const MAX_NORM_DEFAULT: Constraint = Constraint::MaxNorm {
        max_value: 2.0,
        axis: NormAxes::FIRST,
    };
    /// Keras's `UnitNorm()`.
    pub const UNIT_NORM_DEFAULT: Constraint = Constraint::UnitNorm {
        axis: NormAxes::FIRST,
    };
    /// Keras's `MinMaxNorm()`.
    pub const MIN_MAX_NORM_DEFAULT: Constraint = Constraint::MinMaxNorm {
        min_value: 0.0,
        max_value: 1.0,
        rate: 1.0,
        axis: NormAxes::FIRST,
    };

    /// Keras's class name.
    pub fn keras_name(&self) -> &'static str {
        match self {
            Constraint::MaxNorm { .. } => "MaxNorm",
            Constraint::NonNeg => "NonNeg",
            Constraint::UnitNorm { .. } => "UnitNorm",
            Constraint::MinMaxNorm { .. } => "MinMaxNorm",
        }
    }

    /// The norm axes, `None` for `NonNeg`.
    pub fn axis(&self) -> Option<NormAxes> {
        match *self {
            Constraint::MaxNorm { axis, .. }
            | Constraint::UnitNorm { axis }
            | Constraint::MinMaxNorm { axis, .. } => Some(axis),
            Constraint::NonNeg => None,
        }
    }

    /// Checks the constraint for a weight of `shape`: finite hyperparameters, axes the
    /// weight has ([`Error::InvalidConfig`] otherwise).
    pub fn check(&self, shape: Shape) -> Result<()> {
        let finite = match *self {
            Constraint::MaxNorm { max_value, .. } => max_value.is_finite(),
            Constraint::NonNeg | Constraint::UnitNorm { .. } => true,
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                ..
            } => min_value.is_finite() && max_value.is_finite() && rate.is_finite(),
        };
        if !finite {
            return Err(Error::InvalidConfig(
                "constraint hyperparameters must be finite",
            ));
        }
        match self.axis() {
            Some(a) => a.check(shape),
            None => Ok(()),
        }
    }

    /// Projects `w` (a weight tensor of `shape`, row-major) in place, as Keras's
    /// `variable.assign(constraint(variable))`. [`Error::ShapeMismatch`] when `w` does not
    /// hold `shape`, [`Error::InvalidConfig`] as [`Constraint::check`].
    pub fn apply<T: Scalar>(&self, w: &mut [T], shape: Shape) -> Result<()> {
        if w.len() != shape.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: w.len(),
            });
        }
        self.check(shape)?;
        let Some(axis) = self.axis() else {
            for v in w.iter_mut() {
                *v = v.max(T::ZERO);
            }
            return Ok(());
        };
        let groups = Groups::new(shape, axis.resolve(shape.rank())?);
        let eps = T::from_f32(EPSILON);
        for g in 0..groups.count {
            let base = groups.kept.offset(g);
            let acc = (0..groups.reduced.len).fold(T::ZERO.widen(), |acc, j| {
                let v = w[base + groups.reduced.offset(j)];
                T::mac(acc, v, v)
            });
            let norm = T::narrow(acc).sqrt();
            let scale = match *self {
                Constraint::MaxNorm { max_value, .. } => {
                    clip(norm, T::ZERO, T::from_f32(max_value)).div(eps + norm)
                }
                Constraint::UnitNorm { .. } => T::ONE.div(eps + norm),
                Constraint::MinMaxNorm {
                    min_value,
                    max_value,
                    rate,
                    ..
                } => {
                    let clipped = clip(norm, T::from_f32(min_value), T::from_f32(max_value));
                    let desired = T::from_f32(rate) * clipped + T::from_f32(1.0 - rate) * norm;
                    desired.div(eps + norm)
                }
                Constraint::NonNeg => T::ONE,
            };
            for j in 0..groups.reduced.len {
                let v = &mut w[base + groups.reduced.offset(j)];
                *v = match self {
                    // Keras divides: `w / (ε + n)`.
                    Constraint::UnitNorm { .. } => v.div(eps + norm),
                    _ => *v * scale,
                };
            }
        }
        Ok(())
    }
}

/// `jnp.clip(x, lo, hi)`: `min(max(x, lo), hi)`.
fn clip<T: Scalar>(x: T, lo: T, hi: T) -> T {
    x.max(lo).min(hi)
}

/// A set of axes of a row-major tensor: their sizes and strides, to walk the elements of
/// one slice (mixed-radix counting) without scratch memory.
#[derive(Clone, Copy)]
struct AxisSet {
    dims: [usize; MAX_RANK],
    strides: [usize; MAX_RANK],
    n: usize,
    /// Number of index combinations (product of `dims[..n]`).
    len: usize,
}

impl AxisSet {
    /// The element offset of combination `i` (last axis fastest).
    fn offset(&self, mut i: usize) -> usize {
        let mut off = 0;
        for k in (0..self.n).rev() {
            off += (i % self.dims[k]) * self.strides[k];
            i /= self.dims[k];
        }
        off
    }
}

/// The tensor split into the reduced axes (one norm per slice) and the kept axes (one
/// slice per combination).
struct Groups {
    kept: AxisSet,
    reduced: AxisSet,
    count: usize,
}

impl Groups {
    fn new(shape: Shape, mask: u8) -> Self {
        let empty = AxisSet {
            dims: [1; MAX_RANK],
            strides: [0; MAX_RANK],
            n: 0,
            len: 1,
        };
        let (mut kept, mut reduced) = (empty, empty);
        let mut stride = 1usize;
        for i in (0..shape.rank()).rev() {
            let d = shape.dim(i);
            let set = if mask & (1 << i) != 0 {
                &mut reduced
            } else {
                &mut kept
            };
            // Axes are visited last to first; shift so the set stays outermost-first.
            set.dims.copy_within(0..set.n, 1);
            set.strides.copy_within(0..set.n, 1);
            set.dims[0] = d;
            set.strides[0] = stride;
            set.n += 1;
            set.len *= d;
            stride *= d;
        }
        Groups {
            count: kept.len,
            kept,
            reduced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Q16_16;

    fn shape(d: &[usize]) -> Shape {
        Shape::new(d).unwrap()
    }

    #[test]
    fn unit_norm_over_rows_and_all_axes() {
        // axis=1: one norm per row.
        let mut w = [3.0f32, 4.0, 0.0, 2.0];
        let c = Constraint::UnitNorm {
            axis: NormAxes::axis(-1),
        };
        c.apply(&mut w, shape(&[2, 2])).unwrap();
        assert!((w[0] - 0.6).abs() < 1e-6 && (w[1] - 0.8).abs() < 1e-6);
        assert!((w[3] - 1.0).abs() < 1e-6);
        // axis=[0, 1]: one norm for the whole matrix.
        let mut w = [1.0f32, 1.0, 1.0, 1.0];
        let c = Constraint::UnitNorm {
            axis: NormAxes::from_list(&[0, 1]).unwrap(),
        };
        c.apply(&mut w, shape(&[2, 2])).unwrap();
        assert!(w.iter().all(|v| (v - 0.5).abs() < 1e-6));
    }

    #[test]
    fn middle_axes_of_a_rank4_kernel() {
        // (2, 1, 2, 2) with axis=[0, 2]: slices indexed by (col, out).
        let mut w = [0.0f32; 8];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as f32 + 1.0;
        }
        let orig = w;
        let c = Constraint::UnitNorm {
            axis: NormAxes::from_list(&[0, 2]).unwrap(),
        };
        c.apply(&mut w, shape(&[2, 1, 2, 2])).unwrap();
        for out in 0..2 {
            let idx = [out, 2 + out, 4 + out, 6 + out];
            let n: f32 = idx.iter().map(|&i| orig[i] * orig[i]).sum::<f32>().sqrt();
            for &i in &idx {
                assert!((w[i] - orig[i] / n).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn non_neg_min_max_and_errors() {
        let mut w = [-1.0f32, 2.0];
        Constraint::NonNeg.apply(&mut w, shape(&[2])).unwrap();
        assert_eq!(w, [0.0, 2.0]);
        let mut w = [0.3f32, 0.4]; // norm 0.5 -> rate 0.5 towards min 1: 0.75
        let c = Constraint::MinMaxNorm {
            min_value: 1.0,
            max_value: 2.0,
            rate: 0.5,
            axis: NormAxes::FIRST,
        };
        c.apply(&mut w, shape(&[2])).unwrap();
        assert!((w[0] - 0.45).abs() < 1e-6 && (w[1] - 0.6).abs() < 1e-6);
        assert!(c.apply(&mut w, shape(&[3])).is_err());
        let bad = Constraint::UnitNorm {
            axis: NormAxes::axis(1),
        };
        assert!(bad.apply(&mut w, shape(&[2])).is_err());
        let bad = Constraint::UnitNorm {
            axis: NormAxes::from_list(&[0, -2]).unwrap(),
        };
        let mut w4 = [1.0f32; 4];
        assert!(bad.apply(&mut w4, shape(&[2, 2])).is_err());
    }

    #[test]
    fn fixed_point_zero_norm_stays_zero() {
        let mut w = [Q16_16::ZERO; 4];
        Constraint::UNIT_NORM_DEFAULT
            .apply(&mut w, shape(&[2, 2]))
            .unwrap();
        assert!(w.iter().all(|v| *v == Q16_16::ZERO));
        let mut w = [3.0f32, 4.0].map(Q16_16::from_f32);
        Constraint::MAX_NORM_DEFAULT
            .apply(&mut w, shape(&[2]))
            .unwrap();
        assert!((w[0].to_f32() - 1.2).abs() < 1e-3);
    }
}
