//! The blob's training record: Keras models compiled with several optimizers and losses
//! (`tests/fixtures/training_record`, from `generate.py`) convert to blobs whose
//! `TrainConfig::from_blob` is the Ember optimizer and loss of Keras's `compile` call
//! (written out by hand below from the generator's arguments), and for two of them three
//! `train_on_batch` steps give Keras's weights within 1e-5 relative.

use ember_cli::convert::compile::{loss, optimizer, training_record};
use ember_cli::convert::{convert_with, convert_with_training, ConvertOptions, TrainingSettings};
use ember_cli::keras::{read_keras_file, KerasModel};
use ember_cli::Error;
use ember_nn::blob::{Blob, TrainingDesc};
use ember_nn::loss::Reduction;
use ember_nn::optimizer::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Clip, CosineDecay, ExponentialDecay, InverseTimeDecay,
    LearningRateSchedule, Nadam, PiecewiseConstantDecay, RmsProp, Sgd,
};
use ember_nn::{Loss, Optimizer, Sequential, TrainConfig, Trainable};
use serde_json::json;

const DIR: &str = "training_record";

fn keras(name: &str) -> KerasModel {
    read_keras_file(&ember_tests::fixture(DIR, name)).unwrap()
}

/// The record of the blob converted from `file` with the default settings.
fn record(file: &str) -> Option<TrainingDesc> {
    let blob = convert_with(&keras(file), &ConvertOptions::default()).unwrap();
    let from_blob = Blob::parse(blob.as_slice()).unwrap().training().unwrap();
    let config = TrainConfig::from_blob(blob.as_slice(), 8).unwrap();
    assert_eq!(config.map(|c| c.optimizer), from_blob.map(|t| t.optimizer));
    assert_eq!(config.map(|c| c.batch_size), from_blob.map(|_| 8));
    assert_eq!(
        config.map(|c| c.trainable),
        from_blob.map(|_| Trainable::AsSaved)
    );
    from_blob
}

/// `(file, optimizer, loss)` as the generator's `compile` calls give them.
fn expected() -> Vec<(&'static str, Optimizer, Loss)> {
    vec![
        (
            "sgd_nesterov.keras",
            Optimizer::sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov: true,
            }),
            Loss::mean_squared_error(),
        ),
        (
            "adam_amsgrad.keras",
            Optimizer::adam(Adam {
                learning_rate: 0.05,
                beta_1: 0.8,
                beta_2: 0.99,
                epsilon: 1e-6,
                amsgrad: true,
            }),
            Loss::CategoricalCrossentropy {
                from_logits: true,
                label_smoothing: 0.1,
                reduction: Reduction::SumOverBatchSize,
            },
        ),
        (
            "rmsprop_exp.keras",
            Optimizer::rms_prop(RmsProp {
                rho: 0.8,
                momentum: 0.5,
                epsilon: 1e-5,
                centered: true,
                ..RmsProp::DEFAULT
            })
            .with_schedule(LearningRateSchedule::ExponentialDecay(ExponentialDecay {
                initial_learning_rate: 0.01,
                decay_steps: 10.0,
                decay_rate: 0.5,
                staircase: true,
            }))
            .with_clip(Clip::Norm(1.5)),
            // Keras 3.15's `Huber.get_config()` leaves `delta` out, so the file (and the
            // model Keras loads from it) has the default 1.0, not the 0.5 it was compiled
            // with.
            Loss::Huber {
                delta: 1.0,
                reduction: Reduction::SumOverBatchSize,
            },
        ),
        (
            "adamw_piecewise.keras",
            Optimizer::adam_w(AdamW {
                weight_decay: 0.02,
                ..AdamW::DEFAULT
            })
            .with_schedule(LearningRateSchedule::PiecewiseConstantDecay(
                PiecewiseConstantDecay::new(&[5, 10], &[0.1, 0.01, 0.001]).unwrap(),
            )),
            Loss::BinaryCrossentropy {
                from_logits: true,
                label_smoothing: 0.2,
                reduction: Reduction::Sum,
            },
        ),
        (
            "adagrad_global.keras",
            Optimizer::adagrad(Adagrad {
                learning_rate: 0.2,
                initial_accumulator_value: 0.3,
                epsilon: 1e-6,
            })
            .with_clip(Clip::GlobalNorm(2.0)),
            Loss::sparse_categorical_crossentropy(),
        ),
        (
            "nadam_cosine.keras",
            Optimizer::nadam(Nadam {
                beta_1: 0.85,
                ..Nadam::DEFAULT
            })
            .with_schedule(LearningRateSchedule::CosineDecay(CosineDecay {
                initial_learning_rate: 0.01,
                decay_steps: 100.0,
                alpha: 0.1,
                warmup_target: Some(0.02),
                warmup_steps: 5.0,
            })),
            Loss::kl_divergence(),
        ),
        (
            "adadelta_clipvalue.keras",
            Optimizer::adadelta(Adadelta {
                learning_rate: 1.0,
                rho: 0.9,
                ..Adadelta::DEFAULT
            })
            .with_clip(Clip::Value(0.5)),
            Loss::mean_absolute_error(),
        ),
        (
            "adamax_inverse_wd.keras",
            Optimizer::adamax(Adamax::DEFAULT)
                .with_schedule(LearningRateSchedule::InverseTimeDecay(InverseTimeDecay {
                    initial_learning_rate: 0.02,
                    decay_steps: 4.0,
                    decay_rate: 0.5,
                    staircase: false,
                }))
                .with_weight_decay(0.01),
            Loss::mean_squared_logarithmic_error(),
        ),
        (
            "functional_sgd.keras",
            Optimizer::sgd(Sgd {
                learning_rate: 0.05,
                momentum: 0.5,
                nesterov: false,
            }),
            Loss::mean_squared_error(),
        ),
        // The legacy `.h5` file's `training_config` gives the same record.
        (
            "sgd_nesterov.h5",
            Optimizer::sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov: true,
            }),
            Loss::mean_squared_error(),
        ),
        // tf.keras 2 (`Custom>SGD`, the loss's `fn`, `reduction="auto"`).
        (
            "tf2_sgd.h5",
            Optimizer::sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov: true,
            }),
            Loss::CategoricalCrossentropy {
                from_logits: true,
                label_smoothing: 0.0,
                reduction: Reduction::SumOverBatchSize,
            },
        ),
    ]
}

#[test]
fn compile_settings_become_the_training_record() {
    for (file, opt, loss) in expected() {
        let t = record(file).unwrap_or_else(|| panic!("{file}: no record"));
        assert_eq!(t.optimizer, opt, "{file}");
        assert_eq!(t.loss, loss, "{file}");
        assert_eq!((t.batch_size, t.trainable), (None, None), "{file}");
    }
}

#[test]
fn uncompiled_model_has_no_record() {
    assert_eq!(record("uncompiled.keras"), None);
    let k = keras("uncompiled.keras");
    let sgd = Optimizer::sgd(Sgd::DEFAULT);
    let both = TrainingSettings::FromFile {
        optimizer: Some(sgd),
        loss: Some(Loss::mean_squared_error()),
    };
    assert_eq!(
        training_record(&k, &both).unwrap(),
        Some(TrainingDesc::new(sgd, Loss::mean_squared_error()))
    );
    let one = TrainingSettings::FromFile {
        optimizer: Some(sgd),
        loss: None,
    };
    assert!(matches!(training_record(&k, &one), Err(Error::Config(_))));
}

fn refused_option(r: Result<impl std::fmt::Debug, Error>) -> (String, String) {
    match r {
        Err(Error::UnsupportedOption { option, value, .. }) => (option, value),
        other => panic!("expected UnsupportedOption, got {other:?}"),
    }
}

#[test]
fn unsupported_settings_are_refused_by_name_or_skipped_or_overridden() {
    let options = ConvertOptions::default();
    let ema = keras("unsupported_ema.keras");
    let (option, value) = refused_option(convert_with(&ema, &options));
    assert_eq!((option.as_str(), value.as_str()), ("use_ema", "true"));
    let lion = keras("unsupported_lion.keras");
    let (option, value) = refused_option(convert_with(&lion, &options));
    assert_eq!((option.as_str(), value.as_str()), ("optimizer", "\"Lion\""));
    // --no-training-settings: the model converts, without a record.
    let blob = convert_with_training(&lion, &options, &TrainingSettings::Skip).unwrap();
    assert_eq!(
        Blob::parse(blob.as_slice()).unwrap().training().unwrap(),
        None
    );
    // --optimizer: the file's optimizer is not read; its loss is kept.
    let adam = Optimizer::adam(Adam::DEFAULT);
    let set = TrainingSettings::FromFile {
        optimizer: Some(adam),
        loss: None,
    };
    let blob = convert_with_training(&lion, &options, &set).unwrap();
    let t = Blob::parse(blob.as_slice()).unwrap().training().unwrap();
    assert_eq!(t, Some(TrainingDesc::new(adam, Loss::mean_squared_error())));
}

/// Three `train_on_batch` steps with the blob's own training settings reach Keras's
/// weights. Returns the worst relative error.
fn trains_like_keras(case: &str) -> f32 {
    let blob = convert_with(&keras(&format!("{case}.keras")), &ConvertOptions::default()).unwrap();
    let config = TrainConfig::from_blob(blob.as_slice(), 8).unwrap().unwrap();
    let needed = Sequential::<f32>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let x = ember_tests::npy(DIR, &format!("{case}_x.npy"));
    let y = ember_tests::npy(DIR, &format!("{case}_y.npy"));
    let (xn, yn) = (x.data.len() / 3, y.data.len() / 3);
    for k in 0..3 {
        m.train_on_batch(&x.data[k * xn..(k + 1) * xn], &y.data[k * yn..(k + 1) * yn])
            .unwrap();
    }
    let mut worst = 0.0f32;
    let mut i = 0;
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            let got = m.param(l, p).unwrap();
            let want = ember_tests::npy(DIR, &format!("{case}_w{i}.npy"));
            ember_tests::assert_close(&format!("{case} w{i}"), got, &want.data, 1e-5, 1e-6);
            for (a, b) in got.iter().zip(&want.data) {
                worst = worst.max((a - b).abs() / b.abs().max(1e-6));
            }
            i += 1;
        }
    }
    assert_eq!(i, 4, "{case}: every weight checked");
    // The trained blob keeps the record.
    let trained = ember_cli::checkpoint::trained_blob(&m).unwrap();
    assert_eq!(
        Blob::parse(trained.as_slice()).unwrap().training().unwrap(),
        Some(TrainingDesc::new(config.optimizer, config.loss))
    );
    worst
}

#[test]
fn sgd_nesterov_trains_like_keras() {
    let worst = trains_like_keras("sgd_nesterov");
    eprintln!("sgd_nesterov: worst relative weight error {worst:e}");
}

#[test]
fn adam_amsgrad_trains_like_keras() {
    let worst = trains_like_keras("adam_amsgrad");
    eprintln!("adam_amsgrad: worst relative weight error {worst:e}");
}

#[test]
fn optimizer_configs_defaults_and_refusals() {
    // Absent keys take Keras's defaults.
    let adam = optimizer(&json!({"class_name": "Adam", "config": {}})).unwrap();
    assert_eq!(adam, Optimizer::adam(Adam::DEFAULT));
    let sgd = optimizer(&json!("sgd")).unwrap();
    assert_eq!(sgd, Optimizer::sgd(Sgd::DEFAULT));
    let adamw =
        optimizer(&json!({"class_name": "AdamW", "config": {"weight_decay": 0.1}})).unwrap();
    assert_eq!(
        adamw,
        Optimizer::adam_w(AdamW {
            weight_decay: 0.1,
            ..AdamW::DEFAULT
        })
    );
    let refused = |cfg: serde_json::Value| refused_option(optimizer(&cfg)).0;
    let sgd_with = |k: &str, v: serde_json::Value| {
        let mut c = serde_json::Map::new();
        c.insert(k.into(), v);
        json!({"class_name": "SGD", "config": c})
    };
    assert_eq!(refused(sgd_with("use_ema", json!(true))), "use_ema");
    assert_eq!(
        refused(sgd_with("loss_scale_factor", json!(128.0))),
        "loss_scale_factor"
    );
    assert_eq!(
        refused(sgd_with("gradient_accumulation_steps", json!(4))),
        "gradient_accumulation_steps"
    );
    assert_eq!(refused(sgd_with("amsgrad", json!(true))), "amsgrad");
    assert_eq!(refused(sgd_with("momentum", json!("x"))), "momentum");
    assert_eq!(
        refused(sgd_with("momentum", json!(1.5))),
        "config",
        "Keras's range check"
    );
    assert_eq!(refused(sgd_with("decay", json!(0.1))), "decay");
    let two_clips = json!({"class_name": "SGD", "config": {"clipnorm": 1.0, "clipvalue": 1.0}});
    assert_eq!(refused(two_clips), "clipnorm");
    let poly = sgd_with(
        "learning_rate",
        json!({"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 0.1}}),
    );
    assert_eq!(refused(poly), "learning_rate");
    let bad_sched = sgd_with(
        "learning_rate",
        json!({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1,
            "decay_steps": 10, "decay_rate": 0.5, "cycle": true}}),
    );
    assert_eq!(refused(bad_sched), "cycle");
    assert_eq!(
        refused(json!({"class_name": "Ftrl", "config": {}})),
        "optimizer"
    );
    assert_eq!(refused(json!(3)), "optimizer");
    // Ignored without EMA, as in Keras.
    assert!(optimizer(&sgd_with("ema_momentum", json!(0.5))).is_ok());
    assert!(optimizer(&sgd_with("jit_compile", json!(true))).is_ok());
}

#[test]
fn loss_configs_defaults_and_refusals() {
    assert_eq!(loss(&json!("mse")).unwrap(), Loss::mean_squared_error());
    assert_eq!(
        loss(&json!({"class_name": "function", "config": "poisson"})).unwrap(),
        Loss::poisson()
    );
    assert_eq!(
        loss(&json!({"class_name": "Huber", "config": {}})).unwrap(),
        Loss::huber()
    );
    assert_eq!(
        loss(&json!({"class_name": "SparseCategoricalCrossentropy",
            "config": {"from_logits": true, "ignore_class": null, "reduction": "mean"}}))
        .unwrap(),
        Loss::SparseCategoricalCrossentropy {
            from_logits: true,
            reduction: Reduction::Mean
        }
    );
    let refused = |v: serde_json::Value| refused_option(loss(&v)).0;
    let cce = |k: &str, v: serde_json::Value| {
        let mut c = serde_json::Map::new();
        c.insert(k.into(), v);
        json!({"class_name": "CategoricalCrossentropy", "config": c})
    };
    assert_eq!(refused(cce("axis", json!(1))), "axis");
    assert_eq!(refused(cce("reduction", json!("none"))), "reduction");
    assert_eq!(refused(cce("delta", json!(1.0))), "delta");
    assert_eq!(refused(cce("dtype", json!("float16"))), "dtype");
    assert_eq!(
        refused(json!({"class_name": "SparseCategoricalCrossentropy",
            "config": {"ignore_class": 0}})),
        "ignore_class"
    );
    assert_eq!(refused(json!("cosine_similarity")), "loss");
    assert_eq!(refused(json!(["mse", "mae"])), "loss");
    assert_eq!(refused(json!({"out": "mse"})), "loss");
    assert_eq!(refused(cce("fn", json!("binary_crossentropy"))), "fn");
    assert!(loss(&cce("fn", json!("categorical_crossentropy"))).is_ok());
}

#[test]
fn compile_keys_are_checked() {
    let mut k = keras("sgd_nesterov.keras");
    let base = k.compile_config.clone().unwrap();
    let with = |key: &str, v: serde_json::Value| {
        let mut c = base.clone();
        c[key] = v;
        c
    };
    let settings = TrainingSettings::default();
    k.compile_config = Some(with("loss_weights", json!([0.5])));
    assert_eq!(
        refused_option(training_record(&k, &settings)).0,
        "loss_weights"
    );
    k.compile_config = Some(with("something_new", json!(1)));
    assert_eq!(
        refused_option(training_record(&k, &settings)).0,
        "something_new"
    );
    k.compile_config = Some(with("metrics", json!(["accuracy", "mae"])));
    assert!(training_record(&k, &settings).unwrap().is_some());
    k.compile_config = Some(json!("adam"));
    assert!(matches!(
        training_record(&k, &settings),
        Err(Error::Config(_))
    ));
}

#[test]
fn bad_blob_records_are_errors() {
    let blob = convert_with(&keras("sgd_nesterov.keras"), &ConvertOptions::default()).unwrap();
    // Flip the Some tag of the record (the graph section's last byte is the record's last;
    // its first byte is 01): a corrupted record is MalformedBlob, not a panic. The CRC is
    // recomputed so only the record is wrong.
    let b = Blob::parse(blob.as_slice()).unwrap();
    let end = b.header().graph.offset as usize + b.header().graph.len as usize;
    let mut bytes = ember_cli::blob_file::AlignedBytes::zeroed(blob.as_slice().len());
    bytes.as_mut_slice().copy_from_slice(blob.as_slice());
    bytes.as_mut_slice()[end - 1] = 0x7f; // trainable: Option tag 7f
    let crc = ember_nn::blob::checksum(bytes.as_slice());
    bytes.as_mut_slice()[12..16].copy_from_slice(&crc.to_le_bytes());
    let b = Blob::parse(bytes.as_slice()).unwrap();
    assert!(matches!(
        b.training(),
        Err(ember_nn::Error::MalformedBlob(_))
    ));
    assert!(TrainConfig::from_blob(bytes.as_slice(), 8).is_err());
    assert!(ember_nn::model::Graph::<f32>::parse(bytes.as_slice()).is_err());
    assert!(TrainConfig::from_blob(&[0u8; 3], 8).is_err());
}

/// A Q16.16 blob carries the same record, and trains with it: three steps land within
/// 2e-3 of Keras's f32 weights (Q16.16 resolves 1.5e-5; the weights are O(1) and three
/// SGD steps of rate 0.1 with momentum add a few rounding errors of that size per
/// multiply-accumulate over 4–5 inputs, far below 2e-3).
#[test]
fn fixed_point_blob_carries_and_uses_the_record() {
    use ember_cli::convert::DTypeChoice;
    use ember_nn::{Scalar, Q16_16};
    let k = keras("sgd_nesterov.keras");
    let options = ConvertOptions {
        dtype: DTypeChoice::Fixed,
        ..ConvertOptions::default()
    };
    let blob = convert_with(&k, &options).unwrap();
    let config = TrainConfig::from_blob(blob.as_slice(), 8).unwrap().unwrap();
    assert_eq!(config.optimizer, expected()[0].1);
    let needed = Sequential::<Q16_16>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<Q16_16>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let q = |v: &[f32]| v.iter().map(|&f| Q16_16::from_f32(f)).collect::<Vec<_>>();
    let x = q(&ember_tests::npy(DIR, "sgd_nesterov_x.npy").data);
    let y = q(&ember_tests::npy(DIR, "sgd_nesterov_y.npy").data);
    let (xn, yn) = (x.len() / 3, y.len() / 3);
    for s in 0..3 {
        m.train_on_batch(&x[s * xn..(s + 1) * xn], &y[s * yn..(s + 1) * yn])
            .unwrap();
    }
    let (mut i, mut worst) = (0, 0.0f32);
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            let got: Vec<f32> = m.param(l, p).unwrap().iter().map(|v| v.to_f32()).collect();
            let want = ember_tests::npy(DIR, &format!("sgd_nesterov_w{i}.npy"));
            for (a, b) in got.iter().zip(&want.data) {
                assert!((a - b).abs() < 2e-3, "w{i}: {a} vs {b}");
                worst = worst.max((a - b).abs());
            }
            i += 1;
        }
    }
    assert_eq!(i, 4);
    eprintln!("Q16.16 sgd_nesterov: worst absolute weight error {worst:e}");
}
