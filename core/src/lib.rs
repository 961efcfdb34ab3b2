//! # ember-nn
//!
//! Keras-style neural networks that **run and train on microcontrollers**.
//!
//! **Design rule: all memory is static.** The crate is `#![no_std]` and never allocates:
//! weights are read in place from a blob (typically `&'static` bytes in flash), and every
//! tensor the model writes — activations, gradients, trainable parameter copies,
//! optimizer state — lives in one caller-provided arena whose exact size is known before
//! the model runs ([`Sequential::inference_bytes`], [`Sequential::training_bytes`]; the
//! host tool prints the same numbers). A too-small arena is an [`Error::ArenaTooSmall`]
//! carrying the bytes `needed`, never a panic.
//!
//! **Keras is the spec.** Layers, activations, losses and optimizers use Keras 3's names,
//! defaults, shapes (channels-last), weight layouts and update formulas; the conformance
//! suite checks them against Keras-generated golden values.
//!
//! **One implementation, two number types.** Layers, losses and optimizers are generic
//! over [`Scalar`], implemented by `f32` and by [`Q16_16`] fixed point for cores without
//! an FPU.
//!
//! ## Pieces
//! - [`blob`]: the on-flash model format (spec with byte tables) — reading and writing.
//! - [`model`]: [`Sequential`] (`predict`, `train_on_batch`), [`model::Functional`] (graph
//!   models: several inputs and outputs, merges, shared layers, `TimeDistributed`,
//!   `Lambda` functions registered by name, Keras masking), the builders that declare
//!   models in Rust, the [`MemoryPlan`] / [`model::FunctionalPlan`] and the greedy buffer
//!   planner.
//! - [`ops`]: Keras's backend ops (`K.*` / `keras.ops`) on tensor views, with their
//!   gradients, for custom losses and Lambda functions.
//! - [`layers`]: the [`layers::Layer`] interface (forward, backward) and the layers:
//!   Dense, the convolutions (plain, depthwise, separable, transposed), pooling,
//!   normalization (batch, layer), the activation layers, the reshaping, padding, cropping
//!   and up-sampling layers, the dropout/noise family (noise replayed from a seed in
//!   backward, so no masks are stored), and Embedding.
//! - [`kernels`]: `reference` loops (the correctness oracle) and their `optimized`
//!   register-blocked twins, bit-identical on a shared test suite.
//! - [`regularizers`] and [`constraints`]: Keras's weight/activity penalties and the
//!   projections applied after each update, attached per layer ([`layers::LayerAttrs`]).
//! - [`Activation`], [`Loss`], [`Optimizer`] ([`Sgd`], [`Adam`]).
//! - [`Shape`], [`TensorView`], [`TensorViewMut`], [`ArenaBuffer`], [`AlignedBlob`].
//!
//! ## Cargo features
//! - `defmt`: `defmt::Format` for the public types.
//! - Layer families, all on by default (`all-layers`): `conv`, `pooling`,
//!   `normalization`, `resizing`. Firmware that sets `default-features = false` and names
//!   only the families its models use leaves the others' code out of flash (the digits
//!   MLP firmware: 418 KB → 285 KB of flash). A left-out family keeps its blob variant
//!   numbers, and a blob that uses it fails to load with [`Error::LayerNotCompiled`].
//!
//! ## Example
//! See [`blob::write()`]: build a blob in memory, load it into an arena and predict.
#![no_std]
#![deny(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!(
    "ember-nn reads little-endian weights in place and supports little-endian targets only"
);

pub mod activation;
pub mod arena;
pub mod blob;
pub mod constraints;
mod error;
pub mod initializers;
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod optimizer;
pub mod random;
pub mod regularizers;
pub mod scalar;
mod shape;
mod tensor;

pub use activation::Activation;
pub use arena::ArenaBuffer;
pub use blob::AlignedBlob;
pub use error::{Error, Result};
pub use loss::Loss;
pub use model::{MemoryPlan, Sequential, TrainConfig, Trainable};
pub use optimizer::{Adam, Optimizer, Sgd};
pub use scalar::{DType, Scalar, Q16_16};
pub use shape::{Shape, MAX_RANK};
pub use tensor::{TensorView, TensorViewMut};
