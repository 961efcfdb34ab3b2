//! Broadcasting binary arithmetic: `add`, `subtract`, `multiply`, `divide`, and their
//! gradients — what a custom loss needs to combine `y_true` and `y_pred`.
//!
//! Operands broadcast as NumPy ([`super::broadcast_shape`]); the output has the
//! broadcast shape's length. A gradient with respect to an operand that was broadcast is
//! summed over the positions it was broadcast to (as `jax.grad`), so the `_backward`
//! functions overwrite `da` / `db` (pass `None` to skip one). Fixed point saturates;
//! its division by zero saturates too (f32: ±inf or NaN).

use super::broadcast::{broadcast_shape, Broadcast};
use super::elementwise::same_len;
use crate::{Error, Result, Scalar, Shape, TensorView};

/// `out = f(a, b)` over the broadcast.
fn binary<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [T],
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let map = Broadcast::new(shape, [a.shape(), b.shape()])?;
    same_len(map.len(), out.len())?;
    let (a, b) = (a.data(), b.data());
    for (o, [ia, ib]) in out.iter_mut().zip(map.walk()) {
        match (a.get(ia), b.get(ib)) {
            (Some(&x), Some(&y)) => *o = f(x, y),
            _ => return Err(Error::InvalidShape),
        }
    }
    Ok(())
}

/// Accumulates `ga(i)` into `da` and `gb(i)` into `db` (each zeroed first) over the
/// broadcast of `a_shape` and `b_shape`, where `i` indexes `dy`.
fn binary_backward<T: Scalar>(
    a_shape: Shape,
    b_shape: Shape,
    dy: &[T],
    mut da: Option<&mut [T]>,
    mut db: Option<&mut [T]>,
    ga: impl Fn(T, usize, usize) -> Result<T>,
    gb: impl Fn(T, usize, usize) -> Result<T>,
) -> Result<()> {
    let shape = broadcast_shape(a_shape, b_shape)?;
    let map = Broadcast::new(shape, [a_shape, b_shape])?;
    same_len(map.len(), dy.len())?;
    for (d, s) in [(da.as_deref_mut(), a_shape), (db.as_deref_mut(), b_shape)] {
        if let Some(d) = d {
            same_len(s.len(), d.len())?;
            d.fill(T::ZERO);
        }
    }
    for (&g, [ia, ib]) in dy.iter().zip(map.walk()) {
        if let Some(d) = da.as_deref_mut() {
            let slot = d.get_mut(ia).ok_or(Error::InvalidShape)?;
            *slot = *slot + ga(g, ia, ib)?;
        }
        if let Some(d) = db.as_deref_mut() {
            let slot = d.get_mut(ib).ok_or(Error::InvalidShape)?;
            *slot = *slot + gb(g, ia, ib)?;
        }
    }
    Ok(())
}

fn at<T: Copy>(x: &[T], i: usize) -> Result<T> {
    x.get(i).copied().ok_or(Error::InvalidShape)
}

/// `a + b`, broadcast. Keras: `keras.ops.add`, `x + y` on Keras tensors.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the shapes do not broadcast or `out` has the wrong length.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let a = TensorView::new(Shape::new(&[2, 2]).unwrap(), &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let b = TensorView::new(Shape::new(&[2]).unwrap(), &[10.0f32, 20.0]).unwrap();
/// let mut out = [0.0f32; 4];
/// ops::add(a, b, &mut out).unwrap();
/// assert_eq!(out, [11.0, 22.0, 13.0, 24.0]);
/// ```
pub fn add<T: Scalar>(a: TensorView<'_, T>, b: TensorView<'_, T>, out: &mut [T]) -> Result<()> {
    binary(a, b, out, |x, y| x + y)
}

/// Gradient of [`add`]: `da = dy`, `db = dy`, each summed over its broadcast positions.
pub fn add_backward<T: Scalar>(
    a_shape: Shape,
    b_shape: Shape,
    dy: &[T],
    da: Option<&mut [T]>,
    db: Option<&mut [T]>,
) -> Result<()> {
    binary_backward(
        a_shape,
        b_shape,
        dy,
        da,
        db,
        |g, _, _| Ok(g),
        |g, _, _| Ok(g),
    )
}

/// `a − b`, broadcast. Keras: `keras.ops.subtract`, `x - y` on Keras tensors.
pub fn subtract<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [T],
) -> Result<()> {
    binary(a, b, out, |x, y| x - y)
}

/// Gradient of [`subtract`]: `da = dy`, `db = −dy`, each summed over its broadcast
/// positions.
pub fn subtract_backward<T: Scalar>(
    a_shape: Shape,
    b_shape: Shape,
    dy: &[T],
    da: Option<&mut [T]>,
    db: Option<&mut [T]>,
) -> Result<()> {
    binary_backward(
        a_shape,
        b_shape,
        dy,
        da,
        db,
        |g, _, _| Ok(g),
        |g, _, _| Ok(-g),
    )
}

/// `a · b`, broadcast. Keras: `keras.ops.multiply`, `x * y` on Keras tensors.
pub fn multiply<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    out: &mut [T],
) -> Result<()> {
    binary(a, b, out, |x, y| x * y)
}

/// Gradient of [`multiply`]: `da = dy · b`, `db = dy · a` (JAX's order of operands),
/// each summed over its broadcast positions.
pub fn multiply_backward<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    dy: &[T],
    da: Option<&mut [T]>,
    db: Option<&mut [T]>,
) -> Result<()> {
    let (av, bv) = (a.data(), b.data());
    binary_backward(
        a.shape(),
        b.shape(),
        dy,
        da,
        db,
        |g, _, ib| Ok(g * at(bv, ib)?),
        |g, ia, _| Ok(at(av, ia)? * g),
    )
}

/// `a / b`, broadcast. Keras: `keras.ops.divide`, `x / y` on Keras tensors.
pub fn divide<T: Scalar>(a: TensorView<'_, T>, b: TensorView<'_, T>, out: &mut [T]) -> Result<()> {
    binary(a, b, out, |x, y| x.div(y))
}

/// Gradient of [`divide`]: `da = dy / b`, `db = (−dy · a) / b²` (JAX's rule), each summed
/// over its broadcast positions.
pub fn divide_backward<T: Scalar>(
    a: TensorView<'_, T>,
    b: TensorView<'_, T>,
    dy: &[T],
    da: Option<&mut [T]>,
    db: Option<&mut [T]>,
) -> Result<()> {
    let (av, bv) = (a.data(), b.data());
    binary_backward(
        a.shape(),
        b.shape(),
        dy,
        da,
        db,
        |g, _, ib| Ok(g.div(at(bv, ib)?)),
        |g, ia, ib| {
            let y = at(bv, ib)?;
            Ok((-g * at(av, ia)?).div(y * y))
        },
    )
}
