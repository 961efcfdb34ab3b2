//! [`Bidirectional`]: Keras's `keras.layers.Bidirectional`.

use serde::{Deserialize, Serialize};

use super::cell::{check_len, Cell};
use super::layer::{self, cell_grads, cell_params, dims, MAX_STATES};
use super::sequence::{self, Mode, Sample, SampleGrads};
use super::{SimpleRNN, GRU, LSTM};
use crate::layers::{Context, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// The recurrent layer a [`Bidirectional`] wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecurrentLayer {
    /// `SimpleRNN`.
    SimpleRNN(SimpleRNN),
    /// `LSTM`.
    LSTM(LSTM),
    /// `GRU`.
    GRU(GRU),
}

/// How a [`Bidirectional`] combines its two directions (`merge_mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BiMerge {
    /// `"concat"` (Keras's default): forward then backward along the last axis.
    Concat,
    /// `"sum"`.
    Sum,
    /// `"mul"`.
    Mul,
    /// `"ave"`: the mean of the two.
    Ave,
    /// `None`: no merge; the call returns both directions' outputs (forward first), cut
    /// apart by [`crate::layers::Slice`] layers.
    None,
}

/// Runs a recurrent layer over the sequence in both directions: Keras's
/// `keras.layers.Bidirectional(layer, merge_mode="concat")`.
///
/// The backward direction is `layer` with `go_backwards` flipped (Keras's default
/// `backward_layer`), or the given `backward_layer`; its weights follow the forward direction's (Keras's weight order:
/// forward kernel, recurrent kernel, bias, then the backward ones). With
/// `return_sequences` its output sequence is put back in time order before merging, and
/// masked steps output zeros in both directions (Keras forces `zero_output_for_mask`
/// then). Initial states, when given, are the forward direction's then the backward's.
///
/// ```
/// use ember_nn::layers::{BiMerge, Bidirectional, Context, LayerConfig, RecurrentLayer, SimpleRNN};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let bi = LayerConfig::Bidirectional(Bidirectional {
///     layer: RecurrentLayer::SimpleRNN(SimpleRNN::new(1)),
///     backward_layer: None,
///     merge_mode: BiMerge::Concat,
/// });
/// // Both directions: kernel 1, recurrent kernel 0, bias 0, so h = tanh(x_last).
/// let w = [1.0f32];
/// let z = [0.0f32];
/// let x = [0.25f32, 0.5]; // one sample, two steps
/// let mut y = [0.0f32; 2];
/// let mut scratch = [0.0f32; 32];
/// bi.forward_call(
///     &[&w, &z, &z, &w, &z, &z],
///     &[TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap()],
///     None,
///     TensorViewMut::new(Shape::new(&[1, 2]).unwrap(), &mut y).unwrap(),
///     &mut scratch,
///     &Context::default(),
/// ).unwrap();
/// // Forward ends on x = 0.5, backward on x = 0.25.
/// assert!((y[0] - 0.5f32.tanh()).abs() < 1e-6 && (y[1] - 0.25f32.tanh()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bidirectional {
    /// The forward direction's layer.
    pub layer: RecurrentLayer,
    /// Keras's `backward_layer=`: `None` for Keras's default, `layer` with
    /// `go_backwards` flipped. A given one must be of the same class, with the same
    /// `units` and `return_sequences`.
    pub backward_layer: Option<RecurrentLayer>,
    /// How the directions combine.
    pub merge_mode: BiMerge,
}

/// Salts of the two directions' dropout streams.
const SALT_FORWARD: u64 = 1;
const SALT_BACKWARD: u64 = 2;

impl RecurrentLayer {
    /// The layer with `go_backwards` flipped.
    fn flipped(self) -> Self {
        match self {
            RecurrentLayer::SimpleRNN(mut c) => {
                c.rnn.go_backwards = !c.rnn.go_backwards;
                RecurrentLayer::SimpleRNN(c)
            }
            RecurrentLayer::LSTM(mut c) => {
                c.rnn.go_backwards = !c.rnn.go_backwards;
                RecurrentLayer::LSTM(c)
            }
            RecurrentLayer::GRU(mut c) => {
                c.rnn.go_backwards = !c.rnn.go_backwards;
                RecurrentLayer::GRU(c)
            }
        }
    }

    fn units(&self) -> usize {
        self.options().units as usize
    }

    fn states(&self) -> usize {
        match self {
            RecurrentLayer::LSTM(_) => LSTM::STATES,
            _ => 1,
        }
    }

    fn output_parts(&self, x: Shape) -> Result<heapless::Vec<Shape, 8>> {
        match self {
            RecurrentLayer::SimpleRNN(c) => layer::output_parts(c, x),
            RecurrentLayer::LSTM(c) => layer::output_parts(c, x),
            RecurrentLayer::GRU(c) => layer::output_parts(c, x),
        }
    }

    fn param_shapes(&self, x: Shape) -> Result<ParamShapes> {
        match self {
            RecurrentLayer::SimpleRNN(c) => layer::param_shapes(c, x),
            RecurrentLayer::LSTM(c) => layer::param_shapes(c, x),
            RecurrentLayer::GRU(c) => layer::param_shapes(c, x),
        }
    }

    fn macs(&self, x: Shape) -> usize {
        match self {
            RecurrentLayer::SimpleRNN(c) => layer::macs(c, x),
            RecurrentLayer::LSTM(c) => layer::macs(c, x),
            RecurrentLayer::GRU(c) => layer::macs(c, x),
        }
    }

    fn scratch(&self, d: super::sequence::Dims, training: bool) -> Result<usize> {
        match self {
            RecurrentLayer::SimpleRNN(c) => sequence::scratch_elems(c, d, training),
            RecurrentLayer::LSTM(c) => sequence::scratch_elems(c, d, training),
            RecurrentLayer::GRU(c) => sequence::scratch_elems(c, d, training),
        }
        .ok_or(Error::InvalidShape)
    }

    fn options(&self) -> &super::Recurrent {
        match self {
            RecurrentLayer::SimpleRNN(c) => &c.rnn,
            RecurrentLayer::LSTM(c) => &c.rnn,
            RecurrentLayer::GRU(c) => &c.rnn,
        }
    }
}

/// The error of two directions that do not fit together.
fn mismatched() -> Error {
    Error::InvalidConfig(
        "Bidirectional's backward_layer must be of the forward layer's class and return_sequences (and units, unless merge_mode is concat)",
    )
}

impl Bidirectional {
    /// The backward direction's layer.
    pub fn backward_direction(&self) -> RecurrentLayer {
        self.backward_layer.unwrap_or(self.layer.flipped())
    }

    /// Checks the two directions fit together.
    fn check_directions(&self) -> Result<()> {
        let (f, b) = (self.layer, self.backward_direction());
        let same_class = core::mem::discriminant(&f) == core::mem::discriminant(&b);
        let (fo, bo) = (f.options(), b.options());
        let units_ok =
            fo.units == bo.units || matches!(self.merge_mode, BiMerge::Concat | BiMerge::None);
        let same_outputs =
            fo.return_sequences == bo.return_sequences && fo.return_state == bo.return_state;
        if !same_class || !units_ok || !same_outputs {
            return Err(mismatched());
        }
        Ok(())
    }

    /// Elements of one sample's output of `direction`.
    fn direction_len(direction: &RecurrentLayer, steps: usize) -> usize {
        direction.options().output_len(steps, direction.states())
    }

    /// The shapes of the call's outputs: the merged output (both directions' with
    /// `merge_mode=None`), then with `return_state` the forward states and the backward
    /// ones. Several outputs are computed as one flat tensor per sample.
    pub fn output_parts(&self, x: Shape) -> Result<heapless::Vec<Shape, 8>> {
        self.check_directions()?;
        let back = self.backward_direction();
        let (f, b) = (self.layer.output_parts(x)?, back.output_parts(x)?);
        let mut parts = heapless::Vec::new();
        let push =
            |p: &mut heapless::Vec<Shape, 8>, s: Shape| p.push(s).map_err(|_| Error::InvalidShape);
        match self.merge_mode {
            BiMerge::Concat => push(
                &mut parts,
                f[0].with_last(self.layer.units() + back.units())?,
            )?,
            BiMerge::None => {
                push(&mut parts, f[0])?;
                push(&mut parts, b[0])?;
            }
            _ => push(&mut parts, f[0])?,
        }
        for s in f.iter().skip(1).chain(b.iter().skip(1)) {
            push(&mut parts, *s)?;
        }
        Ok(parts)
    }

    /// Whether `n` inputs are allowed (the sequence, then optionally both directions'
    /// initial states).
    pub fn input_count_ok(&self, n: usize) -> bool {
        n == 1 || n == 1 + 2 * self.layer.states()
    }

    /// Output shape for the per-sample input shapes.
    pub fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        self.check_directions()?;
        if !self.input_count_ok(inputs.len()) {
            return Err(Error::InvalidConfig(
                "Bidirectional takes the sequence, then optionally both directions' initial states",
            ));
        }
        let (x, init) = inputs.split_first().ok_or(Error::InvalidShape)?;
        let back = self.backward_direction();
        let parts = self.output_parts(*x)?;
        let states = self.layer.states();
        for (k, s) in init.iter().enumerate() {
            let u = if k < states {
                self.layer.units()
            } else {
                back.units()
            };
            if s.rank() != 1 || s.dim(0) != u {
                return Err(Error::InvalidShape);
            }
        }
        match parts.as_slice() {
            [one] => Ok(*one),
            several => Shape::new(&[several.iter().map(|s| s.len()).sum::<usize>()]),
        }
    }

    /// Keras's weights: the forward direction's, then the backward's.
    pub fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.check_directions()?;
        let mut both = self.layer.param_shapes(input)?;
        for s in self.backward_direction().param_shapes(input)? {
            both.push(s).map_err(|_| Error::InvalidShape)?;
        }
        Ok(both)
    }

    /// Multiply-accumulates per sample: both directions.
    pub fn macs(&self, input: Shape) -> usize {
        self.layer.macs(input) + self.backward_direction().macs(input)
    }

    /// Scratch elements of one call.
    pub fn scratch_elems(&self, input: Shape, training: bool) -> Result<usize> {
        let d = dims(input)?;
        let back = self.backward_direction();
        let cell = self
            .layer
            .scratch(d, training)?
            .max(back.scratch(d, training)?);
        let outs = Self::direction_len(&self.layer, d.steps) + Self::direction_len(&back, d.steps);
        let own = if training {
            2 * outs + self.layer.states() * self.layer.units().max(back.units())
        } else {
            outs
        };
        cell.checked_add(own).ok_or(Error::InvalidShape)
    }

    /// Forward pass over a batch (see [`crate::layers::LayerConfig::forward_call`]).
    pub fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        y: TensorViewMut<'_, T>,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        use RecurrentLayer as R;
        match (self.layer, self.backward_direction()) {
            (R::SimpleRNN(f), R::SimpleRNN(b)) => {
                self.run(&f, &b, params, xs, ids, y, scratch, ctx)
            }
            (R::LSTM(f), R::LSTM(b)) => self.run(&f, &b, params, xs, ids, y, scratch, ctx),
            (R::GRU(f), R::GRU(b)) => self.run(&f, &b, params, xs, ids, y, scratch, ctx),
            _ => Err(mismatched()),
        }
    }

    /// Backward pass over a batch (see [`crate::layers::LayerConfig::backward_call`]).
    #[allow(clippy::too_many_arguments)] // the call's tensors, gradients and buffers
    pub fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
        dparams: Option<&mut [T]>,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        use RecurrentLayer as R;
        let (p, d) = (params, dparams);
        match (self.layer, self.backward_direction()) {
            (R::SimpleRNN(f), R::SimpleRNN(b)) => {
                self.run_backward(&f, &b, p, xs, ids, dy, dxs, d, scratch, ctx)
            }
            (R::LSTM(f), R::LSTM(b)) => {
                self.run_backward(&f, &b, p, xs, ids, dy, dxs, d, scratch, ctx)
            }
            (R::GRU(f), R::GRU(b)) => {
                self.run_backward(&f, &b, p, xs, ids, dy, dxs, d, scratch, ctx)
            }
            _ => Err(mismatched()),
        }
    }

    /// Merges one sample's two direction outputs (`yb` in processing order, each with
    /// its final state after it when `return_state`) into `y`.
    fn merge<T: Scalar>(&self, c: &Call<'_, '_, T>, yf: &[T], yb: &[T], y: &mut [T]) {
        let (uf, ub) = (c.uf, c.ub);
        let rows = c.one_f / uf;
        for r in 0..rows {
            let rb = if c.seq { rows - 1 - r } else { r };
            let f = &yf[r * uf..(r + 1) * uf];
            let b = &yb[rb * ub..(rb + 1) * ub];
            match self.merge_mode {
                BiMerge::Concat => {
                    let row = &mut y[r * (uf + ub)..(r + 1) * (uf + ub)];
                    row[..uf].copy_from_slice(f);
                    row[uf..].copy_from_slice(b);
                }
                BiMerge::None => {
                    y[r * uf..(r + 1) * uf].copy_from_slice(f);
                    y[c.one_f + r * ub..c.one_f + (r + 1) * ub].copy_from_slice(b);
                }
                _ => {
                    for ((o, &a), &v) in y[r * uf..(r + 1) * uf].iter_mut().zip(f).zip(b) {
                        *o = match self.merge_mode {
                            BiMerge::Sum => a + v,
                            BiMerge::Mul => a * v,
                            _ => (a + v) * T::from_f32(0.5),
                        };
                    }
                }
            }
        }
        // return_state: the forward states, then the backward ones.
        let (sf, sb) = (&yf[c.one_f..], &yb[c.one_b..]);
        y[c.merged..c.merged + sf.len()].copy_from_slice(sf);
        y[c.merged + sf.len()..c.merged + sf.len() + sb.len()].copy_from_slice(sb);
    }

    /// The merge's backward: the two directions' output gradients (`dyb` in processing
    /// order, each with its final state's gradient after it) from `dy`.
    #[allow(clippy::too_many_arguments)] // the merge's values and gradients
    fn merge_backward<T: Scalar>(
        &self,
        c: &Call<'_, '_, T>,
        yf: &[T],
        yb: &[T],
        dy: &[T],
        dyf: &mut [T],
        dyb: &mut [T],
    ) {
        let (uf, ub) = (c.uf, c.ub);
        let rows = c.one_f / uf;
        for r in 0..rows {
            let rb = if c.seq { rows - 1 - r } else { r };
            match self.merge_mode {
                BiMerge::Concat => {
                    let row = &dy[r * (uf + ub)..(r + 1) * (uf + ub)];
                    dyf[r * uf..(r + 1) * uf].copy_from_slice(&row[..uf]);
                    dyb[rb * ub..(rb + 1) * ub].copy_from_slice(&row[uf..]);
                }
                BiMerge::None => {
                    dyf[r * uf..(r + 1) * uf].copy_from_slice(&dy[r * uf..(r + 1) * uf]);
                    let from = &dy[c.one_f + r * ub..c.one_f + (r + 1) * ub];
                    dyb[rb * ub..(rb + 1) * ub].copy_from_slice(from);
                }
                _ => {
                    for j in 0..uf {
                        let (f, b) = (r * uf + j, rb * ub + j);
                        let (gf, gb) = match self.merge_mode {
                            BiMerge::Mul => (dy[f] * yb[b], dy[f] * yf[f]),
                            BiMerge::Ave => {
                                let h = dy[f] * T::from_f32(0.5);
                                (h, h)
                            }
                            _ => (dy[f], dy[f]),
                        };
                        dyf[f] = gf;
                        dyb[b] = gb;
                    }
                }
            }
        }
        let (sf, sb) = (dyf.len() - c.one_f, dyb.len() - c.one_b);
        dyf[c.one_f..].copy_from_slice(&dy[c.merged..c.merged + sf]);
        dyb[c.one_b..].copy_from_slice(&dy[c.merged + sf..c.merged + sf + sb]);
    }

    #[allow(clippy::too_many_arguments)] // the call's tensors and buffers
    fn run<T: Scalar, C: Cell>(
        &self,
        fw: &C,
        bw: &C,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        mut y: TensorViewMut<'_, T>,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        fw.validate()?;
        bw.validate()?;
        let c = Call::new(self, fw, bw, params, xs, ids)?;
        let (pf, pb) = (
            cell_params(fw, c.pf, c.d.n_in)?,
            cell_params(bw, c.pb, c.d.n_in)?,
        );
        let y = y.data();
        check_len(c.batch * c.out, y.len())?;
        let (yf, rest) = split_scratch(scratch, c.one_f + c.sf)?;
        let (yb, rest) = split_scratch(rest, c.one_b + c.sb)?;
        for b in 0..c.batch {
            let (init_f, init_b) = c.init(b);
            let sf = c.sample(b, &init_f);
            let sb = c.sample(b, &init_b);
            sequence::forward_sample(fw, &pf, c.d, &sf, yf, c.mode(ctx, SALT_FORWARD, b), rest)?;
            sequence::forward_sample(bw, &pb, c.d, &sb, yb, c.mode(ctx, SALT_BACKWARD, b), rest)?;
            self.merge(&c, yf, yb, &mut y[b * c.out..(b + 1) * c.out]);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // the call's tensors, gradients and buffers
    fn run_backward<T: Scalar, C: Cell>(
        &self,
        fw: &C,
        bw: &C,
        params: &[&[T]],
        xs: &[TensorView<'_, T>],
        ids: Option<&[T]>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
        dparams: Option<&mut [T]>,
        scratch: &mut [T],
        ctx: &Context,
    ) -> Result<()> {
        fw.validate()?;
        bw.validate()?;
        let c = Call::new(self, fw, bw, params, xs, ids)?;
        let (pf, pb) = (
            cell_params(fw, c.pf, c.d.n_in)?,
            cell_params(bw, c.pb, c.d.n_in)?,
        );
        check_len(c.batch * c.out, dy.len())?;
        check_len(xs.len(), dxs.len())?;
        let (mut gf, mut gb) = match dparams {
            Some(dp) if !dp.is_empty() => {
                dp.fill(T::ZERO);
                let n_forward: usize = fw
                    .cell_param_shapes(c.d.n_in)?
                    .iter()
                    .map(|s| s.len())
                    .sum();
                if dp.len() < n_forward {
                    return Err(Error::ShapeMismatch {
                        expected: n_forward,
                        found: dp.len(),
                    });
                }
                let (a, b) = dp.split_at_mut(n_forward);
                (
                    Some(cell_grads(fw, a, c.d.n_in)?),
                    Some(cell_grads(bw, b, c.d.n_in)?),
                )
            }
            _ => (None, None),
        };
        let (dx_all, dstates) = dxs.split_first_mut().ok_or(Error::InvalidShape)?;
        let per = c.d.steps * c.d.n_in;
        if let Some(dx) = dx_all.as_deref_mut() {
            check_len(c.batch * per, dx.len())?;
            dx.fill(T::ZERO);
        }
        let (yf, rest) = split_scratch(scratch, c.one_f + c.sf)?;
        let (yb, rest) = split_scratch(rest, c.one_b + c.sb)?;
        let (dyf, rest) = split_scratch(rest, c.one_f + c.sf)?;
        let (dyb, rest) = split_scratch(rest, c.one_b + c.sb)?;
        let (dinit, rest) = split_scratch(rest, c.states * c.uf.max(c.ub))?;
        for b in 0..c.batch {
            let (init_f, init_b) = c.init(b);
            let sf = c.sample(b, &init_f);
            let sb = c.sample(b, &init_b);
            let (mf, mb) = (c.mode(ctx, SALT_FORWARD, b), c.mode(ctx, SALT_BACKWARD, b));
            if self.merge_mode == BiMerge::Mul {
                sequence::forward_sample(fw, &pf, c.d, &sf, yf, mf, rest)?;
                sequence::forward_sample(bw, &pb, c.d, &sb, yb, mb, rest)?;
            }
            let dy_b = &dy[b * c.out..(b + 1) * c.out];
            self.merge_backward(&c, yf, yb, dy_b, dyf, dyb);
            for dir in 0..2 {
                let dx_b: &mut [T] = match dx_all.as_deref_mut() {
                    Some(dx) => &mut dx[b * per..(b + 1) * per],
                    None => &mut [],
                };
                let (s, u) = if dir == 0 { (&sf, c.uf) } else { (&sb, c.ub) };
                let has_init = !s.init.is_empty();
                let dinit = &mut dinit[..c.states * u];
                let mut g = SampleGrads {
                    dx: dx_b,
                    dinit: has_init.then_some(&mut *dinit),
                    params: if dir == 0 { gf.as_mut() } else { gb.as_mut() },
                };
                if dir == 0 {
                    sequence::backward_sample(fw, &pf, c.d, s, dyf, &mut g, mf, rest)?;
                } else {
                    sequence::backward_sample(bw, &pb, c.d, s, dyb, &mut g, mb, rest)?;
                }
                if !has_init {
                    continue;
                }
                for k in 0..c.states {
                    let Some(Some(ds)) = dstates.get_mut(dir * c.states + k) else {
                        continue;
                    };
                    check_len(c.batch * u, ds.len())?;
                    ds[b * u..(b + 1) * u].copy_from_slice(&dinit[k * u..(k + 1) * u]);
                }
            }
        }
        Ok(())
    }
}

/// Both directions' parameters (the forward layer's `n_forward` first).
#[allow(clippy::type_complexity)] // two slices of parameter slices
fn halves<'a, 'p, T>(
    params: &'a [&'p [T]],
    n_forward: usize,
) -> Result<(&'a [&'p [T]], &'a [&'p [T]])> {
    if params.len() < n_forward {
        return Err(Error::ShapeMismatch {
            expected: n_forward,
            found: params.len(),
        });
    }
    Ok(params.split_at(n_forward))
}

fn split_scratch<T>(s: &mut [T], n: usize) -> Result<(&mut [T], &mut [T])> {
    if s.len() < n {
        return Err(Error::ArenaTooSmall {
            needed: n,
            available: s.len(),
        });
    }
    Ok(s.split_at_mut(n))
}

/// One Bidirectional call's checked inputs.
struct Call<'a, 'p, T> {
    d: super::sequence::Dims,
    batch: usize,
    /// Units of the forward and backward directions.
    uf: usize,
    ub: usize,
    states: usize,
    seq: bool,
    /// Each direction's output per sample; the merged output per sample.
    one_f: usize,
    one_b: usize,
    /// `return_state`: each direction's final-state elements (0 otherwise).
    sf: usize,
    sb: usize,
    /// The merged output's elements (before the states).
    merged: usize,
    out: usize,
    pf: &'a [&'p [T]],
    pb: &'a [&'p [T]],
    x: &'a [T],
    ids: Option<&'a [T]>,
    init: heapless::Vec<&'a [T], { 2 * MAX_STATES }>,
}

impl<'a, 'p, T: Scalar> Call<'a, 'p, T> {
    fn new<C: Cell>(
        bi: &Bidirectional,
        fw: &C,
        bw: &C,
        params: &'a [&'p [T]],
        xs: &'a [TensorView<'a, T>],
        ids: Option<&'a [T]>,
    ) -> Result<Self> {
        let (x, states) = xs.split_first().ok_or(Error::InvalidShape)?;
        if !bi.input_count_ok(xs.len()) {
            return Err(Error::InvalidShape);
        }
        let (batch, d) = layer::batch_dims(x.shape())?;
        let (uf, ub) = (fw.units(), bw.units());
        let mut init = heapless::Vec::new();
        for (k, s) in states.iter().enumerate() {
            let u = if k < C::STATES { uf } else { ub };
            check_len(batch * u, s.data().len())?;
            let _ = init.push(s.data());
        }
        if let Some(ids) = ids {
            check_len(batch * d.steps, ids.len())?;
        }
        let n_forward = 2 + usize::from(fw.options().use_bias);
        let (pf, pb) = halves(params, n_forward)?;
        let seq = fw.options().return_sequences;
        let rows = if seq { d.steps } else { 1 };
        let merged = match bi.merge_mode {
            BiMerge::Concat | BiMerge::None => rows * (uf + ub),
            _ => rows * uf,
        };
        let returns_state = fw.options().return_state;
        let (sf, sb) = if returns_state {
            (C::STATES * uf, C::STATES * ub)
        } else {
            (0, 0)
        };
        let out = merged + sf + sb;
        Ok(Call {
            d,
            batch,
            uf,
            ub,
            states: C::STATES,
            seq,
            one_f: rows * uf,
            one_b: rows * ub,
            sf,
            sb,
            merged,
            out,
            pf,
            pb,
            x: x.data(),
            ids,
            init,
        })
    }

    /// Sample `b`'s initial states of each direction.
    #[allow(clippy::type_complexity)] // two short lists of slices
    fn init(
        &self,
        b: usize,
    ) -> (
        heapless::Vec<&'a [T], MAX_STATES>,
        heapless::Vec<&'a [T], MAX_STATES>,
    ) {
        if self.init.is_empty() {
            return (heapless::Vec::new(), heapless::Vec::new());
        }
        let (f, bk) = self.init.split_at(self.states);
        let rows = |r: &[&'a [T]], u: usize| r.iter().map(|s| &s[b * u..(b + 1) * u]).collect();
        (rows(f, self.uf), rows(bk, self.ub))
    }

    fn sample<'s>(&self, b: usize, init: &'s [&'a [T]]) -> Sample<'s, T>
    where
        'a: 's,
    {
        let per = self.d.steps * self.d.n_in;
        Sample {
            x: &self.x[b * per..(b + 1) * per],
            ids: self
                .ids
                .map(|i| &i[b * self.d.steps..(b + 1) * self.d.steps]),
            init,
        }
    }

    fn mode(&self, ctx: &Context, salt: u64, b: usize) -> Mode {
        Mode {
            training: ctx.training,
            zero_masked: self.seq,
            seed: sequence::sample_seed(ctx.seed, salt, b),
        }
    }
}
