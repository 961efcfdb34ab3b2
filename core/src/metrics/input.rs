//! Shape checks shared by the metrics: Keras's `squeeze_or_expand_to_same_rank` rule,
//! the batch size and per-sample weights.

use crate::{Error, Result, Scalar, Shape};

/// The batch size: the first dimension of `y_pred` (rank 0 has no batch axis).
pub(crate) fn batch_size(y_pred: Shape) -> Result<usize> {
    if y_pred.rank() == 0 {
        return Err(Error::InvalidShape);
    }
    Ok(y_pred.dim(0))
}

/// Keras's `squeeze_or_expand_to_same_rank`: two layouts are compatible when their dims
/// are equal, or when one is the other with a trailing axis of size 1 (`(b,)` against
/// `(b, 1)`). Both then hold the same elements in the same order.
pub(crate) fn same_layout(a: &[u32], b: &[u32]) -> bool {
    fn extends(long: &[u32], short: &[u32]) -> bool {
        long.len() == short.len() + 1 && long.last() == Some(&1) && &long[..short.len()] == short
    }
    a == b || extends(a, b) || extends(b, a)
}

/// Rank and last axis of `y_pred` after Keras's `squeeze_or_expand_to_same_rank` with a
/// compatible `y_true`: a rank-1 tensor facing a `(b, 1)` one is expanded to `(b, 1)`;
/// otherwise the one with the extra trailing 1 is squeezed.
pub(crate) fn aligned_rank_and_last(y_true: Shape, y_pred: Shape) -> (usize, usize) {
    if y_true.rank() == y_pred.rank() {
        return (y_pred.rank(), y_pred.last());
    }
    let short = if y_true.rank() < y_pred.rank() {
        y_true
    } else {
        y_pred
    };
    if short.rank() == 1 {
        (2, 1)
    } else {
        (short.rank(), short.last())
    }
}

/// Fails unless `y_true` and `y_pred` have compatible layouts (see [`same_layout`]).
pub(crate) fn check_same_layout(y_true: Shape, y_pred: Shape) -> Result<()> {
    if same_layout(y_true.dims(), y_pred.dims()) {
        Ok(())
    } else if y_true.len() != y_pred.len() {
        Err(Error::ShapeMismatch {
            expected: y_pred.len(),
            found: y_true.len(),
        })
    } else {
        Err(Error::InvalidShape)
    }
}

/// Fails unless the per-sample weights (if any) hold one value per sample.
pub(crate) fn check_weights<T: Scalar>(sample_weight: Option<&[T]>, batch: usize) -> Result<()> {
    match sample_weight {
        Some(w) if w.len() != batch => Err(Error::ShapeMismatch {
            expected: batch,
            found: w.len(),
        }),
        _ => Ok(()),
    }
}

/// Weight of sample `s` as `f32` (1 without weights). `s` is always in range after
/// [`check_weights`]; out of range reads as 0 rather than panicking.
pub(crate) fn weight_of<T: Scalar>(sample_weight: Option<&[T]>, s: usize) -> f32 {
    match sample_weight {
        Some(w) => w.get(s).map_or(0.0, |x| x.to_f32()),
        None => 1.0,
    }
}

/// `x / y`, or 0 where `y == 0`: Keras's `ops.divide_no_nan`.
pub(crate) fn divide_no_nan(x: f32, y: f32) -> f32 {
    if y == 0.0 {
        0.0
    } else {
        x / y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert!(same_layout(&[4, 3], &[4, 3]));
        assert!(same_layout(&[4], &[4, 1]));
        assert!(same_layout(&[4, 1], &[4]));
        assert!(same_layout(&[2, 3, 1], &[2, 3]));
        assert!(!same_layout(&[4], &[4, 2]));
        assert!(!same_layout(&[2, 3], &[3, 2]));
        assert!(!same_layout(&[4, 1, 1], &[4]));
        let a = Shape::new(&[2, 3]).unwrap();
        let b = Shape::new(&[3, 2]).unwrap();
        let c = Shape::new(&[2, 2]).unwrap();
        assert_eq!(check_same_layout(a, b), Err(Error::InvalidShape));
        assert_eq!(
            check_same_layout(c, a),
            Err(Error::ShapeMismatch {
                expected: 6,
                found: 4
            })
        );
        let s = |d: &[usize]| Shape::new(d).unwrap();
        assert_eq!(aligned_rank_and_last(s(&[4, 3]), s(&[4, 3])), (2, 3));
        assert_eq!(aligned_rank_and_last(s(&[4]), s(&[4])), (1, 4));
        assert_eq!(aligned_rank_and_last(s(&[4]), s(&[4, 1])), (2, 1));
        assert_eq!(aligned_rank_and_last(s(&[4, 1]), s(&[4])), (2, 1));
        assert_eq!(aligned_rank_and_last(s(&[4, 2, 1]), s(&[4, 2])), (2, 2));
        assert_eq!(aligned_rank_and_last(s(&[4, 2]), s(&[4, 2, 1])), (2, 2));
        assert_eq!(divide_no_nan(1.0, 0.0), 0.0);
        assert_eq!(divide_no_nan(1.0, 4.0), 0.25);
    }
}
