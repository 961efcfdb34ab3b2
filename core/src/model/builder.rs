//! Declaring a model in Rust and initializing it from a seed: Keras's
//! `keras.Sequential([keras.Input(shape), *layers])` on a freshly built model, written as
//! a blob into a caller buffer (no heap).
//!
//! Every parameter gets Keras's default initializer for its role
//! ([`default_initializer`]): `glorot_uniform` kernels (Dense, Conv, DepthwiseConv,
//! SeparableConv depthwise and pointwise, ConvTranspose), `zeros` biases, PReLU `alpha`
//! zeros, BatchNormalization `gamma`/`beta`/`moving_mean`/`moving_variance` =
//! ones/zeros/zeros/ones, LayerNormalization `gamma`/`beta` = ones/zeros. Values are drawn
//! with [`Initializer::fill`] from one [`Rng::from_seed`] stream, parameter after
//! parameter in blob order, so a seed gives the same blob on every target — from the same
//! distributions as Keras, never bitwise Keras's draws (see [`crate::initializers`]).
//!
//! Layers are named as Keras names them in a fresh session: the class in snake case,
//! then `_1`, `_2`, ... for repeats (`dense`, `dense_1`, `conv2d`, `re_lu`).

use core::fmt::Write;

use heapless::{String, Vec};

use super::DEFAULT_MAX_LAYERS;
use crate::blob::{encoded_len_unfilled, write_filled, LayerSpec};
use crate::initializers::Initializer;
use crate::layers::LayerConfig;
use crate::random::Rng;
use crate::{Error, Result, Scalar, Shape};

/// Longest generated layer name (the longest Keras class in snake case plus `_99999`).
pub(super) const NAME_LEN: usize = 40;

/// A Sequential model declared in Rust, to be written as a freshly initialized blob.
/// Keras: `keras.Sequential([keras.Input(input), *layers], name=name)`.
///
/// `N` bounds the number of layers (default [`DEFAULT_MAX_LAYERS`], the runtime's own
/// default; more is [`Error::InvalidConfig`]).
///
/// ```
/// use ember_nn::layers::{Dense, LayerConfig};
/// use ember_nn::model::SequentialBuilder;
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Sequential, Shape};
///
/// // keras.Sequential([keras.Input((3,)), Dense(2, activation="softmax")])
/// let layers = [LayerConfig::Dense(Dense { units: 2, activation: Activation::Softmax,
///                                          use_bias: true })];
/// let model = SequentialBuilder::<4>::new("tiny", Shape::new(&[3]).unwrap(), &layers);
/// let mut blob = AlignedBlob([0u8; 512]);
/// let len = model.write::<f32>(42, &mut blob.0).unwrap();
/// assert_eq!(len, model.encoded_len::<f32>().unwrap());
///
/// let mut arena = ArenaBuffer::<64>::new();
/// let mut m = Sequential::<f32>::new(&blob.0[..len], arena.as_mut_bytes(), 1).unwrap();
/// let (kernel, bias) = (m.graph().layers()[0].params[0], m.graph().layers()[0].params[1]);
/// let limit = (6.0f32 / (3.0 + 2.0)).sqrt(); // glorot_uniform on a (3, 2) kernel
/// assert!(kernel.iter().all(|w| w.abs() <= limit) && kernel.iter().any(|&w| w != 0.0));
/// assert_eq!(bias, &[0.0, 0.0][..]); // zeros
/// let mut y = [0.0f32; 2];
/// m.predict(&[0.0, 0.0, 0.0], &mut y).unwrap(); // zero input, zero bias: uniform softmax
/// assert_eq!(y, [0.5, 0.5]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SequentialBuilder<'a, const N: usize = DEFAULT_MAX_LAYERS> {
    /// Model name (Keras `name=`).
    pub name: &'a str,
    /// Input shape without the batch dimension (Keras `keras.Input(shape)`).
    pub input: Shape,
    /// The layers, first to last.
    pub layers: &'a [LayerConfig],
}

impl<'a, const N: usize> SequentialBuilder<'a, N> {
    /// A model of `layers` on inputs of shape `input`.
    pub const fn new(name: &'a str, input: Shape, layers: &'a [LayerConfig]) -> Self {
        SequentialBuilder {
            name,
            input,
            layers,
        }
    }

    /// Exact length in bytes of the blob [`write`](Self::write) produces for `T`.
    /// Errors as `write` (shapes that do not chain, too many layers).
    pub fn encoded_len<T: Scalar>(&self) -> Result<usize> {
        let names = self.names()?;
        let specs = self.specs::<T>(&names)?;
        encoded_len_unfilled(self.name, self.input, &specs)
    }

    /// Writes the model, every parameter initialized by [`default_initializer`] from
    /// `Rng::from_seed(seed)`, into `out`; returns the blob's length. All layers are
    /// trainable, without regularizers or constraints.
    ///
    /// Errors, never panics: [`Error::BlobTruncated`] if `out` is shorter than
    /// [`encoded_len`](Self::encoded_len); [`Error::BlobMisaligned`] if `out` is not
    /// aligned for `T` (blobs must start on a 16-byte boundary to be read anyway); a
    /// layer's shape error if the layers do not chain; [`Error::InvalidConfig`] for more
    /// than `N` layers or a layer with parameters but no known default initializer.
    pub fn write<T: Scalar>(&self, seed: u64, out: &mut [u8]) -> Result<usize> {
        self.write_with_scratch::<T>(seed, out, &mut [])
    }

    /// Elements of `f32` scratch [`write_with_scratch`](Self::write_with_scratch) needs:
    /// the recurrent layers' `orthogonal` recurrent kernels (0 without them).
    pub fn scratch_len(&self) -> Result<usize> {
        let mut most = 0;
        let mut input = self.input;
        for config in self.layers {
            for (p, shape) in config.param_shapes(input)?.iter().enumerate() {
                let need = default_initializer(config, p).map_or(0, |i| i.scratch_len(shape));
                most = most.max(need);
            }
            input = config.output_shape(input)?;
        }
        Ok(most)
    }

    /// [`write`](Self::write) with `scratch` for the initializers that need it
    /// ([`scratch_len`](Self::scratch_len) elements: Keras's `orthogonal` recurrent
    /// kernels of `SimpleRNN`, `LSTM` and `GRU`).
    pub fn write_with_scratch<T: Scalar>(
        &self,
        seed: u64,
        out: &mut [u8],
        scratch: &mut [f32],
    ) -> Result<usize> {
        let names = self.names()?;
        let specs = self.specs::<T>(&names)?;
        let mut rng = Rng::from_seed(seed);
        write_filled(self.name, self.input, &specs, out, |l, p, shape, values| {
            fill_default(&self.layers[l], p, shape, values, &mut rng, scratch)
        })
    }

    fn specs<'n, T: Scalar>(
        &self,
        names: &'n Vec<String<NAME_LEN>, N>,
    ) -> Result<Vec<LayerSpec<'n, T>, N>> {
        fresh_specs(self.layers, names)
    }

    fn names(&self) -> Result<Vec<String<NAME_LEN>, N>> {
        keras_names(self.layers)
    }
}

/// Keras's names of fresh layers: the class in snake case, `_1`, `_2`, … for repeats.
pub(super) fn keras_names<const N: usize>(
    layers: &[LayerConfig],
) -> Result<Vec<String<NAME_LEN>, N>> {
    let mut names: Vec<String<NAME_LEN>, N> = Vec::new();
    for (i, config) in layers.iter().enumerate() {
        let base = keras_snake_case(config.keras_class())?;
        let repeats = layers[..i]
            .iter()
            .filter(|c| c.keras_class() == config.keras_class())
            .count();
        let mut name = base;
        if repeats > 0 {
            write!(name, "_{repeats}").map_err(|_| Error::InvalidConfig("too many layers"))?;
        }
        names
            .push(name)
            .map_err(|_| Error::InvalidConfig("too many layers for the builder"))?;
    }
    Ok(names)
}

/// [`LayerSpec`]s of freshly initialized layers named `names` (values come from the
/// filled writer).
pub(super) fn fresh_specs<'n, T: Scalar, const N: usize>(
    layers: &[LayerConfig],
    names: &'n Vec<String<NAME_LEN>, N>,
) -> Result<Vec<LayerSpec<'n, T>, N>> {
    let mut specs = Vec::new();
    for (config, name) in layers.iter().zip(names) {
        specs
            .push(LayerSpec::new(name.as_str(), true, *config, &[]))
            .map_err(|_| Error::InvalidConfig("too many layers for the builder"))?;
    }
    Ok(specs)
}

/// Fills parameter `p` of `config` with its default initializer.
pub(super) fn fill_default<T: Scalar>(
    config: &LayerConfig,
    p: usize,
    shape: &Shape,
    values: &mut [T],
    rng: &mut Rng,
    scratch: &mut [f32],
) -> Result<()> {
    let init = default_initializer(config, p).ok_or(Error::InvalidConfig(
        "no default initializer for this layer's parameters",
    ))?;
    init.fill(shape, values, rng, scratch)?;
    // Keras's LSTM `unit_forget_bias`: the forget gate's bias slice starts at 1.
    if let LayerConfig::LSTM(l) = config {
        if l.unit_forget_bias && l.rnn.use_bias && p == 2 {
            let u = l.rnn.units as usize;
            if let Some(f) = values.get_mut(u..2 * u) {
                f.fill(T::ONE);
            }
        }
    }
    Ok(())
}

/// Keras's default initializer for parameter `param` (Keras weight order) of a layer, or
/// `None` if the layer has no such parameter kind known here.
///
/// | layer | parameters → initializers |
/// |---|---|
/// | Dense, Conv1D/2D, Conv1D/2DTranspose | kernel → `glorot_uniform`, bias → `zeros` |
/// | DepthwiseConv1D/2D | depthwise kernel → `glorot_uniform`, bias → `zeros` |
/// | SeparableConv1D/2D | depthwise, pointwise → `glorot_uniform`, bias → `zeros` |
/// | PReLU | alpha → `zeros` |
/// | Embedding | embeddings → `random_uniform(-0.05, 0.05)` (Keras's `"uniform"`) |
/// | ParametricSoftplus (Keras 1) | alpha → `0.2`, beta → `5.0` |
/// | BatchNormalization | gamma → `ones`, beta → `zeros`, moving mean → `zeros`, moving variance → `ones` |
/// | LayerNormalization | gamma → `ones`, beta → `zeros` |
/// | SimpleRNN, LSTM, GRU | kernel → `glorot_uniform`, recurrent kernel → `orthogonal`, bias → `zeros` (LSTM's `unit_forget_bias`: its forget slice is set to 1 when written) |
///
/// (gamma and beta only when `scale` / `center`, as in Keras.)
///
/// ```
/// use ember_nn::initializers::Initializer;
/// use ember_nn::layers::{BatchNormalization, LayerConfig};
/// use ember_nn::model::default_initializer;
/// let bn = LayerConfig::BatchNormalization(BatchNormalization {
///     axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true,
/// });
/// assert_eq!(default_initializer(&bn, 0), Some(Initializer::Ones)); // gamma
/// assert_eq!(default_initializer(&bn, 3), Some(Initializer::Ones)); // moving variance
/// ```
pub fn default_initializer(config: &LayerConfig, param: usize) -> Option<Initializer> {
    use Initializer::{GlorotUniform, Ones, Zeros};
    let kernel_then_bias = |kernels: usize, use_bias: bool| {
        if param < kernels {
            Some(GlorotUniform)
        } else if use_bias && param == kernels {
            Some(Zeros)
        } else {
            None
        }
    };
    // kernel, recurrent kernel, bias.
    let recurrent = |use_bias: bool| match param {
        0 => Some(GlorotUniform),
        1 => Some(Initializer::Orthogonal { gain: 1.0 }),
        2 if use_bias => Some(Zeros),
        _ => None,
    };
    match config {
        LayerConfig::Dense(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::Conv1D(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::Conv2D(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::Conv1DTranspose(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::Conv2DTranspose(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::DepthwiseConv1D(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::DepthwiseConv2D(l) => kernel_then_bias(1, l.use_bias),
        LayerConfig::SeparableConv1D(l) => kernel_then_bias(2, l.use_bias),
        LayerConfig::SeparableConv2D(l) => kernel_then_bias(2, l.use_bias),
        LayerConfig::PReLU(_) => (param == 0).then_some(Zeros),
        LayerConfig::Embedding(_) => (param == 0).then_some(Initializer::RandomUniform {
            minval: -0.05,
            maxval: 0.05,
        }),
        LayerConfig::ParametricSoftplus(_) => match param {
            0 => Some(Initializer::Constant { value: 0.2 }),
            1 => Some(Initializer::Constant { value: 5.0 }),
            _ => None,
        },
        LayerConfig::BatchNormalization(l) => {
            let n = 2 + l.scale as usize + l.center as usize;
            match param {
                p if p + 1 == n => Some(Ones),
                p if p + 2 == n => Some(Zeros),
                0 if l.scale => Some(Ones),
                p if p < n => Some(Zeros),
                _ => None,
            }
        }
        LayerConfig::SimpleRNN(l) => recurrent(l.rnn.use_bias),
        LayerConfig::LSTM(l) => recurrent(l.rnn.use_bias),
        LayerConfig::GRU(l) => recurrent(l.rnn.use_bias),
        LayerConfig::LayerNormalization(l) => {
            let n = l.scale as usize + l.center as usize;
            match param {
                0 if l.scale => Some(Ones),
                p if p < n => Some(Zeros),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Keras's `to_snake_case` of a class name (`keras/src/utils/naming.py`): characters
/// other than letters, digits and `_` dropped, `_` between a character and a following
/// capitalized word, then between a lower-case letter and a capital; lower-cased
/// (`DepthwiseConv2D` → `depthwise_conv2d`, `ReLU` → `re_lu`, `PReLU` → `p_re_lu`). Keras
/// names fresh layers and keys their saved weights with it. [`Error::InvalidConfig`] past
/// 40 characters.
pub fn keras_snake_case(class: &str) -> Result<String<NAME_LEN>> {
    let mut word: Vec<u8, NAME_LEN> = Vec::new();
    for c in class
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        word.push(c)
            .map_err(|_| Error::InvalidConfig("layer class name too long"))?;
    }
    let b = word.as_slice();
    let mut out = String::new();
    let too_long = |_| Error::InvalidConfig("layer class name too long");
    for (i, &c) in b.iter().enumerate() {
        let capital_word =
            c.is_ascii_uppercase() && i > 0 && b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let after_lower = c.is_ascii_uppercase() && i > 0 && b[i - 1].is_ascii_lowercase();
        if capital_word || after_lower {
            out.push('_').map_err(too_long)?;
        }
        out.push(c.to_ascii_lowercase() as char).map_err(too_long)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::keras_snake_case as snake_case;

    #[test]
    fn snake_case_is_keras_s() {
        for (class, name) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("MaxPooling2D", "max_pooling2d"),
            ("ReLU", "re_lu"),
            ("PReLU", "p_re_lu"),
            ("ELU", "elu"),
            ("Conv2DTranspose", "conv2d_transpose"),
        ] {
            assert_eq!(snake_case(class).unwrap().as_str(), name, "{class}");
        }
    }
}
