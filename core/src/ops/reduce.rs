//! Reductions over a set of axes: `sum`, `mean`, `max`, `min`, their output shape
//! ([`reduced_shape`]) and their gradients.
//!
//! Axes are Keras's (`None`: all axes; negative counts from the end; `Some(&[])`: none).
//! The output is row-major over the kept dimensions; `keepdims` only changes the shape
//! (kept as 1 or removed), not the elements, so the functions take the output as a slice
//! of [`reduced_shape`]'s length. Loops are strided over the input in place: no scratch
//! memory.

use super::axes::axis_mask;
use super::elementwise::same_len;
use super::walk::Walk;
use crate::{Error, Result, Scalar, Shape, TensorView, MAX_RANK};

/// The shape of a reduction of `shape` over `axes`: reduced dimensions become 1 with
/// `keepdims`, and disappear without.
///
/// Keras: the output shape of `keras.ops.sum(x, axis, keepdims)` (and `mean`, `max`,
/// `min`; `K.sum`, ...).
///
/// # Errors
/// [`Error::InvalidConfig`] for an axis out of range or repeated.
///
/// ```
/// use ember_nn::{ops, Shape};
/// let s = Shape::new(&[2, 3, 4]).unwrap();
/// assert_eq!(ops::reduced_shape(s, Some(&[-1]), false).unwrap().dims(), &[2, 3]);
/// assert_eq!(ops::reduced_shape(s, Some(&[0, 2]), true).unwrap().dims(), &[1, 3, 1]);
/// assert_eq!(ops::reduced_shape(s, None, false).unwrap().rank(), 0); // a scalar
/// ```
pub fn reduced_shape(shape: Shape, axes: Option<&[i32]>, keepdims: bool) -> Result<Shape> {
    let mask = axis_mask(axes, shape.rank())?;
    let mut out = [0usize; MAX_RANK];
    let mut n = 0;
    for (i, &d) in shape.dims().iter().enumerate() {
        if mask & (1 << i) == 0 {
            out[n] = d as usize;
            n += 1;
        } else if keepdims {
            out[n] = 1;
            n += 1;
        }
    }
    Shape::new(&out[..n])
}

/// How a reduction walks its input: the output elements in order, each the reduction
/// of the input elements at `base + offset`, with `base` from [`Reduction::kept`] (one per
/// output element) and `offset` from [`Reduction::reduced`].
#[derive(Debug, Clone, Copy)]
struct Reduction {
    kept: Walk<1>,
    reduced: Walk<1>,
    /// Output elements.
    outputs: usize,
    /// Input elements per output element.
    count: usize,
}

impl Reduction {
    fn new(shape: Shape, axes: Option<&[i32]>) -> Result<Self> {
        let rank = shape.rank();
        let mask = axis_mask(axes, rank)?;
        // Row-major strides of the input, then the kept and reduced dimensions in order.
        let mut strides = [0usize; MAX_RANK];
        let mut stride = 1usize;
        for i in (0..rank).rev() {
            strides[i] = stride;
            stride = stride
                .checked_mul(shape.dim(i))
                .ok_or(Error::InvalidShape)?;
        }
        let mut kd = [1usize; MAX_RANK];
        let mut ks = [[0usize; MAX_RANK]; 1];
        let mut rd = [1usize; MAX_RANK];
        let mut rs = [[0usize; MAX_RANK]; 1];
        let (mut nk, mut nr, mut outputs, mut count) = (0, 0, 1usize, 1usize);
        for (i, (&d, &stride)) in shape.dims().iter().zip(&strides).enumerate() {
            let d = d as usize;
            if mask & (1 << i) == 0 {
                (kd[nk], ks[0][nk]) = (d, stride);
                nk += 1;
                outputs *= d;
            } else {
                (rd[nr], rs[0][nr]) = (d, stride);
                nr += 1;
                count *= d;
            }
        }
        Ok(Reduction {
            kept: Walk::new(kd, ks, nk),
            reduced: Walk::new(rd, rs, nr),
            outputs,
            count,
        })
    }

    /// The input offset of the first element reduced into each output element, in order.
    fn kept(&self) -> impl Iterator<Item = usize> {
        self.kept.map(|[o]| o)
    }

    /// The offsets, from an output element's base, of the elements reduced into it.
    fn reduced(&self) -> impl Iterator<Item = usize> {
        self.reduced.map(|[o]| o)
    }

    /// Checks an input slice and an output (or output-gradient) slice.
    fn check(&self, input: usize, output: usize) -> Result<()> {
        same_len(self.outputs * self.count, input)?;
        same_len(self.outputs, output)
    }
}

/// Element `i` of `x`, or an error (unreachable after the length checks).
#[inline]
fn at<T: Copy>(x: &[T], i: usize) -> Result<T> {
    x.get(i).copied().ok_or(Error::InvalidShape)
}

/// Sum over `axes`; `out` has [`reduced_shape`]'s length. Accumulates in
/// [`Scalar::Acc`] (exact for fixed point, which saturates once at the end).
///
/// Keras: `keras.ops.sum(x, axis, keepdims)`, `K.sum`.
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad axis, [`Error::ShapeMismatch`] for a wrong `out`
/// length.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let x = TensorView::new(Shape::new(&[2, 3]).unwrap(), &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
///     .unwrap();
/// let mut rows = [0.0f32; 2];
/// ops::sum(x, Some(&[-1]), &mut rows).unwrap();
/// assert_eq!(rows, [6.0, 15.0]);
/// let mut cols = [0.0f32; 3];
/// ops::sum(x, Some(&[0]), &mut cols).unwrap();
/// assert_eq!(cols, [5.0, 7.0, 9.0]);
/// ```
pub fn sum<T: Scalar>(x: TensorView<'_, T>, axes: Option<&[i32]>, out: &mut [T]) -> Result<()> {
    let r = Reduction::new(x.shape(), axes)?;
    let x = x.data();
    r.check(x.len(), out.len())?;
    for (slot, base) in out.iter_mut().zip(r.kept()) {
        let mut acc = T::ZERO.widen();
        for off in r.reduced() {
            acc = T::mac(acc, at(x, base + off)?, T::ONE);
        }
        *slot = T::narrow(acc);
    }
    Ok(())
}

/// Gradient of [`sum`]: `dx = dy` broadcast back over the reduced axes.
///
/// # Errors
/// As [`sum`], for `dy` (output length) and `dx` (input length).
pub fn sum_backward<T: Scalar>(
    x_shape: Shape,
    axes: Option<&[i32]>,
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    let r = Reduction::new(x_shape, axes)?;
    r.check(dx.len(), dy.len())?;
    for (&g, base) in dy.iter().zip(r.kept()) {
        for off in r.reduced() {
            *dx.get_mut(base + off).ok_or(Error::InvalidShape)? = g;
        }
    }
    Ok(())
}

/// Mean over `axes`: the [`sum`] divided by the number of reduced elements (as `jnp.mean`).
/// In fixed point the sum is exact and then divided, correctly rounded; it saturates
/// when the *sum* leaves ±32768.
///
/// Keras: `keras.ops.mean(x, axis, keepdims)`, `K.mean`.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let x = TensorView::new(Shape::new(&[2, 2]).unwrap(), &[1.0f32, 2.0, 3.0, 5.0]).unwrap();
/// let mut m = [0.0f32; 2];
/// ops::mean(x, Some(&[-1]), &mut m).unwrap();
/// assert_eq!(m, [1.5, 4.0]);
/// let mut all = [0.0f32; 1];
/// ops::mean(x, None, &mut all).unwrap();
/// assert_eq!(all, [2.75]);
/// ```
pub fn mean<T: Scalar>(x: TensorView<'_, T>, axes: Option<&[i32]>, out: &mut [T]) -> Result<()> {
    let n = T::from_usize(Reduction::new(x.shape(), axes)?.count);
    sum(x, axes, out)?;
    for v in out.iter_mut() {
        *v = v.div(n);
    }
    Ok(())
}

/// Gradient of [`mean`]: `dx = dy / n` broadcast back over the reduced axes (`n` reduced
/// elements per output).
pub fn mean_backward<T: Scalar>(
    x_shape: Shape,
    axes: Option<&[i32]>,
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    let r = Reduction::new(x_shape, axes)?;
    r.check(dx.len(), dy.len())?;
    let n = T::from_usize(r.count);
    for (&g, base) in dy.iter().zip(r.kept()) {
        let share = g.div(n);
        for off in r.reduced() {
            *dx.get_mut(base + off).ok_or(Error::InvalidShape)? = share;
        }
    }
    Ok(())
}

/// Is `v` NaN (never for fixed point)?
#[inline]
#[allow(clippy::eq_op)]
fn is_nan<T: Scalar>(v: T) -> bool {
    v != v
}

/// The extreme of the elements reduced into output `o`: the largest (`largest`) or the
/// smallest; NaN if any element is NaN (as `jnp.max`).
fn extreme<T: Scalar>(r: &Reduction, x: &[T], base: usize, largest: bool) -> Result<T> {
    let mut m = at(x, base)?;
    for off in r.reduced().skip(1) {
        let v = at(x, base + off)?;
        let better = if largest { v > m } else { v < m };
        if (better || is_nan(v)) && !is_nan(m) {
            m = v;
        }
    }
    Ok(m)
}

fn extreme_forward<T: Scalar>(
    x: TensorView<'_, T>,
    axes: Option<&[i32]>,
    out: &mut [T],
    largest: bool,
) -> Result<()> {
    let r = Reduction::new(x.shape(), axes)?;
    let x = x.data();
    r.check(x.len(), out.len())?;
    for (slot, base) in out.iter_mut().zip(r.kept()) {
        *slot = extreme(&r, x, base, largest)?;
    }
    Ok(())
}

/// `dx = dy / count` at the elements equal to the extreme (ties share the gradient
/// equally, as `jax.grad` of `jnp.max`), 0 elsewhere.
fn extreme_backward<T: Scalar>(
    x: TensorView<'_, T>,
    axes: Option<&[i32]>,
    dy: &[T],
    dx: &mut [T],
    largest: bool,
) -> Result<()> {
    let r = Reduction::new(x.shape(), axes)?;
    let x = x.data();
    r.check(x.len(), dy.len())?;
    same_len(x.len(), dx.len())?;
    for (&g, base) in dy.iter().zip(r.kept()) {
        let m = extreme(&r, x, base, largest)?;
        if is_nan(m) {
            // No element equals NaN: JAX's `indicators · (g / 0)` is NaN everywhere.
            for off in r.reduced() {
                *dx.get_mut(base + off).ok_or(Error::InvalidShape)? = m;
            }
            continue;
        }
        let mut ties = 0usize;
        for off in r.reduced() {
            ties += usize::from(at(x, base + off)? == m);
        }
        let share = g.div(T::from_usize(ties));
        for off in r.reduced() {
            let i = base + off;
            let v = at(x, i)?;
            *dx.get_mut(i).ok_or(Error::InvalidShape)? = if v == m { share } else { T::ZERO };
        }
    }
    Ok(())
}

/// Maximum over `axes` (NaN if any reduced element is NaN).
///
/// Keras: `keras.ops.max(x, axis, keepdims)`, `K.max`.
///
/// ```
/// use ember_nn::{ops, Shape, TensorView};
/// let x = TensorView::new(Shape::new(&[2, 3]).unwrap(), &[1.0f32, 3.0, 3.0, -1.0, -2.0, -3.0])
///     .unwrap();
/// let mut m = [0.0f32; 2];
/// ops::max(x, Some(&[1]), &mut m).unwrap();
/// assert_eq!(m, [3.0, -1.0]);
/// // Ties share the gradient, as jax.grad(jnp.max).
/// let mut dx = [0.0f32; 6];
/// ops::max_backward(x, Some(&[1]), &[1.0, 1.0], &mut dx).unwrap();
/// assert_eq!(dx, [0.0, 0.5, 0.5, 1.0, 0.0, 0.0]);
/// ```
pub fn max<T: Scalar>(x: TensorView<'_, T>, axes: Option<&[i32]>, out: &mut [T]) -> Result<()> {
    extreme_forward(x, axes, out, true)
}

/// Gradient of [`max`]: `dy / t` at each of the `t` elements equal to the maximum, 0
/// elsewhere (`jax.grad` of `jnp.max` splits ties equally). Recomputes the maximum from `x`.
pub fn max_backward<T: Scalar>(
    x: TensorView<'_, T>,
    axes: Option<&[i32]>,
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    extreme_backward(x, axes, dy, dx, true)
}

/// Minimum over `axes` (NaN if any reduced element is NaN).
///
/// Keras: `keras.ops.min(x, axis, keepdims)`, `K.min`.
pub fn min<T: Scalar>(x: TensorView<'_, T>, axes: Option<&[i32]>, out: &mut [T]) -> Result<()> {
    extreme_forward(x, axes, out, false)
}

/// Gradient of [`min`]: `dy / t` at each of the `t` elements equal to the minimum, 0
/// elsewhere.
pub fn min_backward<T: Scalar>(
    x: TensorView<'_, T>,
    axes: Option<&[i32]>,
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    extreme_backward(x, axes, dy, dx, false)
}
