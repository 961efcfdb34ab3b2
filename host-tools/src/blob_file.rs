//! Blob bytes on the host: 16-byte aligned storage, file reading and writing.

use std::path::Path;

use crate::{Error, Result};

/// Bytes stored with 16-byte alignment, as the core requires of blobs (weights are read
/// in place).
#[derive(Clone, Debug)]
pub struct AlignedBytes {
    words: Vec<u128>,
    len: usize,
}

impl AlignedBytes {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        AlignedBytes {
            words: vec![0u128; len.div_ceil(16)],
            len,
        }
    }

    /// A copy of `bytes`, aligned.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut a = Self::zeroed(bytes.len());
        a.as_mut_slice().copy_from_slice(bytes);
        a
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }

    /// The bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words)[..self.len]
    }
}

/// Reads a file into aligned memory.
pub fn read(path: &Path) -> Result<AlignedBytes> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(AlignedBytes::from_slice(&bytes))
}

/// Writes bytes to a file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
