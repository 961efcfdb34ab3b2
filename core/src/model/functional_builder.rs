//! Declaring a functional (graph) model in Rust, Keras's functional API without a heap:
//! inputs, layers called on tensors (a layer called twice shares its weights), merges,
//! several outputs — written as a freshly initialized blob into a caller buffer.

use heapless::{String, Vec};

use super::builder::{fill_default, fresh_specs, keras_names, NAME_LEN};
use super::DEFAULT_MAX_LAYERS;
use crate::blob::{
    encoded_len_graph_unfilled, write_graph_filled, GraphSpec, NodeDesc, MAX_MODEL_IO,
    MAX_NODE_INPUTS,
};
use crate::layers::LayerConfig;
use crate::random::Rng;
use crate::{Error, Result, Scalar, Shape};

/// A symbolic tensor of a model being declared (Keras's `KerasTensor`): a model input or a
/// layer call's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolicTensor(u16);

impl SymbolicTensor {
    /// The tensor's id in the blob's topology.
    pub fn id(self) -> u16 {
        self.0
    }
}

/// A declared layer: one set of weights, callable on several tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerHandle(u16);

/// A functional model declared in Rust, to be written as a freshly initialized blob
/// (every parameter from Keras's default initializer, as [`super::SequentialBuilder`]).
/// Keras: `keras.Model(inputs, outputs)` built from `keras.Input`s and layer calls.
///
/// `N` bounds the layers and the calls. Declare every input before the first call.
///
/// ```
/// use ember_nn::layers::{Add, Dense, LayerConfig};
/// use ember_nn::model::{Functional, FunctionalBuilder};
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Shape};
///
/// let dense = |units, activation| LayerConfig::Dense(Dense { units, activation, use_bias: true });
/// // a = Input((4,)); b = Input((4,))
/// // shared = Dense(8, relu); ha, hb = shared(a), shared(b)      (one layer, two calls)
/// // merged = Add()([ha, hb])                                     (a merge)
/// // out1 = Dense(3, softmax)(merged); out2 = Dense(1)(ha)        (a branch, two outputs)
/// let mut m = FunctionalBuilder::<8>::new("two_heads");
/// let a = m.input(Shape::new(&[4]).unwrap()).unwrap();
/// let b = m.input(Shape::new(&[4]).unwrap()).unwrap();
/// let shared = m.layer(dense(8, Activation::Relu)).unwrap();
/// let ha = m.call(shared, &[a]).unwrap();
/// let hb = m.call(shared, &[b]).unwrap();
/// let merged = m.apply(LayerConfig::Add(Add), &[ha, hb]).unwrap();
/// let out1 = m.apply(dense(3, Activation::Softmax), &[merged]).unwrap();
/// let out2 = m.apply(dense(1, Activation::Linear), &[ha]).unwrap();
/// m.output(out1).unwrap();
/// m.output(out2).unwrap();
///
/// let mut blob = AlignedBlob([0u8; 1024]);
/// let len = m.write::<f32>(7, &mut blob.0).unwrap();
/// let mut arena = ArenaBuffer::<256>::new();
/// let mut model = Functional::<f32>::new(&blob.0[..len], arena.as_mut_bytes(), 1).unwrap();
/// assert_eq!(model.graph().layers().len(), 4); // the shared Dense once
/// let (mut probs, mut score) = ([0.0f32; 3], [0.0f32; 1]);
/// model.predict(&[&[1.0, 2.0, 3.0, 4.0], &[0.5; 4]], &mut [&mut probs, &mut score]).unwrap();
/// assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct FunctionalBuilder<'a, const N: usize = DEFAULT_MAX_LAYERS> {
    name: &'a str,
    inputs: Vec<Shape, MAX_MODEL_IO>,
    layers: Vec<LayerConfig, N>,
    nodes: Vec<NodeDesc, N>,
    outputs: Vec<u16, MAX_MODEL_IO>,
}

impl<'a, const N: usize> FunctionalBuilder<'a, N> {
    /// An empty model named `name`.
    pub fn new(name: &'a str) -> Self {
        FunctionalBuilder {
            name,
            inputs: Vec::new(),
            layers: Vec::new(),
            nodes: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// A model input of `shape` (no batch; Keras `keras.Input(shape)`).
    /// [`Error::InvalidConfig`] after the first call, or past [`MAX_MODEL_IO`] inputs.
    pub fn input(&mut self, shape: Shape) -> Result<SymbolicTensor> {
        if !self.nodes.is_empty() {
            return Err(Error::InvalidConfig(
                "declare every input before the first layer call",
            ));
        }
        self.inputs
            .push(shape)
            .map_err(|_| Error::InvalidConfig("too many model inputs"))?;
        Ok(SymbolicTensor(self.inputs.len() as u16 - 1))
    }

    /// Declares a layer (its weights) without calling it.
    pub fn layer(&mut self, config: LayerConfig) -> Result<LayerHandle> {
        self.layers
            .push(config)
            .map_err(|_| Error::InvalidConfig("too many layers for the builder"))?;
        Ok(LayerHandle(self.layers.len() as u16 - 1))
    }

    /// Calls `layer` on `inputs` (one tensor, or several for a merge); returns the
    /// output. Calling a layer again shares its weights.
    pub fn call(
        &mut self,
        layer: LayerHandle,
        inputs: &[SymbolicTensor],
    ) -> Result<SymbolicTensor> {
        self.call_node(layer, inputs, false)
    }

    /// [`FunctionalBuilder::call`] under Keras's `TimeDistributed`: the layer runs on
    /// every step of the input's first axis.
    pub fn call_time_distributed(
        &mut self,
        layer: LayerHandle,
        input: SymbolicTensor,
    ) -> Result<SymbolicTensor> {
        self.call_node(layer, &[input], true)
    }

    /// Declares a layer and calls it once (Keras `Layer(...)(inputs)`).
    pub fn apply(
        &mut self,
        config: LayerConfig,
        inputs: &[SymbolicTensor],
    ) -> Result<SymbolicTensor> {
        let layer = self.layer(config)?;
        self.call(layer, inputs)
    }

    /// Adds `t` to the model's outputs (in order).
    pub fn output(&mut self, t: SymbolicTensor) -> Result<()> {
        self.outputs
            .push(t.0)
            .map_err(|_| Error::InvalidConfig("too many model outputs"))
    }

    /// Exact length of the blob [`FunctionalBuilder::write`] produces for `T`.
    pub fn encoded_len<T: Scalar>(&self) -> Result<usize> {
        let names = keras_names::<N>(&self.layers)?;
        let specs = fresh_specs::<T, N>(&self.layers, &names)?;
        encoded_len_graph_unfilled(self.name, &self.spec(), &specs)
    }

    /// Writes the model, every parameter initialized by
    /// [`super::default_initializer`] from `Rng::from_seed(seed)` (parameters in layer
    /// order), into `out`; returns the blob's length. Errors as
    /// [`super::SequentialBuilder::write`], plus a shape error for a call on tensors its
    /// layer cannot take.
    pub fn write<T: Scalar>(&self, seed: u64, out: &mut [u8]) -> Result<usize> {
        let names: Vec<String<NAME_LEN>, N> = keras_names(&self.layers)?;
        let specs = fresh_specs::<T, N>(&self.layers, &names)?;
        let mut rng = Rng::from_seed(seed);
        write_graph_filled(
            self.name,
            &self.spec(),
            &specs,
            out,
            |l, p, shape, values| {
                fill_default(&self.layers[l], p, shape, values, &mut rng, &mut [])
            },
        )
    }

    fn call_node(
        &mut self,
        layer: LayerHandle,
        inputs: &[SymbolicTensor],
        time_distributed: bool,
    ) -> Result<SymbolicTensor> {
        if layer.0 as usize >= self.layers.len() {
            return Err(Error::InvalidConfig("unknown layer"));
        }
        let here = self.inputs.len() + self.nodes.len();
        if inputs.iter().any(|t| t.0 as usize >= here) {
            return Err(Error::InvalidConfig("tensor of another model"));
        }
        if inputs.len() > MAX_NODE_INPUTS {
            return Err(Error::InvalidConfig("too many inputs for one node"));
        }
        let mut ids = [0u16; MAX_NODE_INPUTS];
        for (d, t) in ids.iter_mut().zip(inputs) {
            *d = t.0;
        }
        let mut node = NodeDesc::call(layer.0, &ids[..inputs.len()])?;
        node.time_distributed = time_distributed;
        self.nodes
            .push(node)
            .map_err(|_| Error::InvalidConfig("too many layer calls for the builder"))?;
        u16::try_from(here)
            .map(SymbolicTensor)
            .map_err(|_| Error::InvalidConfig("too many tensors"))
    }

    fn spec(&self) -> GraphSpec<'_> {
        GraphSpec {
            inputs: &self.inputs,
            nodes: &self.nodes,
            outputs: &self.outputs,
        }
    }
}
