//! Tests of the Keras model reader (`ember_cli::keras`).
//!
//! The `.keras` fixtures in `tests/data/` and their `*.expected.json` answers are written
//! by `tests/data/make_reader_fixtures.py` (Keras 3.15.1); weight values are compared
//! bit for bit. Malformed inputs are built here from the fixtures and must all be `Err`.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use ember_cli::keras::{read_keras_bytes, read_keras_file, KerasModel};
use ember_cli::Error;
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_fixture(stem: &str) -> KerasModel {
    let path = data_dir().join(format!("{stem}.keras"));
    read_keras_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected(stem: &str) -> Value {
    let bytes = fixture_bytes(&format!("{stem}.expected.json"));
    serde_json::from_slice(&bytes).expect("expected.json parses")
}

/// The entries of a zip, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("fixture zip opens");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("entry reads");
            (f.name().expect("entry name").into_owned(), data)
        })
        .collect()
}

/// A zip holding `entries`.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start_file");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// The fixture `reader_dense.keras` with entry `name` replaced (or dropped if `None`).
fn dense_with_entry(name: &str, data: Option<&[u8]>) -> Vec<u8> {
    let entries = unzip(&fixture_bytes("reader_dense.keras"));
    let kept: Vec<(&str, &[u8])> = entries
        .iter()
        .filter_map(|(n, d)| {
            if n == name {
                data.map(|d| (n.as_str(), d))
            } else {
                Some((n.as_str(), d.as_slice()))
            }
        })
        .collect();
    zip_of(&kept)
}

/// Compare a model with its `*.expected.json`, weights bit for bit.
fn check_against_expected(model: &KerasModel, exp: &Value) {
    assert_eq!(model.class_name, exp["class_name"]);
    assert_eq!(model.name, exp["name"]);
    assert_eq!(
        model.keras_version.as_deref(),
        exp["keras_version"].as_str()
    );
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
            assert_eq!(w.path, ew["path"], "{ctx}");
            let shape: Vec<usize> = ew["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect();
            assert_eq!(w.shape, shape, "{}", w.path);
            assert_eq!(w.data.len(), shape.iter().product::<usize>(), "{}", w.path);
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

#[test]
fn dense_model_matches_keras() {
    let model = read_fixture("reader_dense");
    check_against_expected(&model, &expected("reader_dense"));

    assert_eq!(model.class_name, "Sequential");
    assert_eq!(model.name, "reader_dense");
    assert_eq!(model.keras_version.as_deref(), Some("3.15.1"));
    assert_eq!(model.input_shape, vec![None, Some(4)]);
    let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["dense_1", "my_head"]);

    // Layer `dense_1` lives under HDF5 key `dense`, `my_head` under `dense_1`.
    let hidden = &model.layers[0];
    assert_eq!(hidden.class_name, "Dense");
    assert_eq!(hidden.config["units"], 3);
    assert_eq!(hidden.config["activation"], "relu");
    assert_eq!(hidden.config["use_bias"], true);
    assert!(hidden.trainable);
    let paths: Vec<&str> = hidden.weights.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["layers/dense/vars/0", "layers/dense/vars/1"]);
    assert_eq!(hidden.weights[0].shape, [4, 3]);
    assert_eq!(hidden.weights[1].shape, [3]);
    assert!(
        hidden.weights[1].data.iter().all(|&b| b != 0.0),
        "biases are non-zero"
    );

    let head = &model.layers[1];
    assert_eq!(head.config["units"], 2);
    assert_eq!(head.config["activation"], "softmax");
    assert_eq!(head.config["use_bias"], false);
    assert_eq!(head.weights.len(), 1);
    assert_eq!(head.weights[0].path, "layers/dense_1/vars/0");
    assert_eq!(head.weights[0].shape, [3, 2]);
    // Spot-check against the numbers Python printed (also compared as bits above).
    let exp = expected("reader_dense");
    let first = exp["layers"][1]["weights"][0]["values"][0]
        .as_f64()
        .expect("value") as f32;
    assert_eq!(head.weights[0].data[0].to_bits(), first.to_bits());
}

#[test]
fn dense_model_from_bytes_equals_from_file() {
    let from_file = read_fixture("reader_dense");
    let from_bytes = read_keras_bytes(&fixture_bytes("reader_dense.keras")).expect("reads");
    assert_eq!(from_file, from_bytes);
}

#[test]
fn missing_name_attributes_fall_back_to_class_counter_keys() {
    let model = read_fixture("reader_dense_noname");
    check_against_expected(&model, &expected("reader_dense_noname"));
    // Same weights as the file with name attributes.
    assert_eq!(model, read_fixture("reader_dense"));
}

#[test]
fn mixed_model_matches_keras() {
    let model = read_fixture("reader_mixed");
    check_against_expected(&model, &expected("reader_mixed"));
    assert_eq!(model.input_shape, vec![None, Some(5), Some(2)]);
    let classes: Vec<&str> = model.layers.iter().map(|l| l.class_name.as_str()).collect();
    assert_eq!(
        classes,
        ["Conv1D", "Dropout", "LSTM", "BatchNormalization", "Dense"]
    );
    assert!(model.layers[1].weights.is_empty(), "Dropout has no weights");
    let lstm: Vec<&str> = model.layers[2]
        .weights
        .iter()
        .map(|w| w.path.as_str())
        .collect();
    assert_eq!(
        lstm,
        [
            "layers/lstm/cell/vars/0",
            "layers/lstm/cell/vars/1",
            "layers/lstm/cell/vars/2"
        ]
    );
    assert_eq!(model.layers[3].weights.len(), 4, "BatchNormalization");
    assert!(!model.layers[4].trainable);
}

#[test]
fn missing_file_is_io_error() {
    let err = read_keras_file(&data_dir().join("no_such_model.keras")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

// ---- malformed containers ------------------------------------------------------------

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
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
fn truncated_archives_are_errors() {
    for stem in ["reader_dense", "reader_mixed", "reader_dense_noname"] {
        let bytes = fixture_bytes(&format!("{stem}.keras"));
        let step = (bytes.len() / 400).max(1);
        let mut lengths: Vec<usize> = (0..bytes.len()).step_by(step).collect();
        lengths.extend([1, 2, 3, 4, 5, 30, bytes.len() - 22, bytes.len() - 1]);
        for len in lengths {
            let result = read_keras_bytes(&bytes[..len]);
            assert!(
                result.is_err(),
                "{stem} truncated to {len} bytes was accepted"
            );
        }
    }
}

#[test]
fn random_bytes_are_errors() {
    for (i, len) in [0usize, 1, 3, 4, 22, 100, 1000, 20_000]
        .into_iter()
        .enumerate()
    {
        let bytes = noise(len, 0x9E37_79B9_7F4A_7C15 + i as u64);
        assert!(read_keras_bytes(&bytes).is_err(), "{len} random bytes");
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend(&bytes);
        let err = read_keras_bytes(&zipish).unwrap_err();
        assert!(matches!(err, Error::Archive(_)), "{err:?}");
    }
}

#[test]
fn legacy_hdf5_is_reported_as_unsupported() {
    let mut bytes = b"\x89HDF\r\n\x1a\n".to_vec();
    bytes.extend(noise(200, 7));
    match read_keras_bytes(&bytes) {
        Err(Error::Archive(msg)) => assert!(msg.contains("legacy"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_entries_are_errors() {
    for entry in ["model.weights.h5", "config.json"] {
        match read_keras_bytes(&dense_with_entry(entry, None)) {
            Err(Error::Archive(msg)) => assert!(msg.contains(entry), "{msg}"),
            other => panic!("without {entry}: {other:?}"),
        }
    }
    // metadata.json is optional: only the Keras version is lost.
    let model = read_keras_bytes(&dense_with_entry("metadata.json", None)).expect("reads");
    assert_eq!(model.keras_version, None);
    // npz weights are named in the message.
    let entries = unzip(&fixture_bytes("reader_dense.keras"));
    let renamed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| {
            let n = if n == "model.weights.h5" {
                "model.weights.npz"
            } else {
                n
            };
            (n, d.as_slice())
        })
        .collect();
    match read_keras_bytes(&zip_of(&renamed)) {
        Err(Error::Archive(msg)) => assert!(msg.contains("npz"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_config_json_is_config_error() {
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"this is not json".to_vec(),
        noise(300, 3),
        b"[1, 2, 3]".to_vec(),
        b"{}".to_vec(),
        br#"{"class_name": "Sequential"}"#.to_vec(),
        br#"{"class_name": "Sequential", "config": {"name": "m", "layers": 5}}"#.to_vec(),
        br#"{"class_name": "Sequential", "config": {"name": "m", "layers": [7]}}"#.to_vec(),
        br#"{"class_name": "Dense", "config": {"name": "m"}}"#.to_vec(),
        json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, "4"]}}
        ]}})
        .to_string()
        .into_bytes(),
    ];
    for config in cases {
        let bytes = dense_with_entry("config.json", Some(&config));
        match read_keras_bytes(&bytes) {
            Err(Error::Config(_)) => {}
            other => panic!("config {:?}: {other:?}", String::from_utf8_lossy(&config)),
        }
    }
    match read_keras_bytes(&dense_with_entry("metadata.json", Some(b"{oops"))) {
        Err(Error::Config(msg)) => assert!(msg.contains("metadata.json"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn functional_without_io_is_a_config_error_and_nested_sequential_needs_weights() {
    // Functional and nested models are read (tests/keras_functional.rs); a Functional
    // config without `input_layers` is still an error.
    let functional = json!({"class_name": "Functional", "config": {"name": "f", "layers": []}});
    let bytes = dense_with_entry("config.json", Some(functional.to_string().as_bytes()));
    match read_keras_bytes(&bytes) {
        Err(Error::Config(msg)) => assert!(msg.contains("input_layers"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // A nested Sequential is read, and then needs its own weights group, which
    // `reader_dense`'s weights file does not have.
    let nested = json!({"class_name": "Sequential", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 4]}},
        {"class_name": "Sequential", "config": {"name": "inner", "layers": []}}
    ]}});
    let bytes = dense_with_entry("config.json", Some(nested.to_string().as_bytes()));
    match read_keras_bytes(&bytes) {
        Err(Error::Hdf5(msg)) => assert!(msg.contains("layer `inner` (Sequential)"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

// ---- malformed weights ---------------------------------------------------------------

#[test]
fn bad_weights_files_are_hdf5_errors() {
    let h5 = unzip(&fixture_bytes("reader_dense.keras"))
        .into_iter()
        .find(|(n, _)| n == "model.weights.h5")
        .expect("weights entry")
        .1;
    let mut cases = vec![Vec::new(), b"garbage".to_vec(), noise(5000, 11)];
    for len in [8, 100, 512, 2048, h5.len() / 2, h5.len() - 1] {
        cases.push(h5[..len].to_vec());
    }
    for weights in cases {
        let len = weights.len();
        match read_keras_bytes(&dense_with_entry("model.weights.h5", Some(&weights))) {
            Err(Error::Hdf5(_)) => {}
            other => panic!("{len}-byte weights: {other:?}"),
        }
    }
}

#[test]
fn corrupted_weights_never_panic() {
    let h5 = unzip(&fixture_bytes("reader_dense.keras"))
        .into_iter()
        .find(|(n, _)| n == "model.weights.h5")
        .expect("weights entry")
        .1;
    // Flip bytes across the whole file (every 5th one: superblock, object headers, heaps,
    // B-trees and data). Any result is fine as long as it is not a panic.
    for pos in (0..h5.len()).step_by(5) {
        let mut bad = h5.clone();
        bad[pos] ^= 0xA5;
        let _ = read_keras_bytes(&dense_with_entry("model.weights.h5", Some(&bad)));
    }
}

/// A weights variable for [`weights_file`]: a float32 or float64 tensor.
enum Var {
    F32(Vec<u64>, Vec<f32>),
    F64(Vec<u64>, Vec<f64>),
}

/// An HDF5 weights file with groups `layers/<key>/vars` (with `name` attribute when
/// given) holding the variables in order.
fn weights_file(groups: &[(&str, Option<&str>, Vec<Var>)]) -> Vec<u8> {
    let mut fb = FileBuilder::new();
    let mut layers = fb.create_group("layers");
    for (key, name, vars) in groups {
        let mut group = layers.create_group(key);
        let mut v = group.create_group("vars");
        if let Some(name) = name {
            v.set_attr("name", AttrValue::VarLenString((*name).to_owned()));
        }
        for (i, var) in vars.iter().enumerate() {
            let ds = v.create_dataset(&i.to_string());
            match var {
                Var::F32(shape, data) => ds.with_f32_data(data).with_shape(shape),
                Var::F64(shape, data) => ds.with_f64_data(data).with_shape(shape),
            };
        }
        group.add_group(v.finish());
        layers.add_group(group.finish());
    }
    fb.add_group(layers.finish());
    fb.finish().expect("hdf5 file builds")
}

/// A `.keras` archive for `Input(2) -> Dense(1, name=first) -> Dense(1, name=second)`
/// with the given weights file.
fn two_dense_archive(weights: &[u8]) -> Vec<u8> {
    let dense = |name: &str| json!({"class_name": "Dense", "config": {"name": name, "units": 1}});
    let config = json!({"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
        dense("first"), dense("second")
    ]}});
    zip_of(&[
        ("config.json", config.to_string().as_bytes()),
        ("model.weights.h5", weights),
    ])
}

fn dense_vars(value: f32) -> Vec<Var> {
    vec![
        Var::F32(vec![2, 1], vec![value, value + 1.0]),
        Var::F32(vec![1], vec![value + 2.0]),
    ]
}

#[test]
fn synthetic_weights_map_by_name_attribute() {
    // Keys deliberately swapped relative to the layer order: names decide.
    let h5 = weights_file(&[
        ("dense", Some("second"), dense_vars(10.0)),
        ("dense_1", Some("first"), dense_vars(20.0)),
    ]);
    let model = read_keras_bytes(&two_dense_archive(&h5)).expect("reads");
    assert_eq!(model.layers[0].weights[0].path, "layers/dense_1/vars/0");
    assert_eq!(model.layers[0].weights[0].data, [20.0, 21.0]);
    assert_eq!(model.layers[1].weights[1].data, [12.0]);
    assert_eq!(model.keras_version, None);
}

#[test]
fn synthetic_weight_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "only float32",
            weights_file(&[
                (
                    "dense",
                    Some("first"),
                    vec![Var::F64(vec![2, 1], vec![1.0, 2.0])],
                ),
                ("dense_1", Some("second"), dense_vars(0.0)),
            ]),
        ),
        (
            "no weights group for layer `second`",
            weights_file(&[
                ("dense", Some("first"), dense_vars(0.0)),
                ("dense_1", Some("other"), dense_vars(0.0)),
            ]),
        ),
        (
            "both claim layer `first`",
            weights_file(&[
                ("dense", Some("first"), dense_vars(0.0)),
                ("dense_1", Some("first"), dense_vars(0.0)),
            ]),
        ),
        (
            "matches no layer",
            weights_file(&[
                ("dense", None, dense_vars(0.0)),
                ("dense_1", None, dense_vars(0.0)),
                ("dense_2", None, dense_vars(0.0)),
            ]),
        ),
    ];
    for (needle, h5) in cases {
        match read_keras_bytes(&two_dense_archive(&h5)) {
            Err(Error::Hdf5(msg)) => assert!(msg.contains(needle), "want `{needle}`: {msg}"),
            other => panic!("want `{needle}`: {other:?}"),
        }
    }
}
