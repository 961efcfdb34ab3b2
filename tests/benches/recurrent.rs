//! Recurrent benchmarks on the host: LSTM(64) and GRU(64) on 32 input features over a
//! 50-step sequence, through [`LayerConfig::forward_call`] / [`LayerConfig::backward_call`]
//! with scratch sized by [`LayerConfig::scratch_elems`].
//!
//! `cargo bench -p ember-tests --bench recurrent`. Groups (one sample, divide by 50 for
//! the time per step):
//! - `recurrent_forward`: the 50-step sequence forward (inference), f32 and Q16.16 (LSTM);
//! - `recurrent_bptt`: one training backward pass over the 50 steps (it recomputes the
//!   forward pass, saves each step, then backpropagates: parameter gradients and the
//!   input's gradient), full BPTT and with `bptt_window = 10` (with the last output
//!   only, just the last window gets a gradient: a forward recompute plus 10 steps).
//!
//! Both groups report throughput in the 50-step *forward* MACs, `50·G·64·(32 + 64)`.
//!
//! Weights, inputs and output gradients are deterministic pseudo-random values (the
//! kernel benches' LCG), scaled like Keras's initializers (±0.2) so the gates stay in
//! their active range.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ember_nn::layers::{Context, LayerConfig, TensorMask, GRU, LSTM};
use ember_nn::{Scalar, Shape, TensorView, TensorViewMut, Q16_16};

#[path = "shared/bench_setup.rs"]
mod bench_setup;
use bench_setup::{config, values};

const STEPS: usize = 50;
const INPUTS: usize = 32;
const UNITS: u32 = 64;

/// One layer call's tensors and buffers, one sample.
struct Case<T> {
    config: LayerConfig,
    params: Vec<Vec<T>>,
    x: Vec<T>,
    y: Vec<T>,
    dy: Vec<T>,
    dx: Vec<T>,
    dparams: Vec<T>,
    scratch: Vec<T>,
}

/// `config` with `bptt_window` set (LSTM and GRU only).
fn with_window(config: LayerConfig, window: u32) -> LayerConfig {
    match config {
        LayerConfig::LSTM(mut l) => {
            l.rnn.bptt_window = window;
            LayerConfig::LSTM(l)
        }
        LayerConfig::GRU(mut g) => {
            g.rnn.bptt_window = window;
            LayerConfig::GRU(g)
        }
        other => other,
    }
}

fn input_shape() -> Shape {
    Shape::new(&[STEPS, INPUTS]).unwrap()
}

fn case<T: Scalar>(config: LayerConfig, training: bool) -> Case<T> {
    let input = input_shape();
    let shapes = config.param_shapes(input).unwrap();
    let params: Vec<Vec<T>> = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| values(10 + k as u64, s.len(), 0.2))
        .collect();
    let n_params = params.iter().map(Vec::len).sum();
    let scratch = config.scratch_elems(&[input], training).unwrap();
    Case {
        config,
        params,
        x: values(1, STEPS * INPUTS, 1.0),
        y: vec![T::ZERO; UNITS as usize],
        dy: values(2, UNITS as usize, 0.1),
        dx: vec![T::ZERO; STEPS * INPUTS],
        dparams: vec![T::ZERO; n_params],
        scratch: vec![T::ZERO; scratch],
    }
}

impl<T: Scalar> Case<T> {
    fn forward(&mut self) {
        let p: Vec<&[T]> = self.params.iter().map(Vec::as_slice).collect();
        let xs = [TensorView::new(input_shape().with_batch(1).unwrap(), &self.x).unwrap()];
        let y_shape = Shape::new(&[1, UNITS as usize]).unwrap();
        let y = TensorViewMut::new(y_shape, &mut self.y).unwrap();
        let ctx = Context::default();
        self.config
            .forward_call(&p, &xs, None, y, &mut self.scratch, &ctx)
            .unwrap();
    }

    fn backward(&mut self) {
        let p: Vec<&[T]> = self.params.iter().map(Vec::as_slice).collect();
        let xs = [TensorView::new(input_shape().with_batch(1).unwrap(), &self.x).unwrap()];
        let y_shape = Shape::new(&[1, UNITS as usize]).unwrap();
        let y = TensorView::new(y_shape, &self.y).unwrap();
        let mut dy = self.dy.clone();
        let mut dxs = [Some(self.dx.as_mut_slice())];
        let ctx = Context::training(7);
        self.config
            .backward_call(
                &p,
                &xs,
                None,
                y,
                &mut dy,
                &mut dxs,
                Some(&mut self.dparams),
                TensorMask::first(p.len()),
                &mut self.scratch,
                &ctx,
            )
            .unwrap();
    }
}

fn lstm() -> LayerConfig {
    LayerConfig::LSTM(LSTM::new(UNITS))
}

fn gru() -> LayerConfig {
    LayerConfig::GRU(GRU::new(UNITS))
}

/// Multiply-accumulates of the 50-step forward pass: `G·u·(in + u)` per step.
fn macs(gates: u64) -> u64 {
    let u = u64::from(UNITS);
    STEPS as u64 * gates * u * (INPUTS as u64 + u)
}

fn bench_forward<T: Scalar>(c: &mut Criterion, name: &str, layer: LayerConfig, gates: u64) {
    let mut g = c.benchmark_group("recurrent_forward");
    g.throughput(Throughput::Elements(macs(gates)));
    let mut k = case::<T>(layer, false);
    let id = BenchmarkId::new(name, format!("{STEPS} steps"));
    g.bench_function(id, |b| {
        b.iter(|| {
            k.forward();
            black_box(&k.y);
        })
    });
    g.finish();
}

fn bench_bptt<T: Scalar>(c: &mut Criterion, name: &str, layer: LayerConfig, gates: u64) {
    let mut g = c.benchmark_group("recurrent_bptt");
    g.throughput(Throughput::Elements(macs(gates)));
    for window in [0u32, 10] {
        let mut k = case::<T>(with_window(layer, window), true);
        k.forward();
        let label = match window {
            0 => format!("{STEPS} steps full"),
            w => format!("{STEPS} steps window {w}"),
        };
        g.bench_function(BenchmarkId::new(name, label), |b| {
            b.iter(|| {
                k.backward();
                black_box((&k.dx, &k.dparams));
            })
        });
    }
    g.finish();
}

fn forward(c: &mut Criterion) {
    bench_forward::<f32>(c, "lstm64 in32 f32", lstm(), 4);
    bench_forward::<Q16_16>(c, "lstm64 in32 q16.16", lstm(), 4);
    bench_forward::<f32>(c, "gru64 in32 f32", gru(), 3);
}

fn bptt(c: &mut Criterion) {
    bench_bptt::<f32>(c, "lstm64 in32 f32", lstm(), 4);
    bench_bptt::<Q16_16>(c, "lstm64 in32 q16.16", lstm(), 4);
    bench_bptt::<f32>(c, "gru64 in32 f32", gru(), 3);
}

criterion_group! {
    name = benches;
    config = config(2);
    targets = forward, bptt
}
criterion_main!(benches);
