//! Models: a blob decoded into a layer list ([`Graph`]), its exact memory plan
//! ([`MemoryPlan`]), and the runtime that predicts and trains ([`Sequential`]).

mod graph;
mod memory;
pub mod planner;
mod sequential;
mod train;

pub use graph::{Graph, LayerEntry};
pub use memory::MemoryPlan;
pub use sequential::Sequential;
pub use train::{TrainConfig, Trainable};

/// Default capacity (layers) of a [`Graph`]/[`Sequential`].
pub const DEFAULT_MAX_LAYERS: usize = 16;
