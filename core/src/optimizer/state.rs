//! [`ScalarState`]: the optimizer state that is not per parameter.

/// Optimizer state that is one number, not one per parameter, so it does not live in the
/// arena's `slots()` arrays. The model keeps one next to its iteration counter.
///
/// Today only [`super::Nadam`] uses it (Keras's `_u_product`, the running product of
/// Nadam's momentum schedule). [`super::Optimizer::apply`] resets it at iteration 0, as a
/// freshly built Keras optimizer starts.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScalarState {
    /// Nadam's `u_product` (starts at 1.0), in `f32` as Keras keeps it.
    pub(super) u_product: f32,
}

impl ScalarState {
    /// The state of a freshly built optimizer.
    pub const fn new() -> Self {
        ScalarState { u_product: 1.0 }
    }

    /// Nadam's `u_product`: `Πₛ₌₁ᵗ β₁ · (1 − 0.5 · 0.96ˢ)` after `t` updates.
    pub fn u_product(&self) -> f32 {
        self.u_product
    }
}

impl Default for ScalarState {
    fn default() -> Self {
        ScalarState::new()
    }
}
