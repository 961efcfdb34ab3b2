//! [`Graph`]: a validated blob decoded into layers with shapes and in-place weights.

use heapless::Vec;

use super::DEFAULT_MAX_LAYERS;
use crate::blob::Blob;
use crate::layers::{LayerAttrs, LayerConfig, TensorMask, MAX_PARAMS};
use crate::{Error, Result, Scalar, Shape};

/// One layer of a decoded model.
#[derive(Debug, Clone)]
pub struct LayerEntry<'a, T> {
    /// Keras layer name.
    pub name: &'a str,
    /// Class and configuration.
    pub config: LayerConfig,
    /// Input shape (no batch).
    pub input: Shape,
    /// Output shape (no batch).
    pub output: Shape,
    /// Keras's `trainable` flag as saved.
    pub trainable: bool,
    /// Parameters read in place from the blob, in Keras order.
    pub params: Vec<&'a [T], MAX_PARAMS>,
    /// Regularizers and constraints (Keras `kernel_regularizer`, …; checked at load).
    pub attrs: LayerAttrs,
}

impl<T> LayerEntry<'_, T> {
    /// Total parameter elements.
    pub fn param_count(&self) -> usize {
        self.params.iter().map(|p| p.len()).sum()
    }

    /// Elements of the trainable parameters: all but the layer's state tensors
    /// ([`crate::layers::Layer::state_tensors`], e.g. moving statistics).
    pub fn trainable_param_count(&self) -> usize {
        self.params[..self.trainable_tensors()]
            .iter()
            .map(|p| p.len())
            .sum()
    }

    /// Elements of the parameter tensors in `mask`.
    pub fn param_count_of(&self, mask: TensorMask) -> usize {
        self.params
            .iter()
            .enumerate()
            .filter(|(i, _)| mask.contains(*i))
            .map(|(_, p)| p.len())
            .sum()
    }

    /// Number of trainable parameter tensors (the rest are state).
    pub fn trainable_tensors(&self) -> usize {
        self.params
            .len()
            .saturating_sub(self.config.state_tensors())
    }
}

/// A sequential chain of layers decoded from a blob, weights borrowed in place.
///
/// `N` is the layer capacity (a `Graph` lives on the stack or in a `static`, never on a
/// heap); a blob with more layers is [`Error::TooManyLayers`].
#[derive(Debug, Clone)]
pub struct Graph<'a, T, const N: usize = DEFAULT_MAX_LAYERS> {
    name: &'a str,
    input: Shape,
    layers: Vec<LayerEntry<'a, T>, N>,
}

impl<'a, T: Scalar, const N: usize> Graph<'a, T, N> {
    /// Validates and decodes `blob` (see [`Blob::parse`]); checks every layer's input,
    /// every parameter's dtype, shape, bounds and alignment.
    pub fn parse(blob: &'a [u8]) -> Result<Self> {
        let blob = Blob::parse(blob)?;
        let (header, descs) = blob.graph()?;
        if header.dtype != T::DTYPE {
            return Err(Error::DTypeMismatch {
                expected: T::DTYPE,
                found: header.dtype,
            });
        }
        if header.layers == 0 {
            return Err(Error::MalformedBlob("model has no layers"));
        }
        let mut layers = Vec::new();
        let mut shape = header.input;
        for desc in descs {
            let desc = desc?;
            if !desc.config.is_compiled() {
                return Err(Error::LayerNotCompiled {
                    class: desc.config.keras_class(),
                    feature: desc.config.feature().unwrap_or(""),
                });
            }
            let output = desc.config.output_shape(shape)?;
            let expected = desc.config.param_shapes(shape)?;
            if expected.len() != desc.params.len() {
                return Err(Error::MalformedBlob("wrong number of parameters for layer"));
            }
            let mut params = Vec::new();
            for (p, want) in desc.params.iter().zip(expected.iter()) {
                p.shape.validate()?;
                if p.dtype != T::DTYPE {
                    return Err(Error::DTypeMismatch {
                        expected: T::DTYPE,
                        found: p.dtype,
                    });
                }
                if p.shape != *want {
                    return Err(Error::MalformedBlob("parameter shape does not match layer"));
                }
                let bytes = blob.param_bytes(p)?;
                let typed: &[T] =
                    bytemuck::try_cast_slice(bytes).map_err(|_| Error::BlobMisaligned {
                        align: crate::blob::ALIGN,
                    })?;
                // Capacity equals MAX_PARAMS and desc.params has at most that many.
                let _ = params.push(typed);
            }
            let trainable = expected.len().saturating_sub(desc.config.state_tensors());
            desc.attrs
                .check(&expected, trainable)
                .map_err(|_| Error::MalformedBlob("invalid regularizer or constraint"))?;
            let entry = LayerEntry {
                attrs: desc.attrs,
                name: desc.name,
                config: desc.config,
                input: shape,
                output,
                trainable: desc.trainable,
                params,
            };
            layers
                .push(entry)
                .map_err(|_| Error::TooManyLayers { max: N })?;
            shape = output;
        }
        if layers.len() != header.layers as usize {
            return Err(Error::MalformedBlob("fewer layer records than declared"));
        }
        Ok(Graph {
            name: header.name,
            input: header.input,
            layers,
        })
    }

    /// The model name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Input shape (no batch).
    pub fn input_shape(&self) -> Shape {
        self.input
    }

    /// Output shape (no batch).
    pub fn output_shape(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// The layers in order.
    pub fn layers(&self) -> &[LayerEntry<'a, T>] {
        &self.layers
    }

    /// Total parameter elements.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Multiply-accumulates for one sample.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(|l| l.config.macs(l.input)).sum()
    }
}
