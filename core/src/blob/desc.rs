//! The graph section's records, encoded with postcard.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::topology::{self, NodeDescs, Topology};
use crate::layers::{LayerAttrs, LayerConfig, MAX_PARAMS};
use crate::{DType, Error, Result, Shape};

/// First record of the graph section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphHeader<'a> {
    /// The model's name (Keras `model.name`).
    pub name: &'a str,
    /// Numeric type of the weights (every parameter has this type in v1).
    pub dtype: DType,
    /// Input shape without the batch dimension (of the first input, for a model with
    /// several: v3's [`Topology`] lists them all).
    pub input: Shape,
    /// Number of [`LayerDesc`] records that follow.
    pub layers: u16,
}

/// One parameter tensor of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamDesc {
    /// Storage type.
    pub dtype: DType,
    /// Shape, as Keras stores it (Dense kernel: `(in, units)`).
    pub shape: Shape,
    /// Byte offset inside the weights section (multiple of 16).
    pub offset: u32,
}

/// One layer record (the same layout in v2 and v3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDesc<'a> {
    /// Layer name (Keras `layer.name`).
    pub name: &'a str,
    /// Keras's `layer.trainable` at conversion time.
    pub trainable: bool,
    /// Class and configuration.
    pub config: LayerConfig,
    /// Parameters in Keras's weight order.
    pub params: Vec<ParamDesc, MAX_PARAMS>,
    /// Regularizers and constraints (format v2; [`LayerAttrs::NONE`] when read from v1).
    pub attrs: LayerAttrs,
}

/// A format-v1 layer record: [`LayerDesc`] without `attrs`.
#[derive(Deserialize)]
struct LayerDescV1<'a> {
    name: &'a str,
    trainable: bool,
    config: LayerConfig,
    params: Vec<ParamDesc, MAX_PARAMS>,
}

impl<'a> From<LayerDescV1<'a>> for LayerDesc<'a> {
    fn from(d: LayerDescV1<'a>) -> Self {
        LayerDesc {
            name: d.name,
            trainable: d.trainable,
            config: d.config,
            params: d.params,
            attrs: LayerAttrs::NONE,
        }
    }
}

/// Iterator over the layer records of a graph section; decoding errors end the
/// iteration with one `Err`.
#[derive(Debug, Clone)]
pub struct LayerDescs<'a> {
    rest: &'a [u8],
    remaining: u16,
    /// The blob's format version (decides the record layout).
    version: u16,
    /// The graph header's input shape and layer count (a v1/v2 blob's chain topology).
    input: Shape,
    layers: u16,
}

impl<'a> LayerDescs<'a> {
    /// The model's topology, once every layer record has been read: the v3 topology
    /// record and an iterator over its node records, or for a v1/v2 blob the chain of
    /// its layers ([`topology::chain`]). [`Error::MalformedBlob`] if layer records remain
    /// unread or the record does not decode.
    pub fn topology(self) -> Result<(Topology, NodeDescs<'a>)> {
        if self.remaining != 0 {
            return Err(Error::MalformedBlob(
                "topology read before the layer records",
            ));
        }
        if self.version < 3 {
            let t = topology::chain(self.input, self.layers as usize)?;
            let n = t.nodes;
            return Ok((t, NodeDescs::chain(n)));
        }
        let (t, rest) = topology::decode(self.rest)?;
        let n = t.nodes;
        Ok((t, NodeDescs::decoded(rest, n)))
    }
}

impl<'a> Iterator for LayerDescs<'a> {
    type Item = Result<LayerDesc<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let decoded = if self.version == 1 {
            postcard::take_from_bytes::<LayerDescV1<'a>>(self.rest).map(|(d, r)| (d.into(), r))
        } else {
            postcard::take_from_bytes::<LayerDesc<'a>>(self.rest)
        };
        match decoded {
            Ok((d, rest)) => {
                self.rest = rest;
                Some(Ok(d))
            }
            Err(_) => {
                self.remaining = 0;
                Some(Err(Error::MalformedBlob("undecodable layer record")))
            }
        }
    }
}

pub(super) fn decode_graph(
    bytes: &[u8],
    version: u16,
) -> Result<(GraphHeader<'_>, LayerDescs<'_>)> {
    let (header, rest) = postcard::take_from_bytes::<GraphHeader<'_>>(bytes)
        .map_err(|_| Error::MalformedBlob("undecodable graph header"))?;
    header.input.validate()?;
    Ok((
        header,
        LayerDescs {
            rest,
            remaining: header.layers,
            version,
            input: header.input,
            layers: header.layers,
        },
    ))
}
