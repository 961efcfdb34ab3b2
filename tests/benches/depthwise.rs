//! DepthwiseConv2D kernels on the host: reference vs optimized, `f32` and `Q16_16`.
//!
//! The DS-CNN keyword-spotting size: a 3×3 depthwise convolution, `padding="same"`,
//! stride 1, on a 25×5×64 feature map, batch 1 (7 200 multiply-accumulates per channel
//! block, 72 000 in all counting padded taps).
//!
//! `cargo bench -p ember-tests --bench depthwise`. Groups: `depthwise_forward`,
//! `depthwise_backward` (input gradient and parameter gradients of the same layer), and
//! for comparison `separable_forward`/`separable_backward`: a SeparableConv2D(64, 3×3,
//! same) on the same input, whose backward pass recomputes the intermediate tensor (see
//! `ember_nn::kernels::optimized::separable`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ember_nn::kernels::geometry::ConvGeometry;
use ember_nn::kernels::{optimized, reference};
use ember_nn::layers::{Padding, Window};
use ember_nn::{Scalar, Q16_16};

#[path = "shared/bench_setup.rs"]
mod bench_setup;
use bench_setup::{bench_sets, config, values, Kernels};

fn kernel_sets<T: Scalar>() -> [(&'static str, Kernels<T>); 2] {
    [
        (
            "reference",
            Kernels {
                forward: reference::depthwise::forward::<T>,
                backward_input: reference::depthwise::backward_input::<T>,
                backward_params: reference::depthwise::backward_params::<T>,
            },
        ),
        (
            "optimized",
            Kernels {
                forward: optimized::depthwise::forward::<T>,
                backward_input: optimized::depthwise::backward_input::<T>,
                backward_params: optimized::depthwise::backward_params::<T>,
            },
        ),
    ]
}

/// DS-CNN's depthwise layer: 3×3, same, stride 1, 25×5×64, depth_multiplier 1.
fn ds_cnn() -> ConvGeometry {
    let k = Window::new(3, 1, 1).unwrap();
    ConvGeometry::new(25, 5, 64, k, k, Padding::Same, 64).unwrap()
}

fn bench_type<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let g = ds_cnn();
    let n = g.input_len().unwrap();
    let x: Vec<T> = values(1, n, 1.0);
    let w: Vec<T> = values(2, 9 * 64, 0.5);
    let b: Vec<T> = values(3, 64, 0.5);
    let dy: Vec<T> = values(4, n, 1.0);
    let mut y = vec![T::ZERO; n];
    let mut dx = vec![T::ZERO; n];
    let (mut dw, mut db) = (vec![T::ZERO; 9 * 64], vec![T::ZERO; 64]);
    bench_sets(
        c,
        ["depthwise_forward", "depthwise_backward"],
        &format!("3x3 same 25x5x64 {dtype}"),
        None,
        kernel_sets::<T>(),
        |k| {
            (k.forward)(&g, 1, black_box(&x), &w, &b, &mut y).unwrap();
            black_box(&y);
        },
        |k| {
            (k.backward_input)(&g, 1, black_box(&dy), &w, &mut dx).unwrap();
            (k.backward_params)(&g, 1, &x, &dy, &mut dw, &mut db).unwrap();
            black_box((&dx, &dw, &db));
        },
    );
}

fn bench_separable<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let g = ds_cnn();
    let n = g.input_len().unwrap();
    let f = 64;
    let x: Vec<T> = values(5, n, 1.0);
    let dw: Vec<T> = values(6, 9 * 64, 0.5);
    let pw: Vec<T> = values(7, 64 * f, 0.2);
    let b: Vec<T> = values(8, f, 0.5);
    let dy: Vec<T> = values(9, 125 * f, 1.0);
    let mut y = vec![T::ZERO; 125 * f];
    let mut dx = vec![T::ZERO; n];
    let (mut ddw, mut dpw, mut db) = (
        vec![T::ZERO; dw.len()],
        vec![T::ZERO; pw.len()],
        vec![T::ZERO; f],
    );
    let id = format!("3x3 same 25x5x64 -> 64 {dtype}");
    let mut fwd = c.benchmark_group("separable_forward");
    fwd.bench_function(BenchmarkId::new(&id, "reference"), |bch| {
        bch.iter(|| {
            reference::separable::forward(&g, 1, f, black_box(&x), &dw, &pw, &b, &mut y).unwrap()
        })
    });
    fwd.bench_function(BenchmarkId::new(&id, "optimized"), |bch| {
        bch.iter(|| {
            optimized::separable::forward(&g, 1, f, black_box(&x), &dw, &pw, &b, &mut y).unwrap()
        })
    });
    fwd.finish();
    let mut bwd = c.benchmark_group("separable_backward");
    bwd.bench_function(BenchmarkId::new(&id, "reference"), |bch| {
        bch.iter(|| {
            reference::separable::backward_input(&g, 1, f, black_box(&dy), &dw, &pw, &mut dx)
                .unwrap();
            reference::separable::backward_params(
                &g, 1, f, &x, &dw, &pw, &dy, &mut ddw, &mut dpw, &mut db,
            )
            .unwrap();
        })
    });
    bwd.bench_function(BenchmarkId::new(&id, "optimized"), |bch| {
        bch.iter(|| {
            optimized::separable::backward_input(&g, 1, f, black_box(&dy), &dw, &pw, &mut dx)
                .unwrap();
            optimized::separable::backward_params(
                &g, 1, f, &x, &dw, &pw, &dy, &mut ddw, &mut dpw, &mut db,
            )
            .unwrap();
        })
    });
    bwd.finish();
}

fn depthwise(c: &mut Criterion) {
    bench_type::<f32>(c, "f32");
    bench_type::<Q16_16>(c, "q16.16");
    bench_separable::<f32>(c, "f32");
    bench_separable::<Q16_16>(c, "q16.16");
}

criterion_group! {
    name = benches;
    config = config(2);
    targets = depthwise
}
criterion_main!(benches);
