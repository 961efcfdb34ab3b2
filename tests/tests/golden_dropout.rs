//! Dropout and noise layers (`Dropout`, `GaussianNoise`, `GaussianDropout`,
//! `AlphaDropout`) against Keras 3 (reference data from
//! `tests/fixtures/dropout/generate.py`).
//!
//! Keras's random stream (JAX Threefry) is not reproduced, so the checks are: inference
//! is the identity; training statistics (drop fraction, `1/(1−rate)` scaling, noise mean
//! and deviation, AlphaDropout's affine constants) match the formulas and Keras's own
//! training outputs; a seed determines the noise; the backward pass regenerates the
//! forward pass's noise (finite differences of `x ↦ Σ c ⊙ layer(x)` with the seed fixed);
//! a converted model with these layers predicts exactly like Keras and like the same
//! model without them, trains (loss decreases), and needs no memory for masks.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{
    AlphaDropout, Context, Dropout, GaussianDropout, GaussianNoise, LayerConfig,
};
use ember_nn::random::Rng;
use ember_nn::{
    Error, Loss, Optimizer, Scalar, Sequential, Sgd, Shape, TensorView, TensorViewMut, TrainConfig,
    Trainable, Q16_16,
};
use ember_tests::{assert_close, case_named, fixture, keras_layer, layer_cases, npy};
use serde_json::Value;

const DIR: &str = "dropout";

/// Forward (and backward with cotangent `c`) of a layer on `[batch, n]`; returns (y, dx).
fn run<T: Scalar>(
    config: &LayerConfig,
    x: &[T],
    c: &[T],
    ctx: &Context,
) -> ember_nn::Result<(Vec<T>, Vec<T>)> {
    let s = Shape::new(&[2, x.len() / 2])?;
    assert_eq!(
        config.output_shape(Shape::new(&[x.len() / 2])?)?.len(),
        x.len() / 2
    );
    let mut y = vec![T::ZERO; x.len()];
    config.forward(
        &[],
        TensorView::new(s, x)?,
        TensorViewMut::new(s, &mut y)?,
        ctx,
    )?;
    let mut d = c.to_vec();
    let mut dx = vec![T::ZERO; x.len()];
    config.backward(
        &[],
        TensorView::new(s, x)?,
        TensorView::new(s, &y)?,
        &mut d,
        Some(&mut dx),
        None,
        ctx,
    )?;
    Ok((y, dx))
}

/// N(0, 1) inputs without values near 0 (ratios are taken), as the generator's.
fn normals(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::from_seed(seed);
    (0..n)
        .map(|_| {
            let v = r.normal();
            if v.abs() < 1e-3 {
                0.5
            } else {
                v
            }
        })
        .collect()
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

fn all_configs() -> Vec<LayerConfig> {
    layer_cases(DIR)
        .iter()
        .filter(|c| c["config"]["noise_shape"].is_null())
        .map(|c| layer_config(&keras_layer(c)).unwrap())
        .collect()
}

#[test]
fn converter_reads_options() {
    let conf = |n: &str| layer_config(&keras_layer(&case_named(layer_cases(DIR), n))).unwrap();
    assert_eq!(
        conf("dropout_0_3"),
        LayerConfig::Dropout(Dropout {
            rate: 0.3,
            seed: None
        })
    );
    assert_eq!(
        conf("dropout_0_5_seed"),
        LayerConfig::Dropout(Dropout {
            rate: 0.5,
            seed: Some(42)
        })
    );
    assert_eq!(
        conf("gaussian_noise_0_2"),
        LayerConfig::GaussianNoise(GaussianNoise {
            stddev: 0.2,
            seed: None
        })
    );
    assert_eq!(
        conf("gaussian_dropout_0_2"),
        LayerConfig::GaussianDropout(GaussianDropout {
            rate: 0.2,
            seed: Some(7)
        })
    );
    assert_eq!(
        conf("alpha_dropout_0_4"),
        LayerConfig::AlphaDropout(AlphaDropout {
            rate: 0.4,
            seed: Some(3)
        })
    );
    // noise_shape is refused by name.
    let err = layer_config(&keras_layer(&case_named(
        layer_cases(DIR),
        "dropout_noise_shape",
    )))
    .unwrap_err()
    .to_string();
    assert!(err.contains("noise_shape"), "{err}");
    let refused = |n: &str, key: &str, v: Value| {
        let mut c = case_named(layer_cases(DIR), n);
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{n} {key}={v}: {err}");
    };
    refused("dropout_0_3", "rate", serde_json::json!(1.5));
    refused("dropout_0_3", "rate", serde_json::json!(-0.1));
    refused("dropout_0_3", "rate", Value::Null);
    refused("gaussian_noise_0_2", "stddev", serde_json::json!(2.0));
    refused("gaussian_dropout_0_2", "seed", serde_json::json!("x"));
    refused(
        "alpha_dropout_0_1",
        "noise_shape",
        serde_json::json!([null, 1]),
    );
    refused("alpha_dropout_0_1", "dtype", "float16".into());
    // A layer with a bad rate in a blob is refused at load.
    let bad = LayerConfig::Dropout(Dropout {
        rate: f32::NAN,
        seed: None,
    });
    assert!(matches!(
        bad.output_shape(Shape::new(&[3]).unwrap()),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn inference_is_the_identity() {
    let x = normals(200, 1);
    let c = normals(200, 2);
    for config in all_configs() {
        for ctx in [
            Context::default(),
            Context {
                training: false,
                seed: 9,
            },
        ] {
            let (y, dx) = run(&config, &x, &c, &ctx).unwrap();
            assert_eq!(y, x, "{config:?}");
            assert_eq!(dx, c, "{config:?}");
        }
    }
    // rate = 0 (stddev = 0) is the identity in training too.
    let zero = [
        LayerConfig::Dropout(Dropout {
            rate: 0.0,
            seed: None,
        }),
        LayerConfig::GaussianNoise(GaussianNoise {
            stddev: 0.0,
            seed: None,
        }),
        LayerConfig::GaussianDropout(GaussianDropout {
            rate: 0.0,
            seed: None,
        }),
        LayerConfig::AlphaDropout(AlphaDropout {
            rate: 0.0,
            seed: None,
        }),
    ];
    for config in zero {
        let (y, dx) = run(&config, &x, &c, &Context::training(5)).unwrap();
        assert_eq!(y, x, "{config:?}");
        assert_eq!(dx, c, "{config:?}");
    }
}

#[test]
fn training_statistics_match_keras() {
    for case in layer_cases(DIR) {
        let Some(ks) = case.get("keras_stats") else {
            continue;
        };
        let name = case["name"].as_str().unwrap();
        let config = layer_config(&keras_layer(&case)).unwrap();
        let n = ks["n"].as_u64().unwrap() as usize;
        let x = normals(n, 77);
        let (y, _) = run(&config, &x, &x, &Context::training(1234)).unwrap();
        let k = |key: &str| ks[key].as_f64().unwrap();
        let nf = n as f64;
        // |ours − keras| and |ours − theory| within 5 standard errors.
        let near = |what: &str, ours: f64, theory: f64, keras: f64, se: f64| {
            println!("{name} {what}: ours {ours:.5}, theory {theory:.5}, keras {keras:.5}");
            assert!(
                (ours - theory).abs() <= 5.0 * se,
                "{name} {what}: ours {ours}, theory {theory}"
            );
            assert!(
                (keras - theory).abs() <= 5.0 * se,
                "{name} {what}: keras {keras}, theory {theory}"
            );
        };
        match config {
            LayerConfig::Dropout(d) => {
                let r = d.rate as f64;
                let kept: Vec<usize> = (0..n).filter(|&i| y[i] != 0.0).collect();
                let frac = 1.0 - kept.len() as f64 / nf;
                near(
                    "drop fraction",
                    frac,
                    r,
                    k("drop_fraction"),
                    (r * (1.0 - r) / nf).sqrt(),
                );
                for &i in &kept {
                    let scale = (y[i] / x[i]) as f64;
                    assert!((scale - 1.0 / (1.0 - r)).abs() < 1e-6 / (1.0 - r), "{name}");
                    assert!((scale - k("kept_scale")).abs() < 1e-6 / (1.0 - r), "{name}");
                }
            }
            LayerConfig::GaussianNoise(g) => {
                let s = g.stddev as f64;
                let d: Vec<f64> = (0..n).map(|i| (y[i] - x[i]) as f64).collect();
                let (m, sd) = mean_std(&d);
                near("noise mean", m, 0.0, k("noise_mean"), s / nf.sqrt());
                near("noise std", sd, s, k("noise_std"), s / (2.0 * nf).sqrt());
            }
            LayerConfig::GaussianDropout(g) => {
                let r = g.rate as f64;
                let s = (r / (1.0 - r)).sqrt();
                let d: Vec<f64> = (0..n).map(|i| (y[i] / x[i]) as f64).collect();
                let (m, sd) = mean_std(&d);
                near("noise mean", m, 1.0, k("noise_mean"), s / nf.sqrt());
                near("noise std", sd, s, k("noise_std"), s / (2.0 * nf).sqrt());
            }
            LayerConfig::AlphaDropout(a) => {
                let r = a.rate as f64;
                let dropped = k("dropped_value") as f32;
                let (ka, kb) = (k("a"), k("b"));
                let mut n_dropped = 0usize;
                for i in 0..n {
                    if (y[i] - dropped).abs() <= 1e-6 {
                        n_dropped += 1;
                    } else {
                        // Kept: Keras's affine map a·x + b (fitted from Keras's output).
                        let want = ka * x[i] as f64 + kb;
                        assert!(
                            (y[i] as f64 - want).abs() < 1e-5,
                            "{name}: {} vs {want}",
                            y[i]
                        );
                    }
                }
                let frac = n_dropped as f64 / nf;
                near(
                    "drop fraction",
                    frac,
                    r,
                    k("drop_fraction"),
                    (r * (1.0 - r) / nf).sqrt(),
                );
                // Self-normalizing: N(0, 1) in, mean 0 and variance 1 out.
                let yd: Vec<f64> = y.iter().map(|&v| v as f64).collect();
                let (m, sd) = mean_std(&yd);
                near("output mean", m, 0.0, k("out_mean"), 1.0 / nf.sqrt());
                near("output std", sd, 1.0, k("out_std"), 2.0 / (2.0 * nf).sqrt());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_seed_determines_the_noise() {
    let x = normals(400, 3);
    for config in all_configs() {
        let what = format!("{config:?}");
        let (a, _) = run(&config, &x, &x, &Context::training(10)).unwrap();
        let (b, _) = run(&config, &x, &x, &Context::training(10)).unwrap();
        let (c, _) = run(&config, &x, &x, &Context::training(11)).unwrap();
        let (d, _) = run(&config, &x, &x, &Context::training(10).for_layer(1)).unwrap();
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{what}"
        );
        assert_ne!(a, c, "{what}: another seed");
        assert_ne!(a, d, "{what}: another layer");
        assert_ne!(a, x, "{what}: no noise in training");
    }
    // The layer's own Keras seed is mixed in.
    let with = |seed| {
        let l = LayerConfig::Dropout(Dropout { rate: 0.5, seed });
        run(&l, &x, &x, &Context::training(10)).unwrap().0
    };
    assert_ne!(with(Some(1)), with(Some(2)));
    assert_ne!(with(None), with(Some(1)));
}

#[test]
fn backward_regenerates_the_forward_noise() {
    let x = normals(60, 4);
    let c = normals(60, 5);
    for config in all_configs() {
        let what = format!("{config:?}");
        let ctx = Context::training(99).for_layer(3);
        let (y, dx) = run(&config, &x, &c, &ctx).unwrap();
        // With the seed fixed the layer is a deterministic function of x: its gradient
        // by central differences must equal the backward pass.
        let f = |x: &[f32]| -> f64 {
            let (y, _) = run(&config, x, &c, &ctx).unwrap();
            y.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum()
        };
        let h = 1e-2f32;
        for i in 0..x.len() {
            let mut xp = x.clone();
            xp[i] = x[i] + h;
            let up = f(&xp);
            xp[i] = x[i] - h;
            let down = f(&xp);
            let numeric = ((up - down) / (2.0 * h as f64)) as f32;
            assert!(
                (dx[i] - numeric).abs() <= 2e-3 + 2e-3 * numeric.abs(),
                "{what} dx[{i}]: analytic {}, numeric {numeric}",
                dx[i]
            );
        }
        // Masks: a dropped element has zero gradient, a kept one does not.
        if let LayerConfig::Dropout(_) = config {
            for i in 0..x.len() {
                assert_eq!(y[i] == 0.0, dx[i] == 0.0, "{what} [{i}]");
            }
        }
        // Another context gives another gradient (the noise is really regenerated).
        let (_, dx2) = run(&config, &x, &c, &Context::training(100)).unwrap();
        if !matches!(config, LayerConfig::GaussianNoise(_)) {
            assert_ne!(dx, dx2, "{what}");
        }
    }
}

#[test]
fn rate_one() {
    let x = normals(20, 6);
    let d = LayerConfig::Dropout(Dropout {
        rate: 1.0,
        seed: None,
    });
    let (y, dx) = run(&d, &x, &x, &Context::training(1)).unwrap();
    assert!(y.iter().chain(&dx).all(|&v| v == 0.0));
    // Keras divides by zero when training GaussianDropout / AlphaDropout with rate 1;
    // inference still works.
    for l in [
        LayerConfig::GaussianDropout(GaussianDropout {
            rate: 1.0,
            seed: None,
        }),
        LayerConfig::AlphaDropout(AlphaDropout {
            rate: 1.0,
            seed: None,
        }),
    ] {
        assert!(matches!(
            run(&l, &x, &x, &Context::training(1)),
            Err(Error::InvalidConfig(_))
        ));
        assert_eq!(run(&l, &x, &x, &Context::default()).unwrap().0, x);
    }
}

#[test]
fn fixed_point_draws_the_same_noise() {
    let x = normals(200, 7);
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    for config in all_configs() {
        let ctx = Context::training(21);
        let (yf, dxf) = run(&config, &x, &x, &ctx).unwrap();
        let (yq, dxq) = run(&config, &q(&x), &q(&x), &ctx).unwrap();
        let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
        assert_close(&format!("{config:?} y"), &f(&yq), &yf, 1e-4, 1e-4);
        assert_close(&format!("{config:?} dx"), &f(&dxq), &dxf, 1e-4, 1e-4);
    }
}

// ---------------------------------------------------------------------------------------
// Models.

fn blob(file: &str) -> AlignedBytes {
    convert(
        &read_keras_file(&fixture(DIR, file)).unwrap(),
        DTypeChoice::F32,
    )
    .unwrap()
}

fn sgd(batch: usize) -> TrainConfig {
    TrainConfig {
        batch_size: batch,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::from_keras_name("categorical_crossentropy").unwrap(),
        trainable: Trainable::All,
    }
}

#[test]
fn model_predicts_like_keras_and_like_the_model_without_noise() {
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let drop = blob("model.keras");
    let plain = blob("model_plain.keras");
    let g = ember_nn::model::Graph::<f32>::parse(drop.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(
        classes,
        [
            "Dense",
            "Dropout",
            "Dense",
            "AlphaDropout",
            "GaussianNoise",
            "GaussianDropout",
            "Dense"
        ]
    );
    let y = predict(drop.as_slice(), &x, 2).unwrap();
    assert_close("dropout_mlp predict", &y.data, &want.data, 1e-5, 1e-7);
    let y_plain = predict(plain.as_slice(), &x, 2).unwrap();
    assert_eq!(y.data, y_plain.data);
    // test_on_batch runs in inference mode too: same loss with and without the layers.
    let (xs, ys) = (npy(DIR, "train_x.npy"), npy(DIR, "train_y.npy"));
    let cfg = sgd(8);
    let loss = |b: &AlignedBytes| {
        let mut arena =
            AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
        let mut m =
            Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        m.test_on_batch(&xs.data[..8 * 6], &ys.data[..8 * 3])
            .unwrap()
    };
    assert_eq!(loss(&drop), loss(&plain));
}

/// Trains `epochs` passes of batch 8 over the training set; returns (losses, params).
fn train(b: &AlignedBytes, seed: Option<u64>, epochs: usize) -> (Vec<f32>, Vec<f32>) {
    let cfg = sgd(8);
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    if let Some(s) = seed {
        m.set_seed(s).unwrap();
    }
    let (xs, ys) = (npy(DIR, "train_x.npy"), npy(DIR, "train_y.npy"));
    let mut losses = Vec::new();
    for _ in 0..epochs {
        for k in 0..xs.shape[0] / 8 {
            losses.push(
                m.train_on_batch(
                    &xs.data[k * 48..(k + 1) * 48],
                    &ys.data[k * 24..(k + 1) * 24],
                )
                .unwrap(),
            );
        }
    }
    (losses, m.trainable_params().to_vec())
}

#[test]
fn model_with_dropout_trains_deterministically() {
    let drop = blob("model.keras");
    let plain = blob("model_plain.keras");
    let (losses, params) = train(&drop, Some(5), 15);
    let first: f32 = losses[..8].iter().sum::<f32>() / 8.0;
    let last: f32 = losses[losses.len() - 8..].iter().sum::<f32>() / 8.0;
    println!("dropout model: mean loss first epoch {first:.4}, last epoch {last:.4}");
    assert!(last < 0.6 * first, "loss {first} -> {last}");
    // The same seed trains to the same bits; another seed, or no noise, differently.
    let (losses2, params2) = train(&drop, Some(5), 15);
    assert_eq!(losses, losses2);
    assert_eq!(params, params2);
    let (_, params3) = train(&drop, Some(6), 1);
    let (_, params1) = train(&drop, Some(5), 1);
    assert_ne!(params1, params3);
    let (_, plain1) = train(&plain, None, 1);
    assert_eq!(plain1.len(), params1.len());
    assert_ne!(plain1, params1, "the noise layers act in training");
    // The default seed is 0.
    assert_eq!(train(&drop, None, 1).1, train(&drop, Some(0), 1).1);
    // set_seed needs a training model.
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(drop.as_slice(), 1).unwrap());
    let mut m = Sequential::<f32>::new(drop.as_slice(), arena.as_mut_slice(), 1).unwrap();
    assert_eq!(m.set_seed(1), Err(Error::NotTraining));
}

#[test]
fn noise_layers_store_nothing_for_backward() {
    // Training memory grows by the noise layers' outputs only (16-byte aligned), never by
    // a mask: Dropout(16) + AlphaDropout(8) + GaussianNoise(8) + GaussianDropout(8).
    let cfg = sgd(8);
    let drop = Sequential::<f32>::training_bytes(blob("model.keras").as_slice(), &cfg).unwrap();
    let plain =
        Sequential::<f32>::training_bytes(blob("model_plain.keras").as_slice(), &cfg).unwrap();
    assert_eq!(drop - plain, 8 * (16 + 8 + 8 + 8) * 4);
}

#[test]
fn model_gradient_uses_the_forward_noise() {
    // `set_seed` restarts the noise stream, so two steps after it see the same noise: the
    // loss is then one function of the parameters. One SGD step of size ε moves them by
    // −ε·g, which must lower that loss by ε·‖g‖² (to first order) — only if g is the
    // gradient of the loss with the forward pass's noise.
    let b = blob("model.keras");
    let (xs, ys) = (npy(DIR, "train_x.npy"), npy(DIR, "train_y.npy"));
    let eps = 1e-3f32;
    let mut cfg = sgd(8);
    cfg.optimizer = Optimizer::sgd(Sgd {
        learning_rate: eps,
        momentum: 0.0,
        nesterov: false,
    });
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (x, y) = (&xs.data[..48], &ys.data[..24]);
    for seed in [3u64, 4, 5] {
        m.set_seed(seed).unwrap();
        let p0 = m.trainable_params().to_vec();
        let l0 = m.train_on_batch(x, y).unwrap() as f64;
        let g2: f64 = p0
            .iter()
            .zip(m.trainable_params())
            .map(|(a, b)| {
                let g = ((a - b) / eps) as f64;
                g * g
            })
            .sum();
        m.set_seed(seed).unwrap();
        let l1 = m.train_on_batch(x, y).unwrap() as f64;
        let predicted = eps as f64 * g2;
        println!(
            "seed {seed}: loss drop {:.3e}, ε‖g‖² {predicted:.3e}",
            l0 - l1
        );
        assert!(
            ((l0 - l1) - predicted).abs() <= 0.01 * predicted,
            "seed {seed}: loss drop {}, predicted {predicted}",
            l0 - l1
        );
    }
}

#[test]
fn every_step_draws_new_noise() {
    // With a zero learning rate the parameters never change, so the losses of repeated
    // steps on one batch differ only by their noise: new at every step, replayed after
    // `set_seed`.
    let b = blob("model.keras");
    let (xs, ys) = (npy(DIR, "train_x.npy"), npy(DIR, "train_y.npy"));
    let mut cfg = sgd(8);
    cfg.optimizer = Optimizer::sgd(Sgd {
        learning_rate: 0.0,
        momentum: 0.0,
        nesterov: false,
    });
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (x, y) = (&xs.data[..48], &ys.data[..24]);
    let run = |m: &mut Sequential<'_, f32>| -> Vec<f32> {
        (0..4).map(|_| m.train_on_batch(x, y).unwrap()).collect()
    };
    let first = run(&mut m);
    for i in 0..4 {
        for j in 0..i {
            assert_ne!(first[i], first[j], "steps {j} and {i} drew the same noise");
        }
    }
    m.set_seed(0).unwrap();
    assert_eq!(run(&mut m), first);
    let clean = m.test_on_batch(x, y).unwrap();
    assert!(first.iter().all(|&l| l != clean));
}
