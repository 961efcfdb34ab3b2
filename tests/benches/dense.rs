//! Dense benchmarks on the host: reference vs optimized kernels, `predict` and one
//! training step of a digits-shaped model.
//!
//! `cargo bench -p ember-tests` (about a minute). Groups:
//! - `forward`: the digits model's Dense stack (64→32 relu → 32→10 softmax, one sample)
//!   and one 256→256 layer, per kernel set and number type;
//! - `backward`: the digits model's backward pass on a batch of 16 (both layers' parameter
//!   gradients and the second layer's input gradient), per kernel set and number type;
//! - `predict`: `Sequential::predict` of one sample (the layer runs the optimized kernels);
//! - `train_on_batch`: one `Sequential::train_on_batch` step (forward, loss, backward,
//!   update; the layer runs the optimized kernels), batch 16, SGD with momentum and Adam.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ember_cli::blob_file::AlignedBytes;
use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::kernels::{optimized, reference};
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::{
    Activation, Adam, Loss, Optimizer, Scalar, Sequential, Sgd, Shape, TrainConfig, Trainable,
    Q16_16,
};

#[path = "shared/bench_setup.rs"]
mod bench_setup;
use bench_setup::{config, values};

const BATCH: usize = 16;

type ForwardFn<T> = fn(&[T], &[T], &[T], &mut [T], usize, usize);
type BackwardParamsFn<T> = fn(&[T], &[T], &mut [T], &mut [T], usize, usize);
type BackwardInputFn<T> = fn(&[T], &[T], &mut [T], usize, usize);

/// The three Dense kernels, as function pointers, so both kernel sets share the bench code.
struct Kernels<T> {
    forward: ForwardFn<T>,
    backward_params: BackwardParamsFn<T>,
    backward_input: BackwardInputFn<T>,
}

fn kernel_sets<T: Scalar>() -> [(&'static str, Kernels<T>); 2] {
    [
        (
            "reference",
            Kernels {
                forward: reference::dense::forward::<T>,
                backward_params: reference::dense::backward_params::<T>,
                backward_input: reference::dense::backward_input::<T>,
            },
        ),
        (
            "optimized",
            Kernels {
                forward: optimized::dense::forward::<T>,
                backward_params: optimized::dense::backward_params::<T>,
                backward_input: optimized::dense::backward_input::<T>,
            },
        ),
    ]
}

/// The digits model's parameters: (in, out, kernel, bias) per layer.
struct Layer<T> {
    n_in: usize,
    n_out: usize,
    w: Vec<T>,
    b: Vec<T>,
}

fn layer<T: Scalar>(seed: u64, n_in: usize, n_out: usize) -> Layer<T> {
    Layer {
        n_in,
        n_out,
        w: values(seed, n_in * n_out, 0.3),
        b: values(seed + 1, n_out, 0.1),
    }
}

fn digits<T: Scalar>() -> [Layer<T>; 2] {
    [layer(10, 64, 32), layer(20, 32, 10)]
}

fn bench_forward_type<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let mut g = c.benchmark_group("forward");
    let [l1, l2] = digits::<T>();
    let x: Vec<T> = values(1, 64, 1.0);
    let (mut h, mut y) = (vec![T::ZERO; 32], vec![T::ZERO; 10]);
    let big = layer::<T>(30, 256, 256);
    let xb: Vec<T> = values(2, 256, 1.0);
    let mut yb = vec![T::ZERO; 256];
    for (name, k) in kernel_sets::<T>() {
        g.bench_function(
            BenchmarkId::new(format!("digits 64-32-10 {dtype}"), name),
            |bch| {
                bch.iter(|| {
                    (k.forward)(black_box(&x), &l1.w, &l1.b, &mut h, l1.n_in, l1.n_out);
                    Activation::Relu.forward(&mut h, l1.n_out);
                    (k.forward)(&h, &l2.w, &l2.b, &mut y, l2.n_in, l2.n_out);
                    Activation::Softmax.forward(&mut y, l2.n_out);
                    black_box(&y);
                })
            },
        );
        g.bench_function(BenchmarkId::new(format!("256x256 {dtype}"), name), |bch| {
            bch.iter(|| {
                (k.forward)(black_box(&xb), &big.w, &big.b, &mut yb, 256, 256);
                black_box(&yb);
            })
        });
    }
    g.finish();
}

fn bench_backward_type<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let mut g = c.benchmark_group("backward");
    let [_, l2] = digits::<T>();
    let x: Vec<T> = values(3, BATCH * 64, 1.0);
    let h: Vec<T> = values(4, BATCH * 32, 1.0);
    let dz2: Vec<T> = values(5, BATCH * 10, 0.1);
    let dz1: Vec<T> = values(6, BATCH * 32, 0.1);
    let (mut dw1, mut db1) = (vec![T::ZERO; 64 * 32], vec![T::ZERO; 32]);
    let (mut dw2, mut db2) = (vec![T::ZERO; 32 * 10], vec![T::ZERO; 10]);
    let mut dh = vec![T::ZERO; BATCH * 32];
    for (name, k) in kernel_sets::<T>() {
        let id = BenchmarkId::new(format!("digits batch {BATCH} {dtype}"), name);
        g.bench_function(id, |bch| {
            bch.iter(|| {
                (k.backward_params)(black_box(&h), &dz2, &mut dw2, &mut db2, 32, 10);
                (k.backward_input)(black_box(&dz2), &l2.w, &mut dh, 32, 10);
                (k.backward_params)(black_box(&x), &dz1, &mut dw1, &mut db1, 64, 32);
                black_box((&dw1, &db1, &dw2, &db2, &dh));
            })
        });
    }
    g.finish();
}

/// A blob of the digits-shaped model (Dense 64→32 relu → Dense 32→10 softmax).
fn digits_blob<T: Scalar>() -> AlignedBytes {
    let [l1, l2] = digits::<T>();
    let d1 = Dense {
        units: 32,
        activation: Activation::Relu,
        use_bias: true,
    };
    let d2 = Dense {
        units: 10,
        activation: Activation::Softmax,
        use_bias: true,
    };
    let (p1, p2): ([&[T]; 2], [&[T]; 2]) = ([&l1.w, &l1.b], [&l2.w, &l2.b]);
    let layers = [
        LayerSpec {
            name: "dense",
            trainable: true,
            config: LayerConfig::Dense(d1),
            params: &p1,
            attrs: ember_nn::layers::LayerAttrs::NONE,
        },
        LayerSpec {
            name: "dense_1",
            trainable: true,
            config: LayerConfig::Dense(d2),
            params: &p2,
            attrs: ember_nn::layers::LayerAttrs::NONE,
        },
    ];
    let input = Shape::new(&[64]).unwrap();
    let mut blob = AlignedBytes::zeroed(encoded_len("digits", input, &layers).unwrap());
    write("digits", input, &layers, blob.as_mut_slice()).unwrap();
    blob
}

fn bench_predict_type<T: Scalar>(c: &mut Criterion, dtype: &str) {
    let blob = digits_blob::<T>();
    let mut arena =
        AlignedBytes::zeroed(Sequential::<T>::inference_bytes(blob.as_slice(), 1).unwrap());
    let mut m = Sequential::<T>::new(blob.as_slice(), arena.as_mut_slice(), 1).unwrap();
    let x: Vec<T> = values(7, 64, 1.0);
    let mut y = vec![T::ZERO; 10];
    c.benchmark_group("predict")
        .bench_function(format!("digits {dtype}"), |bch| {
            bch.iter(|| m.predict(black_box(&x), &mut y).unwrap())
        });
}

fn bench_train_type<T: Scalar>(c: &mut Criterion, dtype: &str, name: &str, optimizer: Optimizer) {
    let blob = digits_blob::<T>();
    let config = TrainConfig {
        batch_size: BATCH,
        optimizer,
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    };
    let bytes = Sequential::<T>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = AlignedBytes::zeroed(bytes);
    let x: Vec<T> = values(8, BATCH * 64, 1.0);
    // One-hot labels.
    let mut y = vec![T::ZERO; BATCH * 10];
    for (s, row) in y.chunks_mut(10).enumerate() {
        row[(s * 7) % 10] = T::ONE;
    }
    // Every timed step starts from the blob's weights and zero optimizer state (the model
    // is reloaded, untimed): repeating steps on one batch would drive the gradients, and
    // with them the run time, towards subnormal floats.
    c.benchmark_group("train_on_batch").bench_function(
        format!("digits batch {BATCH} {name} {dtype}"),
        |bch| {
            bch.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut m = Sequential::<T>::for_training(
                        blob.as_slice(),
                        arena.as_mut_slice(),
                        config,
                    )
                    .unwrap();
                    let t = Instant::now();
                    black_box(m.train_on_batch(black_box(&x), &y).unwrap());
                    total += t.elapsed();
                }
                total
            })
        },
    );
}

fn forward(c: &mut Criterion) {
    bench_forward_type::<f32>(c, "f32");
    bench_forward_type::<Q16_16>(c, "q16.16");
}

fn backward(c: &mut Criterion) {
    bench_backward_type::<f32>(c, "f32");
    bench_backward_type::<Q16_16>(c, "q16.16");
}

fn predict(c: &mut Criterion) {
    bench_predict_type::<f32>(c, "f32");
    bench_predict_type::<Q16_16>(c, "q16.16");
}

fn train(c: &mut Criterion) {
    let sgd = Optimizer::sgd(Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: false,
    });
    bench_train_type::<f32>(c, "f32", "sgd-momentum", sgd);
    bench_train_type::<f32>(c, "f32", "adam", Optimizer::adam(Adam::default()));
    bench_train_type::<Q16_16>(c, "q16.16", "sgd-momentum", sgd);
}

criterion_group! {
    name = benches;
    config = config(2);
    targets = forward, backward, predict, train
}
criterion_main!(benches);
