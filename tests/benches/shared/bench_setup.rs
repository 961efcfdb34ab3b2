//! Setup shared by the kernel benchmarks (`#[path]`-included by `conv.rs`,
//! `depthwise.rs` and `dense.rs`): deterministic inputs, the function-pointer table of a
//! convolution-geometry kernel set, and the Criterion configuration.

#![allow(dead_code)] // each bench uses its own subset

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::{Result, Scalar};

/// Deterministic values in `[-scale, scale)` (64-bit LCG).
pub fn values<T: Scalar>(seed: u64, n: usize, scale: f32) -> Vec<T> {
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

pub type ForwardFn<T> = fn(&ConvGeometry, usize, &[T], &[T], &[T], &mut [T]) -> Result<()>;
pub type BackwardInputFn<T> = fn(&ConvGeometry, usize, &[T], &[T], &mut [T]) -> Result<()>;
pub type BackwardParamsFn<T> =
    fn(&ConvGeometry, usize, &[T], &[T], &mut [T], &mut [T]) -> Result<()>;

/// The three kernels of one convolution-geometry kernel set (conv, depthwise), as
/// function pointers, so both sets share the bench code.
pub struct Kernels<T> {
    pub forward: ForwardFn<T>,
    pub backward_input: BackwardInputFn<T>,
    pub backward_params: BackwardParamsFn<T>,
}

/// Criterion with 20 samples, 0.5 s warm-up and `measure_secs` of measurement.
pub fn config(measure_secs: u64) -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(measure_secs))
}

/// Benchmarks each kernel set of `sets` in two groups, `groups[0]` timing `forward(k)`
/// and `groups[1]` timing `backward(k)`, under the benchmark id `id`/set name; with
/// `throughput = Some([f, b])` the groups report `f` and `b` elements per call.
pub fn bench_sets<T: Scalar>(
    c: &mut Criterion,
    groups: [&str; 2],
    id: &str,
    throughput: Option<[u64; 2]>,
    sets: [(&'static str, Kernels<T>); 2],
    mut forward: impl FnMut(&Kernels<T>),
    mut backward: impl FnMut(&Kernels<T>),
) {
    let mut fwd = c.benchmark_group(groups[0]);
    if let Some([f, _]) = throughput {
        fwd.throughput(Throughput::Elements(f));
    }
    for (name, k) in &sets {
        fwd.bench_function(BenchmarkId::new(id, name), |bch| bch.iter(|| forward(k)));
    }
    fwd.finish();
    let mut bwd = c.benchmark_group(groups[1]);
    if let Some([_, b]) = throughput {
        bwd.throughput(Throughput::Elements(b));
    }
    for (name, k) in &sets {
        bwd.bench_function(BenchmarkId::new(id, name), |bch| bch.iter(|| backward(k)));
    }
    bwd.finish();
}
