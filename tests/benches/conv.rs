//! Conv2D kernel benchmarks on the host: reference vs optimized.
//!
//! `cargo bench -p ember-tests --bench conv`. One layer: Conv2D 3×3, input 32×32×16 →
//! 16 filters, `same` padding, stride 1, batch 1 (2 359 296 MACs), for `f32` and
//! `Q16_16`, per kernel set:
//! - `conv2d forward`: `forward` (with bias);
//! - `conv2d backward`: `backward_params` (kernel and bias gradients) plus
//!   `backward_input`, the whole backward pass of the layer (2 × the forward's MACs).
//!
//! MACs/s = 2 359 296 / (time per call) for the forward, twice that for the backward.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::kernels::{optimized, reference};
use ember_nn::layers::{Padding, Window};
use ember_nn::{Result, Scalar, Q16_16};

/// Deterministic values in `[-scale, scale)` (64-bit LCG).
fn values<T: Scalar>(seed: u64, n: usize, scale: f32) -> Vec<T> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            T::from_f32((2.0 * u - 1.0) * scale)
        })
        .collect()
}

type ForwardFn<T> = fn(&ConvGeometry, usize, &[T], &[T], &[T], &mut [T]) -> Result<()>;
type BackwardInputFn<T> = fn(&ConvGeometry, usize, &[T], &[T], &mut [T]) -> Result<()>;
type BackwardParamsFn<T> = fn(&ConvGeometry, usize, &[T], &[T], &mut [T], &mut [T]) -> Result<()>;

/// The three kernels of one set, as function pointers.
struct Kernels<T> {
    forward: ForwardFn<T>,
    backward_input: BackwardInputFn<T>,
    backward_params: BackwardParamsFn<T>,
}

fn kernel_sets<T: Scalar>() -> [(&'static str, Kernels<T>); 2] {
    [
        (
            "reference",
            Kernels {
                forward: reference::conv::forward::<T>,
                backward_input: reference::conv::backward_input::<T>,
                backward_params: reference::conv::backward_params::<T>,
            },
        ),
        (
            "optimized",
            Kernels {
                forward: optimized::conv::forward::<T>,
                backward_input: optimized::conv::backward_input::<T>,
                backward_params: optimized::conv::backward_params::<T>,
            },
        ),
    ]
}

fn geometry() -> ConvGeometry {
    let k = Window::new(3, 1, 1).unwrap();
    ConvGeometry::new(32, 32, 16, k, k, Padding::Same, 16).unwrap()
}

fn bench_type<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let g = geometry();
    let macs = g.macs_per_output_channel(g.in_c) as u64 * g.out_c as u64;
    let x: Vec<T> = values(1, g.input_len().unwrap(), 1.0);
    let w: Vec<T> = values(2, 3 * 3 * 16 * 16, 0.2);
    let b: Vec<T> = values(3, 16, 0.1);
    let dz: Vec<T> = values(4, g.output_len().unwrap(), 0.1);
    let mut y = vec![T::ZERO; g.output_len().unwrap()];
    let mut dx = vec![T::ZERO; x.len()];
    let (mut dw, mut db) = (vec![T::ZERO; w.len()], vec![T::ZERO; 16]);

    let mut fwd = c.benchmark_group("conv2d forward");
    fwd.throughput(Throughput::Elements(macs));
    for (name, k) in kernel_sets::<T>() {
        let id = BenchmarkId::new(format!("3x3 32x32x16->16 same {dtype}"), name);
        fwd.bench_function(id, |bch| {
            bch.iter(|| {
                (k.forward)(&g, 1, black_box(&x), &w, &b, &mut y).unwrap();
                black_box(&y);
            })
        });
    }
    fwd.finish();

    let mut bwd = c.benchmark_group("conv2d backward");
    bwd.throughput(Throughput::Elements(2 * macs));
    for (name, k) in kernel_sets::<T>() {
        let id = BenchmarkId::new(format!("3x3 32x32x16->16 same {dtype}"), name);
        bwd.bench_function(id, |bch| {
            bch.iter(|| {
                (k.backward_params)(&g, 1, black_box(&x), &dz, &mut dw, &mut db).unwrap();
                (k.backward_input)(&g, 1, black_box(&dz), &w, &mut dx).unwrap();
                black_box((&dw, &db, &dx));
            })
        });
    }
    bwd.finish();
}

fn conv(c: &mut Criterion) {
    bench_type::<f32>(c, "f32");
    bench_type::<Q16_16>(c, "q16.16");
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = conv
}
criterion_main!(benches);
