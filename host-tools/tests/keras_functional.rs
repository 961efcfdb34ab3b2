//! Tests of the Keras reader on `Functional` and nested models (`ember_cli::keras`).
//!
//! The files in `tests/data/functional_fixtures.zip` were written by Keras 3.15 (`.keras`
//! and `.h5`) and tf.keras 2.21 (`*_k2.h5`); `tests/data/functional_expected.json` holds,
//! per file, what Keras says the model is: inputs, leaf layers with weights (bit
//! patterns), how often each layer is called, and a batch of inputs with the model's
//! `predict` outputs. Both are written by `tests/data/make_functional_fixtures.py`.
//!
//! The parsed graph is checked structurally (topological order, call counts) and by
//! evaluating it here with a tiny reference interpreter (Dense, Add, Concatenate,
//! Activation, BatchNormalization) against Keras's outputs: a wrong wiring, a wrong node
//! numbering or weights given to the wrong layer changes the numbers. Malformed graphs and
//! files must be `Err`, never a panic.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::config::model_from_value;
use ember_cli::keras::{read_keras_bytes, KerasModel, TensorRef};
use ember_cli::predict::predict;
use ember_cli::tensor_file::Tensor;
use ember_cli::Error;
use serde_json::{json, Value};

mod functional_support;
use functional_support::{run, T};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The entries of a zip, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip opens");
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
fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start_file");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// One file of the fixture bundle.
fn fixture(name: &str) -> Vec<u8> {
    let bundle = std::fs::read(data_dir().join("functional_fixtures.zip")).expect("bundle");
    unzip(&bundle)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the bundle"))
        .1
}

fn expected_all() -> Value {
    let bytes = std::fs::read(data_dir().join("functional_expected.json")).expect("json");
    serde_json::from_slice(&bytes).expect("expected json parses")
}

// ---- real files against Keras ---------------------------------------------------------------

/// Compare the model read from `file` with its expected answer; return the worst output
/// error against Keras's `predict`.
fn check(file: &str, exp: &Value) -> f64 {
    let model = read_keras_bytes(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(model.class_name, exp["class_name"], "{file}");
    assert_eq!(model.name, exp["name"], "{file}");
    assert_eq!(
        model.keras_version.as_deref(),
        exp["keras_version"].as_str(),
        "{file}"
    );
    assert_eq!(
        model.graph.is_some(),
        exp["graph"],
        "{file}: graph presence"
    );

    // Inputs.
    let shape = |v: &Value| -> Vec<Option<usize>> {
        v.as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect()
    };
    let inputs = exp["inputs"].as_array().expect("inputs");
    assert_eq!(model.input_shape, shape(&inputs[0]["shape"]), "{file}");
    if let Some(g) = &model.graph {
        assert_eq!(g.inputs.len(), inputs.len(), "{file}: input count");
        for (got, want) in g.inputs.iter().zip(inputs) {
            assert_eq!(got.name, want["name"], "{file}: input name");
            assert_eq!(got.shape, shape(&want["shape"]), "{file}: input shape");
        }
    }

    // Leaf layers and their weights, bit for bit.
    let layers = exp["layers"].as_array().expect("layers");
    let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
    let want_names: Vec<&str> = layers.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, want_names, "{file}: leaf layers");
    for (got, want) in model.layers.iter().zip(layers) {
        let ctx = format!("{file}: {}", got.name);
        assert_eq!(got.class_name, want["class_name"], "{ctx}");
        assert_eq!(got.trainable, want["trainable"], "{ctx}: trainable");
        let weights = want["weights"].as_array().expect("weights");
        assert_eq!(got.weights.len(), weights.len(), "{ctx}: weight count");
        for (w, ew) in got.weights.iter().zip(weights) {
            let shape: Vec<usize> = ew["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(w.shape, shape, "{ctx}: {}", w.path);
            let bits: Vec<u32> = ew["bits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u32)
                .collect();
            let got_bits: Vec<u32> = w.data.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got_bits, bits, "{ctx}: {} values", w.path);
        }
    }

    // Calls per layer, topological order, valid references.
    let mut calls: HashMap<&str, u64> = HashMap::new();
    match &model.graph {
        None => {
            for l in &model.layers {
                *calls.entry(l.name.as_str()).or_default() += 1;
            }
        }
        Some(g) => {
            for (i, node) in g.nodes.iter().enumerate() {
                let layer = model.layers.get(node.layer).expect("node layer in range");
                *calls.entry(layer.name.as_str()).or_default() += 1;
                assert!(!node.inputs.is_empty(), "{file}: node {i} has no input");
                for r in &node.inputs {
                    match *r {
                        TensorRef::Input(k) => assert!(k < g.inputs.len(), "{file}: node {i}"),
                        TensorRef::Node(j) | TensorRef::Output(j, _) => {
                            assert!(j < i, "{file}: node {i} not topological")
                        }
                    }
                }
            }
            for r in &g.outputs {
                match *r {
                    TensorRef::Input(k) => assert!(k < g.inputs.len()),
                    TensorRef::Node(j) | TensorRef::Output(j, _) => assert!(j < g.nodes.len()),
                }
            }
        }
    }
    let want_calls: HashMap<&str, u64> = exp["calls"]
        .as_object()
        .expect("calls")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(calls, want_calls, "{file}: calls per layer");

    // Numbers: the parsed graph computes what Keras computed.
    let xs: Vec<T> = exp["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(T::from_json)
        .collect();
    let ys: Vec<T> = exp["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(T::from_json)
        .collect();
    let got = run(&model, &xs);
    assert_eq!(got.len(), ys.len(), "{file}: output count");
    let mut worst = 0.0f64;
    for (k, (g, y)) in got.iter().zip(&ys).enumerate() {
        assert_eq!(
            (g.rows, g.cols),
            (y.rows, y.cols),
            "{file}: output {k} shape"
        );
        for (a, b) in g.data.iter().zip(&y.data) {
            let err = (a - b).abs() / b.abs().max(1.0);
            worst = worst.max(err);
            assert!(err <= 1e-5, "{file}: output {k}: {a} vs Keras {b}");
        }
    }
    worst
}

#[test]
fn every_fixture_matches_keras() {
    let all = expected_all();
    let all = all.as_object().expect("object");
    assert_eq!(all.len(), 14, "fixture count");
    let mut worst = 0.0f64;
    for (file, exp) in all {
        worst = worst.max(check(file, exp));
    }
    eprintln!("worst relative output error over all fixtures: {worst:e}");
}

#[test]
fn two_input_graph_structure() {
    // fn_two_in: shared(in_a), shared(in_b), add, cat, act, head1, head2 in Keras's order.
    for file in ["fn_two_in.keras", "fn_two_in.h5", "fn_two_in_k2.h5"] {
        let m = read_keras_bytes(&fixture(file)).expect(file);
        let g = m.graph.as_ref().expect("graph");
        let layer = |i: usize| m.layers[g.nodes[i].layer].name.as_str();
        let order: Vec<&str> = (0..g.nodes.len()).map(layer).collect();
        assert_eq!(
            order,
            ["shared", "shared", "add", "cat", "act", "head1", "head2"],
            "{file}"
        );
        use TensorRef::{Input, Node};
        let inputs: Vec<&[TensorRef]> = g.nodes.iter().map(|n| n.inputs.as_slice()).collect();
        assert_eq!(
            inputs,
            [
                &[Input(0)][..],
                &[Input(1)],
                &[Node(0), Node(1)],
                &[Node(0), Node(2)],
                &[Node(1)],
                &[Node(3)],
                &[Node(4)],
            ],
            "{file}"
        );
        assert_eq!(g.outputs, [Node(5), Node(6)], "{file}");
    }
}

#[test]
fn nested_model_output_numbering() {
    // Output 1 of fn_nested is inner_f's second call, used directly: Keras 3 writes it as
    // ["inner_f", 2, 0] in output_layers, tf.keras 2 too (both count the build node).
    for file in ["fn_nested.keras", "fn_nested.h5", "fn_nested_k2.h5"] {
        let m = read_keras_bytes(&fixture(file)).expect(file);
        let g = m.graph.as_ref().expect("graph");
        let TensorRef::Node(last) = g.outputs[1] else {
            panic!("{file}: output 1 is an input")
        };
        assert_eq!(m.layers[g.nodes[last].layer].name, "f_cat", "{file}");
        // The second inner_f call reads the first inner_seq call (node 1: s_d2).
        let cats: Vec<usize> = (0..g.nodes.len())
            .filter(|&i| m.layers[g.nodes[i].layer].name == "f_cat")
            .collect();
        assert_eq!(cats.len(), 2, "{file}");
        assert_eq!(g.nodes[cats[1]].inputs[1], TensorRef::Node(1), "{file}");
    }
}

// ---- errors ---------------------------------------------------------------------------------

/// `file` (a `.keras` fixture) with its config.json edited by `edit`.
fn keras_with_config(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut entries = unzip(&fixture(file));
    let (_, data) = entries
        .iter_mut()
        .find(|(name, _)| name == "config.json")
        .expect("config.json");
    let mut v: Value = serde_json::from_slice(data).expect("config json");
    edit(&mut v);
    *data = serde_json::to_vec(&v).expect("serialises");
    zip_of(&entries)
}

fn expect_config_error(what: &str, result: Result<KerasModel, Error>, needle: &str) {
    match result {
        Err(Error::Config(msg)) => assert!(msg.contains(needle), "{what}: {msg}"),
        other => panic!("{what}: expected a Config error with `{needle}`, got {other:?}"),
    }
}

/// The first argument tensor's `keras_history` of call `call` of layer `layer`.
fn history(v: &mut Value, layer: usize, call: usize, arg: usize) -> &mut Value {
    let args = &mut v["config"]["layers"][layer]["inbound_nodes"][call]["args"][0];
    let tensor = if args.is_array() {
        &mut args[arg]
    } else {
        args
    };
    &mut tensor["config"]["keras_history"]
}

#[test]
fn malformed_graphs_are_config_errors() {
    // fn_two_in layers: 0 in_a, 1 in_b, 2 shared, 3 add, 4 cat, 5 act, 6 head1, 7 head2.
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "keras_history with two parts",
            Box::new(|v| *history(v, 3, 0, 0) = json!(["shared", 0])),
            "tensor reference",
        ),
        (
            "keras_history with a negative node",
            Box::new(|v| *history(v, 3, 0, 0) = json!(["shared", -1, 0])),
            "tensor reference",
        ),
        (
            "unknown layer",
            Box::new(|v| *history(v, 3, 0, 0) = json!(["nope", 0, 0])),
            "`nope`",
        ),
        (
            "call that does not exist",
            Box::new(|v| *history(v, 3, 0, 0) = json!(["shared", 2, 0])),
            "call #2",
        ),
        (
            "second output of a leaf layer",
            Box::new(|v| *history(v, 3, 0, 0) = json!(["shared", 0, 1])),
            "several outputs",
        ),
        (
            "cycle add <-> cat",
            Box::new(|v| *history(v, 3, 0, 1) = json!(["cat", 0, 0])),
            "cycle",
        ),
        (
            "self loop",
            Box::new(|v| *history(v, 5, 0, 0) = json!(["act", 0, 0])),
            "cycle",
        ),
        (
            "training=True",
            Box::new(|v| {
                v["config"]["layers"][2]["inbound_nodes"][0]["kwargs"] = json!({"training": true})
            }),
            "`training`",
        ),
        (
            "unknown kwarg",
            Box::new(|v| {
                v["config"]["layers"][2]["inbound_nodes"][0]["kwargs"] = json!({"scale": 2.0})
            }),
            "`scale`",
        ),
        (
            "non-tensor argument",
            Box::new(|v| v["config"]["layers"][5]["inbound_nodes"][0]["args"] = json!([3.5])),
            "not a tensor",
        ),
        (
            "mixed dialects",
            Box::new(|v| {
                v["config"]["layers"][5]["inbound_nodes"] = json!([[["shared", 1, 0, {}]]])
            }),
            "mixed",
        ),
        (
            "unknown output layer",
            Box::new(|v| v["config"]["output_layers"][0] = json!(["ghost", 0, 0])),
            "`ghost`",
        ),
        (
            "input_layers naming a Dense",
            Box::new(|v| v["config"]["input_layers"][0] = json!(["shared", 0, 0])),
            "InputLayer",
        ),
        (
            "InputLayer used but not an input",
            Box::new(|v| {
                v["config"]["input_layers"] = json!([["in_a", 0, 0]]);
            }),
            "not listed in `input_layers`",
        ),
        (
            "InputLayer called",
            Box::new(|v| {
                v["config"]["layers"][0]["inbound_nodes"] =
                    v["config"]["layers"][5]["inbound_nodes"].clone()
            }),
            "called like a layer",
        ),
        (
            "no output_layers",
            Box::new(|v| {
                v["config"].as_object_mut().unwrap().remove("output_layers");
            }),
            "output_layers",
        ),
        (
            "inbound_nodes not a list",
            Box::new(|v| v["config"]["layers"][3]["inbound_nodes"] = json!("add")),
            "inbound_nodes",
        ),
    ];
    for (what, edit, needle) in cases {
        let bytes = keras_with_config("fn_two_in.keras", edit);
        expect_config_error(what, read_keras_bytes(&bytes), needle);
    }
}

#[test]
fn malformed_nested_models_are_config_errors() {
    // fn_nested layers: 0 x, 1 inner_seq, 2 inner_f, 3 out.
    let two_args = keras_with_config("fn_nested.keras", |v| {
        let t = v["config"]["layers"][1]["inbound_nodes"][0]["args"][0].clone();
        v["config"]["layers"][1]["inbound_nodes"][0]["args"] = json!([[t.clone(), t]]);
    });
    expect_config_error(
        "Sequential called on two tensors",
        read_keras_bytes(&two_args),
        "exactly one",
    );
    let dup = keras_with_config("fn_nested.keras", |v| {
        let f_d = &mut v["config"]["layers"][2]["config"]["layers"][1];
        f_d["name"] = json!("s_d1");
        f_d["config"]["name"] = json!("s_d1");
        let cat = &mut v["config"]["layers"][2]["config"]["layers"];
        for layer in cat.as_array_mut().unwrap() {
            let text = layer.to_string().replace("\"f_d\"", "\"s_d1\"");
            *layer = serde_json::from_str(&text).unwrap();
        }
    });
    expect_config_error(
        "one leaf name in two nested models",
        read_keras_bytes(&dup),
        "different nested models",
    );
    // Keras 3 numbers a nested Functional's calls from 1 in output_layers: 0 is no call.
    let zero = keras_with_config("fn_nested.keras", |v| {
        v["config"]["output_layers"][1] = json!(["inner_f", 0, 0]);
    });
    expect_config_error("output [inner_f, 0, 0]", read_keras_bytes(&zero), "call #0");
    let third = keras_with_config("fn_nested.keras", |v| {
        v["config"]["output_layers"][1] = json!(["inner_f", 3, 0]);
    });
    expect_config_error(
        "output [inner_f, 3, 0]",
        read_keras_bytes(&third),
        "call #3",
    );
    let second_output = keras_with_config("fn_nested.keras", |v| {
        v["config"]["output_layers"][1] = json!(["inner_f", 2, 1]);
    });
    expect_config_error(
        "second output of a one-output nested model",
        read_keras_bytes(&second_output),
        "output #1 of nested model",
    );
}

/// A tf.keras 2 style config: x -> nested Functional `inner` (Dense `d`) -> Dense `out`,
/// with `out` reading `["inner", node, 0]`.
fn legacy_nested(node: u64) -> Value {
    json!({"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x",
         "config": {"name": "x", "batch_input_shape": [null, 2]}, "inbound_nodes": []},
        {"class_name": "Functional", "name": "inner", "config": {"name": "inner", "layers": [
            {"class_name": "InputLayer", "name": "i",
             "config": {"name": "i", "batch_input_shape": [null, 2]}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2},
             "inbound_nodes": [[["i", 0, 0, {}]]]}
         ], "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]]},
         "inbound_nodes": [[["x", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1},
         "inbound_nodes": [[["inner", node, 0, {}]]]}
    ], "input_layers": [["x", 0, 0]], "output_layers": [["out", 0, 0]]}})
}

#[test]
fn legacy_nested_node_numbering() {
    // tf.keras 2 counts a nested model's calls from 1 (its build node is skipped).
    let m = model_from_value(&legacy_nested(1)).expect("reads");
    let g = m.graph.expect("graph");
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.nodes[1].inputs, [TensorRef::Node(0)]);
    match model_from_value(&legacy_nested(0)) {
        Err(Error::Config(msg)) => assert!(msg.contains("call #0"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // A tf.keras 2 nested Sequential without an InputLayer counts from 0.
    let mut v = legacy_nested(0);
    v["config"]["layers"][1] = json!({"class_name": "Sequential", "name": "inner",
        "config": {"name": "inner", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2}}]},
        "inbound_nodes": [[["x", 0, 0, {}]]]});
    assert!(model_from_value(&v).is_ok());
}

#[test]
fn multi_output_nested_models() {
    // A nested Functional with two outputs: fine in a Functional (picked by tensor
    // index), refused inside a Sequential.
    let inner = json!({"class_name": "Functional", "config": {"name": "two", "layers": [
        {"class_name": "InputLayer", "name": "i",
         "config": {"name": "i", "batch_shape": [null, 2]}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "a", "config": {"name": "a"},
         "inbound_nodes": [[["i", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "b", "config": {"name": "b"},
         "inbound_nodes": [[["i", 0, 0, {}]]]}
    ], "input_layers": [["i", 0, 0]], "output_layers": [["a", 0, 0], ["b", 0, 0]]}});
    let seq = json!({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": [null, 2]}},
        inner.clone()
    ]}});
    match model_from_value(&seq) {
        Err(Error::Config(msg)) => assert!(msg.contains("2 outputs"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let mut called = inner.clone();
    called["name"] = json!("two");
    called["inbound_nodes"] = json!([[["x", 0, 0, {}]]]);
    let outer = json!({"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x",
         "config": {"name": "x", "batch_shape": [null, 2]}, "inbound_nodes": []},
        called
    ], "input_layers": [["x", 0, 0]], "output_layers": [["two", 1, 1], ["two", 1, 0]]}});
    let m = model_from_value(&outer).expect("reads");
    let g = m.graph.expect("graph");
    assert_eq!(g.outputs, [TensorRef::Node(1), TensorRef::Node(0)]);
}

#[test]
fn defective_files_are_errors() {
    match read_keras_bytes(&fixture("bad_nested_weight_k2.h5")) {
        Err(Error::Hdf5(msg)) => assert!(msg.contains("s_d1/kernel:0"), "{msg}"),
        other => panic!("{other:?}"),
    }
    match read_keras_bytes(&fixture("missing_weights.h5")) {
        Err(Error::Hdf5(msg)) => assert!(msg.contains("`head1`"), "{msg}"),
        other => panic!("{other:?}"),
    }
    match read_keras_bytes(&fixture("missing_weights.keras")) {
        Err(Error::Hdf5(msg)) => assert!(msg.contains("`head1`"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_and_mangled_configs_never_panic() {
    for file in ["fn_nested.keras", "fn_two_in.keras"] {
        let entries = unzip(&fixture(file));
        let config = &entries.iter().find(|(n, _)| n == "config.json").unwrap().1;
        let text = String::from_utf8(config.clone()).unwrap();
        // Truncations.
        for cut in (0..config.len()).step_by(97) {
            let mut e = entries.clone();
            for (n, d) in &mut e {
                if n == "config.json" {
                    d.truncate(cut);
                }
            }
            assert!(
                read_keras_bytes(&zip_of(&e)).is_err(),
                "{file} cut at {cut}"
            );
        }
        // Every integer in the config bumped by one, one at a time: Err or Ok, no panic.
        let digits: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| c.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
        for &i in digits.iter().step_by(3) {
            let mut t = text.clone().into_bytes();
            t[i] = if t[i] == b'9' { b'0' } else { t[i] + 1 };
            let mut e = entries.clone();
            for (n, d) in &mut e {
                if n == "config.json" {
                    *d = t.clone();
                }
            }
            let _ = read_keras_bytes(&zip_of(&e));
        }
    }
}

#[test]
fn nested_sequential_converts_and_predicts_like_keras() {
    // A Sequential holding a nested Sequential reads as a plain chain (graph None), which
    // the converter takes as it is; the blob predicts Keras's outputs.
    let all = expected_all();
    for file in ["seq_nested.keras", "seq_nested.h5"] {
        let exp = &all[file];
        let model = read_keras_bytes(&fixture(file)).expect(file);
        assert!(model.graph.is_none(), "{file}");
        let blob = convert(&model, DTypeChoice::F32).unwrap_or_else(|e| panic!("{file}: {e}"));
        let x = T::from_json(&exp["x"][0]);
        let y = T::from_json(&exp["y"][0]);
        let input = Tensor {
            shape: vec![x.rows, x.cols],
            data: x.data.iter().map(|&v| v as f32).collect(),
        };
        let out = predict(blob.as_slice(), &input, 3).expect("predicts");
        assert_eq!(out.shape, [y.rows, y.cols], "{file}");
        for (a, b) in out.data.iter().zip(&y.data) {
            let err = (f64::from(*a) - b).abs() / b.abs().max(1.0);
            assert!(err <= 1e-5, "{file}: {a} vs Keras {b}");
        }
    }
}

/// Every fixture (all three dialects) converts to a blob whose graph runs in the core's
/// `Functional` runtime with Keras's `predict` outputs.
#[test]
fn every_fixture_converts_and_runs_like_keras() {
    use ember_nn::model::Functional;
    let all = expected_all();
    let mut worst = 0.0f64;
    for (file, exp) in all.as_object().expect("object") {
        let model = read_keras_bytes(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let blob = convert(&model, DTypeChoice::F32).unwrap_or_else(|e| panic!("{file}: {e}"));
        let xs: Vec<T> = exp["x"]
            .as_array()
            .unwrap()
            .iter()
            .map(T::from_json)
            .collect();
        let ys: Vec<T> = exp["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(T::from_json)
            .collect();
        let n = xs[0].rows;
        let bytes = Functional::<f32>::inference_bytes(blob.as_slice(), n).unwrap();
        let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(bytes);
        let mut f = Functional::<f32>::new(blob.as_slice(), arena.as_mut_slice(), n)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let inputs: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| x.data.iter().map(|&v| v as f32).collect())
            .collect();
        let input_refs: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
        let mut outs: Vec<Vec<f32>> = ys.iter().map(|y| vec![0.0; y.data.len()]).collect();
        let mut out_refs: Vec<&mut [f32]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
        f.predict(&input_refs, &mut out_refs)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for (k, (got, want)) in outs.iter().zip(&ys).enumerate() {
            for (a, b) in got.iter().zip(&want.data) {
                let err = (f64::from(*a) - b).abs() / b.abs().max(1e-3);
                assert!(err < 1e-5, "{file} output {k}: {a} vs {b}");
                worst = worst.max(err);
            }
        }
    }
    eprintln!("converted graphs vs Keras, worst relative error: {worst:e}");
}
