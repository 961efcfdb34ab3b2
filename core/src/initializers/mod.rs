//! Initializers: Keras's weight initializers (`keras.initializers.*`) drawing from the
//! seeded `no_std` [`Rng`].
//!
//! [`Initializer`] is a small `Copy` value naming one of them with its parameters; its
//! [`fill`](Initializer::fill) writes a parameter of a given [`Shape`] into a
//! caller-provided `&mut [T]` for any [`Scalar`] (values are computed in `f32` and
//! rounded with [`Scalar::from_f32`], so a `Q16_16` fill is the rounded `f32` fill).
//! Only [`Initializer::Orthogonal`] needs scratch memory
//! ([`scratch_len`](Initializer::scratch_len)); nothing allocates.
//!
//! # Keras semantics
//! - Fans: [`compute_fans`] (rank ≥ 3 kernels multiply by the receptive field size).
//! - Glorot, He and LeCun are [`VarianceScaling`] presets with Keras's exact scale, mode
//!   and distribution; truncated normals are cut at two standard deviations and
//!   `VarianceScaling` divides their stddev by `0.87962566103423978`.
//! - Keras's defaults: a Dense or Conv kernel uses `glorot_uniform`
//!   ([`Initializer::KERNEL_DEFAULT`]), a bias `zeros` ([`Initializer::BIAS_DEFAULT`]).
//!
//! # Randomness: distributionally, not bitwise, Keras
//! Keras's initializers take a `seed` and draw from JAX's Threefry generator; Ember's take
//! a `&mut` [`Rng`] (seeded with [`Rng::from_seed`]) and draw values one after another
//! in row-major order. Same seed and same calls give the same bits on every target, but
//! the values are never bitwise equal to Keras's: they come from the same distributions
//! with the same parameters (tested statistically, and the parameters against Keras).
//!
//! ```
//! use ember_nn::initializers::Initializer;
//! use ember_nn::random::Rng;
//! use ember_nn::Shape;
//!
//! let shape = Shape::new(&[8, 4]).unwrap(); // Dense(4) kernel on 8 features
//! let mut kernel = [0.0f32; 32];
//! let mut rng = Rng::from_seed(42);
//! Initializer::GlorotUniform.fill(&shape, &mut kernel, &mut rng, &mut []).unwrap();
//! let limit = (6.0f32 / (8.0 + 4.0)).sqrt();
//! assert!(kernel.iter().all(|w| w.abs() <= limit));
//! ```

mod fans;
pub mod orthogonal;
mod sampling;
mod variance_scaling;

pub use fans::{compute_fans, FanAxes};
pub use sampling::Sampling;
pub use variance_scaling::{Distribution, FanMode, VarianceScaling, TRUNCATED_NORMAL_STDDEV};

use serde::{Deserialize, Serialize};

use crate::random::Rng;
use crate::{Error, Result, Scalar, Shape};

/// A Keras weight initializer with its parameters (Keras: `keras.initializers.*`).
///
/// Variants without fields use Keras's fixed configuration; the defaults of the others are
/// given per variant (and used by [`Initializer::from_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Initializer {
    /// All zeros. Keras: `keras.initializers.Zeros()` (default bias initializer).
    Zeros,
    /// All ones. Keras: `keras.initializers.Ones()`.
    Ones,
    /// Every element `value`. Keras: `keras.initializers.Constant(value=0.0)`.
    Constant {
        /// The value.
        value: f32,
    },
    /// Uniform on `[minval, maxval)`. Keras:
    /// `keras.initializers.RandomUniform(minval=-0.05, maxval=0.05)`.
    RandomUniform {
        /// Lower bound (inclusive).
        minval: f32,
        /// Upper bound (exclusive).
        maxval: f32,
    },
    /// Normal. Keras: `keras.initializers.RandomNormal(mean=0.0, stddev=0.05)`.
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Normal with values two or more `stddev` from the mean redrawn. Keras:
    /// `keras.initializers.TruncatedNormal(mean=0.0, stddev=0.05)` (`stddev` before
    /// truncation).
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
    /// Keras: `keras.initializers.VarianceScaling` (see [`VarianceScaling`]).
    VarianceScaling(VarianceScaling),
    /// Keras: `keras.initializers.GlorotUniform()` ([`VarianceScaling::GLOROT_UNIFORM`]):
    /// uniform on `±√(6 / (fan_in + fan_out))`. The default kernel initializer.
    GlorotUniform,
    /// Keras: `keras.initializers.GlorotNormal()` ([`VarianceScaling::GLOROT_NORMAL`]).
    GlorotNormal,
    /// Keras: `keras.initializers.HeUniform()` ([`VarianceScaling::HE_UNIFORM`]):
    /// uniform on `±√(6 / fan_in)`.
    HeUniform,
    /// Keras: `keras.initializers.HeNormal()` ([`VarianceScaling::HE_NORMAL`]).
    HeNormal,
    /// Keras: `keras.initializers.LecunUniform()` ([`VarianceScaling::LECUN_UNIFORM`]):
    /// uniform on `±√(3 / fan_in)`.
    LecunUniform,
    /// Keras: `keras.initializers.LecunNormal()` ([`VarianceScaling::LECUN_NORMAL`]).
    LecunNormal,
    /// A (semi-)orthogonal matrix times `gain`, from the QR factorization of a Gaussian
    /// matrix (see [`orthogonal`]). Rank ≥ 2; needs [`Initializer::scratch_len`] `f32`s
    /// of scratch. Keras: `keras.initializers.Orthogonal(gain=1.0)`.
    Orthogonal {
        /// Multiplicative factor.
        gain: f32,
    },
    /// `gain` on the main diagonal, zero elsewhere (rectangular allowed); 2-D shapes only.
    /// Keras: `keras.initializers.Identity(gain=1.0)`.
    Identity {
        /// Multiplicative factor.
        gain: f32,
    },
}

impl Initializer {
    /// Keras's default `kernel_initializer` for Dense and Conv layers: `"glorot_uniform"`.
    pub const KERNEL_DEFAULT: Initializer = Initializer::GlorotUniform;
    /// Keras's default `bias_initializer`: `"zeros"`.
    pub const BIAS_DEFAULT: Initializer = Initializer::Zeros;

    /// The initializer Keras's `keras.initializers.get(name)` returns for a string
    /// identifier, with Keras's default arguments: class names (`"GlorotUniform"`), their
    /// snake_case forms (`"glorot_uniform"`) and Keras's aliases (`"normal"`, `"uniform"`,
    /// `"one"`, `"zero"`, `"OrthogonalInitializer"`, `"IdentityInitializer"`).
    /// Case-sensitive, as in Keras. `None` for unknown names, for `"STFT"` (not
    /// implemented) and for the abstract base `"Initializer"`.
    ///
    /// One deliberate difference: `"Constant"` gives `Constant { value: 0.0 }`, the
    /// constructor's default, where Keras 3.15's `get("constant")` raises (its
    /// `from_config` requires a `value`).
    ///
    /// ```
    /// use ember_nn::initializers::Initializer;
    /// assert_eq!(Initializer::from_name("he_normal"), Some(Initializer::HeNormal));
    /// assert_eq!(
    ///     Initializer::from_name("uniform"),
    ///     Some(Initializer::RandomUniform { minval: -0.05, maxval: 0.05 })
    /// );
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Zeros" | "zeros" | "zero" => Initializer::Zeros,
            "Ones" | "ones" | "one" => Initializer::Ones,
            "Constant" | "constant" => Initializer::Constant { value: 0.0 },
            "RandomUniform" | "random_uniform" | "uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "RandomNormal" | "random_normal" | "normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "TruncatedNormal" | "truncated_normal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "VarianceScaling" | "variance_scaling" => {
                Initializer::VarianceScaling(VarianceScaling::default())
            }
            "GlorotUniform" | "glorot_uniform" => Initializer::GlorotUniform,
            "GlorotNormal" | "glorot_normal" => Initializer::GlorotNormal,
            "HeUniform" | "he_uniform" => Initializer::HeUniform,
            "HeNormal" | "he_normal" => Initializer::HeNormal,
            "LecunUniform" | "lecun_uniform" => Initializer::LecunUniform,
            "LecunNormal" | "lecun_normal" => Initializer::LecunNormal,
            "Orthogonal" | "orthogonal" | "OrthogonalInitializer" => {
                Initializer::Orthogonal { gain: 1.0 }
            }
            "Identity" | "identity" | "IdentityInitializer" => Initializer::Identity { gain: 1.0 },
            _ => return None,
        })
    }

    /// The [`VarianceScaling`] configuration behind this initializer, if it is one (the
    /// Glorot, He and LeCun variants resolve to their presets).
    pub fn variance_scaling(&self) -> Option<VarianceScaling> {
        match *self {
            Initializer::VarianceScaling(v) => Some(v),
            Initializer::GlorotUniform => Some(VarianceScaling::GLOROT_UNIFORM),
            Initializer::GlorotNormal => Some(VarianceScaling::GLOROT_NORMAL),
            Initializer::HeUniform => Some(VarianceScaling::HE_UNIFORM),
            Initializer::HeNormal => Some(VarianceScaling::HE_NORMAL),
            Initializer::LecunUniform => Some(VarianceScaling::LECUN_UNIFORM),
            Initializer::LecunNormal => Some(VarianceScaling::LECUN_NORMAL),
            _ => None,
        }
    }

    /// The distribution each element of a weight of shape `shape` is drawn from
    /// independently, with its parameters resolved; `None` for the deterministic
    /// initializers and for `Orthogonal` (whose elements are not independent). Errors
    /// as [`VarianceScaling::sampling`].
    ///
    /// ```
    /// use ember_nn::initializers::{Initializer, Sampling};
    /// use ember_nn::Shape;
    /// // He uniform on a 3×3 conv kernel from 2 to 8 channels: fan_in = 3·3·2 = 18.
    /// let s = Initializer::HeUniform.sampling(&Shape::new(&[3, 3, 2, 8]).unwrap());
    /// assert_eq!(s, Ok(Some(Sampling::Uniform { minval: -(1.0f32 / 3.0).sqrt(),
    ///                                           maxval: (1.0f32 / 3.0).sqrt() })));
    /// ```
    pub fn sampling(&self, shape: &Shape) -> Result<Option<Sampling>> {
        if let Some(v) = self.variance_scaling() {
            return v.sampling(shape).map(Some);
        }
        Ok(match *self {
            Initializer::RandomUniform { minval, maxval } => {
                Some(Sampling::Uniform { minval, maxval })
            }
            Initializer::RandomNormal { mean, stddev } => Some(Sampling::Normal { mean, stddev }),
            Initializer::TruncatedNormal { mean, stddev } => {
                Some(Sampling::TruncatedNormal { mean, stddev })
            }
            _ => None,
        })
    }

    /// `f32` scratch elements [`fill`](Initializer::fill) needs for `shape`: 0 for every
    /// initializer but `Orthogonal` ([`orthogonal::scratch_len`]).
    pub fn scratch_len(&self, shape: &Shape) -> usize {
        match self {
            Initializer::Orthogonal { .. } => orthogonal::scratch_len(shape),
            _ => 0,
        }
    }

    /// Writes the initial value of a parameter of shape `shape` into `out` (row-major,
    /// `out.len() == shape.len()`), drawing from `rng` for the random initializers (one
    /// draw after another, in element order; deterministic ones draw nothing).
    ///
    /// `scratch` must hold at least [`scratch_len`](Initializer::scratch_len) `f32`s
    /// (pass `&mut []` when that is 0). Errors, never panics:
    /// - [`Error::ShapeMismatch`] if `out.len() != shape.len()`;
    /// - [`Error::ArenaTooSmall`] (in bytes, 4 per `f32`) if `scratch` is too short;
    /// - [`Error::InvalidConfig`] for `Orthogonal` below rank 2, `Identity` not 2-D, a
    ///   non-positive `VarianceScaling` scale or a fan axis outside the shape (where
    ///   Keras raises `ValueError` / `IndexError`).
    pub fn fill<T: Scalar>(
        &self,
        shape: &Shape,
        out: &mut [T],
        rng: &mut Rng,
        scratch: &mut [f32],
    ) -> Result<()> {
        if out.len() != shape.len() {
            return Err(Error::ShapeMismatch {
                expected: shape.len(),
                found: out.len(),
            });
        }
        let variance_scaling = match *self {
            Initializer::Zeros => {
                out.fill(T::ZERO);
                return Ok(());
            }
            Initializer::Ones => {
                out.fill(T::ONE);
                return Ok(());
            }
            Initializer::Constant { value } => {
                out.fill(T::from_f32(value));
                return Ok(());
            }
            Initializer::Identity { gain } => return fill_identity(shape, gain, out),
            Initializer::Orthogonal { gain } => {
                return orthogonal::fill(shape, gain, rng, scratch, out)
            }
            Initializer::RandomUniform { minval, maxval } => {
                Sampling::Uniform { minval, maxval }.fill(rng, out);
                return Ok(());
            }
            Initializer::RandomNormal { mean, stddev } => {
                Sampling::Normal { mean, stddev }.fill(rng, out);
                return Ok(());
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                Sampling::TruncatedNormal { mean, stddev }.fill(rng, out);
                return Ok(());
            }
            Initializer::VarianceScaling(v) => v,
            Initializer::GlorotUniform => VarianceScaling::GLOROT_UNIFORM,
            Initializer::GlorotNormal => VarianceScaling::GLOROT_NORMAL,
            Initializer::HeUniform => VarianceScaling::HE_UNIFORM,
            Initializer::HeNormal => VarianceScaling::HE_NORMAL,
            Initializer::LecunUniform => VarianceScaling::LECUN_UNIFORM,
            Initializer::LecunNormal => VarianceScaling::LECUN_NORMAL,
        };
        variance_scaling.sampling(shape)?.fill(rng, out);
        Ok(())
    }
}

/// Keras's `Identity`: `gain · eye(rows, cols)`.
fn fill_identity<T: Scalar>(shape: &Shape, gain: f32, out: &mut [T]) -> Result<()> {
    if shape.rank() != 2 {
        return Err(Error::InvalidConfig(
            "Identity initializer needs a 2-D weight",
        ));
    }
    let cols = shape.dim(1);
    let diagonal = T::from_f32(gain);
    for (index, o) in out.iter_mut().enumerate() {
        *o = if index / cols == index % cols {
            diagonal
        } else {
            T::ZERO
        };
    }
    Ok(())
}
