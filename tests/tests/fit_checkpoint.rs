//! ModelCheckpoint against Keras 3's own decisions (`tests/fixtures/checkpoint`), the
//! weights it saves (trainable parameters and BatchNormalization's moving statistics, on
//! `tests/fixtures/batchnorm/model.keras`), restoring them, the host's blob files, and
//! EarlyStopping's restore of the layer state.

mod fit_support;

use ember_cli::checkpoint::{format_filepath, trained_blob, FileStorage};
use ember_cli::convert::DTypeChoice;
use ember_cli::tensor_file::Tensor;
use ember_cli::train::{self, CheckpointOptions, TrainData, TrainOptions};
use ember_nn::model::callbacks::{
    Callback, CheckpointInfo, CheckpointStorage, Control, EarlyStopping, MemoryStorage, Mode,
    ModelCheckpoint, SaveFreq,
};
use ember_nn::model::{fit, FitBuffers, FitModel, FitOptions, Logs, SliceDataset};
use ember_nn::{
    Error, Loss, Optimizer, Result, Scalar, Sequential, Sgd, TrainConfig, Trainable, Q16_16,
};
use ember_tests::{blob, fixture};
use fit_support::{config, with_model};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Decisions against Keras.
// ---------------------------------------------------------------------------------------

/// A storage that records what it was asked to save and the path Keras's `filepath`
/// formatting gives.
struct Recorder {
    pattern: String,
    paths: Vec<String>,
}

impl<T: Scalar> CheckpointStorage<T> for Recorder {
    fn save<M: FitModel<T, N>, const N: usize>(
        &mut self,
        _model: &M,
        info: &CheckpointInfo<'_>,
    ) -> Result<()> {
        let path = format_filepath(&self.pattern, info).expect("format the filepath");
        self.paths.push(path);
        Ok(())
    }
}

fn value(v: &Value) -> f32 {
    match v {
        Value::String(s) if s == "nan" => f32::NAN,
        v => v.as_f64().expect("a number") as f32,
    }
}

/// Ember logs from one of Keras's log dicts (`loss`, `accuracy`, `val_loss`,
/// `val_accuracy`).
fn logs_of(l: &Value) -> Logs {
    let mut logs = Logs::new();
    logs.loss = value(&l["loss"]);
    if let Some(a) = l.get("accuracy") {
        logs.push("accuracy", value(a)).unwrap();
    }
    if let Some(v) = l.get("val_loss") {
        let mut val = Logs::new();
        val.loss = value(v);
        if let Some(a) = l.get("val_accuracy") {
            val.push("accuracy", value(a)).unwrap();
        }
        logs.set_validation(&val);
    }
    logs
}

fn mode(kw: &Value) -> Mode {
    match kw["mode"].as_str() {
        None | Some("auto") => Mode::Auto,
        Some("min") => Mode::Min,
        Some("max") => Mode::Max,
        Some(m) => panic!("mode {m}"),
    }
}

fn same_f32(a: Option<f32>, b: &Value) -> bool {
    match (a, b) {
        (None, Value::Null) => true,
        (Some(a), b) if !b.is_null() => {
            let b = value(b);
            a == b || (a.is_nan() && b.is_nan())
        }
        _ => false,
    }
}

#[test]
fn checkpoint_decides_as_keras() {
    let text = std::fs::read_to_string(fixture("checkpoint", "decisions.json")).unwrap();
    let g: Value = serde_json::from_str(&text).unwrap();
    let cases = g["cases"].as_array().unwrap();
    with_model(config("SGD", 0.1, 0.0, "mse"), |m| {
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let kw = &case["kwargs"];
            let monitor: &'static str = match kw["monitor"].as_str() {
                Some(s) => Box::leak(s.to_string().into_boxed_str()),
                None => "val_loss",
            };
            let recorder = Recorder {
                pattern: kw["filepath"].as_str().unwrap().to_string(),
                paths: Vec::new(),
            };
            let mut cb = ModelCheckpoint::new(recorder)
                .monitor(monitor)
                .mode(mode(kw))
                .save_best_only(kw["save_best_only"].as_bool().unwrap_or(false));
            if let Some(f) = kw["save_freq"].as_u64() {
                cb = cb.save_freq(SaveFreq::Batches(f as usize));
            }
            if let Some(t) = kw["initial_value_threshold"].as_f64() {
                cb = cb.initial_value_threshold(t as f32);
            }
            Callback::<f32>::on_train_begin(&mut cb, m).unwrap();
            let logs: Vec<Logs> = case["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(logs_of)
                .collect();
            match case["batches_per_epoch"].as_u64() {
                None => {
                    for (e, l) in logs.iter().enumerate() {
                        cb.on_epoch_begin(m, e).unwrap();
                        cb.on_epoch_end(m, e, &mut l.clone()).unwrap();
                    }
                }
                Some(per) => {
                    for (e, epoch) in logs.chunks(per as usize).enumerate() {
                        cb.on_epoch_begin(m, e).unwrap();
                        for (b, l) in epoch.iter().enumerate() {
                            cb.on_train_batch_end(m, b, l).unwrap();
                        }
                    }
                }
            }
            let want: Vec<&str> = case["saved"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(cb.storage().paths, want, "{name}: saves and their paths");
            assert!(
                same_f32(cb.best(), &case["best"]),
                "{name}: best {:?}",
                cb.best()
            );
            assert_eq!(
                cb.monitor_missing() as u64,
                case["warnings"].as_u64().unwrap(),
                "{name}: Keras's missing-monitor warnings"
            );
        }
    });
    assert_eq!(cases.len(), 17);
}

#[test]
fn best_is_kept_across_fits_and_auto_mode_needs_a_known_name() {
    with_model(config("SGD", 0.1, 0.0, "mse"), |m| {
        let rec = Recorder {
            pattern: "{epoch}".into(),
            paths: Vec::new(),
        };
        let mut cb = ModelCheckpoint::new(rec).save_best_only(true);
        let mut l = Logs::new();
        l.val_loss = Some(0.5);
        Callback::<f32>::on_train_begin(&mut cb, m).unwrap();
        cb.on_epoch_end(m, 0, &mut l.clone()).unwrap();
        // A second fit with the same callback: Keras keeps `best` (no reset at train begin).
        Callback::<f32>::on_train_begin(&mut cb, m).unwrap();
        cb.on_epoch_end(m, 0, &mut l.clone()).unwrap();
        assert_eq!(cb.storage().paths, ["1"]);
        assert_eq!(cb.best(), Some(0.5));
        // Auto mode cannot guess an unknown metric's direction (Keras: ValueError).
        let rec = Recorder {
            pattern: String::new(),
            paths: Vec::new(),
        };
        let mut unknown = ModelCheckpoint::new(rec).monitor("val_f1");
        assert!(matches!(
            Callback::<f32>::on_train_begin(&mut unknown, m),
            Err(Error::InvalidConfig(_))
        ));
        let mut max = unknown.mode(Mode::Max);
        assert!(Callback::<f32>::on_train_begin(&mut max, m).is_ok());
    });
}

// ---------------------------------------------------------------------------------------
// What is saved: the BatchNormalization model, trained with fit.
// ---------------------------------------------------------------------------------------

const BN: &str = "batchnorm";

fn bn_config(lr: f32) -> TrainConfig {
    TrainConfig {
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: lr,
            momentum: 0.9,
            ..Sgd::DEFAULT
        }),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    }
}

/// `n` samples of 4 features in [-1, 1) and a one-hot class of 3 (deterministic).
fn bn_data(n: usize, seed: u32) -> (Vec<f32>, Vec<f32>) {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    };
    let x: Vec<f32> = (0..n * 4).map(|_| next()).collect();
    let mut y = vec![0.0f32; n * 3];
    for i in 0..n {
        let r = &x[i * 4..i * 4 + 4];
        let class = if r[0] + 0.5 * r[1] > 0.3 {
            0
        } else if r[2] - r[3] > 0.0 {
            1
        } else {
            2
        };
        // Some label noise so that validation loss does not fall steadily.
        let class = if next() > 0.8 { (class + 1) % 3 } else { class };
        y[i * 3 + class] = 1.0;
    }
    (x, y)
}

/// Records the model's snapshot and moving statistics at every epoch end.
#[derive(Default)]
struct Probe {
    snapshots: Vec<Vec<f32>>,
    moving: Vec<Vec<f32>>,
    val_loss: Vec<f32>,
}

impl Callback<f32> for Probe {
    fn on_epoch_end<M: FitModel<f32, N>, const N: usize>(
        &mut self,
        model: &mut M,
        _epoch: usize,
        logs: &mut Logs,
    ) -> Result<Control> {
        let mut s = vec![0.0; model.snapshot_len()];
        model.write_snapshot(&mut s)?;
        self.snapshots.push(s);
        let mut mv = model.param(1, 2).unwrap().to_vec();
        mv.extend_from_slice(model.param(1, 3).unwrap());
        self.moving.push(mv);
        self.val_loss.push(logs.val_loss.unwrap());
        Ok(Control::Continue)
    }
}

/// Trains the BatchNormalization model for `epochs` with `callbacks` after a [`Probe`];
/// gives the model, the probe and the callbacks to `check`.
fn train_bn<C: Callback<f32>>(
    lr: f32,
    epochs: usize,
    callbacks: C,
    check: impl FnOnce(&mut Sequential<'_, f32>, &Probe, C),
) {
    let b = blob(BN, DTypeChoice::F32);
    let cfg = bn_config(lr);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (x, y) = bn_data(32, 7);
    let (xv, yv) = bn_data(16, 99);
    let train = SliceDataset::new(&x, &y, 4, 3).unwrap();
    let val = SliceDataset::new(&xv, &yv, 4, 3).unwrap();
    let (mut xb, mut yb) = (vec![0.0f32; 32], vec![0.0f32; 24]);
    let buffers = FitBuffers {
        x: &mut xb,
        y: &mut yb,
        order: &mut [],
        sample_weight: &mut [],
    };
    let mut cbs = (Probe::default(), callbacks);
    let mut metrics: [ember_nn::metrics::AnyMetric<2>; 0] = [];
    fit(
        &mut m,
        &train,
        Some(&val),
        &FitOptions::epochs(epochs),
        &mut metrics,
        &mut cbs,
        buffers,
    )
    .unwrap();
    let (probe, callbacks) = cbs;
    check(&mut m, &probe, callbacks);
}

fn argmin(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] < v[b] { i } else { b })
}

#[test]
fn checkpoint_saves_the_weights_of_its_epoch_with_moving_statistics() {
    let b = blob(BN, DTypeChoice::F32);
    let cfg = bn_config(0.5);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let m0 = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (n_params, n_state) = (m0.trainable_params().len(), m0.layer_state().len());
    // Dense(4→6) 30, BN gamma/beta 12, Dense(6→3) 21; moving mean and variance 12.
    assert_eq!((n_params, n_state), (63, 12));
    let blob_moving: Vec<f32> = m0.layer_state().to_vec();
    drop(m0);

    let mut buf = vec![0.0f32; n_params + n_state];
    let cb = ModelCheckpoint::new(MemoryStorage::new(&mut buf)).save_best_only(true);
    train_bn(0.5, 12, cb, |m, probe, cb| {
        let best = argmin(&probe.val_loss);
        eprintln!("val_loss per epoch {:?}, best epoch {best}", probe.val_loss);
        assert!(
            best + 1 < probe.val_loss.len(),
            "the best epoch is not the last"
        );
        let storage = cb.into_storage();
        assert_eq!(storage.saved_epoch(), Some(best));
        let saved = storage.snapshot().unwrap().to_vec();
        assert_eq!(
            saved, probe.snapshots[best],
            "the model's weights at that epoch"
        );
        // The layer state part is BatchNormalization's moving mean and variance then.
        assert_eq!(&saved[n_params..], probe.moving[best].as_slice());
        assert_ne!(
            &saved[n_params..],
            blob_moving.as_slice(),
            "moving stats moved"
        );
        assert_ne!(saved, probe.snapshots[probe.snapshots.len() - 1]);
        // Keras saves once per improvement.
        let improvements = (0..probe.val_loss.len())
            .filter(|&e| probe.val_loss[..e].iter().all(|&v| probe.val_loss[e] < v))
            .count();
        assert_eq!(storage.saves(), improvements);

        // Restore: the model predicts as it did at the best epoch.
        let (xv, _) = bn_data(16, 99);
        storage.restore(m).unwrap();
        let mut restored = vec![0.0f32; m.snapshot_len()];
        m.write_snapshot(&mut restored).unwrap();
        assert_eq!(restored, saved);
        assert_eq!(m.param(1, 2).unwrap(), &saved[n_params..n_params + 6]);
        let mut y_restored = vec![0.0f32; 16 * 3];
        m.predict(&xv, &mut y_restored).unwrap();
        // The same prediction from a blob of the best epoch's weights.
        let best_blob = trained_blob(m).unwrap();
        let y_blob = ember_cli::predict::predict(
            best_blob.as_slice(),
            &Tensor {
                shape: vec![16, 4],
                data: xv.clone(),
            },
            8,
        )
        .unwrap();
        assert_eq!(y_blob.data, y_restored);
    });
}

#[test]
fn file_storage_round_trip_loads_and_predicts_identically() {
    let dir = std::env::temp_dir().join(format!("ember-checkpoint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pattern = format!(
        "{}/sub/bn-{{epoch:02d}}-{{val_loss:.4f}}.blob",
        dir.display()
    );
    let storage = FileStorage::new(&pattern).unwrap();
    let cb = ModelCheckpoint::new(storage);
    train_bn(0.5, 3, cb, |m, probe, cb| {
        let storage = cb.into_storage();
        assert_eq!(storage.saved().len(), 3);
        let (xv, _) = bn_data(16, 99);
        let input = Tensor {
            shape: vec![16, 4],
            data: xv,
        };
        for (e, path) in storage.saved().iter().enumerate() {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(
                name,
                format!("bn-{:02}-{:.4}.blob", e + 1, probe.val_loss[e]),
                "Keras's filepath fields"
            );
            let bytes = ember_cli::blob_file::read(path).unwrap();
            // The blob holds the weights of its epoch, moving statistics included.
            m.restore_snapshot(&probe.snapshots[e]).unwrap();
            let want = trained_blob(m).unwrap();
            assert_eq!(bytes.as_slice(), want.as_slice(), "epoch {e}");
            let mut y_model = vec![0.0f32; 16 * 3];
            m.predict(&input.data, &mut y_model).unwrap();
            let y_file = ember_cli::predict::predict(bytes.as_slice(), &input, 5).unwrap();
            assert_eq!(
                y_file.data, y_model,
                "epoch {e}: the saved blob predicts the same"
            );
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_storage_errors_reach_fit() {
    assert!(FileStorage::new("ckpt-{epoch").is_err());
    assert!(FileStorage::new("ckpt-{epoch:>3}").is_err());
    // A field the logs lack (Keras: KeyError): fit fails with Error::Storage, the
    // storage keeps the reason.
    let storage = FileStorage::new("/nonexistent-dir/{val_accuracy}.blob").unwrap();
    let b = blob(BN, DTypeChoice::F32);
    let cfg = bn_config(0.1);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (x, y) = bn_data(8, 1);
    let train = SliceDataset::new(&x, &y, 4, 3).unwrap();
    let (mut xb, mut yb) = (vec![0.0f32; 32], vec![0.0f32; 24]);
    let mut cb = ModelCheckpoint::new(storage).monitor("loss");
    let mut metrics: [ember_nn::metrics::AnyMetric<2>; 0] = [];
    let r = fit(
        &mut m,
        &train,
        None::<&SliceDataset<'_, f32>>,
        &FitOptions::epochs(2),
        &mut metrics,
        &mut cb,
        FitBuffers {
            x: &mut xb,
            y: &mut yb,
            order: &mut [],
            sample_weight: &mut [],
        },
    );
    assert!(matches!(r, Err(Error::Storage(_))), "{r:?}");
    assert!(matches!(
        cb.storage_mut().take_error(),
        Some(ember_cli::Error::Config(_))
    ));
}

// ---------------------------------------------------------------------------------------
// EarlyStopping(restore_best_weights=True) restores the layer state too.
// ---------------------------------------------------------------------------------------

#[test]
fn early_stopping_restores_trainable_weights_and_layer_state() {
    let b = blob(BN, DTypeChoice::F32);
    let cfg = bn_config(0.5);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let m0 = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let len = m0.snapshot_len();
    let n_params = m0.trainable_params().len();
    drop(m0);
    let mut best = vec![0.0f32; len];
    let es = EarlyStopping::new("val_loss")
        .patience(3)
        .restore_best_weights(&mut best);
    train_bn(0.5, 12, es, |m, probe, es| {
        let best = es.best_epoch();
        assert_eq!(best, argmin(&probe.val_loss[..probe.val_loss.len()]));
        assert!(
            best + 1 < probe.snapshots.len(),
            "restoring changes the model"
        );
        let mut now = vec![0.0f32; len];
        m.write_snapshot(&mut now).unwrap();
        assert_eq!(now, probe.snapshots[best]);
        assert_eq!(
            &now[n_params..],
            probe.moving[best].as_slice(),
            "moving statistics"
        );
        assert_ne!(
            &probe.snapshots[probe.snapshots.len() - 1][n_params..],
            &now[n_params..]
        );
    });
    // The buffer holds the layer state too: one the size of the trainable weights alone
    // is an error, not a panic.
    with_bn(|m| {
        let mut small = vec![0.0f32; m.trainable_params().len()];
        let mut es = EarlyStopping::new("val_loss").restore_best_weights(&mut small);
        es.on_train_begin(m).unwrap();
        let mut l = Logs::new();
        l.val_loss = Some(1.0);
        assert!(matches!(
            es.on_epoch_end(m, 0, &mut l),
            Err(Error::ShapeMismatch { .. })
        ));
    });
}

fn with_bn<R>(f: impl FnOnce(&mut Sequential<'_, f32>) -> R) -> R {
    let b = blob(BN, DTypeChoice::F32);
    let cfg = bn_config(0.1);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    f(&mut m)
}

// ---------------------------------------------------------------------------------------
// Snapshots and memory storage: errors, not panics; Q16.16.
// ---------------------------------------------------------------------------------------

#[test]
fn snapshot_and_storage_errors() {
    with_bn(|m| {
        let len = m.snapshot_len();
        let mut before = vec![0.0f32; len];
        m.write_snapshot(&mut before).unwrap();
        assert!(matches!(
            m.write_snapshot(&mut vec![0.0; len + 1]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            m.restore_snapshot(&vec![9.0; len - 1]),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut after = vec![0.0f32; len];
        m.write_snapshot(&mut after).unwrap();
        assert_eq!(before, after, "a failed restore changes nothing");

        let mut small = vec![0.0f32; len - 12];
        let mut storage = MemoryStorage::new(&mut small);
        assert!(matches!(storage.restore(m), Err(Error::InvalidConfig(_))));
        let logs = Logs::new();
        let info = CheckpointInfo {
            epoch: 0,
            batch: None,
            logs: &logs,
        };
        assert!(matches!(
            storage.save(m, &info),
            Err(Error::ShapeMismatch { .. })
        ));
        assert_eq!(storage.saves(), 0);
    });
    // An inference model has nothing that trains.
    let b = blob(BN, DTypeChoice::F32);
    let needed = Sequential::<f32>::inference_bytes(b.as_slice(), 1).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), 1).unwrap();
    assert_eq!(m.snapshot_len(), 0);
    assert!(m.layer_state().is_empty());
    assert!(m.write_snapshot(&mut []).is_ok());
    assert!(matches!(m.restore_snapshot(&[]), Err(Error::NotTraining)));
}

#[test]
fn fixed_point_checkpoint_is_the_snapshot() {
    let b = blob(BN, DTypeChoice::Fixed);
    let cfg = bn_config(0.1);
    let needed = Sequential::<Q16_16>::training_bytes(b.as_slice(), &cfg).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<Q16_16>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let (x, y) = bn_data(8, 3);
    let (xq, yq): (Vec<Q16_16>, Vec<Q16_16>) = (
        x.iter().map(|&v| Q16_16::from_f32(v)).collect(),
        y.iter().map(|&v| Q16_16::from_f32(v)).collect(),
    );
    m.train_on_batch(&xq, &yq).unwrap();
    let mut buf = vec![Q16_16::ZERO; m.snapshot_len()];
    let mut cb = ModelCheckpoint::new(MemoryStorage::new(&mut buf)).monitor("loss");
    cb.on_train_begin(&mut m).unwrap();
    let mut logs = Logs::new();
    logs.loss = 1.0;
    cb.on_epoch_end(&mut m, 0, &mut logs).unwrap();
    let mut want = vec![Q16_16::ZERO; m.snapshot_len()];
    m.write_snapshot(&mut want).unwrap();
    assert_eq!(cb.storage().snapshot().unwrap(), want.as_slice());
    assert_eq!(&want[want.len() - 12..], m.layer_state());
}

// ---------------------------------------------------------------------------------------
// `ember train --checkpoint` (library level).
// ---------------------------------------------------------------------------------------

#[test]
fn ember_train_writes_checkpoints() {
    let dir = std::env::temp_dir().join(format!("ember-train-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let b = blob(BN, DTypeChoice::F32);
    let (x, y) = bn_data(32, 7);
    let (xv, yv) = bn_data(16, 99);
    let data = |x: Vec<f32>, y: Vec<f32>, n: usize| TrainData {
        x: Tensor {
            shape: vec![n, 4],
            data: x,
        },
        y: Tensor {
            shape: vec![n, 3],
            data: y,
        },
        x_path: "x.npy".into(),
        y_path: "y.npy".into(),
    };
    let options = |checkpoint| TrainOptions {
        epochs: 12,
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.5,
            momentum: 0.9,
            ..Sgd::DEFAULT
        }),
        learning_rate: None,
        loss: Loss::categorical_crossentropy(),
        metrics: vec![],
        trainable: Trainable::All,
        shuffle: None,
        validation_split: None,
        early_stopping: None,
        checkpoint,
        verbose: false,
    };
    let best_path = dir.join("best.blob");
    let out = train::train(
        b.as_slice(),
        &data(x.clone(), y.clone(), 32),
        Some(&data(xv.clone(), yv.clone(), 16)),
        &options(Some(CheckpointOptions {
            filepath: format!("{}", best_path.display()),
            save_best_only: true,
            monitor: None,
        })),
    )
    .unwrap();
    let val: Vec<f32> = (0..out.history.len())
        .map(|e| out.history.get(e, "val_loss").unwrap())
        .collect();
    let best = argmin(&val);
    // The best blob is the model after `best + 1` epochs: train that long, compare.
    let again = train::train(
        b.as_slice(),
        &data(x, y, 32),
        Some(&data(xv, yv, 16)),
        &TrainOptions {
            epochs: best + 1,
            ..options(None)
        },
    )
    .unwrap();
    let saved = ember_cli::blob_file::read(&best_path).unwrap();
    assert_eq!(saved.as_slice(), again.blob.as_slice());
    // A bad pattern is refused before training.
    let r = train::train(
        b.as_slice(),
        &data(vec![0.0; 32], vec![0.0; 24], 8),
        None,
        &options(Some(CheckpointOptions {
            filepath: "x-{epoch".into(),
            save_best_only: false,
            monitor: None,
        })),
    );
    assert!(matches!(r, Err(ember_cli::Error::Config(_))));
    let _ = std::fs::remove_dir_all(&dir);
}
