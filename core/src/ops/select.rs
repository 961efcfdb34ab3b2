//! `switch` (`keras.ops.where`): pick each element from one of two tensors by a condition,
//! and its gradient, routed to the branch that was picked.

use super::broadcast::{broadcast_shape, Broadcast};
use super::compare::BoolView;
use super::elementwise::same_len;
use crate::{Error, Result, Scalar, Shape, TensorView};

/// The result shape of a `switch`: the NumPy broadcast of the three shapes.
fn switch_shape(cond: Shape, then: Shape, else_: Shape) -> Result<(Shape, Broadcast<3>)> {
    let shape = broadcast_shape(broadcast_shape(cond, then)?, else_)?;
    Ok((shape, Broadcast::new(shape, [cond, then, else_])?))
}

/// `out = cond ? then : else_`, elementwise, with NumPy broadcasting of the three
/// operands ([`super::broadcast_shape`]); `out` has the broadcast shape's length.
///
/// Keras: `keras.ops.where(condition, x1, x2)`, `K.switch(condition, then_expression,
/// else_expression)`. The legacy `K.switch` broadcasts a lower-rank condition against the
/// *leading* dimensions (it appends dimensions to it); for that, view the condition with
/// [`super::expand_dims`] first.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the shapes do not broadcast or `out` has the wrong length.
///
/// ```
/// use ember_nn::{ops, ops::BoolView, Shape, TensorView};
/// let s = Shape::new(&[3]).unwrap();
/// let cond = BoolView::new(s, &[true, false, true]).unwrap();
/// let a = TensorView::new(s, &[1.0f32, 2.0, 3.0]).unwrap();
/// let zero = TensorView::new(Shape::new(&[]).unwrap(), &[0.0f32]).unwrap();
/// let mut out = [9.0f32; 3];
/// ops::switch(cond, a, zero, &mut out).unwrap();
/// assert_eq!(out, [1.0, 0.0, 3.0]);
/// ```
pub fn switch<T: Scalar>(
    cond: BoolView<'_>,
    then: TensorView<'_, T>,
    else_: TensorView<'_, T>,
    out: &mut [T],
) -> Result<()> {
    let (_, map) = switch_shape(cond.shape(), then.shape(), else_.shape())?;
    same_len(map.len(), out.len())?;
    let (c, t, e) = (cond.data(), then.data(), else_.data());
    for (o, [ic, it, ie]) in out.iter_mut().zip(map.walk()) {
        let picked = match c.get(ic) {
            Some(true) => t.get(it),
            Some(false) => e.get(ie),
            None => None,
        };
        *o = *picked.ok_or(Error::InvalidShape)?;
    }
    Ok(())
}

/// Gradient of [`switch`]: `dthen` receives `dy` where the condition is true, `delse`
/// where it is false, and 0 elsewhere; an operand that was broadcast receives the sum
/// over the positions it was broadcast to (as `jax.grad` of `jnp.where`). Pass `None` for
/// a gradient you do not need. `dy` has the broadcast shape's length, `dthen` and `delse`
/// their operand's.
///
/// # Errors
/// [`Error::ShapeMismatch`] for shapes that do not broadcast or a wrong length.
///
/// ```
/// use ember_nn::{ops, ops::BoolView, Shape};
/// let s = Shape::new(&[3]).unwrap();
/// let cond = BoolView::new(s, &[true, false, true]).unwrap();
/// let scalar = Shape::new(&[]).unwrap();
/// let (mut dthen, mut delse) = ([0.0f32; 3], [0.0f32; 1]);
/// ops::switch_backward(cond, s, scalar, &[1.0, 2.0, 3.0], Some(&mut dthen), Some(&mut delse))
///     .unwrap();
/// assert_eq!(dthen, [1.0, 0.0, 3.0]);
/// assert_eq!(delse, [2.0]);
/// ```
pub fn switch_backward<T: Scalar>(
    cond: BoolView<'_>,
    then_shape: Shape,
    else_shape: Shape,
    dy: &[T],
    mut dthen: Option<&mut [T]>,
    mut delse: Option<&mut [T]>,
) -> Result<()> {
    let (_, map) = switch_shape(cond.shape(), then_shape, else_shape)?;
    same_len(map.len(), dy.len())?;
    if let Some(d) = dthen.as_deref_mut() {
        same_len(then_shape.len(), d.len())?;
        d.fill(T::ZERO);
    }
    if let Some(d) = delse.as_deref_mut() {
        same_len(else_shape.len(), d.len())?;
        d.fill(T::ZERO);
    }
    let c = cond.data();
    for (&g, [ic, it, ie]) in dy.iter().zip(map.walk()) {
        let (target, at) = match c.get(ic) {
            Some(true) => (dthen.as_deref_mut(), it),
            Some(false) => (delse.as_deref_mut(), ie),
            None => return Err(Error::InvalidShape),
        };
        if let Some(d) = target {
            let slot = d.get_mut(at).ok_or(Error::InvalidShape)?;
            *slot = *slot + g;
        }
    }
    Ok(())
}
