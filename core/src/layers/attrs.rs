//! [`LayerAttrs`]: a layer's training attributes (regularizers and constraints).

use serde::{Deserialize, Serialize};

/// Parameter tensors a [`LayerAttrs`] can regularize or constrain: the first 4 of a
/// layer (the blob stores exactly 4 slots of each; a `Bidirectional`'s 6 tensors carry
/// none).
pub const ATTR_PARAMS: usize = 4;
use crate::constraints::Constraint;
use crate::regularizers::Regularizer;
use crate::{Error, Result, Shape};

/// What a layer adds to training beyond its computation: a [`Regularizer`] and a
/// [`Constraint`] per trainable parameter tensor, and a regularizer on its output.
///
/// Keras: the `*_regularizer` / `*_constraint` arguments of a layer's weights (Dense's
/// `kernel_regularizer`, `bias_constraint`, PReLU's `alpha_*`, the normalization layers'
/// `gamma_*` / `beta_*`) and every layer's `activity_regularizer`. Entry `i` of
/// `regularizers` / `constraints` belongs to parameter `i` in Keras's weight order;
/// entries past the layer's trainable tensors must be `None` (state tensors such as
/// moving statistics are never regularized or constrained).
///
/// ```
/// use ember_nn::constraints::Constraint;
/// use ember_nn::layers::LayerAttrs;
/// use ember_nn::regularizers::Regularizer;
/// // Dense(kernel_regularizer=L2(0.01), bias_constraint=NonNeg())
/// let a = LayerAttrs::NONE
///     .with_regularizer(0, Regularizer::L2_DEFAULT)
///     .with_constraint(1, Constraint::NonNeg);
/// assert!(!a.is_none());
/// assert_eq!(a.regularizers[0], Some(Regularizer::L2 { l2: 0.01 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerAttrs {
    /// Penalty on the layer's output (Keras `activity_regularizer`), divided by the batch
    /// size as Keras does.
    pub activity_regularizer: Option<Regularizer>,
    /// Penalty per parameter tensor.
    pub regularizers: [Option<Regularizer>; ATTR_PARAMS],
    /// Projection per parameter tensor, applied after each update.
    pub constraints: [Option<Constraint>; ATTR_PARAMS],
}

impl LayerAttrs {
    /// No regularizer, no constraint (every layer of a v1 blob).
    pub const NONE: LayerAttrs = LayerAttrs {
        activity_regularizer: None,
        regularizers: [None; ATTR_PARAMS],
        constraints: [None; ATTR_PARAMS],
    };

    /// Whether the layer has no attribute at all.
    pub fn is_none(&self) -> bool {
        *self == LayerAttrs::NONE
    }

    /// With regularizer `r` on parameter `index` (ignored when `index >= ATTR_PARAMS`;
    /// [`LayerAttrs::check`] refuses indices the layer does not have).
    pub const fn with_regularizer(mut self, index: usize, r: Regularizer) -> Self {
        if index < ATTR_PARAMS {
            self.regularizers[index] = Some(r);
        }
        self
    }

    /// With constraint `c` on parameter `index` (ignored when `index >= ATTR_PARAMS`).
    pub const fn with_constraint(mut self, index: usize, c: Constraint) -> Self {
        if index < ATTR_PARAMS {
            self.constraints[index] = Some(c);
        }
        self
    }

    /// With an activity regularizer.
    pub const fn with_activity_regularizer(mut self, r: Regularizer) -> Self {
        self.activity_regularizer = Some(r);
        self
    }

    /// Checks the attributes against the layer's parameter shapes, of which the first
    /// `trainable` are trainable: every attribute on a trainable tensor, valid
    /// hyperparameters, constraint axes the tensor has. [`Error::InvalidConfig`]
    /// otherwise.
    pub fn check(&self, params: &[Shape], trainable: usize) -> Result<()> {
        if let Some(r) = &self.activity_regularizer {
            r.check()?;
        }
        let trainable = trainable.min(params.len());
        for (i, (r, c)) in self.regularizers.iter().zip(&self.constraints).enumerate() {
            if i >= trainable {
                if r.is_some() || c.is_some() {
                    return Err(Error::InvalidConfig(
                        "regularizer or constraint on a parameter the layer does not train",
                    ));
                }
                continue;
            }
            if let Some(r) = r {
                r.check()?;
            }
            if let (Some(c), Some(shape)) = (c, params.get(i)) {
                c.check(*shape)?;
            }
        }
        Ok(())
    }
}
