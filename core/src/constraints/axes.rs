//! [`NormAxes`]: the `axis` argument of Keras's norm constraints.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Shape, MAX_RANK};

/// The axes a norm constraint sums over (Keras's `axis=`: one integer or a list; negative
/// values count from the last axis). Kept unresolved, as Keras keeps it, and resolved
/// against the weight tensor's rank when applied.
///
/// Bit `i` of `from_start` is axis `i`; bit `i` of `from_end` is axis `-(i + 1)`.
///
/// ```
/// use ember_nn::constraints::NormAxes;
/// // Conv2D kernel (rows, cols, in, out), Keras's `axis=[0, 1, 2]`: one norm per filter.
/// let a = NormAxes::from_list(&[0, 1, -2]).unwrap();
/// assert_eq!(a.resolve(4).unwrap(), 0b0111);
/// assert!(NormAxes::axis(2).resolve(2).is_err()); // out of range for a Dense kernel
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NormAxes {
    /// Bit `i`: axis `i`.
    pub from_start: u8,
    /// Bit `i`: axis `-(i + 1)`.
    pub from_end: u8,
}

impl NormAxes {
    /// Keras's default `axis=0`.
    pub const FIRST: NormAxes = NormAxes {
        from_start: 1,
        from_end: 0,
    };

    /// One axis (Keras `axis=a`); any value outside `-5..5` gives an axis no tensor has
    /// (refused by [`NormAxes::resolve`]).
    pub const fn axis(a: i32) -> NormAxes {
        if a >= 0 && a < MAX_RANK as i32 {
            NormAxes {
                from_start: 1 << a,
                from_end: 0,
            }
        } else if a < 0 && a >= -(MAX_RANK as i32) {
            NormAxes {
                from_start: 0,
                from_end: 1 << (-a - 1),
            }
        } else {
            NormAxes {
                from_start: 0x80,
                from_end: 0,
            }
        }
    }

    /// A list of axes (Keras `axis=[a, b, …]`); `None` for an axis outside `-5..5` or one
    /// given twice.
    pub fn from_list(axes: &[i64]) -> Option<NormAxes> {
        let mut out = NormAxes::default();
        for &a in axes {
            let a = i32::try_from(a).ok()?;
            let one = NormAxes::axis(a);
            if one.from_start & 0x80 != 0
                || out.from_start & one.from_start != 0
                || out.from_end & one.from_end != 0
            {
                return None;
            }
            out.from_start |= one.from_start;
            out.from_end |= one.from_end;
        }
        Some(out)
    }

    /// The axes of a rank-`rank` tensor as a bit mask (bit `i` = axis `i`).
    /// [`Error::InvalidConfig`] for an axis the tensor does not have, or one named twice
    /// (e.g. `[0, -2]` on a matrix: JAX refuses duplicate axes).
    pub fn resolve(&self, rank: usize) -> Result<u8> {
        let all = if rank >= 8 {
            u8::MAX
        } else {
            (1u8 << rank) - 1
        };
        if self.from_start & !all != 0 || self.from_end & !all != 0 {
            return Err(Error::InvalidConfig(
                "constraint axis outside the weight's rank",
            ));
        }
        let mut end = 0u8;
        for i in 0..rank {
            if self.from_end & (1 << i) != 0 {
                end |= 1 << (rank - 1 - i);
            }
        }
        if end & self.from_start != 0 {
            return Err(Error::InvalidConfig("constraint axis given twice"));
        }
        Ok(end | self.from_start)
    }

    /// Checks the axes against a weight tensor's shape.
    pub fn check(&self, shape: Shape) -> Result<()> {
        self.resolve(shape.rank()).map(|_| ())
    }
}
