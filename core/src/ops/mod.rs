//! Backend ops — Keras's `keras.ops` / legacy `K.*` functions — on tensor views, for the
//! code users write themselves: `Lambda` functions, custom losses and metrics.
//!
//! Every op is a plain function over caller-provided memory (no heap, no scratch),
//! generic over [`crate::Scalar`] (f32 and [`crate::Q16_16`]), returning
//! [`crate::Result`]: wrong lengths, bad axes and shapes that do not broadcast are errors,
//! never panics. Each differentiable op has a `_backward` function, its vector-Jacobian
//! product: given what the op read and the gradient of its output (`dy`), it writes the
//! gradient of its inputs, with the values `jax.grad` gives (Keras 3's JAX backend is the
//! spec), including the choices at kinks (`abs'(0) = 1`, ties of `max` share the
//! gradient, `clip` passes half at a bound).
//!
//! | Keras | here |
//! |---|---|
//! | `squeeze`, `expand_dims`, `reshape`, `int_shape` | [`squeeze`], [`expand_dims`], [`reshape`], [`int_shape`] (shapes; `_view` variants re-view the same data) |
//! | `abs`, `square`, `sqrt`, `exp`, `log`, `clip` | [`abs`], [`square`], [`sqrt`], [`exp`], [`log`], [`clip`] and `_backward`s |
//! | `add`, `subtract`, `multiply`, `divide` | [`add`], [`subtract`], [`multiply`], [`divide`] (broadcasting) and `_backward`s |
//! | `less`, `less_equal`, `greater`, `greater_equal`, `equal`, `not_equal` | same names, writing `bool`s |
//! | `K.switch` / `keras.ops.where` | [`switch`], [`switch_backward`] |
//! | `sum`, `mean`, `max`, `min` (`axis`, `keepdims`) | [`sum`], [`mean`], [`max`], [`min`], [`reduced_shape`] and `_backward`s |
//! | `cast` | [`cast`] (f32 ↔ Q16.16), [`cast_bool`], [`cast_to_bool`] |
//!
//! Axes follow Keras: an axis counts every dimension of the tensor passed (there is no
//! implicit batch dimension here), negative axes count from the end, and reductions take
//! `None` for "all axes". Shapes broadcast as NumPy ([`broadcast_shape`]).
//!
//! # A custom loss
//! Keras's `mean(square(y_pred - y_true), axis=-1)` and its gradient with respect to
//! `y_pred`, running the ops forward and their `_backward`s in reverse order:
//!
//! ```
//! use ember_nn::{ops, Shape, TensorView};
//!
//! fn mse(y_true: &[f32], y_pred: &[f32], shape: Shape, loss: &mut [f32], d_pred: &mut [f32])
//!     -> ember_nn::Result<()>
//! {
//!     let (t, p) = (TensorView::new(shape, y_true)?, TensorView::new(shape, y_pred)?);
//!     let mut diff = [0.0f32; 4];
//!     let mut sq = [0.0f32; 4];
//!     ops::subtract(p, t, &mut diff)?;
//!     ops::square(&diff, &mut sq)?;
//!     ops::mean(TensorView::new(shape, &sq)?, Some(&[-1]), loss)?;
//!     // Backward, from d(loss) = 1 for every sample.
//!     let d_loss = [1.0f32; 2];
//!     let mut d_sq = [0.0f32; 4];
//!     let mut d_diff = [0.0f32; 4];
//!     ops::mean_backward(shape, Some(&[-1]), &d_loss, &mut d_sq)?;
//!     ops::square_backward(&diff, &d_sq, &mut d_diff)?;
//!     ops::subtract_backward(shape, shape, &d_diff, Some(d_pred), None)
//! }
//!
//! let shape = Shape::new(&[2, 2]).unwrap();
//! let (mut loss, mut grad) = ([0.0f32; 2], [0.0f32; 4]);
//! mse(&[0.0, 1.0, 1.0, 1.0], &[0.5, 1.0, 1.0, 3.0], shape, &mut loss, &mut grad).unwrap();
//! assert_eq!(loss, [0.125, 2.0]); // (0.25 + 0) / 2, (0 + 4) / 2
//! assert_eq!(grad, [0.5, 0.0, 0.0, 2.0]); // 2 · diff / 2
//! ```
//!
//! (`K.function`, running a sub-graph as a function, belongs to the model: see
//! [`crate::model`].)

mod arithmetic;
mod axes;
mod broadcast;
mod cast;
mod compare;
mod elementwise;
mod reduce;
mod select;
mod shape_ops;
mod walk;

pub use arithmetic::{
    add, add_backward, divide, divide_backward, multiply, multiply_backward, subtract,
    subtract_backward,
};
pub use axes::{axis_mask, normalize_axis};
pub use broadcast::broadcast_shape;
pub use cast::{cast, cast_bool, cast_to_bool};
pub use compare::{equal, greater, greater_equal, less, less_equal, not_equal, BoolView};
pub use elementwise::{
    abs, abs_backward, clip, clip_backward, exp, exp_backward, log, log_backward, sqrt,
    sqrt_backward, square, square_backward,
};
pub use reduce::{
    max, max_backward, mean, mean_backward, min, min_backward, reduced_shape, sum, sum_backward,
};
pub use select::{switch, switch_backward};
pub use shape_ops::{
    expand_dims, expand_dims_view, int_shape, reshape, reshape_view, squeeze, squeeze_view,
};
