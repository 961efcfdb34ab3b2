//! Training from scratch on the device's terms: the digits MLP and the digits CNN are
//! declared in Rust ([`SequentialBuilder`]), initialized from a seed with Keras's default
//! initializers, trained with [`fit`] (Adam on a cosine-decayed learning rate, batch 32,
//! seeded shuffle) and evaluated on the test split. Keras trains the same architectures with the same recipe
//! (`tests/fixtures/from_scratch/generate.py` → `keras.json`); the mean test accuracies
//! over the seeds must agree within 3 standard errors of their difference.
//!
//! Why a mean over seeds: the two frameworks draw different initial weights and
//! different shuffles from the same distributions (bitwise equality is impossible:
//! Keras draws from JAX's Threefry), so each run is one sample of a random test
//! accuracy. On these 297 test images one run varies by 0.6 (MLP) to 1.7 (CNN) points
//! (standard deviation) from seed to seed, so a single-seed check would fail by chance
//! about half the time. With 120 runs per side the standard error of the difference of
//! the means is about 0.08 points for the MLP and 0.21 for the CNN; the check is 3 of
//! them (computed from both sides' measured spread), which a correct trainer exceeds by
//! chance 0.3% of the time, and issue 6's bound of 1 point on top. (With 20 seeds the
//! 1-point bound was only a 2σ check for the CNN: Ember's seeds 1–20 landed 1.08 points
//! above Keras by chance, see [`cnn_from_scratch_matches_keras_accuracy`].) The learning rate decays to 0 (cosine)
//! so that each run ends on settled weights rather than on the last batches' bounce
//! (with a constant rate the CNN's test accuracy jumps by ±5 points from epoch to epoch).
//!
//! What this check does and does not catch: it catches a training defect that costs
//! accuracy (zero kernels: 0.10 instead of 0.91), not a wrong initializer scale (Keras's
//! `uniform` ±0.05 instead of `glorot_uniform` still reaches 0.90); the builder tests
//! below check the initial values and their distribution themselves, and the paired
//! check [`cnn_from_keras_init_and_shuffles_matches_keras`] (Keras's exact initial
//! weights and sample orders) compares the trainer seed by seed.
//!
//! Also checks the builder itself: Keras's names, weight shapes and initial values,
//! determinism, and errors instead of panics.

use std::io::Read;

use ember_cli::blob_file::AlignedBytes;
use ember_nn::layers::{
    BatchNormalization, Conv2D, Dense, DepthwiseConv2D, GlobalAveragePooling2D, LayerConfig,
    MaxPooling2D, Padding, ReLU,
};
use ember_nn::model::{fit, FitBuffers, FitOptions, Graph, SequentialBuilder, SliceDataset};
use ember_nn::optimizer::{CosineDecay, LearningRateSchedule};
use ember_nn::{Activation, Adam, Error, Loss, Optimizer, Scalar, Sequential, Shape, Q16_16};
use ember_nn::{TrainConfig, Trainable};
use serde_json::Value;

const TRAIN: usize = 1500;
const TEST: usize = 297;

/// The digits: pixels / 16 (1797 × 64) and labels.
fn digits() -> (Vec<f32>, Vec<usize>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits/digits.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let v: Vec<u32> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        assert_eq!(v.len(), 65);
        x.extend(v[..64].iter().map(|&p| p as f32 / 16.0));
        labels.push(v[64] as usize);
    }
    assert_eq!(labels.len(), TRAIN + TEST);
    (x, labels)
}

fn keras() -> Value {
    let path = ember_tests::fixture("from_scratch", "keras.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mlp() -> [LayerConfig; 2] {
    [
        LayerConfig::Dense(Dense {
            units: 32,
            activation: Activation::Relu,
            use_bias: true,
        }),
        LayerConfig::Dense(Dense {
            units: 10,
            activation: Activation::Softmax,
            use_bias: true,
        }),
    ]
}

/// Keras's defaults for every option not named in the architecture.
fn cnn() -> [LayerConfig; 7] {
    [
        LayerConfig::Conv2D(Conv2D {
            filters: 16,
            kernel_size: [3, 3],
            strides: [1, 1],
            padding: Padding::Same,
            dilation_rate: [1, 1],
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
        }),
        LayerConfig::BatchNormalization(BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
        }),
        LayerConfig::ReLU(ReLU {
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        }),
        LayerConfig::MaxPooling2D(MaxPooling2D {
            pool_size: [2, 2],
            strides: [2, 2],
            padding: Padding::Valid,
        }),
        LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
            kernel_size: [3, 3],
            strides: [1, 1],
            padding: Padding::Same,
            dilation_rate: [1, 1],
            depth_multiplier: 2,
            activation: Activation::Relu,
            use_bias: true,
        }),
        LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2D { keepdims: false }),
        LayerConfig::Dense(Dense {
            units: 10,
            activation: Activation::Softmax,
            use_bias: true,
        }),
    ]
}

fn input_shape(kind: &str) -> Shape {
    match kind {
        "mlp" => Shape::new(&[64]).unwrap(),
        _ => Shape::new(&[8, 8, 1]).unwrap(),
    }
}

fn build(kind: &str, seed: u64) -> AlignedBytes {
    let (m, c) = (mlp(), cnn());
    let layers: &[LayerConfig] = if kind == "mlp" { &m } else { &c };
    let b = SequentialBuilder::<16>::new(kind, input_shape(kind), layers);
    let mut blob = AlignedBytes::zeroed(b.encoded_len::<f32>().unwrap());
    let n = b.write::<f32>(seed, blob.as_mut_slice()).unwrap();
    assert_eq!(n, blob.as_slice().len());
    blob
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
}

/// Builds, trains and evaluates one seed; returns the test accuracy.
fn train_one(kind: &str, seed: u64, recipe: &Value, x: &[f32], labels: &[usize]) -> f64 {
    let blob = build(kind, seed);
    let lr = recipe["learning_rate"].as_f64().unwrap() as f32;
    let epochs = recipe["epochs"].as_u64().unwrap() as usize;
    let decay_steps = (epochs * TRAIN.div_ceil(32)) as f32;
    let cfg = TrainConfig {
        batch_size: 32,
        optimizer: Optimizer::adam(Adam {
            learning_rate: lr,
            ..Adam::DEFAULT
        })
        .with_schedule(LearningRateSchedule::CosineDecay(CosineDecay::new(
            lr,
            decay_steps,
        ))),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    };
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let mut y = vec![0.0f32; TRAIN * 10];
    for (row, &l) in y.chunks_mut(10).zip(&labels[..TRAIN]) {
        row[l] = 1.0;
    }
    let data = SliceDataset::new(&x[..TRAIN * 64], &y, 64, 10).unwrap();
    let sizes = FitBuffers::sizes(&m, TRAIN).unwrap();
    let (mut bx, mut by, mut order) =
        (vec![0.0; sizes.x], vec![0.0; sizes.y], vec![0; sizes.order]);
    let options = FitOptions {
        // Another stream than the initializers' (Rng::from_seed(seed)).
        shuffle: Some(seed + 1_000_000),
        ..FitOptions::epochs(epochs)
    };
    let mut metrics: [ember_nn::metrics::AnyMetric<2>; 0] = [];
    fit(
        &mut m,
        &data,
        None::<&SliceDataset<'_, f32>>,
        &options,
        &mut metrics,
        &mut (),
        FitBuffers {
            x: &mut bx,
            y: &mut by,
            order: &mut order,
            sample_weight: &mut [],
        },
    )
    .unwrap();
    let mut out = vec![0.0f32; TEST * 10];
    m.predict(&x[TRAIN * 64..], &mut out).unwrap();
    let correct = out
        .chunks(10)
        .zip(&labels[TRAIN..])
        .filter(|(p, &l)| argmax(p) == l)
        .count();
    correct as f64 / TEST as f64
}

/// Trains `kind` from scratch over Keras's seeds (the first `limit` of them when given);
/// checks the mean test accuracies agree to 3 standard errors and returns Ember's minus
/// Keras's.
fn compare(kind: &str, limit: Option<usize>) -> f64 {
    let k = keras();
    let recipe = &k[kind];
    let seeds: Vec<u64> = k["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let (x, labels) = digits();
    let started = std::time::Instant::now();
    let accs: Vec<f64> = seeds
        .iter()
        .map(|&s| train_one(kind, s, recipe, &x, &labels))
        .collect();
    let all_keras: Vec<f64> = recipe["test_accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    assert!((mean_var(&all_keras).0 - recipe["mean_test_accuracy"].as_f64().unwrap()).abs() < 1e-9);
    let keras_accs = &all_keras[..seeds.len()];
    let (mean, var) = mean_var(&accs);
    let (keras_mean, keras_var) = mean_var(keras_accs);
    // Standard error of the difference of the two means (independent samples).
    let se = (var / accs.len() as f64 + keras_var / keras_accs.len() as f64).sqrt();
    println!(
        "{kind}: ember {accs:.4?} mean {mean:.4} sd {:.4}; keras {keras_accs:.4?} mean \
         {keras_mean:.4} sd {:.4}; difference {:.4} = {:.2} standard errors ({se:.4}); \
         {} epochs x {} seeds in {:.1} s",
        var.sqrt(),
        keras_var.sqrt(),
        mean - keras_mean,
        (mean - keras_mean) / se,
        recipe["epochs"],
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        (mean - keras_mean).abs() <= 3.0 * se,
        "{kind}: ember mean test accuracy {mean:.4} vs keras {keras_mean:.4}: more than \
         3 standard errors ({se:.4}) apart"
    );
    mean - keras_mean
}

/// Mean and sample variance (n − 1).
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (
        mean,
        v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

#[test]
fn mlp_from_scratch_matches_keras_accuracy() {
    // Issue 6's criterion (within 1 point), on top of the statistical check. A debug build
    // (CI) takes Keras's first 40 seeds (about 50 s); release all 120 (0.9078 vs 0.9078).
    let limit = cfg!(debug_assertions).then_some(40);
    let diff = compare("mlp", limit);
    assert!(diff.abs() <= 0.01, "MLP: {diff:.4} apart (bound 1 point)");
}

/// Measured over Keras's 120 seeds (release, 2026-11-28): Ember 0.9189 (sd 1.66 points),
/// Keras 0.9210 (sd 1.61): −0.21 points, −1.0 standard error (0.21). With the first 20
/// seeds the gap was +1.08 points (2.1 standard errors), which was chance, not a defect
/// (issue 6; see the fixture README):
/// - from Keras's own initial weights and sample orders Ember reaches Keras's accuracies
///   seed by seed (0.9175 vs 0.9180, paired difference −0.05 ± 0.12 points:
///   [`cnn_from_keras_init_and_shuffles_matches_keras`]), so training and evaluation are
///   Keras's;
/// - the builder's initial weights have Keras's distribution
///   ([`builder_kernels_have_glorot_uniform_variance`]; Kolmogorov–Smirnov against
///   Keras's draws: p = 0.38, 0.20, 0.31);
/// - with more seeds the gap vanishes: Ember's seeds 21–120 average 0.9169, seeds
///   1–120 0.9189; Keras's initial weights for seeds 1–120 trained by Ember with Ember's
///   shuffles average 0.9208 (Ember's own initialization: −0.19 ± 0.21 points).
///
/// Ignored because it is slow in a debug build (minutes per seed; ~2 s per seed in
/// release): `cargo test --release -p ember-tests --test from_scratch -- --ignored cnn_from_scratch --nocapture`.
#[test]
#[ignore = "slow in debug builds: run with --release"]
fn cnn_from_scratch_matches_keras_accuracy() {
    // Issue 6's criterion (within 1 point) over Keras's 120 seeds.
    let diff = compare("cnn", None);
    assert!(diff.abs() <= 0.01, "CNN: {diff:.4} apart (bound 1 point)");
}

#[test]
fn builder_gives_keras_names_shapes_and_initial_values() {
    let blob = build("cnn", 7);
    let g = Graph::<f32>::parse(blob.as_slice()).unwrap();
    let names: Vec<&str> = g.layers().iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "batch_normalization",
            "re_lu",
            "max_pooling2d",
            "depthwise_conv2d",
            "global_average_pooling2d",
            "dense"
        ]
    );
    let shapes: Vec<Vec<Vec<usize>>> = g
        .layers()
        .iter()
        .map(|l| {
            let shapes = l.config.param_shapes(l.input).unwrap();
            shapes
                .iter()
                .map(|s| s.dims().iter().map(|&d| d as usize).collect())
                .collect()
        })
        .collect();
    assert_eq!(shapes[0], [vec![3, 3, 1, 16], vec![16]]);
    assert_eq!(shapes[1], [vec![16], vec![16], vec![16], vec![16]]);
    assert_eq!(shapes[4], [vec![3, 3, 16, 2], vec![32]]);
    assert_eq!(shapes[6], [vec![32, 10], vec![10]]);
    // glorot_uniform: U(±sqrt(6 / (fan_in + fan_out))) with Keras's fans; zero biases.
    let glorot = |p: &[f32], fan_in: f32, fan_out: f32| {
        let limit = (6.0 / (fan_in + fan_out)).sqrt();
        assert!(p.iter().all(|w| w.abs() <= limit), "within ±{limit}");
        let max = p.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        assert!(max > 0.8 * limit, "fills its range: {max} of {limit}");
        let mean = p.iter().sum::<f32>() / p.len() as f32;
        assert!(mean.abs() < 0.2 * limit, "centred: {mean}");
    };
    let p = |l: usize, i: usize| g.layers()[l].params[i];
    glorot(p(0, 0), 9.0, 144.0);
    glorot(p(4, 0), 144.0, 18.0);
    glorot(p(6, 0), 32.0, 10.0);
    for (l, i) in [(0, 1), (4, 1), (6, 1)] {
        assert!(p(l, i).iter().all(|&b| b == 0.0));
    }
    // BatchNormalization: gamma ones, beta zeros, moving mean zeros, moving variance ones.
    for (i, v) in [1.0, 0.0, 0.0, 1.0].into_iter().enumerate() {
        assert!(p(1, i).iter().all(|&w| w == v), "bn param {i}");
    }
    // Same seed, same bytes; another seed, other weights.
    assert_eq!(build("cnn", 7).as_slice(), blob.as_slice());
    assert_ne!(build("cnn", 8).as_slice(), blob.as_slice());
    // The MLP: dense, dense_1 (Keras's uid suffixes).
    let mlp_blob = build("mlp", 1);
    let g = Graph::<f32>::parse(mlp_blob.as_slice()).unwrap();
    let names: Vec<&str> = g.layers().iter().map(|l| l.name).collect();
    assert_eq!(names, ["dense", "dense_1"]);
}

#[test]
fn builder_writes_q16_16_too() {
    let layers = mlp();
    let b = SequentialBuilder::<4>::new("mlp", input_shape("mlp"), &layers);
    let mut blob = AlignedBytes::zeroed(b.encoded_len::<Q16_16>().unwrap());
    b.write::<Q16_16>(1, blob.as_mut_slice()).unwrap();
    let q = Graph::<Q16_16>::parse(blob.as_slice()).unwrap();
    let f_blob = build("mlp", 1);
    let f = Graph::<f32>::parse(f_blob.as_slice()).unwrap();
    // Same draws, rounded to Q16.16.
    for (a, b) in q.layers()[0].params[0].iter().zip(f.layers()[0].params[0]) {
        assert!((a.to_f32() - b).abs() <= 1.0 / 131072.0, "{a:?} {b}");
    }
}

#[test]
fn builder_errors_instead_of_panicking() {
    let layers = cnn();
    let b = SequentialBuilder::<16>::new("cnn", input_shape("cnn"), &layers);
    let len = b.encoded_len::<f32>().unwrap();
    let mut blob = AlignedBytes::zeroed(len + 16);
    assert_eq!(
        b.write::<f32>(1, &mut blob.as_mut_slice()[..len - 1]),
        Err(Error::BlobTruncated {
            needed: len,
            available: len - 1
        })
    );
    assert_eq!(
        b.write::<f32>(1, &mut blob.as_mut_slice()[1..]),
        Err(Error::BlobMisaligned { align: 16 })
    );
    // Layers that do not chain: the CNN on flat inputs.
    let flat = SequentialBuilder::<16>::new("cnn", Shape::new(&[64]).unwrap(), &layers);
    assert!(flat.encoded_len::<f32>().is_err());
    assert!(flat.write::<f32>(1, blob.as_mut_slice()).is_err());
    // More layers than N.
    let small = SequentialBuilder::<3>::new("cnn", input_shape("cnn"), &layers);
    assert!(matches!(
        small.encoded_len::<f32>(),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        small.write::<f32>(1, blob.as_mut_slice()),
        Err(Error::InvalidConfig(_))
    ));
    // No layers: a valid (empty) model is up to the runtime; the builder must not panic.
    let none = SequentialBuilder::<3>::new("empty", input_shape("mlp"), &[]);
    let _ = none.write::<f32>(1, blob.as_mut_slice());
}

/// The initial values' *distribution*, not just their range: over 100 seeds of the CNN,
/// every kernel's values have Keras's `glorot_uniform` standard deviation
/// `limit / √3 = √(2 / (fan_in + fan_out))` with Keras's `compute_fans` (receptive field
/// included: Conv2D `(3, 3, 1, 16)` → fans 9, 144; DepthwiseConv2D `(3, 3, 16, 2)` →
/// 144, 18; Dense `(32, 10)` → 32, 10), mean 0, and a flat histogram (each tenth of
/// `[−limit, limit)` holds a tenth of the values). Over 200 seeds, Keras 3.15's draws
/// (`keras.utils.set_random_seed(seed)`, then build) measure 0.1136, 0.1111, 0.2183 and
/// the builder's 0.1138, 0.1109, 0.2184 (formula: 0.1143, 0.1111, 0.2182), and
/// two-sample Kolmogorov–Smirnov tests between the two frameworks' draws do not reject
/// (p = 0.38, 0.20, 0.31; see `tests/fixtures/from_scratch/README.md`). The range check
/// above lets a 0.9 variance scale through; this test fails on it.
#[test]
fn builder_kernels_have_glorot_uniform_variance() {
    // (layer, fan_in, fan_out) of each kernel.
    let kernels = [(0, 9.0f64, 144.0f64), (4, 144.0, 18.0), (6, 32.0, 10.0)];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); kernels.len()];
    for seed in 0..100 {
        let blob = build("cnn", seed);
        let g = Graph::<f32>::parse(blob.as_slice()).unwrap();
        for (v, &(l, _, _)) in values.iter_mut().zip(&kernels) {
            v.extend(g.layers()[l].params[0].iter().map(|&w| f64::from(w)));
        }
    }
    for (v, &(l, fan_in, fan_out)) in values.iter().zip(&kernels) {
        let n = v.len() as f64;
        let limit = (6.0 / (fan_in + fan_out)).sqrt();
        let want_std = limit / 3f64.sqrt();
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / n).sqrt();
        // Standard errors: of the mean, std/√n; of the standard deviation of a uniform,
        // std·√(0.8/4n) ≈ std/(2.24√n) (kurtosis 1.8). 4σ bounds.
        assert!(
            mean.abs() < 4.0 * want_std / n.sqrt(),
            "layer {l}: mean {mean}"
        );
        let rel = (std / want_std - 1.0).abs();
        assert!(
            rel < 4.0 * 0.45 / n.sqrt(),
            "layer {l}: std {std} vs {want_std}"
        );
        // Flat: ten equal bins, each within 4σ of n/10 (binomial).
        let mut bins = [0usize; 10];
        for w in v {
            bins[(((w + limit) / (2.0 * limit) * 10.0) as usize).min(9)] += 1;
        }
        let sigma = (n * 0.1 * 0.9).sqrt();
        for (i, &c) in bins.iter().enumerate() {
            assert!(
                (c as f64 - n / 10.0).abs() < 4.0 * sigma,
                "layer {l}: bin {i} holds {c} of {n}"
            );
        }
    }
}

/// Ember trains the CNN from **Keras's exact initial weights, in Keras's exact sample
/// orders** (recorded by `tests/fixtures/from_scratch/paired.py` into
/// `$EMBER_PAIRED_DIR`, default `/tmp/ember_from_scratch_paired`; not committed: 3.6 MB)
/// and must reach Keras's test accuracy seed by seed, on average within 0.5 points.
///
/// This is the experiment that explains the CNN gap of
/// `cnn_from_scratch_matches_keras_accuracy`. Measured (20 seeds, release build):
/// Ember 0.9175 vs Keras 0.9180 mean, paired difference −0.05 ± 0.12 points (standard
/// error), per-seed correlation 0.95 (the trajectories agree to ~1e-4 in the first
/// epoch's loss and drift apart slowly in float rounding, so a seed's accuracy can still
/// move by a point or two). So Ember's training (Adam, cosine schedule step counting,
/// BatchNormalization's batch and moving statistics, the last partial batch of 28,
/// inference-mode prediction) reproduces Keras's; what remains between the unpaired
/// means is which initial weights and orders each framework happens to draw.
///
/// Ignored: needs the recorded files (about 20 minutes of Keras to regenerate) and takes
/// ~2 s per seed in release, minutes in debug. Run with
/// `cargo test --release -p ember-tests --test from_scratch -- --ignored keras_init --nocapture`.
#[test]
#[ignore = "needs Keras's recorded weights and orders: run tests/fixtures/from_scratch/paired.py first"]
fn cnn_from_keras_init_and_shuffles_matches_keras() {
    let dir = std::env::var("EMBER_PAIRED_DIR")
        .unwrap_or_else(|_| "/tmp/ember_from_scratch_paired".to_string());
    let dir = std::path::Path::new(&dir);
    let keras_acc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("cnn_accuracy.json"))
            .expect("run tests/fixtures/from_scratch/paired.py first"),
    )
    .unwrap();
    let k = keras();
    let recipe = &k["cnn"];
    let lr = recipe["learning_rate"].as_f64().unwrap() as f32;
    let epochs = recipe["epochs"].as_u64().unwrap() as usize;
    let (x, labels) = digits();
    let mut diffs = Vec::new();
    for (seed, want) in keras_acc.as_object().unwrap() {
        let seed: u64 = seed.parse().unwrap();
        let read = |what: &str| {
            ember_cli::tensor_file::read_npy(&dir.join(format!("cnn_{seed}_{what}.npy")))
                .unwrap()
                .data
        };
        let (w0, perm) = (read("w0"), read("perm"));
        assert_eq!(perm.len(), epochs * TRAIN);
        let blob = build("cnn", seed);
        let cfg = TrainConfig {
            batch_size: 32,
            optimizer: Optimizer::adam(Adam {
                learning_rate: lr,
                ..Adam::DEFAULT
            })
            .with_schedule(LearningRateSchedule::CosineDecay(CosineDecay::new(
                lr,
                (epochs * TRAIN.div_ceil(32)) as f32,
            ))),
            loss: Loss::categorical_crossentropy(),
            trainable: Trainable::All,
        };
        let mut arena =
            AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
        let mut m =
            Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        m.set_trainable_params(&w0).unwrap();
        let (mut bx, mut by) = (vec![0.0f32; 32 * 64], vec![0.0f32; 32 * 10]);
        for order in perm.chunks(TRAIN) {
            for batch in order.chunks(32) {
                by.fill(0.0);
                for (k, &i) in batch.iter().enumerate() {
                    let i = i as usize;
                    bx[k * 64..(k + 1) * 64].copy_from_slice(&x[i * 64..(i + 1) * 64]);
                    by[k * 10 + labels[i]] = 1.0;
                }
                let b = batch.len();
                m.train_on_batch(&bx[..b * 64], &by[..b * 10]).unwrap();
            }
        }
        let mut out = vec![0.0f32; TEST * 10];
        m.predict(&x[TRAIN * 64..], &mut out).unwrap();
        let correct = out
            .chunks(10)
            .zip(&labels[TRAIN..])
            .filter(|(p, &l)| argmax(p) == l)
            .count();
        let acc = correct as f64 / TEST as f64;
        let want = want.as_f64().unwrap();
        println!("seed {seed}: ember {acc:.4} keras {want:.4}");
        diffs.push(acc - want);
    }
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let se = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    println!("paired difference (ember - keras): {mean:.4} ± {se:.4} over {n} seeds");
    assert!(n >= 5.0, "too few seeds recorded: {n}");
    assert!(mean.abs() <= 0.005, "paired difference {mean:.4} ± {se:.4}");
}
