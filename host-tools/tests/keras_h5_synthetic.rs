//! Tests of the legacy `.h5` reader on small **synthetic** files built here with
//! `hdf5_pure::FileBuilder` in the tf.keras 2 layout (root `model_config`,
//! `model_weights/<layer>/<layer>/kernel:0`, `weight_names`): string encodings and layouts
//! Keras writes, and files with one defect each, which must be `Err` and never panic.
//! The real-file tests are in `keras_h5.rs`.

use std::collections::BTreeMap;

use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_bytes;
use ember_cli::Error;
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};

mod keras_h5_support;
use keras_h5_support::{weight_paths, without_dropout};

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
        "Functional model without input_layers",
        |n| {
            let v = json!({"class_name": "Functional", "config": {"name": "f", "layers": []}});
            n.attr("model_config", AttrValue::VarLenString(v.to_string()));
        },
        "config",
        "input_layers",
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
