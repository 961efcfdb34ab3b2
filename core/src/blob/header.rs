//! The fixed 32-byte blob header.

use crate::{Error, Result};

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"EMBR";
/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this build still reads (v1: no regularizers or constraints).
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 32;
/// Alignment of the blob start, of the weights section and of every tensor in it.
pub const ALIGN: usize = 16;

/// Offset and length of a section, in bytes from the start of the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sections {
    /// Offset from the blob start.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

/// The decoded header (see the format spec for the byte table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Format version (1, 2 or 3).
    pub version: u16,
    /// Total blob length in bytes.
    pub total_len: u32,
    /// CRC-32 of every byte but this field (see [`super::checksum`]).
    pub crc32: u32,
    /// The postcard-encoded graph.
    pub graph: Sections,
    /// The raw weights.
    pub weights: Sections,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[at..at + 2]);
    u16::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

impl Header {
    /// Decodes and checks the header of `bytes` (magic, version, header and total length).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let h = bytes.get(..HEADER_LEN).ok_or(Error::BlobTruncated {
            needed: HEADER_LEN,
            available: bytes.len(),
        })?;
        if h[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = u16_at(h, 4);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if u16_at(h, 6) as usize != HEADER_LEN {
            return Err(Error::MalformedBlob("header length is not 32"));
        }
        let total_len = u32_at(h, 8);
        if (total_len as usize) < HEADER_LEN {
            return Err(Error::MalformedBlob("total length shorter than the header"));
        }
        if bytes.len() < total_len as usize {
            return Err(Error::BlobTruncated {
                needed: total_len as usize,
                available: bytes.len(),
            });
        }
        Ok(Header {
            version,
            total_len,
            crc32: u32_at(h, 12),
            graph: Sections {
                offset: u32_at(h, 16),
                len: u32_at(h, 20),
            },
            weights: Sections {
                offset: u32_at(h, 24),
                len: u32_at(h, 28),
            },
        })
    }

    /// Encodes the header (used by the host-side writer and by tests).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&self.version.to_le_bytes());
        b[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        b[8..12].copy_from_slice(&self.total_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.crc32.to_le_bytes());
        b[16..20].copy_from_slice(&self.graph.offset.to_le_bytes());
        b[20..24].copy_from_slice(&self.graph.len.to_le_bytes());
        b[24..28].copy_from_slice(&self.weights.offset.to_le_bytes());
        b[28..32].copy_from_slice(&self.weights.len.to_le_bytes());
        b
    }
}
