//! [`VarianceScaling`]: Keras's `keras.initializers.VarianceScaling`, and the Glorot, He
//! and LeCun presets built on it.

use serde::{Deserialize, Serialize};

use super::fans::{compute_fans, FanAxes};
use super::sampling::Sampling;
use crate::{Error, Result, Shape};

/// The standard deviation of a standard normal truncated to `(−2, 2)`; Keras divides by
/// it so that a truncated-normal `VarianceScaling` has variance exactly `scale / n`.
/// Keras's literal is `0.87962566103423978`; this is its nearest `f32`.
pub const TRUNCATED_NORMAL_STDDEV: f32 = 0.879_625_7;

/// Which fan divides the scale (Keras's `mode=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FanMode {
    /// `"fan_in"`: `n = fan_in`.
    FanIn,
    /// `"fan_out"`: `n = fan_out`.
    FanOut,
    /// `"fan_avg"`: `n = (fan_in + fan_out) / 2`.
    FanAvg,
}

impl FanMode {
    /// From Keras's string (`"fan_in"`, `"fan_out"`, `"fan_avg"`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "fan_in" => Some(FanMode::FanIn),
            "fan_out" => Some(FanMode::FanOut),
            "fan_avg" => Some(FanMode::FanAvg),
            _ => None,
        }
    }
}

/// The distribution of a [`VarianceScaling`] (Keras's `distribution=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Distribution {
    /// `"truncated_normal"` (also Keras's `"normal"`): truncated at two standard
    /// deviations, `stddev = √(scale/n) / 0.87962566103423978` before truncation.
    TruncatedNormal,
    /// `"untruncated_normal"`: `stddev = √(scale/n)`.
    UntruncatedNormal,
    /// `"uniform"`: on `[−limit, limit)` with `limit = √(3·scale/n)`.
    Uniform,
}

impl Distribution {
    /// From Keras's string, case-insensitive as in Keras (`"normal"` means
    /// `"truncated_normal"`).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("truncated_normal") || name.eq_ignore_ascii_case("normal") {
            Some(Distribution::TruncatedNormal)
        } else if name.eq_ignore_ascii_case("untruncated_normal") {
            Some(Distribution::UntruncatedNormal)
        } else if name.eq_ignore_ascii_case("uniform") {
            Some(Distribution::Uniform)
        } else {
            None
        }
    }
}

/// Keras's `keras.initializers.VarianceScaling(scale=1.0, mode="fan_in",
/// distribution="truncated_normal", input_axes=None, output_axes=None)`.
///
/// With `(fan_in, fan_out)` from [`compute_fans`] (or from [`FanAxes`] when `axes` is
/// set), `n` is `max(1, fan_in)`, `max(1, fan_out)` or `max(1, (fan_in + fan_out) / 2)`
/// by [`FanMode`], and values are drawn from
/// - `TruncatedNormal`: truncated normal, mean 0, `stddev = √(scale/n) / 0.87962566103423978`;
/// - `UntruncatedNormal`: normal, mean 0, `stddev = √(scale/n)`;
/// - `Uniform`: uniform on `[−√(3·scale/n), √(3·scale/n))`.
///
/// ```
/// use ember_nn::initializers::{Sampling, VarianceScaling};
/// use ember_nn::Shape;
/// // Glorot uniform on a (4, 2) kernel: limit = √(6 / (4 + 2)) = 1.
/// let s = VarianceScaling::GLOROT_UNIFORM.sampling(&Shape::new(&[4, 2]).unwrap()).unwrap();
/// assert_eq!(s, Sampling::Uniform { minval: -1.0, maxval: 1.0 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VarianceScaling {
    /// Scaling factor (`scale=`), positive.
    pub scale: f32,
    /// Which fan divides the scale (`mode=`).
    pub mode: FanMode,
    /// The distribution (`distribution=`).
    pub distribution: Distribution,
    /// Explicit fan axes (`input_axes=`, `output_axes=`); `None` uses [`compute_fans`].
    pub axes: Option<FanAxes>,
}

impl Default for VarianceScaling {
    /// Keras's defaults: `scale=1.0, mode="fan_in", distribution="truncated_normal"`.
    fn default() -> Self {
        VarianceScaling::new(1.0, FanMode::FanIn, Distribution::TruncatedNormal)
    }
}

impl VarianceScaling {
    /// Keras: `keras.initializers.GlorotUniform()`: `scale=1, "fan_avg", "uniform"`,
    /// i.e. `limit = √(6 / (fan_in + fan_out))`. Keras's default Dense/Conv kernel
    /// initializer.
    pub const GLOROT_UNIFORM: Self = Self::new(1.0, FanMode::FanAvg, Distribution::Uniform);
    /// Keras: `keras.initializers.GlorotNormal()`: `scale=1, "fan_avg",
    /// "truncated_normal"`.
    pub const GLOROT_NORMAL: Self = Self::new(1.0, FanMode::FanAvg, Distribution::TruncatedNormal);
    /// Keras: `keras.initializers.HeUniform()`: `scale=2, "fan_in", "uniform"`, i.e.
    /// `limit = √(6 / fan_in)`.
    pub const HE_UNIFORM: Self = Self::new(2.0, FanMode::FanIn, Distribution::Uniform);
    /// Keras: `keras.initializers.HeNormal()`: `scale=2, "fan_in", "truncated_normal"`.
    pub const HE_NORMAL: Self = Self::new(2.0, FanMode::FanIn, Distribution::TruncatedNormal);
    /// Keras: `keras.initializers.LecunUniform()`: `scale=1, "fan_in", "uniform"`, i.e.
    /// `limit = √(3 / fan_in)`.
    pub const LECUN_UNIFORM: Self = Self::new(1.0, FanMode::FanIn, Distribution::Uniform);
    /// Keras: `keras.initializers.LecunNormal()`: `scale=1, "fan_in", "truncated_normal"`.
    pub const LECUN_NORMAL: Self = Self::new(1.0, FanMode::FanIn, Distribution::TruncatedNormal);

    /// A variance-scaling initializer without explicit fan axes.
    pub const fn new(scale: f32, mode: FanMode, distribution: Distribution) -> Self {
        VarianceScaling {
            scale,
            mode,
            distribution,
            axes: None,
        }
    }

    /// The same initializer with explicit fan axes (Keras's `input_axes`, `output_axes`).
    pub const fn with_axes(self, axes: FanAxes) -> Self {
        VarianceScaling {
            axes: Some(axes),
            ..self
        }
    }

    /// `(fan_in, fan_out)` this initializer uses for `shape`.
    pub fn fans(&self, shape: &Shape) -> Result<(usize, usize)> {
        match &self.axes {
            Some(axes) => axes.fans(shape),
            None => Ok(compute_fans(shape)),
        }
    }

    /// The distribution, with its parameters, that a weight of shape `shape` is drawn
    /// from. Fails with [`Error::InvalidConfig`] if `scale` is not a positive finite number
    /// (Keras raises `ValueError` for `scale <= 0`) or a fan axis is outside the shape.
    pub fn sampling(&self, shape: &Shape) -> Result<Sampling> {
        if self.scale <= 0.0 || !self.scale.is_finite() {
            return Err(Error::InvalidConfig(
                "VarianceScaling.scale must be positive",
            ));
        }
        let (fan_in, fan_out) = self.fans(shape)?;
        let n = match self.mode {
            FanMode::FanIn => fan_in as f32,
            FanMode::FanOut => fan_out as f32,
            FanMode::FanAvg => (fan_in as f32 + fan_out as f32) / 2.0,
        };
        let scale = self.scale / n.max(1.0);
        Ok(match self.distribution {
            Distribution::TruncatedNormal => Sampling::TruncatedNormal {
                mean: 0.0,
                stddev: libm::sqrtf(scale) / TRUNCATED_NORMAL_STDDEV,
            },
            Distribution::UntruncatedNormal => Sampling::Normal {
                mean: 0.0,
                stddev: libm::sqrtf(scale),
            },
            Distribution::Uniform => {
                let limit = libm::sqrtf(3.0 * scale);
                Sampling::Uniform {
                    minval: -limit,
                    maxval: limit,
                }
            }
        })
    }
}
