//! [`Stream`]: a Sequential model with recurrent layers fed one time step per call — a
//! sensor sample in, the model's output so far out — with the recurrent state in a
//! caller-owned buffer (Keras's `stateful=True` model called on one step at a time).

use heapless::Vec;

use super::memory::tensor_bytes;
use super::{Graph, DEFAULT_MAX_LAYERS};
use crate::arena::typed;
use crate::layers::{Context, MaskRule};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// The per-step geometry of a streamed model.
#[derive(Debug, Clone)]
struct StreamPlan<const N: usize> {
    /// Each layer's input and output shape for one step (no batch).
    shapes: Vec<(Shape, Shape), N>,
    /// Where each recurrent layer's state starts in the state buffer.
    state_at: Vec<Option<usize>, N>,
    state_elems: usize,
    /// The widest intermediate step output.
    buf_elems: usize,
    scratch_elems: usize,
}

/// A step shape: `shape` with its first (time) axis set to 1.
fn one_step(shape: Shape) -> Result<Shape> {
    let mut dims: Vec<usize, 8> = shape.dims().iter().map(|&d| d as usize).collect();
    *dims.first_mut().ok_or(Error::InvalidShape)? = 1;
    Shape::new(&dims)
}

fn plan<T: Scalar, const N: usize>(graph: &Graph<'_, T, N>) -> Result<StreamPlan<N>> {
    if !graph.is_chain() {
        return Err(Error::InvalidConfig(
            "a Stream runs Sequential (chain) models",
        ));
    }
    let layers = graph.layers();
    let mut shapes = Vec::new();
    let mut state_at = Vec::new();
    let (mut state_elems, mut buf_elems, mut scratch_elems) = (0usize, 0usize, 0usize);
    // Whether the tensor still has its time axis (first), which a step shortens to 1.
    let mut timed = true;
    let mut shape = one_step(graph.input_shape())?;
    for (k, l) in layers.iter().enumerate() {
        let input = if timed { shape } else { l.input };
        let output = l.config.output_shape(input)?;
        let mut at = None;
        if l.config.is_recurrent() {
            if !timed {
                return Err(Error::InvalidConfig(
                    "a recurrent layer's input has no time axis left to stream over",
                ));
            }
            let n = l.config.stream_state_elems();
            if n == 0 {
                return Err(Error::InvalidConfig(
                    "Bidirectional cannot stream: its backward direction needs the sequence's end first",
                ));
            }
            at = Some(state_elems);
            state_elems = state_elems.checked_add(n).ok_or(Error::InvalidShape)?;
            timed = output.rank() == 2;
        } else if timed {
            let per_step = matches!(l.config.mask_rule(), MaskRule::Keeps | MaskRule::Produces);
            if !per_step || l.config.param_shapes(input)? != l.config.param_shapes(l.input)? {
                return Err(Error::InvalidConfig(
                    "a Stream needs per-step layers (Dense, activations, Embedding, normalization, dropout) while the time axis remains",
                ));
            }
        }
        scratch_elems = scratch_elems.max(l.config.scratch_elems(&[input], false)?);
        if k + 1 < layers.len() {
            buf_elems = buf_elems.max(output.len());
        }
        let _ = shapes.push((input, output));
        let _ = state_at.push(at);
        shape = output;
    }
    Ok(StreamPlan {
        shapes,
        state_at,
        state_elems,
        buf_elems,
        scratch_elems,
    })
}

/// Runs a Sequential model one time step at a time, keeping each recurrent layer's state
/// (`h`, and LSTM's `c`) in a caller-owned buffer between calls.
///
/// [`Stream::step`] takes one step of the model's input — e.g. one token id for an
/// `Embedding → LSTM → Dense` model, or one `(features,)` sensor sample — and writes what
/// the model outputs for the sequence seen so far: after `t` steps, exactly what the
/// whole-sequence model gives on those `t` steps (Keras's `stateful=True` model called on
/// one step at a time). A step whose token id is 0 is masked, as in the whole sequence.
///
/// Layers must work per step while the time axis remains (Dense, activations,
/// `Embedding`, normalization, dropout); after the last recurrent layer without
/// `return_sequences`, any layer. `Bidirectional` and `go_backwards` layers cannot stream.
/// Memory: the arena ([`Stream::arena_bytes`]) holds two one-step activations and the
/// recurrent scratch, independent of the sequence length; the state buffer
/// ([`Stream::state_elems`]) is the caller's, so it can live in a `static`, survive a
/// sleep, or be saved.
///
/// ```
/// use ember_nn::layers::{Dense, LayerConfig, SimpleRNN};
/// use ember_nn::model::{SequentialBuilder, Stream};
/// use ember_nn::{Activation, AlignedBlob, ArenaBuffer, Sequential, Shape};
///
/// // keras.Sequential([Input((5, 2)), SimpleRNN(3), Dense(1)]), freshly initialized.
/// let dense = Dense { units: 1, activation: Activation::Linear, use_bias: true };
/// let layers = [LayerConfig::SimpleRNN(SimpleRNN::new(3)), LayerConfig::Dense(dense)];
/// let model = SequentialBuilder::<4>::new("s", Shape::new(&[5, 2]).unwrap(), &layers);
/// let mut blob = AlignedBlob([0u8; 1024]);
/// let mut scratch = [0.0f32; 64]; // the orthogonal recurrent kernel's
/// assert!(model.scratch_len().unwrap() <= scratch.len());
/// let n = model.write_with_scratch::<f32>(7, &mut blob.0, &mut scratch).unwrap();
/// let blob = &blob.0[..n];
///
/// let mut arena = ArenaBuffer::<256>::new();
/// assert!(Stream::<f32>::arena_bytes(blob).unwrap() <= 256);
/// let mut state = [0.0f32; 3]; // SimpleRNN(3): h
/// assert_eq!(Stream::<f32>::state_elems(blob).unwrap(), 3);
/// let mut stream = Stream::<f32>::new(blob, arena.as_mut_bytes(), &mut state).unwrap();
/// let x = [0.5f32, -1.0, 0.25, 0.0, 1.0, 0.5, -0.5, 0.75, 0.0, 0.1]; // 5 steps
/// let mut y = [0.0f32];
/// for sample in x.chunks(2) {
///     stream.step(sample, &mut y).unwrap(); // the model's output so far
/// }
/// // After the 5th step: the whole-sequence model's output.
/// let mut arena2 = ArenaBuffer::<256>::new();
/// let mut whole = Sequential::<f32>::new(blob, arena2.as_mut_bytes(), 1).unwrap();
/// let mut y_whole = [0.0f32];
/// whole.predict(&x, &mut y_whole).unwrap();
/// assert!((y[0] - y_whole[0]).abs() < 1e-6);
/// stream.reset_states(); // a new sequence
/// assert_eq!(stream.states(), &[0.0; 3]);
/// ```
#[derive(Debug)]
pub struct Stream<'a, T, const N: usize = DEFAULT_MAX_LAYERS> {
    graph: Graph<'a, T, N>,
    plan: StreamPlan<N>,
    state: &'a mut [T],
    a: &'a mut [T],
    b: &'a mut [T],
    scratch: &'a mut [T],
}

impl<'a, T: Scalar, const N: usize> Stream<'a, T, N> {
    fn sizes(blob: &[u8]) -> Result<(StreamPlan<N>, [usize; 2])> {
        let graph = Graph::<T, N>::parse(blob)?;
        let plan = plan(&graph)?;
        let size = core::mem::size_of::<T>();
        let buf = tensor_bytes(1, plan.buf_elems, size)?;
        let scratch = tensor_bytes(1, plan.scratch_elems, size)?;
        Ok((plan, [buf, scratch]))
    }

    /// Exact arena bytes of a stream of `blob`: two one-step activations and the
    /// recurrent layers' scratch.
    pub fn arena_bytes(blob: &[u8]) -> Result<usize> {
        let (_, [buf, scratch]) = Self::sizes(blob)?;
        buf.checked_mul(2)
            .and_then(|b| b.checked_add(scratch))
            .ok_or(Error::InvalidShape)
    }

    /// Elements of the state buffer: the recurrent layers' states in layer order (`h`,
    /// then LSTM's `c`, `units` each).
    pub fn state_elems(blob: &[u8]) -> Result<usize> {
        Ok(Self::sizes(blob)?.0.state_elems)
    }

    /// Loads `blob` for streaming with `arena` ([`Stream::arena_bytes`]) and the state
    /// buffer `state` ([`Stream::state_elems`] elements), which is used as it is: zero it
    /// with [`Stream::reset_states`] to start a sequence, or keep a saved state.
    pub fn new(blob: &'a [u8], arena: &'a mut [u8], state: &'a mut [T]) -> Result<Self> {
        let graph = Graph::parse(blob)?;
        let plan = plan(&graph)?;
        if state.len() != plan.state_elems {
            return Err(Error::ShapeMismatch {
                expected: plan.state_elems,
                found: state.len(),
            });
        }
        let total = Self::arena_bytes(blob)?;
        let size = core::mem::size_of::<T>();
        let buf = tensor_bytes(1, plan.buf_elems, size)? / size;
        let all = typed::<T>(arena, total)?;
        let (a, rest) = all.split_at_mut(buf);
        let (b, scratch) = rest.split_at_mut(buf);
        Ok(Stream {
            graph,
            plan,
            state,
            a,
            b,
            scratch,
        })
    }

    /// Keras's `model.reset_states()`: every recurrent state back to zeros.
    pub fn reset_states(&mut self) {
        self.state.fill(T::ZERO);
    }

    /// The recurrent states (layer order; `h`, then LSTM's `c`).
    pub fn states(&self) -> &[T] {
        self.state
    }

    /// Elements of one step of the input (e.g. 1 token id, or the features of a sample).
    pub fn step_input_len(&self) -> usize {
        self.plan.shapes.first().map_or(0, |s| s.0.len())
    }

    /// Elements of one step's output.
    pub fn step_output_len(&self) -> usize {
        self.plan.shapes.last().map_or(0, |s| s.1.len())
    }

    /// Feeds one time step `x` ([`Stream::step_input_len`] elements) and writes the
    /// model's output for the sequence so far into `y` ([`Stream::step_output_len`]).
    pub fn step(&mut self, x: &[T], y: &mut [T]) -> Result<()> {
        let (n_in, n_out) = (self.step_input_len(), self.step_output_len());
        if x.len() != n_in || y.len() != n_out {
            return Err(Error::ShapeMismatch {
                expected: if x.len() != n_in { n_in } else { n_out },
                found: if x.len() != n_in { x.len() } else { y.len() },
            });
        }
        let layers = self.graph.layers();
        let n = layers.len();
        let ctx = Context::default();
        for (k, l) in layers.iter().enumerate() {
            let (input, output) = self.plan.shapes[k];
            let (front, back) = if k % 2 == 0 {
                (&mut *self.b, &mut *self.a)
            } else {
                (&mut *self.a, &mut *self.b)
            };
            let src: &[T] = if k == 0 { x } else { &front[..input.len()] };
            let dst: &mut [T] = if k + 1 == n {
                &mut *y
            } else {
                &mut back[..output.len()]
            };
            // The step mask: the step's token id (always the model input in a chain).
            let ids = self.graph.nodes()[k].input_mask.map(|_| x);
            let ps: Vec<&[T], { crate::layers::MAX_PARAMS }> = l.params.iter().copied().collect();
            match self.plan.state_at[k] {
                Some(at) => {
                    let len = l.config.stream_state_elems();
                    let state = &mut self.state[at..at + len];
                    let masked = ids.is_some_and(|ids| ids.first() == Some(&T::ZERO));
                    l.config
                        .stream_step(&ps, src, masked, state, dst, self.scratch)?;
                }
                None => {
                    let xv = TensorView::new(input.with_batch(1)?, src)?;
                    let yv = TensorViewMut::new(output.with_batch(1)?, dst)?;
                    l.config
                        .forward_call(&ps, &[xv], ids, yv, self.scratch, &ctx)?;
                }
            }
        }
        Ok(())
    }
}
