//! Shape-only ops: `squeeze`, `expand_dims`, `reshape`, `int_shape`.
//!
//! A row-major tensor's elements do not move when a dimension of 1 is removed or
//! inserted or when it is reshaped, so these ops compute a new [`Shape`] and the `_view`
//! variants put it over the same slice: no copy, no memory. Their gradients are the
//! identity on the data (view `dy` with the input's shape).

use super::axes::normalize_axis;
use crate::{Error, Result, Scalar, Shape, TensorView, MAX_RANK};

/// The dimensions of a shape as `usize`s (the first `shape.rank()` entries).
fn dims_of(shape: Shape) -> [usize; MAX_RANK] {
    let mut d = [0usize; MAX_RANK];
    for (o, &v) in d.iter_mut().zip(shape.dims()) {
        *o = v as usize;
    }
    d
}

/// The shape without the dimension `axis` (which must be 1), or without every dimension of
/// 1 when `axis` is `None`.
///
/// Keras: `keras.ops.squeeze(x, axis=None)`, `K.squeeze(x, axis)`.
///
/// # Errors
/// [`Error::InvalidConfig`] when `axis` is out of range or its dimension is not 1 (Keras
/// raises `ValueError`).
///
/// ```
/// use ember_nn::{ops, Shape};
/// let s = Shape::new(&[1, 3, 1]).unwrap();
/// assert_eq!(ops::squeeze(s, Some(-1)).unwrap().dims(), &[1, 3]);
/// assert_eq!(ops::squeeze(s, None).unwrap().dims(), &[3]);
/// assert!(ops::squeeze(s, Some(1)).is_err()); // dimension 3 is not 1
/// ```
pub fn squeeze(shape: Shape, axis: Option<i32>) -> Result<Shape> {
    let d = dims_of(shape);
    let rank = shape.rank();
    let drop = match axis {
        Some(a) => {
            let a = normalize_axis(a, rank)?;
            if d[a] != 1 {
                return Err(Error::InvalidConfig(
                    "ops::squeeze: the squeezed dimension is not 1",
                ));
            }
            1u8 << a
        }
        None => (0..rank)
            .filter(|&i| d[i] == 1)
            .fold(0u8, |m, i| m | (1 << i)),
    };
    let mut out = [0usize; MAX_RANK];
    let mut n = 0;
    for (i, &v) in d[..rank].iter().enumerate() {
        if drop & (1 << i) == 0 {
            out[n] = v;
            n += 1;
        }
    }
    Shape::new(&out[..n])
}

/// The shape with a dimension of 1 inserted so that it becomes dimension `axis` of the
/// result (`axis` in `−(rank + 1) ..= rank`; `-1` appends).
///
/// Keras: `keras.ops.expand_dims(x, axis)`, `K.expand_dims(x, axis=-1)`.
///
/// # Errors
/// [`Error::InvalidConfig`] for an axis out of range, [`Error::InvalidShape`] when the
/// result would exceed [`MAX_RANK`].
///
/// ```
/// use ember_nn::{ops, Shape};
/// let s = Shape::new(&[2, 3]).unwrap();
/// assert_eq!(ops::expand_dims(s, -1).unwrap().dims(), &[2, 3, 1]);
/// assert_eq!(ops::expand_dims(s, 0).unwrap().dims(), &[1, 2, 3]);
/// assert_eq!(ops::expand_dims(s, -3).unwrap().dims(), &[1, 2, 3]);
/// assert!(ops::expand_dims(s, 3).is_err());
/// ```
pub fn expand_dims(shape: Shape, axis: i32) -> Result<Shape> {
    let rank = shape.rank();
    if rank >= MAX_RANK {
        return Err(Error::InvalidShape);
    }
    let a = normalize_axis(axis, rank + 1)?;
    let d = dims_of(shape);
    let mut out = [0usize; MAX_RANK];
    let mut src = 0;
    for (i, o) in out[..=rank].iter_mut().enumerate() {
        if i == a {
            *o = 1;
        } else {
            *o = d[src];
            src += 1;
        }
    }
    Shape::new(&out[..=rank])
}

/// `shape` reshaped to `target`, where at most one entry is `-1` (inferred so that the
/// element count is unchanged). An empty `target` is a scalar (one element).
///
/// Keras: `keras.ops.reshape(x, newshape)`, `K.reshape(x, shape)`.
///
/// # Errors
/// [`Error::InvalidConfig`] for two `-1`s, a zero or an entry below `-1`;
/// [`Error::ShapeMismatch`] when the element counts cannot agree;
/// [`Error::InvalidShape`] for more than [`MAX_RANK`] dimensions.
///
/// ```
/// use ember_nn::{ops, Shape};
/// let s = Shape::new(&[2, 3, 4]).unwrap();
/// assert_eq!(ops::reshape(s, &[4, -1]).unwrap().dims(), &[4, 6]);
/// assert_eq!(ops::reshape(s, &[-1]).unwrap().dims(), &[24]);
/// assert!(ops::reshape(s, &[5, -1]).is_err()); // 24 is not a multiple of 5
/// assert!(ops::reshape(s, &[-1, -1]).is_err());
/// ```
pub fn reshape(shape: Shape, target: &[i32]) -> Result<Shape> {
    if target.len() > MAX_RANK {
        return Err(Error::InvalidShape);
    }
    let mut out = [0usize; MAX_RANK];
    let mut infer = None;
    let mut known: usize = 1;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => infer = Some(i),
            -1 => return Err(Error::InvalidConfig("ops::reshape: more than one -1")),
            t if t <= 0 => {
                return Err(Error::InvalidConfig(
                    "ops::reshape: dimensions must be positive or -1",
                ))
            }
            t => {
                let t = t as usize;
                out[i] = t;
                known = known.checked_mul(t).ok_or(Error::InvalidShape)?;
            }
        }
    }
    let total = shape.len();
    if let Some(i) = infer {
        if total % known != 0 {
            return Err(Error::ShapeMismatch {
                expected: total,
                found: known,
            });
        }
        out[i] = total / known;
    } else if known != total {
        return Err(Error::ShapeMismatch {
            expected: total,
            found: known,
        });
    }
    Shape::new(&out[..target.len()])
}

/// The static shape of a tensor (Ember shapes are always fully known).
///
/// Keras: `K.int_shape(x)`, `keras.ops.shape(x)`; `K.ndim(x)` is `int_shape(x).rank()`.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let data = [0.0f32; 6];
/// let x = TensorView::new(Shape::new(&[2, 3]).unwrap(), &data).unwrap();
/// assert_eq!(ops::int_shape(&x).dims(), &[2, 3]);
/// ```
pub fn int_shape<T: Scalar>(x: &TensorView<'_, T>) -> Shape {
    x.shape()
}

/// [`squeeze`] as a view over the same data.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let data = [1.0f32, 2.0, 3.0];
/// let x = TensorView::new(Shape::new(&[1, 3]).unwrap(), &data).unwrap();
/// let y = ops::squeeze_view(x, Some(0)).unwrap();
/// assert_eq!(y.shape().dims(), &[3]);
/// assert_eq!(y.data(), &data);
/// ```
pub fn squeeze_view<T: Scalar>(
    x: TensorView<'_, T>,
    axis: Option<i32>,
) -> Result<TensorView<'_, T>> {
    TensorView::new(squeeze(x.shape(), axis)?, x.data())
}

/// [`expand_dims`] as a view over the same data.
pub fn expand_dims_view<T: Scalar>(x: TensorView<'_, T>, axis: i32) -> Result<TensorView<'_, T>> {
    TensorView::new(expand_dims(x.shape(), axis)?, x.data())
}

/// [`reshape`] as a view over the same data.
pub fn reshape_view<'a, T: Scalar>(
    x: TensorView<'a, T>,
    target: &[i32],
) -> Result<TensorView<'a, T>> {
    TensorView::new(reshape(x.shape(), target)?, x.data())
}
