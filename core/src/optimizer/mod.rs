//! Optimizers with Keras 3's exact update formulas, learning-rate schedules, weight decay
//! and gradient clipping.
//!
//! Optimizer *state* (momentum, moment estimates, accumulators) lives in the arena, laid
//! out as `slots()` arrays, each as long as the concatenation of every trainable
//! parameter; the update is one flat loop over parameters, gradients and slots. The one
//! scalar some optimizers keep (Nadam's `u_product`) is a [`ScalarState`] next to the
//! iteration counter. Hyperparameters are `f32` (as in Keras) and converted to the model's
//! numeric type at each step.
//!
//! **Fixed point.** Every optimizer runs in [`crate::Q16_16`] without panicking (division
//! by zero saturates). SGD, Adagrad, Adadelta and Adamax move weights as in `f32`; the
//! optimizers that divide by a second-moment estimate `v ≈ g²` (Adam, AdamW, Nadam,
//! RMSprop) lose it to underflow for |g| < 2⁻⁸ and degrade towards sign-SGD-like steps, and
//! any `epsilon` below 2⁻¹⁶ rounds to 0 (Adadelta then never moves: use ε ≥ 2⁻¹⁶). Prefer
//! SGD for fixed-point training.
//!
//! Keras's optional base-optimizer arguments `use_ema`, `ema_momentum`,
//! `ema_overwrite_frequency`, `loss_scale_factor` and `gradient_accumulation_steps` are not
//! represented (a converter refuses them by name), nor are
//! `exclude_from_weight_decay(...)` and the schedules `PolynomialDecay` and
//! `CosineDecayRestarts`.

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod algorithm;
mod clip;
mod nadam;
mod rmsprop;
mod schedule;
mod sgd;
mod state;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use adamw::AdamW;
pub use algorithm::Algorithm;
pub use clip::Clip;
pub use nadam::Nadam;
pub use rmsprop::RmsProp;
pub use schedule::{
    CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRateSchedule, PiecewiseConstantDecay,
    MAX_BOUNDARIES,
};
pub use sgd::Sgd;
pub use state::ScalarState;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Scalar};

/// An optimizer: an update rule ([`Algorithm`], Keras's optimizer class) plus the
/// arguments every Keras optimizer takes — a learning-rate schedule, `weight_decay` and
/// one clipping option. Keras: `keras.optimizers.Optimizer`.
///
/// Build one like the Keras call it mirrors; every part is `const`:
/// ```
/// use ember_nn::optimizer::{Clip, ExponentialDecay, LearningRateSchedule, Optimizer, Sgd};
/// // keras.optimizers.SGD(learning_rate=ExponentialDecay(0.1, 1000, 0.96), momentum=0.9,
/// //                      clipnorm=1.0)
/// const OPT: Optimizer = Optimizer::sgd(Sgd { momentum: 0.9, ..Sgd::DEFAULT })
///     .with_schedule(LearningRateSchedule::ExponentialDecay(ExponentialDecay {
///         initial_learning_rate: 0.1,
///         decay_steps: 1000.0,
///         decay_rate: 0.96,
///         staircase: false,
///     }))
///     .with_clip(Clip::Norm(1.0));
/// assert_eq!(OPT.slots(), 1);
/// assert!((OPT.learning_rate(1000) - 0.096).abs() < 1e-7);
/// ```
///
/// # State per optimizer
///
/// `slots()` arrays of Σ(trainable parameters) elements each, in the arena, created only
/// when Keras creates the variable; the table lists them in Keras's creation order.
///
/// | Keras | Rust | `slots()` | scalar state |
/// |---|---|---|---|
/// | `SGD()` (momentum 0) | [`Sgd`] | 0 | — |
/// | `SGD(momentum≠0)`, with or without `nesterov` | [`Sgd`] | 1: `momentum` | — |
/// | `Adam()` | [`Adam`] | 2: `momentum`, `velocity` | — |
/// | `Adam(amsgrad=True)` | [`Adam`] | 3: + `velocity_hat` | — |
/// | `AdamW()` / `AdamW(amsgrad=True)` | [`AdamW`] | 2 / 3, as Adam | — |
/// | `Adagrad()` | [`Adagrad`] | 1: `accumulator` | — |
/// | `Adadelta()` | [`Adadelta`] | 2: `accumulated_grad`, `accumulated_delta_var` | — |
/// | `RMSprop()` | [`RmsProp`] | 1: `velocity` | — |
/// | `RMSprop(momentum>0)` | [`RmsProp`] | 2: + `momentum` | — |
/// | `RMSprop(centered=True)` | [`RmsProp`] | 2: + `average_gradient` | — |
/// | `RMSprop(momentum>0, centered=True)` | [`RmsProp`] | 3 | — |
/// | `Adamax()` | [`Adamax`] | 2: `momentum`, `norm` | — |
/// | `Nadam()` | [`Nadam`] | 2: `momentum`, `velocity` | `u_product` ([`ScalarState`]) |
/// | any + `learning_rate=<schedule>`, `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` | [`Optimizer`] fields | + 0 | — |
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Optimizer {
    /// The update rule and its hyperparameters.
    pub algorithm: Algorithm,
    /// A learning-rate schedule (Keras: `learning_rate=<LearningRateSchedule>`). When set
    /// it replaces the algorithm's constant `learning_rate`.
    pub schedule: Option<LearningRateSchedule>,
    /// Keras's `weight_decay` (default `None`): decoupled decay of every trainable
    /// parameter, `w = w − w · weight_decay · lr`. Must be `None` with [`AdamW`], which
    /// carries its own.
    pub weight_decay: Option<f32>,
    /// `clipnorm` / `clipvalue` / `global_clipnorm` (at most one, as Keras requires).
    pub clip: Clip,
}

impl From<Algorithm> for Optimizer {
    fn from(algorithm: Algorithm) -> Self {
        Optimizer::new(algorithm)
    }
}

// One constructor per update rule: `Optimizer::sgd(Sgd { .. })` builds what Keras's
// `SGD(...)` builds.
impl Optimizer {
    /// `algorithm` with Keras's default base options: constant learning rate, no weight
    /// decay, no clipping.
    pub const fn new(algorithm: Algorithm) -> Self {
        Optimizer {
            algorithm,
            schedule: None,
            weight_decay: None,
            clip: Clip::None,
        }
    }

    /// Keras `SGD(...)`.
    pub const fn sgd(o: Sgd) -> Self {
        Optimizer::new(Algorithm::Sgd(o))
    }

    /// Keras `Adam(...)`.
    pub const fn adam(o: Adam) -> Self {
        Optimizer::new(Algorithm::Adam(o))
    }

    /// Keras `AdamW(...)`.
    pub const fn adam_w(o: AdamW) -> Self {
        Optimizer::new(Algorithm::AdamW(o))
    }

    /// Keras `Adagrad(...)`.
    pub const fn adagrad(o: Adagrad) -> Self {
        Optimizer::new(Algorithm::Adagrad(o))
    }

    /// Keras `Adadelta(...)`.
    pub const fn adadelta(o: Adadelta) -> Self {
        Optimizer::new(Algorithm::Adadelta(o))
    }

    /// Keras `RMSprop(...)`.
    pub const fn rms_prop(o: RmsProp) -> Self {
        Optimizer::new(Algorithm::RmsProp(o))
    }

    /// Keras `Adamax(...)`.
    pub const fn adamax(o: Adamax) -> Self {
        Optimizer::new(Algorithm::Adamax(o))
    }

    /// Keras `Nadam(...)`.
    pub const fn nadam(o: Nadam) -> Self {
        Optimizer::new(Algorithm::Nadam(o))
    }

    /// With a learning-rate schedule (Keras: `learning_rate=schedule`).
    pub const fn with_schedule(self, schedule: LearningRateSchedule) -> Self {
        Optimizer {
            schedule: Some(schedule),
            ..self
        }
    }

    /// With Keras's `weight_decay` (not for [`AdamW`], which has its own field).
    pub const fn with_weight_decay(self, weight_decay: f32) -> Self {
        Optimizer {
            weight_decay: Some(weight_decay),
            ..self
        }
    }

    /// With gradient clipping (Keras: `clipnorm`, `clipvalue` or `global_clipnorm`).
    pub const fn with_clip(self, clip: Clip) -> Self {
        Optimizer { clip, ..self }
    }
}

impl Optimizer {
    /// Per-parameter state arrays (see the table above). Sizes the arena exactly.
    pub fn slots(&self) -> usize {
        self.algorithm.slots()
    }

    /// The learning rate of the update after `iteration` updates (Keras:
    /// `optimizer.learning_rate` while `optimizer.iterations == iteration`).
    pub fn learning_rate(&self, iteration: u64) -> f32 {
        match &self.schedule {
            Some(s) => s.value(iteration),
            None => self.algorithm.learning_rate(),
        }
    }

    /// The weight decay Keras applies: [`AdamW`]'s, else [`Optimizer::weight_decay`].
    pub fn effective_weight_decay(&self) -> Option<f32> {
        match self.algorithm {
            Algorithm::AdamW(o) => Some(o.weight_decay),
            _ => self.weight_decay,
        }
    }

    /// Checks the configuration as Keras's constructors do (SGD momentum in `[0, 1]`,
    /// schedules' `decay_steps > 0`, ...), plus [`AdamW`] without a second weight decay.
    pub fn check(&self) -> Result<()> {
        self.algorithm.check().map_err(Error::InvalidConfig)?;
        if let Some(s) = &self.schedule {
            s.check().map_err(Error::InvalidConfig)?;
        }
        if matches!(self.algorithm, Algorithm::AdamW(_)) && self.weight_decay.is_some() {
            return Err(Error::InvalidConfig(
                "AdamW carries its weight_decay; leave Optimizer::weight_decay None",
            ));
        }
        Ok(())
    }

    /// Applies one update, as Keras's `optimizer.apply(grads)`.
    ///
    /// - `iteration`: updates applied before this one (Keras's `optimizer.iterations`).
    ///   At 0, `state` and `scalars` are (re)initialized as Keras's `build` creates them.
    /// - `scalars`: the optimizer's [`ScalarState`], kept by the caller between steps.
    /// - `params`, `grads`: every trainable parameter and its gradient, concatenated.
    ///   `grads` is clipped in place.
    /// - `state`: `slots()` arrays of `params.len()` elements.
    /// - `tensors`: the lengths of the parameter tensors in `params`, in order (Keras
    ///   variables: the `clipnorm` unit). They must sum to `params.len()`.
    ///
    /// In Keras's order: learning rate from the schedule at `iteration`; clip the
    /// gradients; decay the weights (`w −= w · weight_decay · lr`); the algorithm's
    /// update. Errors: [`Error::InvalidConfig`] (see [`Optimizer::check`]),
    /// [`Error::ShapeMismatch`] for wrongly sized slices; nothing is modified then.
    #[allow(clippy::too_many_arguments)]
    pub fn apply<T: Scalar>(
        &self,
        iteration: u64,
        scalars: &mut ScalarState,
        params: &mut [T],
        grads: &mut [T],
        state: &mut [T],
        tensors: impl Iterator<Item = usize> + Clone,
    ) -> Result<()> {
        self.check()?;
        let n = params.len();
        let check_len = |expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(Error::ShapeMismatch { expected, found })
            }
        };
        check_len(n, grads.len())?;
        check_len(n * self.slots(), state.len())?;
        check_len(n, tensors.clone().fold(0usize, usize::saturating_add))?;
        if iteration == 0 {
            self.algorithm.init_state(scalars, state);
        }
        let lr = self.learning_rate(iteration);
        self.clip.apply(grads, tensors);
        if let Some(wd) = self.effective_weight_decay() {
            let (wd, lr) = (T::from_f32(wd), T::from_f32(lr));
            for w in params.iter_mut() {
                *w = *w - *w * wd * lr;
            }
        }
        self.algorithm
            .update(lr, iteration, scalars, params, grads, state);
        Ok(())
    }
}
