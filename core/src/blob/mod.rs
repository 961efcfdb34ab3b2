//! Reading Ember blobs (format v3; v1 and v2 blobs are still read) and writing them (v3). The byte-level specification is
//! `core/docs/blob-format.md`, included below.
//!
#![doc = include_str!("../../docs/blob-format.md")]

mod desc;
mod header;
mod topology;
mod training;
mod write;

pub use desc::{GraphHeader, LayerDesc, LayerDescs, ParamDesc};
pub use header::{
    Header, Sections, ALIGN, FORMAT_VERSION, HEADER_LEN, MAGIC, OLDEST_READABLE_VERSION,
};
pub(crate) use topology::check_outputs;
pub use topology::{
    chain, chain_node, input_shapes, node_shapes, NodeDesc, NodeDescs, NodeShapes, Topology,
    MAX_MODEL_IO, MAX_NODE_INPUTS,
};
pub use training::TrainingDesc;
pub use write::{
    encoded_len, encoded_len_graph, encoded_len_graph_with_training, write, write_graph,
    write_graph_with_training, GraphSpec, LayerSpec, MAX_WRITE_TENSORS,
};
pub(crate) use write::{
    encoded_len_graph_unfilled, encoded_len_unfilled, write_filled, write_graph_filled,
};

use crate::{Error, Result};

/// The CRC used: CRC-32/ISO-HDLC (the zlib/PNG CRC-32).
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The blob's checksum: CRC-32 of bytes `0..12` and `16..total_len`, i.e. of everything
/// but the checksum field itself, so a flip of any byte is detected. `blob` must hold at
/// least `total_len >= HEADER_LEN` bytes (callers check).
pub fn checksum(blob: &[u8]) -> u32 {
    let mut digest = CRC.digest();
    digest.update(blob.get(..12).unwrap_or(&[]));
    digest.update(blob.get(16..).unwrap_or(&[]));
    digest.finalize()
}

/// A validated blob: header checked, CRC verified, sections in bounds and aligned.
///
/// Nothing is copied; the sections borrow the blob (typically `&'static` in flash).
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    header: Header,
    graph: &'a [u8],
    weights: &'a [u8],
}

impl<'a> Blob<'a> {
    /// Validates `bytes` as a v1, v2 or v3 blob. Checks, in order: length ≥ header, magic, version,
    /// declared length, CRC, section bounds and alignment, and that the blob
    /// starts at a multiple of [`ALIGN`] bytes (so weights can be read in place).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let header = Header::parse(bytes)?;
        let total = header.total_len as usize;
        let whole = bytes.get(..total).ok_or(Error::BlobTruncated {
            needed: total,
            available: bytes.len(),
        })?;
        let computed = checksum(whole);
        if computed != header.crc32 {
            return Err(Error::ChecksumMismatch {
                expected: header.crc32,
                computed,
            });
        }
        let graph = section(bytes, header.graph)?;
        let weights = section(bytes, header.weights)?;
        if header.weights.offset as usize % ALIGN != 0 {
            return Err(Error::MalformedBlob(
                "weights section is not 16-byte aligned",
            ));
        }
        if bytes.as_ptr() as usize % ALIGN != 0 {
            return Err(Error::BlobMisaligned { align: ALIGN });
        }
        Ok(Blob {
            header,
            graph,
            weights,
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The graph section (postcard).
    pub fn graph_bytes(&self) -> &'a [u8] {
        self.graph
    }

    /// The weights section (raw little-endian tensors).
    pub fn weight_bytes(&self) -> &'a [u8] {
        self.weights
    }

    /// Decodes the graph header and returns it with an iterator over the layer records.
    pub fn graph(&self) -> Result<(GraphHeader<'a>, LayerDescs<'a>)> {
        desc::decode_graph(self.graph, self.header.version)
    }

    /// The training record (format v3): the optimizer, loss and training choices the
    /// converter saved from Keras's `model.compile(...)`, or `None` when the blob has none
    /// (every v1/v2 blob, and v3 blobs written without one). Walks every layer and node
    /// record; [`Error::MalformedBlob`] if one of them or the record does not decode.
    pub fn training(&self) -> Result<Option<TrainingDesc>> {
        if self.header.version < 3 {
            return Ok(None);
        }
        let (_, mut layers) = self.graph()?;
        for l in layers.by_ref() {
            l?;
        }
        let (_, mut nodes) = layers.topology()?;
        for n in nodes.by_ref() {
            n?;
        }
        nodes.training()
    }

    /// The bytes of a parameter inside the weights section, bounds- and alignment-checked.
    pub fn param_bytes(&self, p: &ParamDesc) -> Result<&'a [u8]> {
        let start = p.offset as usize;
        if start % ALIGN != 0 {
            return Err(Error::MalformedBlob(
                "parameter offset is not 16-byte aligned",
            ));
        }
        let len = p
            .shape
            .len()
            .checked_mul(p.dtype.size())
            .ok_or(Error::MalformedBlob("parameter size overflows"))?;
        start
            .checked_add(len)
            .and_then(|end| self.weights.get(start..end))
            .ok_or(Error::MalformedBlob(
                "parameter lies outside the weights section",
            ))
    }
}

fn section(bytes: &[u8], s: Sections) -> Result<&[u8]> {
    let start = s.offset as usize;
    let end = start
        .checked_add(s.len as usize)
        .ok_or(Error::MalformedBlob("section bounds overflow"))?;
    if start < HEADER_LEN {
        return Err(Error::MalformedBlob("section overlaps the header"));
    }
    bytes
        .get(start..end)
        .ok_or(Error::MalformedBlob("section lies outside the blob"))
}

/// Bytes with the alignment Ember blobs need, for `include_bytes!`-style embedding:
///
/// ```
/// use ember_nn::AlignedBlob;
/// static BLOB: AlignedBlob<4> = AlignedBlob(*b"EMBR");
/// assert_eq!(BLOB.as_bytes().as_ptr() as usize % 16, 0);
/// ```
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
pub struct AlignedBlob<const N: usize>(pub [u8; N]);

impl<const N: usize> AlignedBlob<N> {
    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
