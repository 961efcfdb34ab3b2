//! Elementwise comparisons writing `bool`s: `less`, `less_equal`, `greater`,
//! `greater_equal`, `equal`, `not_equal`, with NumPy broadcasting
//! ([`super::broadcast_shape`]); and [`BoolView`], a shaped `bool` tensor.
//!
//! Comparisons are IEEE for f32 (any comparison with NaN is false except `not_equal`)
//! and exact for fixed point. They have no gradient (`jax.grad` gives zero through them).

use super::broadcast::{broadcast_shape, Broadcast};
use crate::{Error, Result, Scalar, Shape, TensorView};

/// A read-only `bool` tensor: a shape and exactly `shape.len()` elements, row-major. The
/// output of the comparisons, the condition of [`super::switch`].
#[derive(Debug, Clone, Copy)]
pub struct BoolView<'a> {
    shape: Shape,
    data: &'a [bool],
}

impl<'a> BoolView<'a> {
    /// A view of `data` as `shape`; fails unless `data.len() == shape.len()`.
    ///
    /// ```
    /// use ember_nn::{ops::BoolView, Shape};
    /// let c = BoolView::new(Shape::new(&[2]).unwrap(), &[true, false]).unwrap();
    /// assert_eq!(c.data(), &[true, false]);
    /// assert!(BoolView::new(Shape::new(&[3]).unwrap(), &[true]).is_err());
    /// ```
    pub fn new(shape: Shape, data: &'a [bool]) -> Result<Self> {
        if shape.len() != data.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: data.len(),
            });
        }
        Ok(BoolView { shape, data })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The elements.
    pub fn data(&self) -> &'a [bool] {
        self.data
    }
}

/// `out[i] = f(a[i], b[i])` over the broadcast of `a` and `b`; `out` holds exactly the
/// broadcast shape's elements.
fn compare<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
    f: impl Fn(T, T) -> bool,
) -> Result<()> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let map = Broadcast::new(shape, [a.shape(), b.shape()])?;
    super::elementwise::same_len(map.len(), out.len())?;
    let (a, b) = (a.data(), b.data());
    for (o, [ia, ib]) in out.iter_mut().zip(map.walk()) {
        match (a.get(ia), b.get(ib)) {
            (Some(&x), Some(&y)) => *o = f(x, y),
            _ => return Err(Error::InvalidShape),
        }
    }
    Ok(())
}

/// `a < b` elementwise, broadcast; `out` has the broadcast shape's length.
///
/// Keras: `keras.ops.less`, `K.less`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the shapes do not broadcast or `out` has the wrong length.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let a = TensorView::new(Shape::new(&[3]).unwrap(), &[1.0f32, 2.0, 3.0]).unwrap();
/// let two = TensorView::new(Shape::new(&[]).unwrap(), &[2.0f32]).unwrap();
/// let mut out = [false; 3];
/// ops::less(a, two, &mut out).unwrap();
/// assert_eq!(out, [true, false, false]);
/// ```
pub fn less<T: Scalar>(a: TensorView<'_, T>, b: TensorView<'_, T>, out: &mut [bool]) -> Result<()> {
    compare(a, b, out, |x, y| x < y)
}

/// `a ≤ b` elementwise, broadcast. Keras: `keras.ops.less_equal`, `K.less_equal`.
pub fn less_equal<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
) -> Result<()> {
    compare(a, b, out, |x, y| x <= y)
}

/// `a > b` elementwise, broadcast. Keras: `keras.ops.greater`, `K.greater`.
pub fn greater<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
) -> Result<()> {
    compare(a, b, out, |x, y| x > y)
}

/// `a ≥ b` elementwise, broadcast. Keras: `keras.ops.greater_equal`, `K.greater_equal`.
pub fn greater_equal<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
) -> Result<()> {
    compare(a, b, out, |x, y| x >= y)
}

/// `a == b` elementwise, broadcast. Keras: `keras.ops.equal`, `K.equal`.
pub fn equal<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
) -> Result<()> {
    compare(a, b, out, |x, y| x == y)
}

/// `a != b` elementwise, broadcast (true when either is NaN). Keras:
/// `keras.ops.not_equal`, `K.not_equal`.
pub fn not_equal<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [bool],
) -> Result<()> {
    compare(a, b, out, |x, y| x != y)
}
