//! `ember convert` records Keras's compile settings in the blob (or refuses an option
//! Ember lacks, unless `--no-training-settings`); `--optimizer` / `--loss` override them;
//! `ember train` uses the record when no `--optimizer` / `--loss` is given. Fixtures:
//! `tests/fixtures/training_record` (see its README).

use std::path::{Path, PathBuf};

use ember_nn::blob::{Blob, TrainingDesc};
use ember_nn::model::Graph;
use ember_nn::optimizer::{Adam, Sgd};
use ember_nn::{Loss, Optimizer};

#[macro_use]
mod cli_support;

use cli_support::{fails, ok, Scratch};

fn fixture(file: &str) -> PathBuf {
    cli_support::fixture("training_record", file)
}

fn record(path: &Path) -> Option<TrainingDesc> {
    let bytes = ember_cli::blob_file::read(path).unwrap();
    Blob::parse(bytes.as_slice()).unwrap().training().unwrap()
}

const NESTEROV: Optimizer = Optimizer::sgd(Sgd {
    learning_rate: 0.1,
    momentum: 0.9,
    nesterov: true,
});

#[test]
fn convert_records_overrides_and_refuses() {
    let dir = Scratch::new("trainrec-convert");
    let out = dir.path("a.emb");
    ok(&ember!("convert", fixture("sgd_nesterov.keras"), "-o", out));
    assert_eq!(
        record(&out),
        Some(TrainingDesc::new(NESTEROV, Loss::mean_squared_error()))
    );

    // --optimizer replaces the file's optimizer, the loss stays.
    ok(&ember!(
        "convert",
        fixture("sgd_nesterov.keras"),
        "-o",
        out,
        "--optimizer",
        "adam-amsgrad"
    ));
    let amsgrad = Optimizer::adam(Adam {
        amsgrad: true,
        ..Adam::DEFAULT
    });
    assert_eq!(
        record(&out),
        Some(TrainingDesc::new(amsgrad, Loss::mean_squared_error()))
    );

    // A model saved without compile: a record only with both flags.
    ok(&ember!("convert", fixture("uncompiled.keras"), "-o", out));
    assert_eq!(record(&out), None);
    ok(&ember!(
        "convert",
        fixture("uncompiled.keras"),
        "-o",
        out,
        "--optimizer",
        "sgd",
        "--loss",
        "mae"
    ));
    assert_eq!(
        record(&out),
        Some(TrainingDesc::new(
            Optimizer::sgd(Sgd::DEFAULT),
            Loss::mean_absolute_error()
        ))
    );

    // An option Ember lacks is refused by name, without an output file.
    let refused = dir.path("refused.emb");
    let err = fails(&ember!(
        "convert",
        fixture("unsupported_ema.keras"),
        "-o",
        refused
    ));
    assert!(err.contains("use_ema"), "{err}");
    assert!(err.contains("--no-training-settings"), "{err}");
    assert!(!refused.exists());
    ok(&ember!(
        "convert",
        fixture("unsupported_ema.keras"),
        "-o",
        refused,
        "--no-training-settings"
    ));
    assert_eq!(record(&refused), None);
    let err = fails(&ember!(
        "convert",
        fixture("unsupported_lion.keras"),
        "-o",
        out,
        "--loss",
        "mse"
    ));
    assert!(err.contains("Lion"), "{err}");
}

/// The trained blob's weights, in order.
fn weights(path: &Path) -> Vec<Vec<f32>> {
    let bytes = ember_cli::blob_file::read(path).unwrap();
    let g = Graph::<f32>::parse(bytes.as_slice()).unwrap();
    g.layers()
        .iter()
        .flat_map(|l| l.params.iter().map(|p| p.to_vec()))
        .collect()
}

#[test]
fn train_uses_the_record_unless_flags_say_otherwise() {
    let dir = Scratch::new("trainrec-train");
    let blob = dir.path("m.emb");
    ok(&ember!(
        "convert",
        fixture("sgd_nesterov.keras"),
        "-o",
        blob
    ));
    let train = |out: &Path, extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "train".into(),
            blob.clone().into(),
            "--x".into(),
            fixture("sgd_nesterov_x.npy").into(),
            "--y".into(),
            fixture("sgd_nesterov_y.npy").into(),
            "--epochs".into(),
            "1".into(),
            "--batch-size".into(),
            "8".into(),
            "-o".into(),
            out.into(),
        ];
        args.extend(extra.iter().map(|a| a.into()));
        cli_support::run(&args)
    };
    // No --optimizer / --loss: the record's SGD(0.1, momentum 0.9, nesterov) and mse.
    // One epoch of 24 samples in batches of 8 without shuffling is the generator's three
    // train_on_batch calls.
    let out = dir.path("trained.emb");
    ok(&train(&out, &[]));
    let got = weights(&out);
    for (i, w) in got.iter().enumerate() {
        let want = ember_cli::tensor_file::read_npy(&fixture(&format!("sgd_nesterov_w{i}.npy")))
            .unwrap()
            .data;
        assert_eq!(w.len(), want.len());
        for (a, b) in w.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1e-1),
                "w{i}: {a} vs {b}"
            );
        }
    }
    // The trained blob keeps the record.
    assert_eq!(
        record(&out),
        Some(TrainingDesc::new(NESTEROV, Loss::mean_squared_error()))
    );
    // --optimizer wins over the record: other weights.
    let other = dir.path("adam.emb");
    ok(&train(&other, &["--optimizer", "adam"]));
    assert_ne!(weights(&other), got);
    // A blob without a record needs --loss.
    let bare = dir.path("bare.emb");
    ok(&ember!(
        "convert",
        fixture("sgd_nesterov.keras"),
        "-o",
        bare,
        "--no-training-settings"
    ));
    let mut args: Vec<std::ffi::OsString> = vec!["train".into(), bare.clone().into()];
    for a in ["--x", "--y"] {
        args.push(a.into());
        let f = if a == "--x" { "x" } else { "y" };
        args.push(fixture(&format!("sgd_nesterov_{f}.npy")).into());
    }
    for a in ["--epochs", "1", "-o"] {
        args.push(a.into());
    }
    args.push(dir.path("never.emb").into());
    let err = fails(&cli_support::run(&args));
    assert!(err.contains("--loss"), "{err}");
}

#[test]
fn inspect_uses_the_record_and_tolerates_unsupported_settings() {
    // The training figure uses the record's optimizer and loss unless --optimizer says
    // otherwise.
    let config = |args: &[&str]| -> String {
        let mut all = vec![
            "inspect".into(),
            fixture("sgd_nesterov.keras").into_os_string(),
        ];
        all.extend(args.iter().map(|a| a.into()));
        all.push("--json".into());
        let out: serde_json::Value = serde_json::from_str(&ok(&cli_support::run(&all))).unwrap();
        out["training_config"].as_str().unwrap().to_string()
    };
    let recorded = config(&[]);
    assert!(
        recorded.contains("SGD(learning_rate=0.1, momentum=0.9, nesterov=True)"),
        "{recorded}"
    );
    assert!(recorded.contains("MeanSquaredError"), "{recorded}");
    let adam = config(&["--optimizer", "adam"]);
    assert!(adam.contains("Adam("), "{adam}");
    let out = ember!("inspect", fixture("unsupported_lion.keras"));
    let text = ok(&out);
    assert!(!text.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported"));
}

/// `ember convert --train-batch N --trainable CHOICE` records the batch size and the
/// trainable choice with the compile settings; `ember inspect` and `ember train` use
/// them when their own flags are absent. Without training settings the flags are refused.
#[test]
fn convert_records_batch_size_and_trainable_choice() {
    use ember_nn::Trainable;
    let dir = Scratch::new("trainrec-extras");
    let out = dir.path("b.emb");
    ok(&ember!(
        "convert",
        fixture("sgd_nesterov.keras"),
        "-o",
        out,
        "--train-batch",
        "8",
        "--trainable",
        "bias-only"
    ));
    let r = record(&out).unwrap();
    assert_eq!(
        (r.batch_size, r.trainable),
        (Some(8), Some(Trainable::BiasOnly))
    );
    assert_eq!(r.optimizer, NESTEROV);
    let inspect = ok(&ember!("inspect", out));
    assert!(
        inspect.contains("batch 8") && inspect.contains("BiasOnly"),
        "{inspect}"
    );
    let e = fails(&ember!(
        "convert",
        fixture("sgd_nesterov.keras"),
        "-o",
        dir.path("c.emb"),
        "--no-training-settings",
        "--trainable",
        "all"
    ));
    assert!(e.contains("--train-batch/--trainable"), "{e}");
}
