//! Black-box tests of the `ember` binary: `convert`, `inspect` and `predict` on the Keras
//! golden fixtures (`tests/fixtures/`), checking exit statuses, output and written files.
//! Failure cases are in `cli_errors.rs`; helpers in `cli_support/`.

#[macro_use]
mod cli_support;

use cli_support::*;
use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use npyz::WriterBuilder;
use std::ffi::OsStr;

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
        assert_eq!(parts.len(), 6);
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
            [parts[0], parts[1], parts[3], parts[4], parts[5]],
            [sgd.2[0], sgd.2[1], sgd.2[3], sgd.2[4], sgd.2[5]],
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
