//! Shared plumbing of the parameter-free elementwise activation layers: length checks
//! and the map / backward loops.

use crate::{Error, Result, Scalar, TensorView, TensorViewMut};

/// `Err(ShapeMismatch)` unless `expected == found`.
pub(crate) fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// `Err(ShapeMismatch)` unless a parameter-free layer got no parameters.
pub(crate) fn no_params<T>(params: &[&[T]]) -> Result<()> {
    check(0, params.len())
}

/// `Err(InvalidConfig(what))` unless `v` is finite (NaN or ±inf hyperparameters are
/// refused at load, which also keeps the layers' `Eq` reflexive).
pub(crate) fn finite(v: f32, what: &'static str) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidConfig(what))
    }
}

/// `y[i] = f(x[i])` after checking that `x` and `y` have as many elements.
pub(crate) fn map<T: Scalar>(
    x: TensorView<'_, T>,
    mut y: TensorViewMut<'_, T>,
    f: impl Fn(T) -> T,
) -> Result<()> {
    check(x.data().len(), y.data().len())?;
    for (o, &v) in y.data().iter_mut().zip(x.data()) {
        *o = f(v);
    }
    Ok(())
}

/// `dx[i] = g(x[i], dy[i])` (when `dx` is wanted) after checking lengths.
pub(crate) fn backward_x<T: Scalar>(
    x: TensorView<'_, T>,
    y: TensorView<'_, T>,
    dy: &[T],
    dx: Option<&mut [T]>,
    g: impl Fn(T, T) -> T,
) -> Result<()> {
    let n = x.data().len();
    check(n, y.data().len())?;
    check(n, dy.len())?;
    if let Some(dx) = dx {
        check(n, dx.len())?;
        for ((o, &v), &d) in dx.iter_mut().zip(x.data()).zip(dy) {
            *o = g(v, d);
        }
    }
    Ok(())
}
