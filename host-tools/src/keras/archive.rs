//! The `.keras` zip container.
//!
//! Keras 3 writes a zip holding `metadata.json`, `config.json` and `model.weights.h5`
//! (plus an optional `assets/` folder, ignored here). [`KerasArchive::from_bytes`] pulls
//! the three entries out into memory; parsing them is left to [`super::config`] and
//! [`super::weights`].

use std::io::{Cursor, Read};

use crate::error::{Error, Result};

/// Name of the model configuration entry.
pub const CONFIG_ENTRY: &str = "config.json";
/// Name of the metadata entry (Keras version, save date).
pub const METADATA_ENTRY: &str = "metadata.json";
/// Name of the HDF5 weights entry.
pub const WEIGHTS_ENTRY: &str = "model.weights.h5";
/// Name of the weights entry Keras writes for `weights_format="npz"` (not supported).
pub const NPZ_WEIGHTS_ENTRY: &str = "model.weights.npz";

/// Largest JSON entry read (decompressed), as a guard against zip bombs.
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// Largest weights entry read (decompressed), as a guard against zip bombs.
pub const MAX_WEIGHTS_BYTES: u64 = 1 << 30;

/// The entries of a `.keras` archive, read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasArchive {
    /// Contents of `config.json`.
    pub config_json: Vec<u8>,
    /// Contents of `metadata.json`, if the archive has one.
    pub metadata_json: Option<Vec<u8>>,
    /// Contents of `model.weights.h5`.
    pub weights_h5: Vec<u8>,
}

impl KerasArchive {
    /// Open the zip in `bytes` and read its `config.json`, `metadata.json` (optional) and
    /// `model.weights.h5` entries.
    ///
    /// # Errors
    ///
    /// [`Error::Archive`] if `bytes` is not a readable zip, if `config.json` or
    /// `model.weights.h5` is missing (an `npz` weights entry is reported as unsupported),
    /// if an entry cannot be decompressed or fails its CRC, or if it is larger than
    /// [`MAX_JSON_BYTES`] / [`MAX_WEIGHTS_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| Error::Archive(format!("cannot open the zip: {e}")))?;
        let config_json = read_entry(&mut zip, CONFIG_ENTRY, MAX_JSON_BYTES)?
            .ok_or_else(|| missing(CONFIG_ENTRY))?;
        let metadata_json = read_entry(&mut zip, METADATA_ENTRY, MAX_JSON_BYTES)?;
        let weights_h5 = match read_entry(&mut zip, WEIGHTS_ENTRY, MAX_WEIGHTS_BYTES)? {
            Some(w) => w,
            None if zip.index_for_name(NPZ_WEIGHTS_ENTRY).is_some() => {
                return Err(Error::Archive(format!(
                    "weights are stored as `{NPZ_WEIGHTS_ENTRY}`, which is not supported; \
                     re-save the model with the default `weights_format=\"h5\"`"
                )))
            }
            None => return Err(missing(WEIGHTS_ENTRY)),
        };
        Ok(Self {
            config_json,
            metadata_json,
            weights_h5,
        })
    }
}

/// The error for an entry the archive lacks.
fn missing(name: &str) -> Error {
    Error::Archive(format!("the archive has no `{name}` entry"))
}

/// Read entry `name` fully, or `None` if the archive has no such entry.
///
/// Reading to the end makes the zip crate check the entry's CRC-32.
fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>> {
    let entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(Error::Archive(format!("cannot open entry `{name}`: {e}"))),
    };
    if entry.is_dir() {
        return Err(Error::Archive(format!(
            "entry `{name}` is a directory, expected a file"
        )));
    }
    // The declared size (which a damaged file can inflate) only pre-sizes the buffer, up to
    // 16 MiB; the `take` below is what enforces the limit.
    let capacity = usize::try_from(entry.size().min(limit).min(16 << 20)).unwrap_or(0);
    let mut data = Vec::with_capacity(capacity);
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| Error::Archive(format!("cannot read entry `{name}`: {e}")))?;
    if u64::try_from(data.len()).map_or(true, |n| n > limit) {
        return Err(Error::Archive(format!(
            "entry `{name}` is larger than the {limit}-byte limit"
        )));
    }
    Ok(Some(data))
}
