//! `ember train`: black-box runs of the binary on the `digits_mlp` fixture (exit status,
//! trained blob, history CSV, PNG, Keras parity of the logged numbers) and library-level
//! checks of [`ember_cli::train::trained_blob`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use ember_cli::train::trained_blob;
use ember_nn::blob::Blob;
use ember_nn::model::{fit, FitBuffers, FitOptions, SliceDataset};
use ember_nn::optimizer::Sgd;
use ember_nn::{DType, Loss, Optimizer, Scalar, Sequential, TrainConfig, Trainable, Q16_16};

#[macro_use]
mod cli_support;

use cli_support::{
    convert_digits, describe, fails, one_hot_digits as one_hot, run as ember, Scratch,
};

/// A file of the `digits_mlp` fixture.
fn fixture(file: &str) -> PathBuf {
    cli_support::fixture("digits_mlp", file)
}

/// Asserts success without a panic; returns stderr (where `train` reports).
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "expected success: {}", describe(out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{}", describe(out));
    stderr
}

/// The CSV as (header, rows of numbers; an empty cell is NaN).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).expect("history written");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (header, rows)
}

fn col(header: &[String], key: &str) -> usize {
    header
        .iter()
        .position(|h| h == key)
        .unwrap_or_else(|| panic!("no column {key} in {header:?}"))
}

#[test]
fn trains_two_epochs_and_writes_blob_history_and_plot() {
    let dir = Scratch::new("two_epochs");
    let blob = convert_digits(&dir, false);
    let y = one_hot(&dir);
    let (trained, csv, png) = (
        dir.path("trained.emb"),
        dir.path("h.csv"),
        dir.path("c.png"),
    );
    let x = fixture("x.npy");
    let stderr = ok(&ember(&[
        OsStr::new("train"),
        blob.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("2"),
        OsStr::new("--batch-size"),
        OsStr::new("16"),
        OsStr::new("--optimizer"),
        OsStr::new("sgd-momentum"),
        OsStr::new("--learning-rate"),
        OsStr::new("0.05"),
        OsStr::new("--loss"),
        OsStr::new("categorical_crossentropy"),
        OsStr::new("--metrics"),
        OsStr::new("accuracy,mae"),
        OsStr::new("--shuffle"),
        OsStr::new("7"),
        OsStr::new("-o"),
        trained.as_os_str(),
        OsStr::new("--history"),
        csv.as_os_str(),
        OsStr::new("--plot"),
        png.as_os_str(),
    ]));
    assert!(stderr.contains("Epoch 1/2 - "), "{stderr}");
    assert!(stderr.contains("Epoch 2/2 - "), "{stderr}");
    assert!(stderr.contains(" - loss: "), "{stderr}");
    assert!(stderr.contains(" - accuracy: "), "{stderr}");
    assert!(stderr.contains(" - mae: "), "{stderr}");

    let before = std::fs::read(&blob).unwrap();
    let after = std::fs::read(&trained).expect("trained blob written");
    assert!(after.starts_with(b"EMBR"));
    assert_eq!(after.len(), before.len(), "same graph, same sizes");
    assert_ne!(after, before, "training changed the weights");

    let (header, rows) = read_csv(&csv);
    assert_eq!(header, ["epoch", "accuracy", "loss", "mae"]);
    assert_eq!(rows.len(), 2);
    let loss = col(&header, "loss");
    assert_eq!(
        (rows[0][0], rows[1][0]),
        (0.0, 1.0),
        "epochs from 0, as CSVLogger"
    );
    assert!(rows.iter().all(|r| r[loss].is_finite() && r[loss] > 0.0));
    assert!(rows[1][loss] < rows[0][loss], "loss decreases: {rows:?}");
    let acc = col(&header, "accuracy");
    assert!(
        rows.iter().all(|r| (0.5..=1.0).contains(&r[acc])),
        "{rows:?}"
    );

    let png = std::fs::read(&png).expect("plot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
    assert!(png.len() > 1000);

    // The trained blob runs, and predicts differently from the original.
    let (p0, p1) = (dir.path("p0.npy"), dir.path("p1.npy"));
    for (b, p) in [(&blob, &p0), (&trained, &p1)] {
        ok(&ember(&[
            OsStr::new("predict"),
            b.as_os_str(),
            OsStr::new("--input"),
            x.as_os_str(),
            OsStr::new("--output"),
            p.as_os_str(),
        ]));
    }
    let (y0, y1) = (read_npy(&p0).unwrap(), read_npy(&p1).unwrap());
    assert_eq!(y1.shape, [297, 10]);
    assert!(y1.data.iter().all(|v| v.is_finite()));
    assert_ne!(y0.data, y1.data);
    // Softmax rows still sum to 1.
    for row in y1.data.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

/// Keras 3.15 (JAX) on the same data, printed by:
/// ```python
/// m = keras.models.load_model("tests/fixtures/digits_mlp/model.keras")
/// y = np.eye(10, dtype="float32")[np.load(".../labels.npy")]
/// m.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy",
///           metrics=["accuracy"])
/// h = m.fit(x, y, batch_size=8, epochs=3, validation_split=0.25, shuffle=False)
/// ```
const KERAS_HISTORY: [(&str, [f64; 3]); 4] = [
    (
        "accuracy",
        [0.9054054021835327, 0.9189189076423645, 0.9324324131011963],
    ),
    (
        "loss",
        [0.4166974723339081, 0.3102186322212219, 0.2769848108291626],
    ),
    (
        "val_accuracy",
        [0.9333333373069763, 0.9333333373069763, 0.9200000166893005],
    ),
    (
        "val_loss",
        [0.27335792779922485, 0.2220991998910904, 0.21774396300315857],
    ),
];

/// Runs the Keras-parity configuration with `y` (one-hot or labels) and `loss`.
fn keras_parity_run(dir: &Scratch, blob: &Path, y: &Path, loss: &str, tag: &str) -> PathBuf {
    let csv = dir.path(&format!("{tag}.csv"));
    let out = dir.path(&format!("{tag}.emb"));
    let x = fixture("x.npy");
    ok(&ember(&[
        OsStr::new("train"),
        blob.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("3"),
        OsStr::new("--batch-size"),
        OsStr::new("8"),
        OsStr::new("--optimizer"),
        OsStr::new("adam"),
        OsStr::new("--loss"),
        OsStr::new(loss),
        OsStr::new("--metrics"),
        OsStr::new("accuracy"),
        OsStr::new("--validation-split"),
        OsStr::new("0.25"),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--history"),
        csv.as_os_str(),
    ]));
    csv
}

#[test]
fn history_matches_keras_fit_with_validation_split() {
    let dir = Scratch::new("keras_parity");
    let blob = convert_digits(&dir, false);
    let y = one_hot(&dir);
    let (header, rows) = read_csv(&keras_parity_run(
        &dir,
        &blob,
        &y,
        "categorical_crossentropy",
        "cce",
    ));
    // Keras's CSVLogger columns: "epoch" + sorted(logs.keys()).
    assert_eq!(
        header,
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    );
    assert_eq!(rows.len(), 3);
    for (key, want) in KERAS_HISTORY {
        let c = col(&header, key);
        for (e, w) in want.iter().enumerate() {
            let got = rows[e][c];
            assert!(
                (got - w).abs() <= 1e-5 * w.abs(),
                "{key}[{e}]: ember {got}, Keras {w}"
            );
        }
    }
    // The same with integer labels and the sparse loss: "accuracy" resolves to sparse
    // categorical accuracy (Keras's compile_utils), numbers agree.
    let (h2, rows2) = read_csv(&keras_parity_run(
        &dir,
        &blob,
        &fixture("labels.npy"),
        "sparse_categorical_crossentropy",
        "scce",
    ));
    assert_eq!(h2, header);
    for (a, b) in rows.iter().zip(&rows2) {
        for (u, v) in a.iter().zip(b) {
            assert!((u - v).abs() <= 1e-6 * u.abs().max(1.0), "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn trains_fixed_point_blob() {
    let dir = Scratch::new("fixed");
    let blob = convert_digits(&dir, true);
    let y = one_hot(&dir);
    let (trained, csv) = (dir.path("tq.emb"), dir.path("hq.csv"));
    let x = fixture("x.npy");
    ok(&ember(&[
        OsStr::new("train"),
        blob.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("2"),
        OsStr::new("--batch-size"),
        OsStr::new("8"),
        OsStr::new("--optimizer"),
        OsStr::new("sgd"),
        OsStr::new("--loss"),
        OsStr::new("categorical_crossentropy"),
        OsStr::new("-o"),
        trained.as_os_str(),
        OsStr::new("--history"),
        csv.as_os_str(),
    ]));
    let bytes = AlignedBytes::from_slice(&std::fs::read(&trained).unwrap());
    let (header, _) = Blob::parse(bytes.as_slice()).unwrap().graph().unwrap();
    assert_eq!(header.dtype, DType::Q16_16, "trains and writes Q16.16");
    assert_ne!(bytes.as_slice(), &std::fs::read(&blob).unwrap()[..]);
    let (h, rows) = read_csv(&csv);
    assert_eq!(h, ["epoch", "loss"]);
    assert_eq!(rows.len(), 2);
    assert!(rows[1][1] < rows[0][1] && rows[1][1] > 0.0, "{rows:?}");
}

#[test]
fn early_stopping_stops_when_loss_does_not_improve() {
    // Learning rate 0: every epoch has the same loss, which is no improvement, so
    // EarlyStopping(monitor="loss", patience=0) stops after epoch 2 (Keras: same).
    let dir = Scratch::new("early");
    let blob = convert_digits(&dir, false);
    let y = one_hot(&dir);
    let (out, csv) = (dir.path("e.emb"), dir.path("e.csv"));
    let x = fixture("x.npy");
    let stderr = ok(&ember(&[
        OsStr::new("train"),
        blob.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("10"),
        OsStr::new("--optimizer"),
        OsStr::new("sgd"),
        OsStr::new("--learning-rate"),
        OsStr::new("0"),
        OsStr::new("--loss"),
        OsStr::new("categorical_crossentropy"),
        OsStr::new("--early-stopping"),
        OsStr::new("0"),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--history"),
        csv.as_os_str(),
    ]));
    assert!(stderr.contains("Epoch 2: early stopping"), "{stderr}");
    let (_, rows) = read_csv(&csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][1], rows[1][1]);
    // Nothing trained: the weights are the blob's, bit for bit.
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&blob).unwrap());
}

#[test]
fn errors_exit_1_without_output() {
    let dir = Scratch::new("errors");
    let blob = convert_digits(&dir, false);
    let onehot = one_hot(&dir);
    let out = dir.path("never.emb");
    let x = fixture("x.npy");
    let train = |xs: &Path, ys: &Path, loss: &str, extra: &[&str]| {
        let mut a: Vec<&OsStr> = vec![
            OsStr::new("train"),
            blob.as_os_str(),
            OsStr::new("--x"),
            xs.as_os_str(),
            OsStr::new("--y"),
            ys.as_os_str(),
            OsStr::new("--epochs"),
            OsStr::new("1"),
            OsStr::new("--loss"),
            OsStr::new(loss),
            OsStr::new("-o"),
            out.as_os_str(),
        ];
        a.extend(extra.iter().map(OsStr::new));
        let err = fails(&ember(&a));
        assert!(!out.exists(), "a failed train writes nothing");
        err
    };
    // x does not fit the model input (64).
    let err = train(&fixture("y.npy"), &onehot, "categorical_crossentropy", &[]);
    assert!(err.contains("x has shape [297, 10]"), "{err}");
    assert!(err.contains("(N, 64)"), "{err}");
    // Labels with the one-hot loss.
    let err = train(&x, &fixture("labels.npy"), "categorical_crossentropy", &[]);
    assert!(err.contains("y has shape [297]"), "{err}");
    // y with another sample count.
    let short = dir.path("short.npy");
    write_npy(
        &short,
        &Tensor {
            shape: vec![3, 10],
            data: vec![0.1; 30],
        },
    )
    .unwrap();
    let err = train(&x, &short, "categorical_crossentropy", &[]);
    assert!(err.contains("y has shape [3, 10]"), "{err}");
    // Unknown loss and metric, bad split, bad batch size, missing file.
    let err = train(&x, &onehot, "crossentropy_of_doom", &[]);
    assert!(err.contains("unknown loss `crossentropy_of_doom`"), "{err}");
    let err = train(&x, &onehot, "mse", &["--metrics", "f1_score"]);
    assert!(err.contains("unknown metric `f1_score`"), "{err}");
    let err = train(&x, &onehot, "mse", &["--validation-split", "1.5"]);
    assert!(err.contains("validation-split"), "{err}");
    let err = train(&x, &onehot, "mse", &["--validation-split", "1e-20"]);
    assert!(err.contains("cannot be split"), "{err}");
    train(&x, &onehot, "mse", &["--batch-size", "0"]);
    train(&x, &dir.path("missing.npy"), "mse", &[]);
    let err = train(
        &x,
        &onehot,
        "mse",
        &["--val-x", "x.npy", "--val-y", "nope.npy"],
    );
    assert!(err.contains("x.npy") || err.contains("nope.npy"), "{err}");
}

#[test]
fn help_has_an_example() {
    let out = ember(&["train", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(help.contains("Example: ember train "), "{help}");
    for opt in [
        "--validation-split",
        "--early-stopping",
        "--history",
        "--plot",
    ] {
        assert!(help.contains(opt), "{opt}: {help}");
    }
}

// ---------------------------------------------------------------------------------------
// library: trained_blob
// ---------------------------------------------------------------------------------------

fn digits_blob<T: Scalar>() -> AlignedBytes {
    let dtype = if T::DTYPE == DType::Q16_16 {
        DTypeChoice::Fixed
    } else {
        DTypeChoice::F32
    };
    convert(&read_keras_file(&fixture("model.keras")).unwrap(), dtype).unwrap()
}

/// Fits the digits model for 3 epochs (last layer only), writes `trained_blob`, and
/// checks it parameter for parameter and prediction for prediction.
fn trained_blob_round_trip<T: Scalar>() {
    let blob = digits_blob::<T>();
    let x = read_npy(&fixture("x.npy")).unwrap();
    let labels = read_npy(&fixture("labels.npy")).unwrap();
    let xs: Vec<T> = x.data.iter().map(|&v| T::from_f32(v)).collect();
    let ys: Vec<T> = labels.data.iter().map(|&v| T::from_f32(v)).collect();
    let config = TrainConfig {
        batch_size: 16,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.05,
            momentum: 0.9,
            ..Sgd::DEFAULT
        }),
        loss: Loss::sparse_categorical_crossentropy(),
        trainable: Trainable::LastK(1),
    };
    let mut arena =
        AlignedBytes::zeroed(Sequential::<T>::training_bytes(blob.as_slice(), &config).unwrap());
    let mut model =
        Sequential::<T>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let data = SliceDataset::new(&xs, &ys, 64, 1).unwrap();
    let sizes = FitBuffers::sizes(&model, data_len(&xs)).unwrap();
    let (mut xb, mut yb) = (vec![T::ZERO; sizes.x], vec![T::ZERO; sizes.y]);
    let buffers = FitBuffers {
        x: &mut xb,
        y: &mut yb,
        order: &mut [],
        sample_weight: &mut [],
    };
    let mut metrics: [ember_nn::metrics::AnyMetric; 0] = [];
    fit(
        &mut model,
        &data,
        None::<&SliceDataset<'_, T>>,
        &FitOptions::epochs(3),
        &mut metrics,
        &mut (),
        buffers,
    )
    .unwrap();

    let trained = trained_blob(&model).unwrap();
    let mut arena2 =
        AlignedBytes::zeroed(Sequential::<T>::inference_bytes(trained.as_slice(), 297).unwrap());
    let mut reloaded =
        Sequential::<T>::new(trained.as_slice(), arena2.as_mut_slice(), 297).unwrap();
    let original = ember_nn::model::Graph::<T>::parse(blob.as_slice()).unwrap();
    let layers = reloaded.graph().layers().to_vec();
    assert_eq!(layers.len(), 2);
    assert_eq!(reloaded.graph().name(), original.name());
    for (i, l) in layers.iter().enumerate() {
        let o = &original.layers()[i];
        assert_eq!(
            (l.name, l.config, l.trainable),
            (o.name, o.config, o.trainable)
        );
        assert_eq!(l.params.len(), 2);
        for (j, p) in l.params.iter().enumerate() {
            let live = model.param(i, j).unwrap();
            assert_eq!(*p, live, "layer {i} param {j}: the model's current values");
            if i == 0 {
                assert_eq!(*p, o.params[j], "the frozen layer keeps the blob's weights");
            } else {
                assert_ne!(*p, o.params[j], "the trained layer changed");
            }
        }
    }
    // The reloaded blob predicts exactly as the trained model.
    let mut y_model = vec![T::ZERO; 297 * 10];
    let mut y_reloaded = vec![T::ZERO; 297 * 10];
    model.predict(&xs, &mut y_model).unwrap();
    reloaded.predict(&xs, &mut y_reloaded).unwrap();
    assert_eq!(y_model, y_reloaded);
}

fn data_len<T>(xs: &[T]) -> usize {
    xs.len() / 64
}

#[test]
fn trained_blob_is_the_fitted_model_f32() {
    trained_blob_round_trip::<f32>();
}

#[test]
fn trained_blob_is_the_fitted_model_q16_16() {
    trained_blob_round_trip::<Q16_16>();
}

#[test]
fn trained_blob_of_an_untrained_model_is_the_blob() {
    for blob in [digits_blob::<f32>(), digits_blob::<Q16_16>()] {
        let (header, _) = Blob::parse(blob.as_slice()).unwrap().graph().unwrap();
        let again = if header.dtype == DType::Q16_16 {
            let mut arena = AlignedBytes::zeroed(
                Sequential::<Q16_16>::inference_bytes(blob.as_slice(), 1).unwrap(),
            );
            let m = Sequential::<Q16_16>::new(blob.as_slice(), arena.as_mut_slice(), 1).unwrap();
            trained_blob(&m).unwrap()
        } else {
            let mut arena = AlignedBytes::zeroed(
                Sequential::<f32>::inference_bytes(blob.as_slice(), 1).unwrap(),
            );
            let m = Sequential::<f32>::new(blob.as_slice(), arena.as_mut_slice(), 1).unwrap();
            trained_blob(&m).unwrap()
        };
        assert_eq!(again.as_slice(), blob.as_slice(), "{:?}", header.dtype);
    }
}
