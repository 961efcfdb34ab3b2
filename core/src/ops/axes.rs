//! Keras axis arguments: an axis counts every dimension of the tensor it applies to, and a
//! negative axis counts from the end (`-1` is the last dimension), as in `keras.ops`.

use crate::{Error, Result, MAX_RANK};

/// The dimension a Keras `axis` names in a tensor of rank `rank`: `axis` if
/// `0 ≤ axis < rank`, `rank + axis` if `−rank ≤ axis < 0`.
///
/// Keras: the `axis` argument of `keras.ops.*` / `K.*` (e.g. `keras.ops.sum(x, axis=-1)`).
///
/// # Errors
/// [`Error::InvalidConfig`] when the axis is out of range (Keras raises `ValueError`).
///
/// ```
/// use ember_nn::ops::normalize_axis;
/// assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
/// assert_eq!(normalize_axis(0, 3).unwrap(), 0);
/// assert!(normalize_axis(3, 3).is_err());
/// assert!(normalize_axis(-4, 3).is_err());
/// ```
pub fn normalize_axis(axis: i32, rank: usize) -> Result<usize> {
    let r = i64::try_from(rank).map_err(|_| Error::InvalidShape)?;
    let a = i64::from(axis);
    let a = if a < 0 { a + r } else { a };
    if a < 0 || a >= r {
        return Err(Error::InvalidConfig("ops: axis out of range"));
    }
    usize::try_from(a).map_err(|_| Error::InvalidConfig("ops: axis out of range"))
}

/// A set of axes of a tensor of rank `rank` as a bit mask (bit `i`: dimension `i`).
/// `None` is Keras's `axis=None`: every axis. `Some(&[])` is `axis=()`: no axis.
///
/// # Errors
/// [`Error::InvalidConfig`] for an axis out of range or named twice (Keras and NumPy
/// refuse repeated axes); [`Error::InvalidShape`] for a rank above [`MAX_RANK`].
///
/// ```
/// use ember_nn::ops::axis_mask;
/// assert_eq!(axis_mask(Some(&[0, -1]), 3).unwrap(), 0b101);
/// assert_eq!(axis_mask(None, 3).unwrap(), 0b111);
/// assert!(axis_mask(Some(&[1, -2]), 3).is_err()); // the same axis twice
/// ```
pub fn axis_mask(axes: Option<&[i32]>, rank: usize) -> Result<u8> {
    if rank > MAX_RANK {
        return Err(Error::InvalidShape);
    }
    let Some(axes) = axes else {
        return Ok(((1u16 << rank) - 1) as u8);
    };
    let mut mask = 0u8;
    for &axis in axes {
        let bit = 1u8 << normalize_axis(axis, rank)?;
        if mask & bit != 0 {
            return Err(Error::InvalidConfig("ops: repeated axis"));
        }
        mask |= bit;
    }
    Ok(mask)
}
