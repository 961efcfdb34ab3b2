//! Helpers shared by the `ember` binary's black-box tests (`cli.rs`, `cli_errors.rs`,
//! `train_cli.rs`, `checkpoint_cli.rs`, `bias_only_cli.rs`).
//!
//! Each test binary uses a subset of them.
#![allow(dead_code, unused_macros, unused_imports)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use npyz::WriterBuilder;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_ember");

/// Parameters of `digits_mlp`: 64·32 + 32 + 32·10 + 10.
pub const DIGITS_PARAMS: u64 = 2410;

pub fn fixture(model: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(model)
        .join(file)
}

/// A scratch directory for one test, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ember-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary with `args`.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run ember")
}

/// `ember!(a, b, ...)` runs the binary; each argument is anything `AsRef<OsStr>`
/// (`&str`, `String`, `PathBuf`, ...).
macro_rules! ember {
    ($($arg:expr),* $(,)?) => {
        $crate::cli_support::run(&[$(::std::ffi::OsStr::new(&$arg)),*])
    };
}

pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {}",
        describe(out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{}", describe(out));
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Asserts a clean failure (status 1, `error:` on stderr, no panic) and returns stderr.
pub fn fails(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", describe(out));
    assert!(stderr.starts_with("error:"), "{}", describe(out));
    assert!(!stderr.contains("panicked"), "{}", describe(out));
    assert!(!stderr.contains("stack backtrace"), "{}", describe(out));
    stderr
}

/// Converts `model` (a fixture name) to an f32 blob in `dir` and returns its path.
pub fn convert_fixture(dir: &Scratch, model: &str) -> PathBuf {
    let blob = dir.path(&format!("{model}.emb"));
    ok(&ember!(
        "convert",
        fixture(model, "model.keras"),
        "-o",
        blob,
    ));
    blob
}

/// Converts the `digits_mlp` fixture into `dir` (`fixed`: Q16.16) and returns the blob.
pub fn convert_digits(dir: &Scratch, fixed: bool) -> PathBuf {
    let out = dir.path(if fixed { "digits_q.emb" } else { "digits.emb" });
    let keras = fixture("digits_mlp", "model.keras");
    let mut args = vec![
        OsStr::new("convert"),
        keras.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    if fixed {
        args.extend([OsStr::new("--dtype"), OsStr::new("fixed")]);
    }
    ok(&run(&args));
    out
}

/// One-hot targets built from the `digits_mlp` fixture's integer labels: shape (297, 10).
pub fn one_hot_digits(dir: &Scratch) -> PathBuf {
    let labels = read_npy(&fixture("digits_mlp", "labels.npy")).expect("labels");
    let n = labels.shape[0];
    let mut data = vec![0.0f32; n * 10];
    for (i, &l) in labels.data.iter().enumerate() {
        data[i * 10 + l as usize] = 1.0;
    }
    let p = dir.path("onehot.npy");
    write_npy(
        &p,
        &Tensor {
            shape: vec![n, 10],
            data,
        },
    )
    .expect("write one-hot");
    p
}

pub fn inspect_json(model: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        OsStr::new("inspect"),
        model.as_os_str(),
        OsStr::new("--json"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let stdout = ok(&run(&args));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("--json output parses: {e}\n{stdout}"))
}

pub fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is an unsigned integer in {v}"))
}

pub fn breakdown(v: &Value) -> Vec<u64> {
    v["training_breakdown"]
        .as_array()
        .expect("training_breakdown is an array")
        .iter()
        .map(|x| x.as_u64().expect("breakdown entries are integers"))
        .collect()
}

/// Runs `ember predict` and reads the output back.
pub fn predict(dir: &Scratch, blob: &Path, input: &Path, batch: usize) -> Tensor {
    let out_path = dir.path(&format!("y_batch{batch}.npy"));
    ok(&ember!(
        "predict",
        blob,
        "--input",
        input,
        "--output",
        out_path,
        "--batch",
        batch.to_string(),
    ));
    read_npy(&out_path).expect("predict output is a readable .npy")
}

pub fn predict_fails(blob: &Path, input: &Path, output: &Path) -> String {
    fails(&ember!(
        "predict", blob, "--input", input, "--output", output,
    ))
}

/// `|got - want| <= rel·|want| + abs` for every element, shapes equal.
pub fn assert_close(got: &Tensor, want: &Tensor, rel: f32, abs: f32) {
    assert_eq!(got.shape, want.shape, "shapes differ");
    let mut worst = (0usize, 0f32);
    for (i, (&g, &w)) in got.data.iter().zip(&want.data).enumerate() {
        assert!(g.is_finite(), "element {i} is {g}");
        let excess = (g - w).abs() - (rel * w.abs() + abs);
        if excess > worst.1 {
            worst = (i, excess);
        }
    }
    let (i, excess) = worst;
    assert!(
        excess <= 0.0,
        "element {i}: got {}, want {} (rel {rel}, abs {abs})",
        got.data[i],
        want.data[i]
    );
}

pub fn argmax_rows(t: &Tensor) -> Vec<usize> {
    let cols = *t.shape.last().expect("rank >= 1");
    t.data
        .chunks(cols)
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, _)| k)
                .expect("non-empty row")
        })
        .collect()
}
