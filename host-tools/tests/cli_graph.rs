//! Black-box tests of the `ember` binary on graph (functional) models: `convert` and
//! `inspect` print one row per layer call with Keras's "Connected to" column and the
//! functional planner's exact arena figures; `predict` takes one `--input` per model input
//! and writes one `<stem>_<j>.npy` per output; `train` refuses graphs by name.
//!
//! The model is `tests/fixtures/functional` (Keras 3): inputs `a`, `b` of 6 features;
//! `shared = Dense(12, relu)` called on both; `trunk = Dense(8, tanh)` on their
//! concatenation; `cls = Dense(3, softmax)` (output 0); the nested `head` Sequential
//! (`Dense(5, relu)`, `Dense(1)`) on their difference (output 1).

#[macro_use]
mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::*;
use ember_cli::predict::output_paths;
use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use ember_cli::train_spec::parse_optimizer;
use ember_nn::model::Functional;
use ember_nn::{Loss, TrainConfig, Trainable};
use npyz::WriterBuilder;
use serde_json::{json, Value};

/// Keras's `model.count_params()`: shared 6·12+12, trunk 24·8+8, cls 8·3+3, head_1
/// 12·5+5, head_2 5·1+1 (the shared layer's weights once).
const PARAMS: u64 = 12 * 6 + 12 + 24 * 8 + 8 + 8 * 3 + 3 + 12 * 5 + 5 + 5 + 1;

fn fx(file: &str) -> PathBuf {
    fixture("functional", file)
}

fn convert_functional(dir: &Scratch, fixed: bool) -> (PathBuf, String) {
    let blob = dir.path(if fixed {
        "siamese_q.emb"
    } else {
        "siamese.emb"
    });
    let dtype = if fixed { "fixed" } else { "f32" };
    let stdout = ok(&ember!(
        "convert",
        fx("model.keras"),
        "-o",
        blob,
        "--dtype",
        dtype
    ));
    (blob, stdout)
}

fn aligned(path: &Path) -> ember_cli::blob_file::AlignedBytes {
    ember_cli::blob_file::read(path).expect("blob reads")
}

/// What `MemoryArgs::train_config` builds for the CLI's defaults (`--train-batch 32
/// --optimizer adam --trainable saved`), or with `batch` and `optimizer`.
fn train_config(batch: usize, optimizer: &str) -> TrainConfig {
    TrainConfig {
        batch_size: batch,
        optimizer: parse_optimizer(optimizer).expect("optimizer name"),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::AsSaved,
    }
}

fn uo(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is an unsigned integer"))
}

/// Largest `|got − want|`, shapes equal.
fn worst_abs(got: &Tensor, want: &Tensor) -> f32 {
    assert_eq!(got.shape, want.shape, "shapes differ");
    got.data
        .iter()
        .zip(&want.data)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f32::max)
}

/// Runs `ember predict` on the two fixture inputs and returns `(out_0, out_1)`.
fn predict_two(dir: &Scratch, model: &Path, batch: usize, stem: &str) -> (Tensor, Tensor) {
    let out = dir.path(&format!("{stem}.npy"));
    let stderr = {
        let o = ember!(
            "predict",
            model,
            "--input",
            fx("x_a.npy"),
            "--input",
            fx("x_b.npy"),
            "--output",
            out,
            "--batch",
            batch.to_string()
        );
        ok(&o);
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(!out.exists(), "several outputs: no `{stem}.npy` itself");
    let (p0, p1) = (
        dir.path(&format!("{stem}_0.npy")),
        dir.path(&format!("{stem}_1.npy")),
    );
    assert!(
        stderr.contains(&format!("{} [16, 3]", p0.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} [16, 1]", p1.display())),
        "{stderr}"
    );
    (
        read_npy(&p0).expect("out_0 reads"),
        read_npy(&p1).expect("out_1 reads"),
    )
}

// ---------------------------------------------------------------------------------------
// convert / inspect
// ---------------------------------------------------------------------------------------

#[test]
fn convert_prints_one_row_per_call_with_connections() {
    let dir = Scratch::new("graph_convert");
    let (blob, stdout) = convert_functional(&dir, false);
    let bytes = std::fs::read(&blob).expect("blob written");
    assert!(bytes.starts_with(b"EMBR"));
    for needle in [
        "Model: \"siamese\"  (weights F32; functional: 2 inputs, 2 outputs, 8 layer calls)",
        "Connected to",
        " Inputs: input_0 (None, 6), input_1 (None, 6)\n",
        " Outputs: cls[0][0] (None, 3), head_2[0][0] (None, 1)\n",
        &format!(" Total params: {PARAMS}\n"),
        &format!("({} bytes)", bytes.len()),
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" (") && l.contains("(None"))
        .filter(|l| !l.starts_with(' '))
        .collect();
    let want = [
        ("shared (Dense)", "(None, 12)", 84, 72, "input_0"),
        ("shared (Dense) (shared)", "(None, 12)", 0, 72, "input_1"),
        (
            "concat (Concatenate)",
            "(None, 24)",
            0,
            0,
            "shared[0][0], shared[1][0]",
        ),
        ("trunk (Dense)", "(None, 8)", 200, 192, "concat[0][0]"),
        (
            "diff (Subtract)",
            "(None, 12)",
            0,
            0,
            "shared[0][0], shared[1][0]",
        ),
        ("cls (Dense)", "(None, 3)", 27, 24, "trunk[0][0]"),
        ("head_1 (Dense)", "(None, 5)", 65, 60, "diff[0][0]"),
        ("head_2 (Dense)", "(None, 1)", 6, 5, "head_1[0][0]"),
    ];
    assert_eq!(rows.len(), want.len(), "{stdout}");
    for (row, (name, shape, params, macs, conn)) in rows.iter().zip(want) {
        assert!(row.starts_with(name), "{row:?} should start with {name:?}");
        assert!(row.contains(shape), "{row:?}: {shape}");
        assert!(
            row.contains(&format!(" {params} ")) && row.contains(&format!(" {macs} ")),
            "{row:?}: params {params}, macs {macs}"
        );
        assert!(row.ends_with(&format!("   {conn}")), "{row:?}: {conn}");
    }
}

#[test]
fn inspect_json_has_graph_fields_and_exact_arena_bytes() {
    let dir = Scratch::new("graph_inspect_json");
    let (blob, _) = convert_functional(&dir, false);
    let bytes = aligned(&blob);
    let v = inspect_json(&blob, &[]);
    assert_eq!(v["name"], "siamese");
    assert_eq!(v["graph"], true);
    assert_eq!(v["input_shape"], json!([null, 6]));
    assert_eq!(
        v["inputs"],
        json!([
            {"name": "input_0", "shape": [null, 6]},
            {"name": "input_1", "shape": [null, 6]},
        ])
    );
    assert_eq!(
        v["outputs"],
        json!([
            {"name": "cls[0][0]", "shape": [null, 3]},
            {"name": "head_2[0][0]", "shape": [null, 1]},
        ])
    );
    assert_eq!(u(&v, "total_params"), PARAMS);
    let rows = v["layers"].as_array().expect("layers");
    assert_eq!(rows.len(), 8, "one row per layer call");
    let params: u64 = rows.iter().map(|r| uo(&r["params"])).sum();
    assert_eq!(params, PARAMS, "a shared layer's weights count once");
    let macs: u64 = rows.iter().map(|r| uo(&r["macs"])).sum();
    assert_eq!(macs, u(&v, "macs"));
    // Every call costs its MACs: Dense n·m per call (shared twice), merges none.
    assert_eq!(macs, 2 * 6 * 12 + 24 * 8 + 8 * 3 + 12 * 5 + 5);
    let shared: Vec<(&str, u64, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name"),
                uo(&r["call"]),
                r["shared"].as_bool().expect("shared"),
            )
        })
        .collect();
    assert_eq!(shared[0], ("shared", 0, false));
    assert_eq!(shared[1], ("shared", 1, true));
    assert!(shared[2..].iter().all(|&(_, c, s)| c == 0 && !s));
    assert_eq!(rows[1]["params"], 0);
    assert_eq!(rows[1]["trainable_params"], 0);
    assert_eq!(rows[4]["name"], "diff");
    assert_eq!(rows[4]["class"], "Subtract");
    assert_eq!(
        rows[4]["connected_to"],
        json!(["shared[0][0]", "shared[1][0]"])
    );
    assert_eq!(rows[7]["connected_to"], json!(["head_1[0][0]"]));

    // Arena figures are the functional planner's, exactly.
    let b = bytes.as_slice();
    for batch in [1usize, 7] {
        let v = inspect_json(&blob, &["--batch", &batch.to_string()]);
        let want = Functional::<f32>::inference_bytes(b, batch).expect("plans");
        assert_eq!(u(&v, "arena_inference_bytes"), want as u64, "batch {batch}");
        assert_eq!(u(&v, "inference_activations_bytes"), want as u64);
        // One 16-byte-aligned buffer per node output that is not written straight into
        // the caller's output: shared ×2 (12), concat (24), trunk (8), diff (12),
        // head_1 (5); cls and head_2 are the outputs.
        let unplanned: u64 = [12u64, 12, 24, 8, 12, 5]
            .iter()
            .map(|&f| (4 * f * batch as u64).div_ceil(16) * 16)
            .sum();
        assert_eq!(u(&v, "inference_unplanned_activation_bytes"), unplanned);
        assert!(want < unplanned as usize, "the planner reuses buffers");
    }
    let want =
        Functional::<f32>::training_bytes(b, &train_config(32, "adam")).expect("plans training");
    assert_eq!(u(&v, "arena_training_bytes"), want as u64);
    assert_eq!(
        breakdown(&v).iter().sum::<u64>(),
        want as u64,
        "the breakdown adds up"
    );
    let v16 = inspect_json(&blob, &["--train-batch", "16", "--optimizer", "sgd"]);
    let want = Functional::<f32>::training_bytes(b, &train_config(16, "sgd")).expect("plans");
    assert_eq!(u(&v16, "arena_training_bytes"), want as u64);
    assert_eq!(breakdown(&v16)[2], 0, "plain SGD has no optimizer state");

    // Inspecting the Keras file (converted in memory) gives the same summary.
    let from_keras = inspect_json(&fx("model.keras"), &[]);
    assert_eq!(from_keras, v);
}

#[test]
fn inspect_text_shows_the_planner_saving() {
    let dir = Scratch::new("graph_inspect_text");
    let (blob, _) = convert_functional(&dir, false);
    let v = inspect_json(&blob, &["--batch", "4"]);
    let text = ok(&ember!("inspect", blob, "--batch", "4"));
    let (planned, unplanned) = (
        u(&v, "inference_activations_bytes"),
        u(&v, "inference_unplanned_activation_bytes"),
    );
    let line = format!(
        "   = activations {planned} (one buffer per layer call: {unplanned}; the planner \
         reuses dead buffers and saves {})\n",
        unplanned - planned
    );
    assert!(text.contains(&line), "missing {line:?} in\n{text}");
    assert!(
        text.contains(&format!(
            " Arena, inference (batch 4): {} bytes\n",
            u(&v, "arena_inference_bytes")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("): {} bytes\n", u(&v, "arena_training_bytes"))),
        "{text}"
    );
}

#[test]
fn chains_keep_their_summary() {
    let dir = Scratch::new("graph_chain_summary");
    let blob = convert_digits(&dir, false);
    let v = inspect_json(&blob, &[]);
    assert_eq!(v["graph"], false);
    assert_eq!(v["inference_activations_bytes"], Value::Null);
    assert_eq!(v["inference_unplanned_activation_bytes"], Value::Null);
    assert_eq!(
        v["inputs"],
        json!([{"name": "input_0", "shape": [null, 64]}])
    );
    assert_eq!(
        v["outputs"],
        json!([{"name": "dense_1[0][0]", "shape": [null, 10]}])
    );
    let rows = v["layers"].as_array().expect("layers");
    assert_eq!(rows[0]["connected_to"], json!(["input_0"]));
    assert_eq!(rows[1]["connected_to"], json!(["dense_0[0][0]"]));
    assert!(rows.iter().all(|r| r["shared"] == false && r["call"] == 0));
    let text = ok(&ember!("inspect", blob));
    assert!(!text.contains("Connected to"), "{text}");
    assert!(!text.contains("Inputs:"), "{text}");
    assert!(
        text.starts_with("Model: \"digits_mlp\"  (weights F32)\n"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// predict
// ---------------------------------------------------------------------------------------

#[test]
fn predict_two_inputs_two_outputs_matches_keras() {
    let dir = Scratch::new("graph_predict");
    let (blob, _) = convert_functional(&dir, false);
    let (y_cls, y_dist) = (
        read_npy(&fx("y_cls.npy")).expect("y_cls"),
        read_npy(&fx("y_dist.npy")).expect("y_dist"),
    );
    let mut worst = 0f32;
    // Batches that divide 16, that do not (chunks with a remainder), and larger than N.
    for batch in [1usize, 5, 16, 100] {
        let (cls, dist) = predict_two(&dir, &blob, batch, &format!("out_b{batch}"));
        assert_close(&cls, &y_cls, 1e-5, 1e-6);
        assert_close(&dist, &y_dist, 1e-5, 1e-6);
        worst = worst.max(worst_abs(&cls, &y_cls).max(worst_abs(&dist, &y_dist)));
    }
    eprintln!("worst |ember - keras| over out_0/out_1: {worst:e}");
    assert!(worst <= 1e-5, "{worst}");
    // The Keras file itself (converted in memory) predicts the same.
    let (cls, dist) = predict_two(&dir, &fx("model.keras"), 3, "keras");
    let (cls_blob, dist_blob) = predict_two(&dir, &blob, 3, "blob");
    assert_eq!((cls, dist), (cls_blob, dist_blob));
}

#[test]
fn predict_fixed_point_graph() {
    let dir = Scratch::new("graph_predict_fixed");
    let (blob, stdout) = convert_functional(&dir, true);
    assert!(stdout.contains("(weights Q16_16; functional"), "{stdout}");
    let (cls, dist) = predict_two(&dir, &blob, 4, "q");
    let e_cls = worst_abs(&cls, &read_npy(&fx("y_cls.npy")).expect("y_cls"));
    let e_dist = worst_abs(&dist, &read_npy(&fx("y_dist.npy")).expect("y_dist"));
    eprintln!("Q16.16 worst |ember - keras|: cls {e_cls:e}, dist {e_dist:e}");
    // Q16.16 rounds to 2^-16 ≈ 1.5e-5 per weight, input and product; through 3–4 layers
    // of fan-in ≤ 24 with |weights| < 1 that stays within a few such steps (< 1e-4).
    assert!(e_cls < 1e-4 && e_dist < 1e-4, "cls {e_cls}, dist {e_dist}");
    assert!(
        e_cls > 0.0 || e_dist > 0.0,
        "fixed point differs from f32 somewhere"
    );
}

/// Writes `t` rounded to integers as an `<i8` (int64) `.npy`.
fn write_i64(path: &Path, t: &Tensor) {
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::<i64>::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut buf)
            .begin_nd()
            .expect("npy header");
        w.extend(t.data.iter().map(|&v| v.round() as i64))
            .expect("npy data");
        w.finish().expect("npy end");
    }
    std::fs::write(path, buf).expect("write int npy");
}

#[test]
fn integer_inputs_predict_like_floats() {
    let dir = Scratch::new("graph_predict_int");
    // Token ids into an Embedding chain, as int64: Keras's predictions.
    let ids = read_npy(&fixture("embedding", "flatten_x.npy")).expect("ids");
    let ids_i64 = dir.path("ids.npy");
    write_i64(&ids_i64, &ids);
    let y = cli_support::predict(&dir, &fixture("embedding", "flatten.keras"), &ids_i64, 4);
    assert_close(
        &y,
        &read_npy(&fixture("embedding", "flatten_y.npy")).expect("flatten_y"),
        1e-5,
        1e-6,
    );
    // Integer inputs of a graph: the same outputs as the same values in f32.
    let (blob, _) = convert_functional(&dir, false);
    let mut a = read_npy(&fx("x_a.npy")).expect("x_a");
    let mut b = read_npy(&fx("x_b.npy")).expect("x_b");
    for v in a.data.iter_mut().chain(b.data.iter_mut()) {
        *v = (*v * 3.0).round();
    }
    let (ai, bi, af, bf) = (
        dir.path("a_i.npy"),
        dir.path("b_i.npy"),
        dir.path("a_f.npy"),
        dir.path("b_f.npy"),
    );
    write_i64(&ai, &a);
    write_i64(&bi, &b);
    write_npy(&af, &a).expect("a_f");
    write_npy(&bf, &b).expect("b_f");
    let run = |x: &Path, y: &Path, stem: &str| {
        let out = dir.path(&format!("{stem}.npy"));
        ok(&ember!(
            "predict", blob, "--input", x, "--input", y, "--output", out
        ));
        (
            read_npy(&dir.path(&format!("{stem}_0.npy"))).expect("0"),
            read_npy(&dir.path(&format!("{stem}_1.npy"))).expect("1"),
        )
    };
    assert_eq!(run(&ai, &bi, "int"), run(&af, &bf, "float"));
}

#[test]
fn output_paths_name_each_output() {
    let p = Path::new("dir/y.npy");
    assert_eq!(output_paths(p, 1), vec![PathBuf::from("dir/y.npy")]);
    assert_eq!(
        output_paths(p, 3),
        ["dir/y_0.npy", "dir/y_1.npy", "dir/y_2.npy"].map(PathBuf::from)
    );
    assert_eq!(
        output_paths(Path::new("out"), 2),
        ["out_0.npy", "out_1.npy"].map(PathBuf::from)
    );
}

// ---------------------------------------------------------------------------------------
// errors: status 1, a message, no panic
// ---------------------------------------------------------------------------------------

#[test]
fn wrong_number_of_inputs_names_the_expected_shapes() {
    let dir = Scratch::new("graph_predict_count");
    let (blob, _) = convert_functional(&dir, false);
    let out = dir.path("y.npy");
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        fx("x_a.npy"),
        "--output",
        out
    ));
    assert!(
        err.contains("the model takes 2 inputs ((N, 6), (N, 6), in this order); 1 given"),
        "{err}"
    );
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        fx("x_a.npy"),
        "--input",
        fx("x_b.npy"),
        "--input",
        fx("x_b.npy"),
        "--output",
        out
    ));
    assert!(err.contains("3 given"), "{err}");
    // A chain takes exactly one.
    let chain = convert_digits(&dir, false);
    let x = fixture("digits_mlp", "x.npy");
    let err = fails(&ember!(
        "predict", chain, "--input", x, "--input", x, "--output", out
    ));
    assert!(
        err.contains("the model takes 1 input ((N, 64), in this order); 2 given"),
        "{err}"
    );
    assert!(!dir.path("y_0.npy").exists() && !out.exists());
}

#[test]
fn wrong_input_shapes_name_the_file() {
    let dir = Scratch::new("graph_predict_shape");
    let (blob, _) = convert_functional(&dir, false);
    let out = dir.path("y.npy");
    // Second input has 3 features.
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        fx("x_a.npy"),
        "--input",
        fx("y_cls.npy"),
        "--output",
        out
    ));
    assert!(
        err.contains(&fx("y_cls.npy").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("input 1 has shape [16, 3]; the model takes (N, 6)"),
        "{err}"
    );
    // Rank 1.
    let flat = dir.path("flat.npy");
    write_npy(
        &flat,
        &Tensor {
            shape: vec![6],
            data: vec![0.5; 6],
        },
    )
    .expect("flat");
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        flat,
        "--input",
        fx("x_b.npy"),
        "--output",
        out
    ));
    assert!(
        err.contains(&format!("{}: input 0 has shape [6]", flat.display())),
        "{err}"
    );
    // Different sample counts.
    let few = dir.path("few.npy");
    write_npy(
        &few,
        &Tensor {
            shape: vec![3, 6],
            data: vec![0.5; 18],
        },
    )
    .expect("few");
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        fx("x_a.npy"),
        "--input",
        few,
        "--output",
        out
    ));
    assert!(
        err.contains("input 1 has 3 samples but input 0 has 16"),
        "{err}"
    );
    // A zero batch is refused by the core.
    let err = fails(&ember!(
        "predict",
        blob,
        "--input",
        fx("x_a.npy"),
        "--input",
        fx("x_b.npy"),
        "--output",
        out,
        "--batch",
        "0"
    ));
    assert!(err.contains("batch"), "{err}");
    assert!(!dir.path("y_0.npy").exists());
}

#[test]
fn train_refuses_graph_models_with_several_inputs() {
    let dir = Scratch::new("graph_train");
    let (blob, _) = convert_functional(&dir, false);
    let out = dir.path("trained.emb");
    for model in [blob, fx("model.keras")] {
        let err = fails(&ember!(
            "train",
            model,
            "--x",
            fx("x_a.npy"),
            "--y",
            fx("t_cls.npy"),
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
            "--loss",
            "mse",
            "-o",
            out
        ));
        assert!(
            err.contains(
                "ember train takes graph models with 1 input and 1 output; this one has 2 \
                 input(s) and 2 output(s)"
            ),
            "{err}"
        );
        assert!(!out.exists());
    }
}

#[test]
fn time_distributed_calls_are_rows_of_their_own() {
    use ember_nn::blob::{write_graph, GraphSpec, LayerSpec, NodeDesc};
    use ember_nn::layers::{Dense, LayerConfig};
    use ember_nn::{Activation, Shape};

    // Input (3, 4); `TimeDistributed(Dense(2))` → (3, 2); the same Dense on a (4,) input
    // (a shared layer called once under TimeDistributed, once plainly); two outputs.
    let dense = LayerConfig::Dense(Dense {
        units: 2,
        activation: Activation::Linear,
        use_bias: true,
    });
    let (kernel, bias) = ([0.5f32; 8], [0.25f32; 2]);
    let params: [&[f32]; 2] = [&kernel, &bias];
    let layers = [LayerSpec::new("td", true, dense, &params)];
    let nodes = [
        NodeDesc::call(0, &[0]).expect("node").time_distributed(),
        NodeDesc::call(0, &[1]).expect("node"),
    ];
    let inputs = [
        Shape::new(&[3, 4]).expect("shape"),
        Shape::new(&[4]).expect("shape"),
    ];
    let graph = GraphSpec {
        inputs: &inputs,
        nodes: &nodes,
        outputs: &[2, 3],
    };
    let mut buf = vec![0u8; 4096];
    let len = write_graph("td_model", &graph, &layers, &mut buf).expect("writes");
    let dir = Scratch::new("graph_td");
    let blob = dir.write("td.emb", &buf[..len]);
    let v = inspect_json(&blob, &[]);
    let rows = v["layers"].as_array().expect("layers");
    assert_eq!(rows[0]["class"], "TimeDistributed(Dense)");
    assert_eq!(rows[0]["output_shape"], json!([null, 3, 2]));
    assert_eq!(
        rows[0]["macs"],
        3 * 4 * 2,
        "every step costs the Dense's MACs"
    );
    assert_eq!(rows[0]["params"], 10);
    assert_eq!(rows[1]["class"], "Dense");
    assert_eq!(
        (&rows[1]["shared"], &rows[1]["params"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(rows[1]["connected_to"], json!(["input_1"]));
    assert_eq!(u(&v, "macs"), 3 * 4 * 2 + 4 * 2);
    // Both outputs go straight to the caller: no activations at all.
    assert_eq!(u(&v, "arena_inference_bytes"), 0);
    assert_eq!(u(&v, "inference_unplanned_activation_bytes"), 0);

    // predict: (N, 3, 4) and (N, 4) in, (N, 3, 2) and (N, 2) out; every output is
    // 0.25 + 0.5·Σx.
    let a = dir.path("a.npy");
    let b = dir.path("b.npy");
    write_npy(
        &a,
        &Tensor {
            shape: vec![2, 3, 4],
            data: (0..24).map(|i| i as f32).collect(),
        },
    )
    .expect("a");
    write_npy(
        &b,
        &Tensor {
            shape: vec![2, 4],
            data: vec![1.0; 8],
        },
    )
    .expect("b");
    let out = dir.path("y");
    ok(&ember!(
        "predict", blob, "--input", a, "--input", b, "--output", out, "--batch", "2"
    ));
    let y0 = read_npy(&dir.path("y_0.npy")).expect("y_0");
    let y1 = read_npy(&dir.path("y_1.npy")).expect("y_1");
    assert_eq!(y0.shape, vec![2, 3, 2]);
    let step_sums = (0..6).map(|s| (4 * s..4 * s + 4).sum::<usize>() as f32);
    let want0: Vec<f32> = step_sums.flat_map(|s| [0.25 + 0.5 * s; 2]).collect();
    assert_eq!(y0.data, want0);
    assert_eq!(y1.shape, vec![2, 2]);
    assert_eq!(y1.data, vec![2.25; 4]);
}
