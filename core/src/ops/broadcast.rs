//! NumPy broadcasting, as `keras.ops` binary ops use it: shapes are aligned at their last
//! dimension, and each pair of dimensions must be equal or one of them 1 (a missing
//! leading dimension counts as 1). A one-element operand therefore broadcasts against
//! anything.

use super::walk::Walk;
use crate::{Error, Result, Shape, MAX_RANK};

/// The broadcast shape of `a` and `b`.
///
/// Keras: the result shape of `keras.ops` binary ops (`keras.ops.add`, `less`, `where`, …).
///
/// # Errors
/// [`Error::ShapeMismatch`] (carrying the two element counts) when a pair of dimensions
/// differs and neither is 1.
///
/// ```
/// use ember_nn::{ops, Shape};
/// let s = |d: &[usize]| Shape::new(d).unwrap();
/// assert_eq!(ops::broadcast_shape(s(&[2, 3]), s(&[3])).unwrap().dims(), &[2, 3]);
/// assert_eq!(ops::broadcast_shape(s(&[2, 1]), s(&[1, 4])).unwrap().dims(), &[2, 4]);
/// assert_eq!(ops::broadcast_shape(s(&[2, 3]), s(&[])).unwrap().dims(), &[2, 3]);
/// assert!(ops::broadcast_shape(s(&[2, 3]), s(&[2])).is_err());
/// ```
pub fn broadcast_shape(a: Shape, b: Shape) -> Result<Shape> {
    let rank = a.rank().max(b.rank());
    let mut out = [0usize; MAX_RANK];
    for (i, o) in out[..rank].iter_mut().enumerate() {
        let da = dim_from_end(a, rank - 1 - i);
        let db = dim_from_end(b, rank - 1 - i);
        *o = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::ShapeMismatch {
                expected: a.len(),
                found: b.len(),
            });
        };
    }
    Shape::new(&out[..rank])
}

/// Dimension `k` counted from the end (0: last), 1 beyond the rank.
fn dim_from_end(s: Shape, k: usize) -> usize {
    if k < s.rank() {
        s.dim(s.rank() - 1 - k)
    } else {
        1
    }
}

/// Maps each element of a broadcast result to the elements of its `N` operands.
#[derive(Debug, Clone, Copy)]
pub(super) struct Broadcast<const N: usize> {
    walk: Walk<N>,
    len: usize,
}

impl<const N: usize> Broadcast<N> {
    /// The mapping from `out` to `inputs`; fails unless every input broadcasts to `out`.
    pub(super) fn new(out: Shape, inputs: [Shape; N]) -> Result<Self> {
        let rank = out.rank();
        let mut dims = [1usize; MAX_RANK];
        for (j, d) in dims[..rank].iter_mut().enumerate() {
            *d = out.dim(j);
        }
        // Per operand, the element stride along each result dimension (0 where the
        // operand broadcasts).
        let mut strides = [[0usize; MAX_RANK]; N];
        for (s, input) in strides.iter_mut().zip(inputs) {
            if input.rank() > rank {
                return Err(mismatch(out, input));
            }
            let mut stride = 1;
            for k in 0..rank {
                let j = rank - 1 - k;
                let d = dim_from_end(input, k);
                if d == dims[j] && d != 1 {
                    s[j] = stride;
                } else if d != 1 {
                    return Err(mismatch(out, input));
                }
                stride *= d;
            }
        }
        Ok(Broadcast {
            walk: Walk::new(dims, strides, rank),
            len: out.len(),
        })
    }

    /// Elements of the result.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The operands' element indices for each result element, in order.
    pub(super) fn walk(&self) -> Walk<N> {
        self.walk
    }
}

fn mismatch(out: Shape, input: Shape) -> Error {
    Error::ShapeMismatch {
        expected: out.len(),
        found: input.len(),
    }
}
