//! Weight constraints (Keras: `keras.constraints`): projections applied to a weight tensor
//! after each optimizer update.
//!
//! Keras's optimizer ends `apply(grads)` with `variable.assign(constraint(variable))` for
//! every trainable variable that has a constraint; [`crate::Sequential::train_on_batch`]
//! does the same for the parameter tensors of the layers that train (see
//! [`crate::layers::LayerAttrs`]).

mod axes;
mod constraint;

pub use axes::NormAxes;
pub use constraint::{Constraint, EPSILON};
