//! Black-box tests of the `ember` binary: `convert`, `inspect`, `predict` and their errors.
//!
//! Every test runs the built binary as a child process on the Keras golden fixtures in
//! `tests/fixtures/` and checks exit statuses, stdout/stderr and the files it writes.
//! Temporary files live in a per-test directory under `std::env::temp_dir()` (named after
//! the process id and the test) that is removed when the test ends.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use npyz::WriterBuilder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ember");

/// Parameters of `digits_mlp`: 64·32 + 32 + 32·10 + 10.
const DIGITS_PARAMS: u64 = 2410;

fn fixture(model: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(model)
        .join(file)
}

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ember-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
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
fn run(args: &[&OsStr]) -> Output {
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
        run(&[$(OsStr::new(&$arg)),*])
    };
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts success and returns stdout.
fn ok(out: &Output) -> String {
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
fn fails(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", describe(out));
    assert!(stderr.starts_with("error:"), "{}", describe(out));
    assert!(!stderr.contains("panicked"), "{}", describe(out));
    assert!(!stderr.contains("stack backtrace"), "{}", describe(out));
    stderr
}

/// Converts `model` (a fixture name) to an f32 blob in `dir` and returns its path.
fn convert_fixture(dir: &Scratch, model: &str) -> PathBuf {
    let blob = dir.path(&format!("{model}.emb"));
    ok(&ember!(
        "convert",
        fixture(model, "model.keras"),
        "-o",
        blob,
    ));
    blob
}

fn inspect_json(model: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        OsStr::new("inspect"),
        model.as_os_str(),
        OsStr::new("--json"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let stdout = ok(&run(&args));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("--json output parses: {e}\n{stdout}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is an unsigned integer in {v}"))
}

fn breakdown(v: &Value) -> Vec<u64> {
    v["training_breakdown"]
        .as_array()
        .expect("training_breakdown is an array")
        .iter()
        .map(|x| x.as_u64().expect("breakdown entries are integers"))
        .collect()
}

/// Runs `ember predict` and reads the output back.
fn predict(dir: &Scratch, blob: &Path, input: &Path, batch: usize) -> Tensor {
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

fn predict_fails(blob: &Path, input: &Path, output: &Path) -> String {
    fails(&ember!(
        "predict", blob, "--input", input, "--output", output,
    ))
}

/// `|got - want| <= rel·|want| + abs` for every element, shapes equal.
fn assert_close(got: &Tensor, want: &Tensor, rel: f32, abs: f32) {
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

fn argmax_rows(t: &Tensor) -> Vec<usize> {
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

// ---------------------------------------------------------------------------------------
// convert
// ---------------------------------------------------------------------------------------

#[test]
fn convert_digits_mlp_f32_and_fixed() {
    let dir = Scratch::new("convert");
    let keras = fixture("digits_mlp", "model.keras");

    let f32_blob = dir.path("digits_f32.emb");
    let stdout = ok(&ember!("convert", keras, "-o", f32_blob,));
    let bytes = std::fs::read(&f32_blob).expect("blob written");
    assert!(bytes.starts_with(b"EMBR"), "blob starts with the magic");
    assert!(stdout.contains("dense_0 (Dense)"), "{stdout}");
    assert!(stdout.contains("dense_1 (Dense)"), "{stdout}");
    assert!(stdout.contains("Total params: 2410"), "{stdout}");
    assert!(stdout.contains("(weights F32)"), "{stdout}");
    assert!(
        stdout.contains(&format!("({} bytes)", bytes.len())),
        "the `wrote` line gives the file size: {stdout}"
    );
    // 2410 f32 parameters plus a small header.
    assert!(bytes.len() >= 4 * DIGITS_PARAMS as usize, "{}", bytes.len());
    assert!(
        bytes.len() < 4 * DIGITS_PARAMS as usize + 1024,
        "{}",
        bytes.len()
    );

    let fixed_blob = dir.path("digits_fixed.emb");
    let stdout = ok(&ember!(
        "convert", keras, "-o", fixed_blob, "--dtype", "fixed",
    ));
    let fixed = std::fs::read(&fixed_blob).expect("fixed blob written");
    assert!(fixed.starts_with(b"EMBR"));
    assert_eq!(fixed.len(), bytes.len(), "Q16.16 and f32 are both 4 bytes");
    assert_ne!(fixed, bytes, "the weights are encoded differently");
    assert!(stdout.contains("Total params: 2410"), "{stdout}");
    assert!(stdout.contains("(weights Q16_16)"), "{stdout}");

    let v = inspect_json(&fixed_blob, &[]);
    assert_eq!(v["dtype"], "Q16_16");
    assert_eq!(u(&v, "total_params"), DIGITS_PARAMS);
    assert_eq!(u(&v, "blob_bytes"), fixed.len() as u64);
}

#[test]
fn convert_refusing_memory_options_writes_nothing() {
    let dir = Scratch::new("convert_refused");
    let blob = dir.path("never.emb");
    let err = fails(&ember!(
        "convert",
        fixture("digits_mlp", "model.keras"),
        "-o",
        blob,
        "--train-batch",
        "0",
    ));
    assert!(err.contains("batch"), "{err}");
    assert!(
        !blob.exists(),
        "a failed convert must not leave an output file"
    );
}

// ---------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------

#[test]
fn inspect_blob_and_keras_agree() {
    let dir = Scratch::new("inspect_same");
    let blob = convert_fixture(&dir, "digits_mlp");
    let keras = fixture("digits_mlp", "model.keras");

    let from_blob = ok(&ember!("inspect", blob));
    let from_keras = ok(&ember!("inspect", keras));
    assert_eq!(from_blob, from_keras);
    assert!(
        from_blob.starts_with("Model: \"digits_mlp\""),
        "{from_blob}"
    );
    assert!(from_blob.contains("Total params: 2410"), "{from_blob}");
    assert!(
        from_blob.contains("Arena, inference (batch 1): 128 bytes"),
        "{from_blob}"
    );

    // The same with non-default memory options.
    let opts = [
        "--batch",
        "4",
        "--optimizer",
        "sgd-momentum",
        "--trainable",
        "last-1",
    ];
    let mut a = vec![OsStr::new("inspect"), blob.as_os_str()];
    a.extend(opts.iter().map(OsStr::new));
    let mut b = vec![OsStr::new("inspect"), keras.as_os_str()];
    b.extend(opts.iter().map(OsStr::new));
    let (a, b) = (ok(&run(&a)), ok(&run(&b)));
    assert_eq!(a, b);
    assert!(a.contains("dense_0 (Dense) (frozen)"), "{a}");
    assert!(!a.contains("dense_1 (Dense) (frozen)"), "{a}");

    assert_eq!(
        inspect_json(&blob, &[]),
        inspect_json(&keras, &[]),
        "JSON from the blob and the .keras file"
    );
}

#[test]
fn inspect_json_values() {
    let dir = Scratch::new("inspect_json");
    let blob = convert_fixture(&dir, "digits_mlp");
    let file_len = std::fs::metadata(&blob).expect("blob").len();

    let v = inspect_json(&blob, &[]);
    assert_eq!(v["name"], "digits_mlp");
    assert_eq!(v["dtype"], "F32");
    assert_eq!(v["input_shape"], serde_json::json!([null, 64]));
    assert_eq!(u(&v, "total_params"), DIGITS_PARAMS);
    assert_eq!(u(&v, "raw_weight_bytes"), 4 * DIGITS_PARAMS);
    assert_eq!(u(&v, "macs"), 64 * 32 + 32 * 10);
    assert_eq!(u(&v, "blob_bytes"), file_len);
    assert_eq!(u(&v, "inference_batch"), 1);
    // Batch 1: the arena holds the 32-float hidden activation.
    assert_eq!(u(&v, "arena_inference_bytes"), 128);

    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["name"], "dense_0");
    assert_eq!(layers[0]["class"], "Dense");
    assert_eq!(layers[0]["output_shape"], serde_json::json!([null, 32]));
    assert_eq!(u(&layers[0], "params"), 64 * 32 + 32);
    assert_eq!(layers[1]["name"], "dense_1");
    assert_eq!(layers[1]["output_shape"], serde_json::json!([null, 10]));
    assert_eq!(u(&layers[1], "params"), 32 * 10 + 10);
    assert!(layers.iter().all(|l| l["trains"] == true));

    // The breakdown adds up, for every optimizer.
    let mut totals = Vec::new();
    for opt in ["sgd", "sgd-momentum", "adam", "adam-amsgrad"] {
        let w = inspect_json(&blob, &["--optimizer", opt]);
        let parts = breakdown(&w);
        assert_eq!(parts.len(), 5);
        assert_eq!(
            parts.iter().sum::<u64>(),
            u(&w, "arena_training_bytes"),
            "{opt}: breakdown {parts:?} sums to the total"
        );
        assert!(parts[0] >= 4 * DIGITS_PARAMS, "{opt}: params {parts:?}");
        totals.push((opt, u(&w, "arena_training_bytes"), parts));
    }
    let (sgd, adam) = (&totals[0], &totals[2]);
    assert_eq!(adam.1, u(&v, "arena_training_bytes"), "adam is the default");
    assert!(sgd.1 < adam.1, "sgd {} < adam {}", sgd.1, adam.1);
    assert_eq!(sgd.2[2], 0, "plain SGD keeps no optimizer state");
    // Only the optimizer state depends on the optimizer.
    for (opt, _, parts) in &totals {
        assert_eq!(
            [parts[0], parts[1], parts[3], parts[4]],
            [sgd.2[0], sgd.2[1], sgd.2[3], sgd.2[4]],
            "{opt}"
        );
    }
    // Slots: sgd 0 < momentum 1 < adam 2 < amsgrad 3, each slot one f32 per parameter
    // (plus at most 16 bytes of alignment padding per weight tensor).
    assert!(totals.windows(2).all(|w| w[0].1 < w[1].1), "{totals:?}");
    for (slots, (opt, _, parts)) in totals.iter().enumerate() {
        let raw = slots as u64 * 4 * DIGITS_PARAMS;
        assert!(
            (raw..=raw + 4 * 16).contains(&parts[2]),
            "{opt}: optimizer bytes {} for {slots} slots",
            parts[2]
        );
    }

    // A larger training batch only grows the batch-dependent parts.
    let b64 = inspect_json(&blob, &["--train-batch", "64"]);
    let p64 = breakdown(&b64);
    assert_eq!(p64.iter().sum::<u64>(), u(&b64, "arena_training_bytes"));
    assert_eq!(p64[..3], adam.2[..3]);
    assert!(u(&b64, "arena_training_bytes") > adam.1);

    // The inference arena scales with the batch.
    let b7 = inspect_json(&blob, &["--batch", "7"]);
    assert_eq!(u(&b7, "inference_batch"), 7);
    assert_eq!(u(&b7, "arena_inference_bytes"), 7 * 128);
}

// ---------------------------------------------------------------------------------------
// predict
// ---------------------------------------------------------------------------------------

#[test]
fn predict_digits_matches_keras() {
    let dir = Scratch::new("predict_digits");
    let blob = convert_fixture(&dir, "digits_mlp");
    let x = fixture("digits_mlp", "x.npy");
    let want = read_npy(&fixture("digits_mlp", "y.npy")).expect("y.npy");
    assert_eq!(want.shape, [297, 10]);

    // 297 = 42·7 + 3: the last pass is partial.
    for batch in [1, 7, 297, 1000] {
        let got = predict(&dir, &blob, &x, batch);
        assert_close(&got, &want, 1e-5, 1e-7);
    }

    // The .keras file is accepted directly too.
    let got = predict(&dir, &fixture("digits_mlp", "model.keras"), &x, 32);
    assert_close(&got, &want, 1e-5, 1e-7);
}

#[test]
fn predict_fixed_point_is_close() {
    let dir = Scratch::new("predict_fixed");
    let blob = dir.path("digits_fixed.emb");
    ok(&ember!(
        "convert",
        fixture("digits_mlp", "model.keras"),
        "-o",
        blob,
        "--dtype",
        "fixed",
    ));
    let want = read_npy(&fixture("digits_mlp", "y.npy")).expect("y.npy");
    let got = predict(&dir, &blob, &fixture("digits_mlp", "x.npy"), 16);
    // Q16.16 steps are 1.5e-5; a few accumulate through two layers and the softmax
    // (measured: 3.1e-5 at most, all 297 classes agree).
    assert_close(&got, &want, 0.0, 2e-4);
    let (g, w) = (argmax_rows(&got), argmax_rows(&want));
    let same = g.iter().zip(&w).filter(|(a, b)| a == b).count();
    assert!(same >= 296, "{same}/297 predicted classes agree with Keras");
}

#[test]
fn predict_rank3_input() {
    let dir = Scratch::new("predict_rank3");
    let blob = convert_fixture(&dir, "dense_rank3");
    let want = read_npy(&fixture("dense_rank3", "y.npy")).expect("y.npy");
    for batch in [1, 2, 5] {
        let got = predict(&dir, &blob, &fixture("dense_rank3", "x.npy"), batch);
        assert_eq!(got.shape, [5, 3, 2]);
        assert_close(&got, &want, 1e-5, 1e-6);
    }
}

#[test]
fn predict_other_fixtures_match_keras() {
    let dir = Scratch::new("predict_others");
    for model in ["dense_relu_softmax", "dense_sigmoid_linear"] {
        let blob = convert_fixture(&dir, model);
        let want = read_npy(&fixture(model, "y.npy")).expect("y.npy");
        let got = predict(&dir, &blob, &fixture(model, "x.npy"), 4);
        assert_close(&got, &want, 1e-5, 1e-6);
    }
}

#[test]
fn predict_accepts_f64_and_empty_inputs() {
    let dir = Scratch::new("predict_dtypes");
    let blob = convert_fixture(&dir, "digits_mlp");
    let x = read_npy(&fixture("digits_mlp", "x.npy")).expect("x.npy");
    let want = read_npy(&fixture("digits_mlp", "y.npy")).expect("y.npy");

    // An f64 copy of x (written with npyz directly).
    let f64_path = dir.path("x_f64.npy");
    {
        let mut buf = Vec::new();
        let shape: Vec<u64> = x.shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut buf)
            .begin_nd()
            .expect("npy writer");
        w.extend(x.data.iter().map(|&v| f64::from(v)))
            .expect("npy data");
        w.finish().expect("npy finish");
        std::fs::write(&f64_path, buf).expect("write f64 npy");
    }
    let got = predict(&dir, &blob, &f64_path, 8);
    assert_close(&got, &want, 1e-5, 1e-7);

    // Zero samples in, zero samples out.
    let empty = dir.path("empty.npy");
    write_npy(
        &empty,
        &Tensor {
            shape: vec![0, 64],
            data: vec![],
        },
    )
    .expect("write empty npy");
    let got = predict(&dir, &blob, &empty, 1);
    assert_eq!(got.shape, [0, 10]);
    assert!(got.data.is_empty());
}

// ---------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------

#[test]
fn missing_input_files() {
    let dir = Scratch::new("missing");
    let missing = dir.path("does_not_exist.keras");
    let out = dir.path("out.emb");

    let err = fails(&ember!("convert", missing, "-o", out,));
    assert!(err.contains("does_not_exist.keras"), "{err}");
    assert!(!out.exists());

    let err = fails(&ember!("inspect", missing));
    assert!(err.contains("does_not_exist.keras"), "{err}");
    let missing_blob = dir.path("does_not_exist.emb");
    let err = fails(&ember!("inspect", missing_blob));
    assert!(err.contains("does_not_exist.emb"), "{err}");

    let blob = convert_fixture(&dir, "digits_mlp");
    let y = dir.path("y.npy");
    let err = predict_fails(&missing_blob, &fixture("digits_mlp", "x.npy"), &y);
    assert!(err.contains("does_not_exist.emb"), "{err}");
    let err = predict_fails(&blob, &dir.path("no_x.npy"), &y);
    assert!(err.contains("no_x.npy"), "{err}");
    assert!(!y.exists());

    // Output into a directory that does not exist.
    let err = predict_fails(
        &blob,
        &fixture("digits_mlp", "x.npy"),
        &dir.path("no_dir/y.npy"),
    );
    assert!(err.contains("no_dir"), "{err}");
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn convert_rejects_garbage_and_truncated_keras() {
    let dir = Scratch::new("garbage_keras");
    let out = dir.path("out.emb");
    let convert_fails = |input: &Path| {
        let err = fails(&ember!("convert", input, "-o", out,));
        assert!(!out.exists(), "no output after `{err}`");
        err
    };

    for (k, len) in [0usize, 1, 100, 4096].into_iter().enumerate() {
        let p = dir.write(
            &format!("random{k}.keras"),
            &noise(len, 0x9e37_79b9 + k as u64),
        );
        let err = convert_fails(&p);
        assert!(err.contains(".keras archive"), "{err}");
    }
    // Random bytes after a zip signature.
    let mut fake = b"PK\x03\x04".to_vec();
    fake.extend(noise(2000, 7));
    convert_fails(&dir.write("fake_zip.keras", &fake));

    let keras = std::fs::read(fixture("digits_mlp", "model.keras")).expect("model.keras");
    let n = keras.len();
    for cut in [0, 2, 4, 30, 512, n / 4, n / 2, n - 100, n - 22, n - 1] {
        let p = dir.write(&format!("trunc{cut}.keras"), &keras[..cut]);
        let err = convert_fails(&p);
        assert!(err.contains("archive"), "cut at {cut}: {err}");
        // `inspect` reads .keras files through the same path.
        fails(&ember!("inspect", p));
    }
}

#[test]
fn corrupted_blob_is_refused() {
    let dir = Scratch::new("corrupt_blob");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");

    // Flips inside the CRC-covered body: named as corruption.
    for at in [20, 40, 100, blob.len() / 2, blob.len() - 1] {
        let mut bad = blob.clone();
        bad[at] ^= 0x10;
        let p = dir.write(&format!("flip{at}.emb"), &bad);
        for err in [fails(&ember!("inspect", p)), predict_fails(&p, &x, &y)] {
            let lower = err.to_lowercase();
            assert!(
                lower.contains("corrupt") && lower.contains("crc"),
                "flip at {at}: {err}"
            );
        }
        assert!(!y.exists());
    }
    // The checksum field itself.
    let mut bad = blob.clone();
    bad[12] ^= 0x01;
    let p = dir.write("flip_crc.emb", &bad);
    let err = fails(&ember!("inspect", p));
    assert!(err.to_lowercase().contains("crc"), "{err}");

    // Any single flip in the header is refused.
    for at in 0..32 {
        for mask in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[at] ^= mask;
            let p = dir.write("flip_header.emb", &bad);
            fails(&ember!("inspect", p));
        }
    }
    let mut bad = blob.clone();
    bad[0] ^= 0x01;
    let p = dir.write("flip_magic.emb", &bad);
    let err = predict_fails(&p, &x, &y);
    assert!(err.contains("magic"), "{err}");
}

#[test]
fn blob_edits_with_a_valid_crc_never_panic() {
    // Flip bytes of the header and graph description and repair the checksum, so the
    // parser behind the CRC check sees them: every outcome must be a clean exit 0 or 1.
    let dir = Scratch::new("crc_fixed");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    let weights_start = blob.len() - 4 * DIGITS_PARAMS as usize;
    let p = dir.path("edited.emb");
    let mut refused = 0;
    for at in (0..weights_start).filter(|at| !(12..16).contains(at)) {
        for mask in [0x01u8, 0xff] {
            let mut bad = blob.clone();
            bad[at] ^= mask;
            let crc = ember_nn::blob::checksum(&bad);
            bad[12..16].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&p, &bad).expect("write edited blob");
            for out in [
                ember!("inspect", p),
                ember!("predict", p, "--input", x, "--output", y, "--batch", "8",),
            ] {
                if out.status.success() {
                    ok(&out);
                } else {
                    fails(&out);
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0, "some edits must be refused");
}

#[test]
fn truncated_blob_is_refused() {
    let dir = Scratch::new("trunc_blob");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    for cut in [0, 3, 16, 31, 32, 100, blob.len() / 2, blob.len() - 1] {
        let p = dir.write(&format!("trunc{cut}.emb"), &blob[..cut]);
        let err = predict_fails(&p, &x, &y);
        assert!(err.contains("truncated"), "cut at {cut}: {err}");
        let err = fails(&ember!("inspect", p));
        assert!(err.contains("truncated"), "cut at {cut}: {err}");
        assert!(!y.exists());
    }
    // Random bytes are not a blob either.
    let p = dir.write("random.emb", &noise(4096, 42));
    fails(&ember!("inspect", p));
    predict_fails(&p, &x, &y);
}

#[test]
fn predict_rejects_bad_inputs() {
    let dir = Scratch::new("bad_inputs");
    let blob = convert_fixture(&dir, "digits_mlp");
    let y = dir.path("y.npy");

    let cases: [(&str, Vec<usize>); 4] = [
        ("feature_count.npy", vec![4, 63]),
        ("no_batch_dim.npy", vec![64]),
        ("extra_dim.npy", vec![2, 64, 1]),
        ("transposed.npy", vec![64, 4]),
    ];
    for (name, shape) in cases {
        let p = dir.path(name);
        let len = shape.iter().product();
        write_npy(
            &p,
            &Tensor {
                shape: shape.clone(),
                data: vec![0.5; len],
            },
        )
        .expect("write npy");
        let err = predict_fails(&blob, &p, &y);
        assert!(err.contains(&format!("{shape:?}")), "{name}: {err}");
        assert!(err.contains("(N, 64)"), "{name}: {err}");
        assert!(err.contains(name), "the message names the file: {err}");
        assert!(!y.exists());
    }

    // Not an .npy at all, and a truncated one.
    let err = predict_fails(&blob, &blob, &y);
    assert!(err.contains("tensor file"), "{err}");
    let x = std::fs::read(fixture("digits_mlp", "x.npy")).expect("x.npy");
    for cut in [10, 128, x.len() - 1] {
        let p = dir.write("x_trunc.npy", &x[..cut]);
        let err = predict_fails(&blob, &p, &y);
        assert!(err.contains("x_trunc.npy"), "cut at {cut}: {err}");
    }

    // The wrong model for the data.
    let rank3 = convert_fixture(&dir, "dense_rank3");
    let err = predict_fails(&rank3, &fixture("digits_mlp", "x.npy"), &y);
    assert!(err.contains("(N, 3, 4)"), "{err}");
}

#[test]
fn predict_batch_limits() {
    let dir = Scratch::new("batch_limits");
    let blob = convert_fixture(&dir, "digits_mlp");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    let with_batch =
        |batch: &str| ember!("predict", blob, "--input", x, "--output", y, "--batch", batch,);
    let err = fails(&with_batch("0"));
    assert!(err.contains("batch"), "{err}");
    assert!(!y.exists());
    // A batch far beyond the sample count must not try to allocate for it.
    ok(&with_batch("100000000000"));
    let want = read_npy(&fixture("digits_mlp", "y.npy")).expect("y.npy");
    assert_close(&read_npy(&y).expect("output"), &want, 1e-5, 1e-7);
}

#[test]
fn inspect_rejects_bad_memory_options() {
    let dir = Scratch::new("bad_memory_options");
    let blob = convert_fixture(&dir, "digits_mlp");
    for args in [
        &["--batch", "0"][..],
        &["--train-batch", "0"],
        &["--trainable", "last-0"],
        &["--batch", "18446744073709551615"],
    ] {
        let mut a = vec![OsStr::new("inspect"), blob.as_os_str()];
        a.extend(args.iter().map(OsStr::new));
        fails(&run(&a));
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = Scratch::new("usage");
    let blob = convert_fixture(&dir, "digits_mlp");
    let usage = |args: &[&OsStr]| {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{}", describe(&out));
        assert_eq!(
            out.status.code(),
            Some(2),
            "clap's usage status: {}",
            describe(&out)
        );
        assert!(!stderr.contains("panicked"), "{}", describe(&out));
        assert!(stderr.starts_with("error:"), "{}", describe(&out));
        stderr
    };
    let err = usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--optimizer"),
        OsStr::new("lion"),
    ]);
    assert!(err.contains("unknown optimizer `lion`"), "{err}");
    let err = usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--trainable"),
        OsStr::new("last-x"),
    ]);
    assert!(err.contains("last-x"), "{err}");
    let out = dir.path("o.emb");
    let err = usage(&[
        OsStr::new("convert"),
        fixture("digits_mlp", "model.keras").as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--dtype"),
        OsStr::new("f16"),
    ]);
    assert!(err.contains("unknown dtype `f16`"), "{err}");
    assert!(!out.exists());
    // Missing required arguments, unknown subcommand, no subcommand.
    usage(&[OsStr::new("convert"), blob.as_os_str()]);
    usage(&[OsStr::new("predict"), blob.as_os_str()]);
    usage(&[OsStr::new("frobnicate")]);
    usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--batch"),
        OsStr::new("-3"),
    ]);
}

// ---------------------------------------------------------------------------------------
// help
// ---------------------------------------------------------------------------------------

#[test]
fn help_texts() {
    let top = ok(&ember!("--help"));
    for cmd in ["convert", "inspect", "predict"] {
        assert!(top.contains(cmd), "{top}");
    }
    for cmd in ["convert", "inspect", "predict"] {
        let help = ok(&ember!(cmd, "--help"));
        assert!(help.contains("Example"), "{cmd}: {help}");
        assert!(help.contains(&format!("ember {cmd} ")), "{cmd}: {help}");
        assert_eq!(ok(&ember!("help", cmd)), help, "`help {cmd}`");
    }
    // No subcommand: clap prints the help to stderr and exits with its usage status.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Usage: ember <COMMAND>"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v = ok(&ember!("--version"));
    assert!(v.starts_with("ember "), "{v}");
}
