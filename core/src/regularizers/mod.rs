//! Weight and activity regularizers (Keras: `keras.regularizers`): penalties added to the
//! training loss.
//!
//! A layer may carry a [`Regularizer`] on each trainable parameter tensor (Keras:
//! `kernel_regularizer`, `bias_regularizer`, `alpha_regularizer`, `gamma_regularizer`, …)
//! and one on its output (`activity_regularizer`); see [`crate::layers::LayerAttrs`].
//! As in Keras 3, the loss [`crate::Sequential::train_on_batch`] reports and minimizes is
//! the compiled loss plus every regularization loss: `reg(w)` per regularized weight
//! tensor of the layers that train, and `reg(y) / batch` per activity-regularized layer
//! output `y` (Keras divides the activity penalty by the batch size).

mod regularizer;

pub use regularizer::Regularizer;
