//! Recurrent layers inside models, against Keras 3 (`tests/fixtures/recurrent_models`,
//! written by its `generate.py`): three Sequentials (`Embedding(mask_zero) → LSTM →
//! Dense(softmax)`, `GRU(return_sequences) → SimpleRNN → Dense`, `Embedding(mask_zero) →
//! Bidirectional(GRU) → Dense(sigmoid)`) converted from `.keras`, and a functional model
//! whose LSTM takes its initial states from two Dense layers on a second input (written
//! with `blob::write_graph` from the Keras weights, and converted from tf_keras 2's `.h5`;
//! the Keras 3 `.keras` file's `initial_state=` call keyword is refused by the reader
//! today): predictions, and three SGD(0.1) `train_on_batch` steps (losses and every weight
//! after the last step) with `Sequential::for_training` / `Functional::for_training`.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_nn::model::{Functional, Graph};
use ember_nn::{Loss, Optimizer, Sequential, Sgd, TrainConfig, Trainable};
use ember_tests::{assert_close, fixture, npy, train_f32, worst_rel, worst_summary};
use serde_json::Value;

const DIR: &str = "recurrent_models";
/// Relative tolerance against Keras (and an absolute floor for values near zero).
const RTOL: f32 = 1e-5;
const ATOL: f32 = 1e-6;

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture(DIR, "cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

fn blob(name: &str) -> AlignedBytes {
    let k = read_keras_file(&fixture(DIR, &format!("{name}.keras"))).unwrap();
    convert(&k, DTypeChoice::F32).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn config(case: &Value) -> TrainConfig {
    let loss = case["loss"].as_str().unwrap();
    TrainConfig {
        batch_size: case["batch_size"].as_u64().unwrap() as usize,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: case["optimizer"]["learning_rate"].as_f64().unwrap() as f32,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::from_keras_name(loss).unwrap(),
        trainable: Trainable::All,
    }
}

/// Worst relative error seen by a test, for the log (`|e| ≥ 1e-3`).
fn track(worst: &mut f32, what: &str, got: &[f32], want: &[f32]) {
    println!("{what}: {}", worst_summary(got, want));
    *worst = worst.max(worst_rel(got, want, 1e-3));
    assert_close(what, got, want, RTOL, ATOL);
}

#[test]
fn sequential_models_predict_and_train_like_keras() {
    let mut worst = 0.0f32;
    let mut seen = Vec::new();
    for case in cases().iter().filter(|c| c["inputs"] == 1) {
        let name = case["name"].as_str().unwrap();
        seen.push(name.to_string());
        let b = blob(name);
        let g = Graph::<f32>::parse(b.as_slice()).unwrap();
        assert!(g.is_chain(), "{name}");
        // Predictions.
        let x = npy(DIR, &format!("{name}_x0.npy"));
        let want = npy(DIR, &format!("{name}_y.npy")).data;
        let batch = x.shape[0];
        let mut arena =
            AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(b.as_slice(), batch).unwrap());
        let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), batch).unwrap();
        assert!(
            m.memory_plan().scratch_bytes > 0,
            "{name}: recurrent scratch"
        );
        let mut y = vec![0.0f32; want.len()];
        m.predict(&x.data, &mut y).unwrap();
        track(&mut worst, &format!("{name} predict"), &y, &want);
        // Three SGD steps.
        let cfg = config(case);
        let steps = case["steps"].as_u64().unwrap() as usize;
        let xs = npy(DIR, &format!("{name}_train_x0.npy")).data;
        let ys = npy(DIR, &format!("{name}_train_y.npy")).data;
        let t = train_f32(b.as_slice(), cfg, steps, &xs, &ys);
        let want = npy(DIR, &format!("{name}_train_losses.npy")).data;
        track(&mut worst, &format!("{name} losses"), &t.losses, &want);
        let paths = case["weight_paths"].as_array().unwrap();
        let mut i = 0;
        for w in t.params.iter().flatten() {
            let before = npy(DIR, &format!("{name}_w{i}.npy")).data;
            assert_ne!(w, &before, "{name} {}: trained", paths[i]);
            let want = npy(DIR, &format!("{name}_train_w{i}.npy")).data;
            track(&mut worst, &format!("{name} {}", paths[i]), w, &want);
            i += 1;
        }
        assert_eq!(i, paths.len(), "{name}: every Keras weight");
    }
    assert_eq!(seen, ["lstm_classifier", "gru_stack", "bigru"]);
    println!("worst relative error (|e| >= 1e-3) over the Sequential models: {worst:.2e}");
}

/// The functional model `lstm_init_state` (inputs `seq` (6, 3), `ctx` (2,); `h0 =
/// Dense(4, tanh)(ctx)`, `c0 = Dense(4)(ctx)`, `LSTM(4)(seq, initial_state=[h0, c0])`,
/// `Dense(2)`) written with `ember_nn::blob::write_graph` from the Keras file's initial
/// weights (`lstm_init_state_w<i>.npy`): the runtime's side of the model, independent of
/// the converter (see `functional_lstm_with_initial_states_converts`).
fn init_state_graph() -> AlignedBytes {
    use ember_nn::blob::{encoded_len_graph, write_graph, GraphSpec, LayerSpec, NodeDesc};
    use ember_nn::layers::{Dense, LayerConfig, LSTM};
    use ember_nn::{Activation, Shape};
    let w: Vec<Vec<f32>> = (0..9)
        .map(|i| npy(DIR, &format!("lstm_init_state_w{i}.npy")).data)
        .collect();
    let dense = |units, activation| {
        LayerConfig::Dense(Dense {
            units,
            activation,
            use_bias: true,
        })
    };
    let (ph0, pc0): ([&[f32]; 2], [&[f32]; 2]) = ([&w[0], &w[1]], [&w[2], &w[3]]);
    let plstm: [&[f32]; 3] = [&w[4], &w[5], &w[6]];
    let pdense: [&[f32]; 2] = [&w[7], &w[8]];
    let layers = [
        LayerSpec::new("h0", true, dense(4, Activation::Tanh), &ph0),
        LayerSpec::new("c0", true, dense(4, Activation::Linear), &pc0),
        LayerSpec::new("lstm", true, LayerConfig::LSTM(LSTM::new(4)), &plstm),
        LayerSpec::new("dense", true, dense(2, Activation::Linear), &pdense),
    ];
    // Tensors: 0 = seq, 1 = ctx, 2 = h0, 3 = c0, 4 = lstm, 5 = dense.
    let nodes = [
        NodeDesc::call(0, &[1]).unwrap(),
        NodeDesc::call(1, &[1]).unwrap(),
        NodeDesc::call(2, &[0, 2, 3]).unwrap(),
        NodeDesc::call(3, &[4]).unwrap(),
    ];
    let graph = GraphSpec {
        inputs: &[Shape::new(&[6, 3]).unwrap(), Shape::new(&[2]).unwrap()],
        nodes: &nodes,
        outputs: &[5],
    };
    let len = encoded_len_graph("lstm_init_state", &graph, &layers).unwrap();
    let mut b = AlignedBytes::zeroed(len);
    write_graph("lstm_init_state", &graph, &layers, b.as_mut_slice()).unwrap();
    b
}

/// Predictions (against `want_y`), three SGD steps and the weights after them of the
/// `lstm_init_state` graph in `blob`, against Keras; returns the worst relative error.
fn check_init_state_model(blob: &[u8], want_y: &str) -> f32 {
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "lstm_init_state")
        .unwrap();
    let name = "lstm_init_state";
    let g = Graph::<f32>::parse(blob).unwrap();
    assert!(!g.is_chain());
    assert_eq!(g.inputs().len(), 2);
    let lstm_node = g
        .nodes()
        .iter()
        .find(|n| g.layers()[n.layer].name == "lstm")
        .unwrap();
    assert_eq!(lstm_node.inputs.len(), 3, "sequence, h0, c0");
    let mut worst = 0.0f32;
    // Predictions.
    let x0 = npy(DIR, &format!("{name}_x0.npy"));
    let x1 = npy(DIR, &format!("{name}_x1.npy")).data;
    let want = npy(DIR, want_y).data;
    let batch = x0.shape[0];
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::inference_bytes(blob, batch).unwrap());
    let mut f = Functional::<f32>::new(blob, arena.as_mut_slice(), batch).unwrap();
    assert!(f.memory_plan().scratch_bytes > 0);
    let mut y = vec![0.0f32; want.len()];
    f.predict(&[&x0.data, &x1], &mut [&mut y]).unwrap();
    track(&mut worst, "predict", &y, &want);
    // Three SGD steps.
    let cfg = config(&case);
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut f = Functional::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    let xs0 = npy(DIR, &format!("{name}_train_x0.npy")).data;
    let xs1 = npy(DIR, &format!("{name}_train_x1.npy")).data;
    let ys = npy(DIR, &format!("{name}_train_y.npy")).data;
    let steps = case["steps"].as_u64().unwrap() as usize;
    let (n0, n1, ny) = (xs0.len() / steps, xs1.len() / steps, ys.len() / steps);
    let losses: Vec<f32> = (0..steps)
        .map(|s| {
            f.train_on_batch(
                &[&xs0[s * n0..(s + 1) * n0], &xs1[s * n1..(s + 1) * n1]],
                &[&ys[s * ny..(s + 1) * ny]],
            )
            .unwrap()
        })
        .collect();
    let want = npy(DIR, &format!("{name}_train_losses.npy")).data;
    track(&mut worst, "losses", &losses, &want);
    // Keras's weights by path: `<layer>/<var>` or `<layer>/<layer>_cell/<var>`.
    for (i, path) in case["weight_paths"].as_array().unwrap().iter().enumerate() {
        let path = path.as_str().unwrap();
        let (layer, var) = (
            path.split('/').next().unwrap(),
            path.rsplit('/').next().unwrap(),
        );
        let k = g.layers().iter().position(|l| l.name == layer).unwrap();
        let idx = match var {
            "kernel" => 0,
            "recurrent_kernel" => 1,
            "bias" if layer == "lstm" => 2,
            "bias" => 1,
            other => panic!("{other}"),
        };
        let got = f.param(k, idx).unwrap();
        let before = npy(DIR, &format!("{name}_w{i}.npy")).data;
        assert_ne!(got, before.as_slice(), "{path} trained");
        let want = npy(DIR, &format!("{name}_train_w{i}.npy")).data;
        track(&mut worst, path, got, &want);
    }
    worst
}

#[test]
fn functional_lstm_with_initial_states_predicts_and_trains_like_keras() {
    let worst = check_init_state_model(init_state_graph().as_slice(), "lstm_init_state_y.npy");
    println!("worst relative error (|e| >= 1e-3), functional model: {worst:.2e}");
}

/// The same model converted from its `.keras` file. Keras 3 serializes the call as
/// `args: [seq]`, `kwargs: {"initial_state": [h0, c0]}`; the reader makes the states the
/// call's extra inputs.
#[test]
fn functional_lstm_with_initial_states_converts() {
    let worst = check_init_state_model(blob("lstm_init_state").as_slice(), "lstm_init_state_y.npy");
    println!("worst relative error (|e| >= 1e-3), converted functional model: {worst:.2e}");
}

/// The same model saved by tf_keras 2 (`lstm_init_state_k2.h5`): Keras 2 lists the
/// initial states as inbound tensors of the LSTM's node (`[[seq], [h0], [c0]]`), which the
/// legacy reader takes as the call's inputs. Predictions against tf_keras 2's; training
/// against Keras 3's steps (the same weights and data).
#[test]
fn keras2_functional_lstm_with_initial_states_converts_and_trains() {
    let k = read_keras_file(&fixture(DIR, "lstm_init_state_k2.h5")).unwrap();
    assert_eq!(k.keras_version.as_deref(), Some("2.21.0"));
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let worst = check_init_state_model(b.as_slice(), "lstm_init_state_y_k2.npy");
    println!("worst relative error (|e| >= 1e-3), tf_keras 2 file: {worst:.2e}");
}
