//! `ember train --checkpoint PATH [--save-best-only] [--monitor KEY]`: black-box runs of
//! the binary on the `digits_mlp` fixture (Keras's `ModelCheckpoint` writing blobs).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

#[macro_use]
mod cli_support;

use cli_support::{convert_digits, one_hot_digits, run as ember, Scratch};

/// A file of the `digits_mlp` fixture.
fn fixture(file: &str) -> PathBuf {
    cli_support::fixture("digits_mlp", file)
}

/// The digits blob and one-hot targets in `dir`.
fn setup(dir: &Scratch) -> (PathBuf, PathBuf) {
    (convert_digits(dir, false), one_hot_digits(dir))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn train(blob: &Path, y: &Path, out: &Path, lr: &str, extra: &[&str]) -> Output {
    let x = fixture("x.npy");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("train"),
        blob.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("3"),
        OsStr::new("--optimizer"),
        OsStr::new("sgd"),
        OsStr::new("--learning-rate"),
        OsStr::new(lr),
        OsStr::new("--loss"),
        OsStr::new("categorical_crossentropy"),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    ember(&args)
}

#[test]
fn writes_a_blob_per_epoch_with_keras_filepath_fields() {
    let dir = Scratch::new("every");
    let (blob, y) = setup(&dir);
    let out = dir.path("trained.emb");
    let pattern = format!(
        "{}/ckpt/e{{epoch:02d}}-{{loss:.3f}}.emb",
        dir.dir().display()
    );
    let run = train(&blob, &y, &out, "0.05", &["--checkpoint", &pattern]);
    assert!(run.status.success(), "{}", stderr(&run));
    let mut files: Vec<String> = std::fs::read_dir(dir.path("ckpt"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for (e, f) in files.iter().enumerate() {
        assert!(
            f.starts_with(&format!("e{:02}-", e + 1)) && f.ends_with(".emb"),
            "{f}"
        );
    }
    // The last epoch's checkpoint is the trained model, bit for bit.
    let last = std::fs::read(dir.path("ckpt").join(&files[2])).unwrap();
    assert_eq!(last, std::fs::read(&out).unwrap());
    let first = std::fs::read(dir.path("ckpt").join(&files[0])).unwrap();
    assert_ne!(first, last);
}

#[test]
fn save_best_only_keeps_the_first_of_equal_losses() {
    // Learning rate 0: every epoch has the same loss, which is no improvement, so only
    // epoch 1 is saved (Keras: same), and it holds the blob's weights.
    let dir = Scratch::new("best");
    let (blob, y) = setup(&dir);
    let out = dir.path("trained.emb");
    let pattern = format!("{}/best-{{epoch}}.emb", dir.dir().display());
    let run = train(
        &blob,
        &y,
        &out,
        "0",
        &[
            "--checkpoint",
            &pattern,
            "--save-best-only",
            "--monitor",
            "loss",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(dir.path("best-1.emb").exists());
    assert!(!dir.path("best-2.emb").exists() && !dir.path("best-3.emb").exists());
    assert_eq!(
        std::fs::read(dir.path("best-1.emb")).unwrap(),
        std::fs::read(&blob).unwrap()
    );
    // Without validation data, Keras's val_loss is missing: it warns and saves each epoch.
    let pattern = format!("{}/val-{{epoch}}.emb", dir.dir().display());
    let run = train(
        &blob,
        &y,
        &out,
        "0",
        &[
            "--checkpoint",
            &pattern,
            "--save-best-only",
            "--monitor",
            "val_loss",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("can save best model only with val_loss available"));
    assert!(dir.path("val-3.emb").exists());
}

#[test]
fn bad_checkpoint_options_are_errors() {
    let dir = Scratch::new("bad");
    let (blob, y) = setup(&dir);
    let out = dir.path("trained.emb");
    let run = train(&blob, &y, &out, "0", &["--checkpoint", "x-{epoch"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).starts_with("error:") && stderr(&run).contains("unclosed"));
    // A field the logs lack fails at the first save, naming it.
    let pattern = format!("{}/{{val_accuracy}}.emb", dir.dir().display());
    let run = train(&blob, &y, &out, "0", &["--checkpoint", &pattern]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("val_accuracy"), "{}", stderr(&run));
    assert!(!out.exists());
    // --monitor needs --checkpoint.
    let run = train(&blob, &y, &out, "0", &["--monitor", "loss"]);
    assert!(!run.status.success());
    assert!(!stderr(&run).contains("panicked"));
}
