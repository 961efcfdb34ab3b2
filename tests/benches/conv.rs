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

use criterion::{criterion_group, criterion_main, Criterion};
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

    let id = format!("3x3 32x32x16->16 same {dtype}");
    bench_sets(
        c,
        ["conv2d forward", "conv2d backward"],
        &id,
        Some([macs, 2 * macs]),
        kernel_sets::<T>(),
        |k| {
            (k.forward)(&g, 1, black_box(&x), &w, &b, &mut y).unwrap();
            black_box(&y);
        },
        |k| {
            (k.backward_params)(&g, 1, black_box(&x), &dz, &mut dw, &mut db).unwrap();
            (k.backward_input)(&g, 1, black_box(&dz), &w, &mut dx).unwrap();
            black_box((&dw, &db, &dx));
        },
    );
}

fn conv(c: &mut Criterion) {
    bench_type::<f32>(c, "f32");
    bench_type::<Q16_16>(c, "q16.16");
}

criterion_group! {
    name = benches;
    config = config(3);
    targets = conv
}
criterion_main!(benches);
