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
//! Malformed inputs are truncations and byte flips of the real files, plus small
//! **synthetic** files built here with `hdf5_pure::FileBuilder` in the tf.keras 2 layout
//! (root `model_config`, `model_weights/<layer>/<layer>/kernel:0`, `weight_names`), each
//! with one defect; all must be `Err`, none may panic.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::OnceLock;

use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::{read_keras_bytes, read_keras_file, KerasModel};
use ember_cli::Error;
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};

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

fn weight_paths(model: &KerasModel, layer: usize) -> Vec<&str> {
    model.layers[layer]
        .weights
        .iter()
        .map(|w| w.path.as_str())
        .collect()
}

/// The layers Ember's converter takes: Dropout (identity at inference, no weights) is
/// dropped from both sides alike.
fn without_dropout(model: &KerasModel) -> KerasModel {
    let mut m = model.clone();
    m.layers.retain(|l| {
        let drop = l.class_name == "Dropout";
        assert!(!drop || l.weights.is_empty(), "Dropout has no weights");
        !drop
    });
    m
}

fn assert_same_blobs(h5: &KerasModel, keras: &KerasModel) {
    let (h5, keras) = (without_dropout(h5), without_dropout(keras));
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

// ---- synthetic files (tf.keras 2 layout, built here) ----------------------------------

/// A dataset to write.
#[derive(Clone)]
enum Data {
    F32(Vec<u64>, Vec<f32>),
    F64(Vec<u64>, Vec<f64>),
}

/// One group of the file being built.
#[derive(Clone, Default)]
struct Node {
    attrs: Vec<(String, AttrValue)>,
    datasets: Vec<(String, Data)>,
    groups: BTreeMap<String, Node>,
}

impl Node {
    fn attr(&mut self, name: &str, value: AttrValue) -> &mut Self {
        self.attrs.retain(|(n, _)| n != name);
        self.attrs.push((name.to_owned(), value));
        self
    }

    fn remove_attr(&mut self, name: &str) -> &mut Self {
        self.attrs.retain(|(n, _)| n != name);
        self
    }

    /// The group at `path` (`a/b`), created if needed.
    fn group(&mut self, path: &str) -> &mut Node {
        path.split('/').fold(self, |node, part| {
            node.groups.entry(part.to_owned()).or_default()
        })
    }

    /// Put `data` at `path` (`a/b/kernel:0`), replacing a dataset of that name.
    fn dataset(&mut self, path: &str, data: Data) -> &mut Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let node = if dir.is_empty() {
            &mut *self
        } else {
            self.group(dir)
        };
        node.datasets.retain(|(n, _)| n != name);
        node.datasets.push((name.to_owned(), data));
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut fb = FileBuilder::new();
        for (name, value) in &self.attrs {
            fb.set_attr(name, value.clone());
        }
        for (name, data) in &self.datasets {
            let ds = fb.create_dataset(name);
            match data {
                Data::F32(shape, v) => ds.with_f32_data(v).with_shape(shape),
                Data::F64(shape, v) => ds.with_f64_data(v).with_shape(shape),
            };
        }
        for (name, child) in &self.groups {
            let mut g = fb.create_group(name);
            child.fill(&mut g);
            fb.add_group(g.finish());
        }
        fb.finish().expect("hdf5 file builds")
    }

    fn fill(&self, g: &mut hdf5_pure::GroupBuilder) {
        for (name, value) in &self.attrs {
            g.set_attr(name, value.clone());
        }
        for (name, data) in &self.datasets {
            let ds = g.create_dataset(name);
            match data {
                Data::F32(shape, v) => ds.with_f32_data(v).with_shape(shape),
                Data::F64(shape, v) => ds.with_f64_data(v).with_shape(shape),
            };
        }
        for (name, child) in &self.groups {
            let mut sub = g.create_group(name);
            child.fill(&mut sub);
            g.add_group(sub.finish());
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn vlen(v: &[&str]) -> AttrValue {
    AttrValue::VarLenAsciiStringArray(strings(v))
}

/// `Dense(units)` config in the Keras-2 style.
fn dense_config(name: &str, units: u64, activation: &str) -> Value {
    json!({"class_name": "Dense", "config": {"name": name, "trainable": true,
        "dtype": "float32", "units": units, "activation": activation, "use_bias": true}})
}

fn model_config(layers: Vec<Value>) -> AttrValue {
    let v = json!({"class_name": "Sequential", "config": {"name": "syn", "layers": layers}});
    AttrValue::VarLenAsciiString(v.to_string())
}

/// A synthetic tf.keras 2 style file: Input(2) -> Dense(2, relu, "d1") ->
/// Dropout("drop") -> Dense(1, "d2"). Kernel values count up from 1, biases from 10.
fn synthetic() -> Node {
    let mut root = Node::default();
    let input = json!({"class_name": "InputLayer", "config": {"name": "in",
        "batch_input_shape": [null, 2], "dtype": "float32"}});
    let drop = json!({"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}});
    root.attr(
        "model_config",
        model_config(vec![
            input,
            dense_config("d1", 2, "relu"),
            drop,
            dense_config("d2", 1, "linear"),
        ]),
    )
    .attr("keras_version", AttrValue::VarLenString("2.21.0".into()))
    .attr("backend", AttrValue::VarLenString("tensorflow".into()));
    let mw = root.group("model_weights");
    mw.attr("layer_names", vlen(&["d1", "drop", "d2"]));
    mw.group("d1")
        .attr("weight_names", vlen(&["d1/kernel:0", "d1/bias:0"]))
        .dataset(
            "d1/kernel:0",
            Data::F32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]),
        )
        .dataset("d1/bias:0", Data::F32(vec![2], vec![10.0, 11.0]));
    mw.group("drop")
        .attr("weight_names", AttrValue::F64Array(vec![]));
    mw.group("d2")
        .attr("weight_names", vlen(&["d2/kernel:0", "d2/bias:0"]))
        .dataset("d2/kernel:0", Data::F32(vec![2, 1], vec![5.0, 6.0]))
        .dataset("d2/bias:0", Data::F32(vec![1], vec![12.0]));
    mw.group("top_level_model_weights")
        .attr("weight_names", AttrValue::F64Array(vec![]));
    root
}

#[test]
fn synthetic_tf_keras2_file_reads() {
    let model = read_keras_bytes(&synthetic().build()).expect("reads");
    assert_eq!(model.name, "syn");
    assert_eq!(model.keras_version.as_deref(), Some("2.21.0"));
    assert_eq!(model.input_shape, [None, Some(2)]);
    let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["d1", "drop", "d2"]);
    assert_eq!(
        weight_paths(&model, 0),
        ["model_weights/d1/d1/kernel:0", "model_weights/d1/d1/bias:0"]
    );
    assert_eq!(model.layers[0].weights[0].shape, [2, 2]);
    assert_eq!(model.layers[0].weights[0].data, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(model.layers[0].weights[1].data, [10.0, 11.0]);
    assert!(model.layers[1].weights.is_empty());
    assert_eq!(model.layers[2].weights[0].data, [5.0, 6.0]);
    assert_eq!(model.layers[2].weights[1].data, [12.0]);
    // The order comes from `weight_names`, not from the datasets' names.
    let mut swapped = synthetic();
    swapped
        .group("model_weights/d1")
        .attr("weight_names", vlen(&["d1/bias:0", "d1/kernel:0"]));
    let m = read_keras_bytes(&swapped.build()).expect("reads");
    assert_eq!(m.layers[0].weights[0].data, [10.0, 11.0]);
    assert_eq!(m.layers[0].weights[1].path, "model_weights/d1/d1/kernel:0");
}

#[test]
fn synthetic_string_encodings_and_layouts_read_alike() {
    let reference = read_keras_bytes(&synthetic().build()).expect("reads");
    let mut variants: Vec<(&str, Node)> = Vec::new();

    let mut fixed = synthetic();
    let config = match &fixed.attrs.iter().find(|(n, _)| n == "model_config") {
        Some((_, AttrValue::VarLenAsciiString(s))) => s.clone(),
        other => panic!("{other:?}"),
    };
    fixed.attr("model_config", AttrValue::AsciiString(config));
    fixed.group("model_weights").attr(
        "layer_names",
        AttrValue::AsciiStringArray(strings(&["d1", "drop", "d2"])),
    );
    for l in ["d1", "d2"] {
        let names = [format!("{l}/kernel:0"), format!("{l}/bias:0")];
        fixed
            .group(&format!("model_weights/{l}"))
            .attr("weight_names", AttrValue::StringArray(names.to_vec()));
    }
    variants.push(("fixed-length strings", fixed));

    let mut chunked = synthetic();
    chunked
        .group("model_weights")
        .remove_attr("layer_names")
        .attr("layer_names0", vlen(&["d1"]))
        .attr("layer_names1", vlen(&["drop", "d2"]));
    variants.push(("layer_names0, layer_names1", chunked));

    let mut no_weight_names = synthetic();
    no_weight_names
        .group("model_weights/drop")
        .remove_attr("weight_names");
    variants.push(("weightless layer without weight_names", no_weight_names));

    let mut unused = synthetic();
    unused
        .group("model_weights")
        .attr("layer_names", vlen(&["in", "d1", "drop", "d2"]))
        .group("in")
        .attr("weight_names", AttrValue::F64Array(vec![]));
    variants.push(("a weightless listed layer the config lacks", unused));

    for (what, node) in variants {
        let model = read_keras_bytes(&node.build()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(model, reference, "{what}");
    }
}

#[test]
fn synthetic_keras22_list_config_without_input_layer_reads() {
    // Keras <= 2.2.2: `config` is the bare layer list; the first layer carries
    // `batch_input_shape`, there is no InputLayer.
    let mut first = dense_config("d1", 2, "relu");
    first["config"]["batch_input_shape"] = json!([null, 2]);
    let drop = json!({"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}});
    let config = json!({"class_name": "Sequential",
        "config": [first, drop, dense_config("d2", 1, "linear")]});
    let mut node = synthetic();
    node.attr(
        "model_config",
        AttrValue::VarLenAsciiString(config.to_string()),
    );
    let model = read_keras_bytes(&node.build()).expect("reads");
    assert_eq!(model.name, "sequential");
    assert_eq!(model.input_shape, [None, Some(2)]);
    assert_eq!(model.layers.len(), 3);
    assert_eq!(model.layers[2].weights[0].data, [5.0, 6.0]);
}

/// Apply `edit` to the synthetic file and expect an error of `kind` mentioning `needle`.
fn expect_error(what: &str, edit: impl FnOnce(&mut Node), kind: &str, needle: &str) {
    let mut node = synthetic();
    edit(&mut node);
    let result = read_keras_bytes(&node.build());
    let (got_kind, msg) = match &result {
        Err(Error::Config(m)) => ("config", m),
        Err(Error::Hdf5(m)) => ("hdf5", m),
        Err(Error::Archive(m)) => ("archive", m),
        other => panic!("{what}: expected a {kind} error with `{needle}`, got {other:?}"),
    };
    assert_eq!(got_kind, kind, "{what}: {msg}");
    assert!(msg.contains(needle), "{what}: want `{needle}` in: {msg}");
}

#[test]
fn synthetic_malformed_files_are_errors() {
    expect_error(
        "no model_config",
        |n| {
            n.remove_attr("model_config");
        },
        "config",
        "no model architecture",
    );
    expect_error(
        "no model_weights group",
        |n| {
            n.groups.remove("model_weights");
        },
        "hdf5",
        "no `model_weights` group",
    );
    expect_error(
        "layer listed without group",
        |n| {
            n.group("model_weights")
                .attr("layer_names", vlen(&["d1", "drop", "ghost", "d2"]));
        },
        "hdf5",
        "has no group `model_weights/ghost`",
    );
    expect_error(
        "float64 kernel",
        |n| {
            n.group("model_weights/d1").dataset(
                "d1/kernel:0",
                Data::F64(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]),
            );
        },
        "hdf5",
        "only float32",
    );
    expect_error(
        "weight listed but absent",
        |n| {
            n.group("model_weights/d1")
                .attr("weight_names", vlen(&["d1/kernel:0", "d1/gamma:0"]));
        },
        "hdf5",
        "`model_weights/d1/d1/gamma:0` does not exist",
    );
    expect_error(
        "weight name is a group",
        |n| {
            n.group("model_weights/d1")
                .attr("weight_names", vlen(&["d1"]));
        },
        "hdf5",
        "does not exist",
    );
    expect_error(
        "weight name path through a missing group",
        |n| {
            n.group("model_weights/d1")
                .attr("weight_names", vlen(&["other/kernel:0"]));
        },
        "hdf5",
        "`model_weights/d1/other` does not exist",
    );
    expect_error(
        "empty weight name",
        |n| {
            n.group("model_weights/d1")
                .attr("weight_names", vlen(&["/"]));
        },
        "hdf5",
        "empty entry",
    );
    expect_error(
        "config layer not listed",
        |n| {
            n.group("model_weights")
                .attr("layer_names", vlen(&["d1", "drop"]));
        },
        "hdf5",
        "`d2` (Dense) of `model_config` is not listed",
    );
    expect_error(
        "weights no layer claims",
        |n| {
            let mw = n.group("model_weights");
            mw.attr("layer_names", vlen(&["d1", "drop", "d2", "d3"]));
            mw.group("d3")
                .attr("weight_names", vlen(&["d3/kernel:0"]))
                .dataset("d3/kernel:0", Data::F32(vec![1], vec![0.5]));
        },
        "hdf5",
        "`model_weights/d3` holds weights",
    );
    expect_error(
        "weighted layers in the wrong order",
        |n| {
            n.group("model_weights")
                .attr("layer_names", vlen(&["d2", "drop", "d1"]));
        },
        "hdf5",
        "lists `d2` before `d1`",
    );
    expect_error(
        "duplicate layer name",
        |n| {
            n.group("model_weights")
                .attr("layer_names", vlen(&["d1", "drop", "d2", "d1"]));
        },
        "hdf5",
        "twice",
    );
    expect_error(
        "no layer_names",
        |n| {
            n.group("model_weights").remove_attr("layer_names");
        },
        "hdf5",
        "no `layer_names`",
    );
    expect_error(
        "numeric layer_names",
        |n| {
            n.group("model_weights")
                .attr("layer_names", AttrValue::I32Array(vec![1, 2, 3]));
        },
        "hdf5",
        "expected a list of strings",
    );
    expect_error(
        "non-empty float weight_names",
        |n| {
            n.group("model_weights/drop")
                .attr("weight_names", AttrValue::F64Array(vec![0.0]));
        },
        "hdf5",
        "expected a list of strings",
    );
    expect_error(
        "model-level weights",
        |n| {
            n.group("model_weights/top_level_model_weights")
                .attr("weight_names", vlen(&["w:0"]))
                .dataset("w:0", Data::F32(vec![1], vec![1.0]));
        },
        "hdf5",
        "weights of the model itself",
    );
    expect_error(
        "model_config not JSON",
        |n| {
            n.attr("model_config", AttrValue::VarLenString("{not json".into()));
        },
        "config",
        "not valid JSON",
    );
    expect_error(
        "model_config not a string",
        |n| {
            n.attr("model_config", AttrValue::I32(7));
        },
        "config",
        "expected a JSON string",
    );
    expect_error(
        "Functional model",
        |n| {
            let v = json!({"class_name": "Functional", "config": {"name": "f", "layers": []}});
            n.attr("model_config", AttrValue::VarLenString(v.to_string()));
        },
        "config",
        "Functional",
    );
    expect_error(
        "keras_version not a string",
        |n| {
            n.attr("keras_version", AttrValue::F64(2.0));
        },
        "hdf5",
        "keras_version",
    );
}

#[test]
fn synthetic_wrong_shape_is_caught_by_the_converter() {
    // The reader returns what the file holds; the converter checks shapes against units.
    let mut node = synthetic();
    node.group("model_weights/d2")
        .dataset("d2/kernel:0", Data::F32(vec![3, 1], vec![5.0, 6.0, 7.0]));
    let model = read_keras_bytes(&node.build()).expect("reads");
    assert_eq!(model.layers[2].weights[0].shape, [3, 1]);
    let model = without_dropout(&model);
    match convert(&model, DTypeChoice::F32) {
        Err(Error::WeightShape { layer, index, .. }) => {
            assert_eq!((layer.as_str(), index), ("d2", 0))
        }
        other => panic!("{other:?}"),
    }
}
