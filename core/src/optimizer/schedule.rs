//! Learning-rate schedules: Keras's `keras.optimizers.schedules`.
//!
//! A schedule maps the optimizer's iteration count (Keras's `optimizer.iterations`: the
//! number of updates applied before this one, starting at 0) to the learning rate of
//! that update. Keras evaluates it once per step, and the same value feeds the weight
//! decay and the update. Everything is computed in `f32`, as Keras does.

use serde::{Deserialize, Serialize};

/// A learning-rate schedule. Keras: `keras.optimizers.schedules.LearningRateSchedule`
/// subclasses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LearningRateSchedule {
    /// [`ExponentialDecay`].
    ExponentialDecay(ExponentialDecay),
    /// [`InverseTimeDecay`].
    InverseTimeDecay(InverseTimeDecay),
    /// [`PiecewiseConstantDecay`].
    PiecewiseConstantDecay(PiecewiseConstantDecay),
    /// [`CosineDecay`].
    CosineDecay(CosineDecay),
}

impl LearningRateSchedule {
    /// The learning rate at `step` (Keras: `schedule(step)`).
    pub fn value(&self, step: u64) -> f32 {
        match self {
            LearningRateSchedule::ExponentialDecay(s) => s.value(step),
            LearningRateSchedule::InverseTimeDecay(s) => s.value(step),
            LearningRateSchedule::PiecewiseConstantDecay(s) => s.value(step),
            LearningRateSchedule::CosineDecay(s) => s.value(step),
        }
    }

    /// The checks Keras's constructors make (`decay_steps > 0`, one more value than
    /// boundaries), plus the fixed capacity of [`PiecewiseConstantDecay`].
    pub fn check(&self) -> Result<(), &'static str> {
        let positive = |steps: f32, what| if steps > 0.0 { Ok(()) } else { Err(what) };
        match self {
            LearningRateSchedule::ExponentialDecay(s) => {
                positive(s.decay_steps, "ExponentialDecay decay_steps must be > 0")
            }
            LearningRateSchedule::InverseTimeDecay(s) => {
                positive(s.decay_steps, "InverseTimeDecay decay_steps must be > 0")
            }
            LearningRateSchedule::PiecewiseConstantDecay(s) => s.check(),
            LearningRateSchedule::CosineDecay(s) => {
                positive(s.decay_steps, "CosineDecay decay_steps must be > 0")
            }
        }
    }
}

/// `p = step / decay_steps`, floored when `staircase`.
fn progress(step: u64, decay_steps: f32, staircase: bool) -> f32 {
    let p = step as f32 / decay_steps;
    if staircase {
        libm::floorf(p)
    } else {
        p
    }
}

/// Exponential decay. Keras: `keras.optimizers.schedules.ExponentialDecay(
/// initial_learning_rate, decay_steps, decay_rate, staircase=False)`.
///
/// ```text
/// p  = step / decay_steps          (floored if staircase)
/// lr = initial_learning_rate · decay_rateᵖ
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExponentialDecay {
    /// `initial_learning_rate`.
    pub initial_learning_rate: f32,
    /// `decay_steps` (> 0).
    pub decay_steps: f32,
    /// `decay_rate`.
    pub decay_rate: f32,
    /// `staircase` (default false): decay in discrete intervals.
    pub staircase: bool,
}

impl ExponentialDecay {
    /// The learning rate at `step`.
    pub fn value(&self, step: u64) -> f32 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate * libm::powf(self.decay_rate, p)
    }
}

/// Inverse time decay. Keras: `keras.optimizers.schedules.InverseTimeDecay(
/// initial_learning_rate, decay_steps, decay_rate, staircase=False)`.
///
/// ```text
/// p  = step / decay_steps          (floored if staircase)
/// lr = initial_learning_rate / (1 + decay_rate · p)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InverseTimeDecay {
    /// `initial_learning_rate`.
    pub initial_learning_rate: f32,
    /// `decay_steps` (> 0).
    pub decay_steps: f32,
    /// `decay_rate`.
    pub decay_rate: f32,
    /// `staircase` (default false).
    pub staircase: bool,
}

impl InverseTimeDecay {
    /// The learning rate at `step`.
    pub fn value(&self, step: u64) -> f32 {
        let p = progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate / (1.0 + self.decay_rate * p)
    }
}

/// Most boundaries a [`PiecewiseConstantDecay`] holds (fixed capacity, no heap).
pub const MAX_BOUNDARIES: usize = 8;

/// Piecewise constant learning rate. Keras:
/// `keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)`.
///
/// With boundaries `b₀ < b₁ < …` and one more value than boundaries:
/// `values[0]` while `step ≤ b₀`, `values[i]` while `bᵢ₋₁ < step ≤ bᵢ`, and the last value
/// after the last boundary. Holds up to [`MAX_BOUNDARIES`] boundaries; only the first
/// `len` entries of `boundaries` and `len + 1` of `values` are used.
///
/// ```
/// use ember_nn::optimizer::PiecewiseConstantDecay;
/// // Keras: PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
/// let s = PiecewiseConstantDecay::new(&[100, 200], &[1.0, 0.5, 0.1]).unwrap();
/// assert_eq!((s.value(100), s.value(101), s.value(201)), (1.0, 0.5, 0.1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PiecewiseConstantDecay {
    /// `boundaries` (steps), increasing; the first `len` are used.
    pub boundaries: [u64; MAX_BOUNDARIES],
    /// `values`; the first `len + 1` are used.
    pub values: [f32; MAX_BOUNDARIES + 1],
    /// Number of boundaries in use (1 to [`MAX_BOUNDARIES`]).
    pub len: usize,
}

impl PiecewiseConstantDecay {
    /// Keras's constructor: `values` must have one more element than `boundaries`, and at
    /// most [`MAX_BOUNDARIES`] boundaries fit. Usable in `const` items.
    pub const fn new(boundaries: &[u64], values: &[f32]) -> Result<Self, crate::Error> {
        let len = boundaries.len();
        if len == 0 || len > MAX_BOUNDARIES || values.len() != len + 1 {
            return Err(crate::Error::InvalidConfig(
                "PiecewiseConstantDecay needs 1 to 8 boundaries and one more value",
            ));
        }
        let mut s = PiecewiseConstantDecay {
            boundaries: [0; MAX_BOUNDARIES],
            values: [0.0; MAX_BOUNDARIES + 1],
            len,
        };
        let mut i = 0;
        while i < len {
            s.boundaries[i] = boundaries[i];
            s.values[i] = values[i];
            i += 1;
        }
        s.values[len] = values[len];
        Ok(s)
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.len == 0 || self.len > MAX_BOUNDARIES {
            return Err("PiecewiseConstantDecay needs 1 to 8 boundaries");
        }
        Ok(())
    }

    /// The learning rate at `step`. Like Keras, a value is picked by the first boundary
    /// not below `step` (Keras sums one-hot masks, which is the same for increasing
    /// boundaries).
    pub fn value(&self, step: u64) -> f32 {
        let len = self.len.clamp(1, MAX_BOUNDARIES);
        let i = self.boundaries[..len]
            .iter()
            .position(|&b| step <= b)
            .unwrap_or(len);
        self.values[i]
    }
}

/// Cosine decay with optional linear warmup. Keras:
/// `keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps, alpha=0.0,
/// warmup_target=None, warmup_steps=0)`.
///
/// Without warmup (`warmup_target` `None`; `warmup_steps` is then ignored, as in Keras):
/// ```text
/// s  = min(step, decay_steps)
/// lr = initial_learning_rate · ((1 − α) · ½ · (1 + cos(π · s / decay_steps)) + α)
/// ```
/// With warmup: `s = min(step, warmup_steps + decay_steps)`; while `s < warmup_steps`
/// `lr = (warmup_target − initial_learning_rate) · s / warmup_steps + initial_learning_rate`,
/// then the cosine above from `warmup_target` at `s − warmup_steps`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CosineDecay {
    /// `initial_learning_rate`.
    pub initial_learning_rate: f32,
    /// `decay_steps` (> 0).
    pub decay_steps: f32,
    /// `alpha` (default 0): the floor, as a fraction of the decayed-from rate.
    pub alpha: f32,
    /// `warmup_target` (default `None`: no warmup).
    pub warmup_target: Option<f32>,
    /// `warmup_steps` (default 0).
    pub warmup_steps: f32,
}

impl CosineDecay {
    /// `CosineDecay(initial_learning_rate, decay_steps)` with Keras's defaults otherwise.
    pub const fn new(initial_learning_rate: f32, decay_steps: f32) -> Self {
        CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0.0,
        }
    }

    fn decay(&self, step: f32, from: f32) -> f32 {
        let fraction = step / self.decay_steps;
        let cosine = 0.5 * (1.0 + libm::cosf(core::f32::consts::PI * fraction));
        from * ((1.0 - self.alpha) * cosine + self.alpha)
    }

    /// The learning rate at `step`.
    pub fn value(&self, step: u64) -> f32 {
        let step = step as f32;
        match self.warmup_target {
            None => self.decay(step.min(self.decay_steps), self.initial_learning_rate),
            Some(target) => {
                let s = step.min(self.decay_steps + self.warmup_steps);
                if s < self.warmup_steps {
                    let delta = target - self.initial_learning_rate;
                    delta * (s / self.warmup_steps) + self.initial_learning_rate
                } else {
                    self.decay(s - self.warmup_steps, target)
                }
            }
        }
    }
}
