//! Tests of the legacy `.h5` model reader (`ember_cli::keras::legacy_h5`, reached through
//! `read_keras_bytes` / `read_keras_file`).
//!
//! Real files: `tests/data/legacy_h5_fixtures.zip`, written by
//! `tests/data/make_h5_fixtures.py` (Keras 3.15.1 + JAX, and tf.keras 2.21 via `tf_keras`;
//! versions in `tests/data/h5_fixture_versions.json`). Each model is also saved as
//! `.keras`; both must read to the same model and convert to the same blob, and the
//! weights must equal, bit for bit, what Keras's `layer.get_weights()` returned
//! (`*.expected.json`). `h5_k2_variant.h5` is a synthetic h5py edit of the tf.keras 2
//! file (no `InputLayer`, fixed-length strings, split `layer_names`).
//!
//! Malformed inputs here are truncations and byte flips of the real files; all must be
//! `Err`, none may panic. Synthetic files with one defect each are in
//! `keras_h5_synthetic.rs`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::OnceLock;

use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::{read_keras_bytes, read_keras_file, KerasModel};
use ember_cli::Error;
use serde_json::{json, Value};

mod keras_h5_support;
use keras_h5_support::{weight_paths, without_dropout};

// ---- fixtures -------------------------------------------------------------------------

fn data_path(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The entries of `legacy_h5_fixtures.zip`, read once.
fn bundle() -> &'static BTreeMap<String, Vec<u8>> {
    static BUNDLE: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let path = data_path("legacy_h5_fixtures.zip");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("bundle is a zip");
        (0..zip.len())
            .map(|i| {
                let mut f = zip.by_index(i).expect("entry");
                let mut data = Vec::new();
                f.read_to_end(&mut data).expect("entry reads");
                (f.name().expect("name").to_string(), data)
            })
            .collect()
    })
}

fn fixture(name: &str) -> &'static [u8] {
    bundle()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not in legacy_h5_fixtures.zip"))
}

fn read(name: &str) -> KerasModel {
    read_keras_bytes(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected(stem: &str) -> Value {
    let path = data_path(&format!("{stem}.expected.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("expected.json parses")
}

/// Compare a model with what Keras printed: structure, the configs that matter, and the
/// weights bit for bit.
fn check_against_expected(model: &KerasModel, exp: &Value, keras_version: &str) {
    assert_eq!(model.class_name, exp["class_name"]);
    assert_eq!(model.name, exp["name"]);
    assert_eq!(model.keras_version.as_deref(), Some(keras_version));
    let input: Vec<Option<usize>> = exp["input_shape"]
        .as_array()
        .expect("input_shape")
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect();
    assert_eq!(model.input_shape, input);
    let layers = exp["layers"].as_array().expect("layers");
    assert_eq!(model.layers.len(), layers.len());
    for (got, want) in model.layers.iter().zip(layers) {
        let ctx = &got.name;
        assert_eq!(got.name, want["name"], "{ctx}");
        assert_eq!(got.class_name, want["class_name"], "{ctx}");
        assert_eq!(got.trainable, want["trainable"], "{ctx}");
        for key in ["units", "activation", "use_bias"] {
            let have = got.config.get(key).unwrap_or(&Value::Null);
            assert_eq!(have, &want[key], "{ctx}: config.{key}");
        }
        let weights = want["weights"].as_array().expect("weights");
        assert_eq!(got.weights.len(), weights.len(), "{ctx}: weight count");
        for (w, ew) in got.weights.iter().zip(weights) {
            let shape: Vec<usize> = ew["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect();
            assert_eq!(w.shape, shape, "{}", w.path);
            let bits: Vec<u32> = ew["bits"]
                .as_array()
                .expect("bits")
                .iter()
                .map(|b| b.as_u64().expect("bit pattern") as u32)
                .collect();
            let got_bits: Vec<u32> = w.data.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got_bits, bits, "{}: values differ", w.path);
        }
    }
}

/// Assert two reads of the same model agree on everything but where the weights were
/// stored: names, classes, trainable flags, the Dense options, shapes and bits.
fn assert_same_model(h5: &KerasModel, keras: &KerasModel) {
    assert_eq!(h5.class_name, keras.class_name);
    assert_eq!(h5.name, keras.name);
    assert_eq!(h5.input_shape, keras.input_shape);
    assert_eq!(h5.layers.len(), keras.layers.len());
    for (a, b) in h5.layers.iter().zip(&keras.layers) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.class_name, b.class_name, "{}", a.name);
        assert_eq!(a.trainable, b.trainable, "{}", a.name);
        for key in ["units", "activation", "use_bias"] {
            assert_eq!(a.config.get(key), b.config.get(key), "{}: {key}", a.name);
        }
        assert_eq!(a.weights.len(), b.weights.len(), "{}", a.name);
        for (wa, wb) in a.weights.iter().zip(&b.weights) {
            assert_eq!(wa.shape, wb.shape, "{} vs {}", wa.path, wb.path);
            let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&wa.data), bits(&wb.data), "{} vs {}", wa.path, wb.path);
        }
    }
}

fn assert_same_blobs(h5: &KerasModel, keras: &KerasModel) {
    let (mut h5, mut keras) = (without_dropout(h5), without_dropout(keras));
    // The compile settings (the blob's training record) are not compared: the tf.keras 2
    // `.h5` is compiled, the `.keras` made from it was loaded with `compile=False`.
    h5.compile_config = None;
    keras.compile_config = None;
    for dtype in [DTypeChoice::F32, DTypeChoice::Fixed] {
        let a = convert(&h5, dtype).unwrap_or_else(|e| panic!("{dtype:?} from .h5: {e}"));
        let b = convert(&keras, dtype).unwrap_or_else(|e| panic!("{dtype:?} from .keras: {e}"));
        assert!(a.as_slice().len() > 64, "a real blob");
        assert_eq!(a.as_slice(), b.as_slice(), "{dtype:?} blobs differ");
    }
}

// ---- real files -----------------------------------------------------------------------

#[test]
fn keras3_h5_matches_keras_file_and_keras_values() {
    let h5 = read("h5_k3_dense.h5");
    let keras = read("h5_k3_dense.keras");
    check_against_expected(&h5, &expected("h5_k3_dense"), "3.15.1");
    assert_same_model(&h5, &keras);
    assert_eq!(h5.keras_version, keras.keras_version);
    // Keras 3 writes the same layer configs in both formats, except the `.keras`
    // serializer's `shared_object_id` bookkeeping inside `dtype`.
    for (a, b) in h5.layers.iter().zip(&keras.layers) {
        let mut b = b.config.clone();
        if let Some(dtype) = b.get_mut("dtype").and_then(Value::as_object_mut) {
            dtype.remove("shared_object_id");
        }
        assert_eq!(a.config, b, "{}", a.name);
    }
    let names: Vec<&str> = h5.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["dense_1", "dropout", "frozen", "my_head"]);
    assert_eq!(h5.input_shape, [None, Some(4)]);
    // Keras-3 legacy layout: `model_weights/<layer>/<model>/<layer>/<variable>`.
    assert_eq!(
        weight_paths(&h5, 0),
        [
            "model_weights/dense_1/h5_k3_dense/dense_1/kernel",
            "model_weights/dense_1/h5_k3_dense/dense_1/bias"
        ]
    );
    assert!(
        h5.layers[1].weights.is_empty(),
        "Dropout: empty float64 weight_names"
    );
    assert!(!h5.layers[2].trainable);
    assert_eq!(
        weight_paths(&h5, 3),
        ["model_weights/my_head/h5_k3_dense/my_head/kernel"]
    );
    assert_eq!(h5.layers[0].weights[0].shape, [4, 3]);
    assert_eq!(h5.layers[3].weights[0].shape, [3, 2]);
}

#[test]
fn tf_keras2_h5_matches_keras_file_and_keras_values() {
    let h5 = read("h5_k2_dense.h5");
    check_against_expected(&h5, &expected("h5_k2_dense"), "2.21.0");
    // The `.keras` is Keras 3 loading the tf.keras file and saving it again.
    let keras = read("h5_k2_dense.keras");
    check_against_expected(&keras, &expected("h5_k2_dense"), "3.15.1");
    assert_same_model(&h5, &keras);
    // Keras-2 dialect: `batch_input_shape`, plain string dtypes, `kernel:0` names.
    let first = &h5.layers[0];
    assert_eq!(first.config["batch_input_shape"], json!([null, 4]));
    assert_eq!(first.config["dtype"], "float32");
    assert_eq!(
        weight_paths(&h5, 0),
        [
            "model_weights/dense_1/dense_1/kernel:0",
            "model_weights/dense_1/dense_1/bias:0"
        ]
    );
    assert_eq!(
        weight_paths(&h5, 2),
        [
            "model_weights/frozen/frozen/kernel:0",
            "model_weights/frozen/frozen/bias:0"
        ]
    );
    assert!(h5.layers[1].weights.is_empty());
    assert!(!h5.layers[2].trainable);
}

#[test]
fn synthetic_tf_keras2_variant_reads_like_the_original() {
    // h5py edit of h5_k2_dense.h5: no InputLayer (input shape from the first layer's
    // `batch_input_shape`), fixed-length string attributes, `layer_names0`/`layer_names1`.
    let variant = read("h5_k2_variant.h5");
    let original = read("h5_k2_dense.h5");
    assert_eq!(variant, original);
    assert_eq!(variant.input_shape, [None, Some(4)]);
}

#[test]
fn h5_and_keras_convert_to_identical_blobs() {
    for stem in ["h5_k3_dense", "h5_k2_dense"] {
        let h5 = read(&format!("{stem}.h5"));
        let keras = read(&format!("{stem}.keras"));
        assert_same_blobs(&h5, &keras);
    }
    assert_same_blobs(&read("h5_k2_variant.h5"), &read("h5_k2_dense.keras"));
    assert!(
        read("h5_k2_dense.h5").compile_config.is_some(),
        "training_config read"
    );
    // The comparison sees weights: one flipped bit changes the blob.
    let h5 = read("h5_k3_dense.h5");
    let mut changed = h5.clone();
    let w = &mut changed.layers[3].weights[0].data[0];
    *w = f32::from_bits(w.to_bits() ^ 1);
    let a = convert(&without_dropout(&h5), DTypeChoice::F32).expect("converts");
    let b = convert(&without_dropout(&changed), DTypeChoice::F32).expect("converts");
    assert_ne!(a.as_slice(), b.as_slice());
}

#[test]
fn h5_from_file_equals_from_bytes() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keras_h5");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    for name in ["h5_k3_dense.h5", "h5_k2_dense.h5"] {
        let path = dir.join(name);
        std::fs::write(&path, fixture(name)).expect("write fixture");
        let from_file = read_keras_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_file, read(name));
    }
}

#[test]
fn weights_only_files_say_there_is_no_architecture() {
    for (name, kind) in [
        ("h5_k3_weights_only.weights.h5", "Keras 3"),
        ("h5_k2_weights_only.h5", "legacy"),
    ] {
        match read_keras_bytes(fixture(name)) {
            Err(Error::Config(msg)) => {
                assert!(msg.contains("no model architecture"), "{name}: {msg}");
                assert!(msg.contains("save_weights"), "{name}: {msg}");
                assert!(msg.contains(kind), "{name}: {msg}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn truncated_h5_files_are_errors() {
    for name in ["h5_k3_dense.h5", "h5_k2_dense.h5", "h5_k2_variant.h5"] {
        let bytes = fixture(name);
        let step = (bytes.len() / 300).max(1);
        let mut lengths: Vec<usize> = (0..bytes.len()).step_by(step).collect();
        lengths.extend([
            1,
            7,
            8,
            9,
            16,
            48,
            96,
            512,
            bytes.len() / 2,
            bytes.len() - 1,
        ]);
        for len in lengths {
            assert!(
                read_keras_bytes(&bytes[..len]).is_err(),
                "{name} truncated to {len} bytes was accepted"
            );
        }
    }
}

#[test]
fn hdf5_signature_with_garbage_is_an_error() {
    let mut bytes = b"\x89HDF\r\n\x1a\n".to_vec();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..4000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        bytes.push((seed >> 24) as u8);
    }
    match read_keras_bytes(&bytes) {
        Err(Error::Archive(msg)) => assert!(msg.contains("legacy Keras `.h5`"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupted_h5_files_never_panic() {
    // Flip bytes across the whole file (superblock, object headers, heaps, B-trees,
    // attribute data, weights). Any result is fine as long as it is not a panic.
    for name in ["h5_k3_dense.h5", "h5_k2_variant.h5"] {
        let bytes = fixture(name);
        for pos in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.to_vec();
            bad[pos] ^= 0x5A;
            let _ = read_keras_bytes(&bad);
        }
    }
}
