//! Models: a blob decoded into a layer list ([`Graph`]), its exact memory plan
//! ([`MemoryPlan`]), the runtimes that predict and train ([`Sequential`], [`Functional`]),
//! and Keras's training loop: [`fit()`] / [`evaluate()`] of a [`FitModel`] over a
//! [`Dataset`], with [`callbacks`]; and
//! [`SequentialBuilder`], which declares a model in Rust and writes it freshly initialized.

mod builder;
pub mod callbacks;
mod dataset;
mod fit;
mod functional;
mod functional_builder;
mod graph;
mod logs;
mod memory;
pub mod planner;
mod regions;
mod regularization;
mod runtime;
mod sequential;
mod stream;
mod train;
mod trainer;

pub use builder::{default_initializer, keras_snake_case, SequentialBuilder};
pub use dataset::{Dataset, SliceDataset};
pub use fit::{evaluate, fit, FitBufferSizes, FitBuffers, FitOptions};
pub use functional::{Functional, FunctionalPlan};
pub use functional_builder::{FunctionalBuilder, LayerHandle, SymbolicTensor};
pub use graph::{Graph, LayerEntry, Node};
pub use logs::{Logs, MAX_LOG_METRICS};
pub use memory::MemoryPlan;
pub use regions::ParamRegions;
pub use sequential::Sequential;
pub use stream::Stream;
pub use train::{TrainConfig, Trainable};
pub use trainer::FitModel;

/// Default capacity (layers) of a [`Graph`]/[`Sequential`].
pub const DEFAULT_MAX_LAYERS: usize = 16;
