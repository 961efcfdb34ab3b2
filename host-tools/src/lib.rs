//! # ember-cli
//!
//! Host-side tools for Ember: read Keras models, write Ember blobs, inspect and run them.
//! The `ember` binary is a thin shell over this library, so tests and `build.rs` scripts
//! call the same code.
//!
//! - [`keras`]: read `.keras` files (config + HDF5 weights).
//! - [`convert`]: map Keras layers to Ember layers and write a blob.
//! - [`summary`]: `ember inspect`.
//! - [`predict`]: `ember predict`.
//! - [`train`]: `ember train` (with [`history`] and [`plot`] for its CSV and PNG).
//! - [`export`]: `ember export` (blob weights → Keras `.weights.h5`).
//! - [`checkpoint`]: `ModelCheckpoint` to blob files (`ember train --checkpoint`).
//! - [`build_support`]: generate a Rust module with the blob and exact arena sizes for a
//!   firmware `build.rs`.

pub mod blob_file;
pub mod build_support;
pub mod checkpoint;
pub mod convert;
pub mod error;
pub mod export;
pub mod history;
pub mod keras;
#[cfg(feature = "cli")]
pub mod plot;
pub mod predict;
pub mod summary;
pub mod tensor_file;
#[cfg(feature = "cli")]
pub mod train;
pub mod train_spec;

pub use error::{Error, Result};
