//! The graph executor ([`Functional`]): a chain runs exactly as [`Sequential`] does
//! (predictions and training steps bit for bit, on models with convolutions and
//! BatchNormalization), and backward through a graph with branches, shared layers and a
//! `TimeDistributed` call gives the loss's gradients (finite differences).

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_nn::blob::{write_graph, GraphSpec, LayerSpec, NodeDesc};
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::model::{Functional, Graph};
use ember_nn::{Activation, Loss, Optimizer, Sequential, Sgd, Shape, TrainConfig, Trainable};
use ember_tests::{blob, lcg_values, npy};

fn sgd(lr: f32, momentum: f32) -> Optimizer {
    Optimizer::sgd(Sgd {
        learning_rate: lr,
        momentum,
        nesterov: false,
    })
}

/// A chain loaded as a graph predicts and trains bit for bit like `Sequential`.
#[test]
fn chains_run_as_sequential_does() {
    for (dir, classes) in [("digits_cnn", 10usize), ("digits_mlp", 10)] {
        let b = blob(dir, DTypeChoice::F32);
        let graph = Graph::<f32>::parse(b.as_slice()).unwrap();
        assert!(graph.is_chain());
        let in_len = graph.input_shape().len();
        let x: Vec<f32> = lcg_values(8 * in_len, 3)
            .iter()
            .map(|v| v.abs() * 8.0)
            .collect();
        // Inference.
        let mut sa =
            AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(b.as_slice(), 4).unwrap());
        let mut s = Sequential::<f32>::new(b.as_slice(), sa.as_mut_slice(), 4).unwrap();
        let fa_len = Functional::<f32>::inference_bytes(b.as_slice(), 4).unwrap();
        let mut fa = AlignedBytes::zeroed(fa_len);
        let mut f = Functional::<f32>::new(b.as_slice(), fa.as_mut_slice(), 4).unwrap();
        let (mut ys, mut yf) = (vec![0.0f32; 8 * classes], vec![0.0f32; 8 * classes]);
        s.predict(&x, &mut ys).unwrap();
        f.predict(&[&x], &mut [&mut yf]).unwrap();
        assert_eq!(ys, yf, "{dir}: predictions");
        // A chain's planned graph needs no more than the Sequential plan.
        assert!(fa_len <= Sequential::<f32>::inference_bytes(b.as_slice(), 4).unwrap() + 16 * 8);
        // Training: three SGD-momentum steps.
        let cfg = TrainConfig {
            batch_size: 8,
            optimizer: sgd(0.05, 0.9),
            loss: Loss::categorical_crossentropy(),
            trainable: Trainable::All,
        };
        let y: Vec<f32> = (0..8)
            .flat_map(|i| (0..classes).map(move |c| f32::from(c == i % classes)))
            .collect();
        let mut sa =
            AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
        let mut s = Sequential::<f32>::for_training(b.as_slice(), sa.as_mut_slice(), cfg).unwrap();
        let mut fa =
            AlignedBytes::zeroed(Functional::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
        let mut f = Functional::<f32>::for_training(b.as_slice(), fa.as_mut_slice(), cfg).unwrap();
        for step in 0..3 {
            let ls = s.train_on_batch(&x, &y).unwrap();
            let lf = f.train_on_batch(&[&x], &[&y]).unwrap();
            assert_eq!(ls, lf, "{dir}: loss of step {step}");
        }
        assert_eq!(s.trainable_params(), f.trainable_params(), "{dir}: weights");
        assert_eq!(s.layer_state(), f.layer_state(), "{dir}: moving statistics");
        assert_eq!(f.iterations(), 3);
    }
}

/// in0 (3,), in1 (3,), in2 (2, 3):
/// h0 = S(in0), h1 = S(in1), h2 = TimeDistributed(S)(in2) — S shared three times;
/// out0 = A(h0), out1 = A(h1) — A shared; out2 = B(h0) — h0 feeds two layers;
/// outputs out0, out1, out2, h2.
struct Siamese {
    blob: AlignedBytes,
}

fn dense(units: u32, activation: Activation) -> LayerConfig {
    LayerConfig::Dense(Dense {
        units,
        activation,
        use_bias: true,
    })
}

fn node(layer: u16, input: u16, td: bool) -> NodeDesc {
    let n = NodeDesc::call(layer, &[input]).unwrap();
    if td {
        n.time_distributed()
    } else {
        n
    }
}

impl Siamese {
    fn new() -> Self {
        let w = lcg_values(3 * 4 + 4 + 4 * 2 + 2 + 4 * 2 + 2, 11);
        let (s_k, rest) = w.split_at(12);
        let (s_b, rest) = rest.split_at(4);
        let (a_k, rest) = rest.split_at(8);
        let (a_b, rest) = rest.split_at(2);
        let (b_k, b_b) = rest.split_at(8);
        let ps: [&[f32]; 2] = [s_k, s_b];
        let pa: [&[f32]; 2] = [a_k, a_b];
        let pb: [&[f32]; 2] = [b_k, b_b];
        let layers = [
            LayerSpec::new("s", true, dense(4, Activation::Tanh), &ps),
            LayerSpec::new("a", true, dense(2, Activation::Sigmoid), &pa),
            LayerSpec::new("b", true, dense(2, Activation::Linear), &pb),
        ];
        // Tensors: 0..3 inputs; 3 = h0, 4 = h1, 5 = h2, 6 = out0, 7 = out1, 8 = out2.
        let nodes = [
            node(0, 0, false),
            node(0, 1, false),
            node(0, 2, true),
            node(1, 3, false),
            node(1, 4, false),
            node(2, 3, false),
        ];
        let v3 = Shape::new(&[3]).unwrap();
        let graph = GraphSpec {
            inputs: &[v3, v3, Shape::new(&[2, 3]).unwrap()],
            nodes: &nodes,
            outputs: &[6, 7, 8, 5],
        };
        let len = ember_nn::blob::encoded_len_graph("siamese", &graph, &layers).unwrap();
        let mut blob = AlignedBytes::zeroed(len);
        write_graph("siamese", &graph, &layers, blob.as_mut_slice()).unwrap();
        Siamese { blob }
    }
}

#[test]
fn graph_backward_matches_finite_differences() {
    let m = Siamese::new();
    let b = 2;
    let cfg = TrainConfig {
        batch_size: b,
        optimizer: sgd(1.0, 0.0),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let x0 = lcg_values(b * 3, 1);
    let x1 = lcg_values(b * 3, 2);
    let x2 = lcg_values(b * 6, 3);
    let t0 = lcg_values(b * 2, 4);
    let t1 = lcg_values(b * 2, 5);
    let t2 = lcg_values(b * 2, 6);
    let t3 = lcg_values(b * 8, 7);
    let inputs: [&[f32]; 3] = [&x0, &x1, &x2];
    let targets: [&[f32]; 4] = [&t0, &t1, &t2, &t3];
    let mut arena =
        AlignedBytes::zeroed(Functional::<f32>::training_bytes(m.blob.as_slice(), &cfg).unwrap());
    let mut f =
        Functional::<f32>::for_training(m.blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let p0 = f.trainable_params().to_vec();
    assert_eq!(p0.len(), 16 + 10 + 10, "shared layers' weights once");
    let loss0 = f.test_on_batch(&inputs, &targets).unwrap();
    let loss = f.train_on_batch(&inputs, &targets).unwrap();
    assert_eq!(loss, loss0);
    // SGD with rate 1: the update is the gradient.
    let grad: Vec<f32> = p0
        .iter()
        .zip(f.trainable_params())
        .map(|(a, b)| a - b)
        .collect();
    let eps = 1e-2f32;
    let mut worst = 0.0f32;
    for i in 0..p0.len() {
        let mut p = p0.clone();
        p[i] += eps;
        f.set_trainable_params(&p).unwrap();
        let up = f.test_on_batch(&inputs, &targets).unwrap();
        p[i] -= 2.0 * eps;
        f.set_trainable_params(&p).unwrap();
        let down = f.test_on_batch(&inputs, &targets).unwrap();
        let fd = (up - down) / (2.0 * eps);
        let err = (fd - grad[i]).abs() / (fd.abs().max(1e-2));
        worst = worst.max(err);
        assert!(
            err < 2e-2,
            "parameter {i}: finite difference {fd}, backward {}",
            grad[i]
        );
    }
    println!("worst relative error vs finite differences: {worst:.2e}");
}

#[test]
fn graph_inference_plan_reuses_memory_and_runs_sub_graphs() {
    let m = Siamese::new();
    let blob = m.blob.as_slice();
    let g = Graph::<f32>::parse(blob).unwrap();
    assert!(!g.is_chain());
    assert_eq!(g.nodes().len(), 6);
    assert_eq!(g.layers().len(), 3);
    assert_eq!(g.tensor_shape(5).unwrap(), Shape::new(&[2, 4]).unwrap());
    // MACs count every call: S three times (once per step under TimeDistributed = 4
    // calls of 12), A twice, B once.
    assert_eq!(g.macs(), 4 * 12 + 2 * 8 + 8);
    let b = 2;
    let x0 = lcg_values(b * 3, 1);
    let x1 = lcg_values(b * 3, 2);
    let x2 = lcg_values(b * 6, 3);
    let bytes = Functional::<f32>::inference_bytes(blob, b).unwrap();
    let mut arena = AlignedBytes::zeroed(bytes);
    let mut f = Functional::<f32>::new(blob, arena.as_mut_slice(), 1).unwrap();
    let plan = f.memory_plan().clone();
    // h0 and h1 live in the arena (h2 is an output nobody reads: the caller's buffer).
    assert_eq!(plan.unplanned_activation_bytes, 2 * 16);
    assert!(plan.activations_bytes <= plan.unplanned_activation_bytes);
    let mut outs: Vec<Vec<f32>> = [2, 2, 2, 8].iter().map(|&n| vec![0.0; b * n]).collect();
    {
        let mut refs: Vec<&mut [f32]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
        f.predict(&[&x0, &x1, &x2], &mut refs).unwrap();
    }
    // out1 = A(S(in1)) computed by hand from the parameters.
    let param = |l: usize, i: usize| f.param(l, i).unwrap().to_vec();
    let dense_f = |x: &[f32], k: &[f32], bias: &[f32], act: fn(f32) -> f32| -> Vec<f32> {
        let units = bias.len();
        (0..units)
            .map(|u| {
                act(x
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * k[i * units + u])
                    .sum::<f32>()
                    + bias[u])
            })
            .collect()
    };
    for s in 0..b {
        let h = dense_f(&x1[s * 3..s * 3 + 3], &param(0, 0), &param(0, 1), f32::tanh);
        let o = dense_f(&h, &param(1, 0), &param(1, 1), |v| 1.0 / (1.0 + (-v).exp()));
        ember_tests::assert_close("out1", &outs[1][s * 2..s * 2 + 2], &o, 1e-6, 1e-6);
        for step in 0..2 {
            let x = &x2[s * 6 + step * 3..s * 6 + step * 3 + 3];
            let h = dense_f(x, &param(0, 0), &param(0, 1), f32::tanh);
            ember_tests::assert_close(
                "h2",
                &outs[3][s * 8 + step * 4..s * 8 + step * 4 + 4],
                &h,
                1e-6,
                1e-6,
            );
        }
    }
    // K.function: only out2 = B(S(in0)) — the other nodes do not run.
    let sub = Functional::<f32>::plan_bytes(blob, b, Some(&[8])).unwrap();
    let mut arena = AlignedBytes::zeroed(sub);
    let mut g =
        Functional::<f32>::with_outputs(blob, arena.as_mut_slice(), b, Some(&[8]), &[]).unwrap();
    let mut out2 = vec![0.0f32; b * 2];
    g.predict(&[&x0, &x1, &x2], &mut [&mut out2]).unwrap();
    assert_eq!(out2, outs[2]);
    assert_eq!(
        g.memory_plan().unplanned_activation_bytes,
        2 * 16,
        "h0 only, 2 samples"
    );
    // Errors, not panics.
    assert!(f.predict(&[&x0, &x1], &mut []).is_err());
    let mut short = vec![0.0f32; 1];
    assert!(g.predict(&[&x0, &x1, &x2], &mut [&mut short]).is_err());
    assert!(Functional::<f32>::plan_bytes(blob, b, Some(&[99])).is_err());
    assert!(
        Sequential::<f32>::inference_bytes(blob, 1).is_err(),
        "a graph is not a chain"
    );
    let _ = npy;
}

/// The issue-3 acceptance model (tests/fixtures/functional): two inputs, a shared Dense,
/// Concatenate and Subtract merges, a nested Sequential, two outputs — converted from the
/// `.keras` and the legacy `.h5` file, predictions and three SGD steps against Keras.
#[test]
fn keras_functional_model_converts_predicts_and_trains_like_keras() {
    use ember_cli::convert::convert;
    use ember_cli::keras::read_keras_file;
    const DIR: &str = "functional";
    let x_a = npy(DIR, "x_a.npy").data;
    let x_b = npy(DIR, "x_b.npy").data;
    let y_cls = npy(DIR, "y_cls.npy").data;
    let y_dist = npy(DIR, "y_dist.npy").data;
    for file in ["model.keras", "model.h5"] {
        let k = read_keras_file(&ember_tests::fixture(DIR, file)).unwrap();
        let b = convert(&k, DTypeChoice::F32).unwrap();
        let blob = b.as_slice();
        let g = Graph::<f32>::parse(blob).unwrap();
        assert_eq!(g.inputs().len(), 2);
        assert_eq!(g.outputs().len(), 2);
        let calls = g
            .nodes()
            .iter()
            .filter(|n| g.layers()[n.layer].name == "shared")
            .count();
        assert_eq!(
            calls, 2,
            "{file}: the shared layer is one layer called twice"
        );
        // Inference, batch 4, in chunks.
        let bytes = Functional::<f32>::inference_bytes(blob, 4).unwrap();
        let mut arena = AlignedBytes::zeroed(bytes);
        let mut f = Functional::<f32>::new(blob, arena.as_mut_slice(), 4).unwrap();
        let plan = f.memory_plan();
        println!(
            "{file}: blob {} bytes; inference arena (batch 4) {} bytes: activations {} of {} \
             if every buffer had its own memory",
            blob.len(),
            bytes,
            plan.activations_bytes,
            plan.unplanned_activation_bytes
        );
        assert!(plan.activations_bytes < plan.unplanned_activation_bytes);
        let (mut c, mut d) = (vec![0.0f32; 16 * 3], vec![0.0f32; 16]);
        f.predict(&[&x_a, &x_b], &mut [&mut c, &mut d]).unwrap();
        ember_tests::assert_close(&format!("{file} cls"), &c, &y_cls, 1e-5, 1e-6);
        ember_tests::assert_close(&format!("{file} dist"), &d, &y_dist, 1e-5, 1e-6);
        // Three train_on_batch steps, SGD(0.1), mse on both outputs (Keras sums them).
        let cfg = TrainConfig {
            batch_size: 16,
            optimizer: sgd(0.1, 0.0),
            loss: Loss::mean_squared_error(),
            trainable: Trainable::All,
        };
        let need = Functional::<f32>::training_bytes(blob, &cfg).unwrap();
        let mut arena = AlignedBytes::zeroed(need);
        let mut f = Functional::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
        let p = f.memory_plan();
        println!(
            "{file}: training arena (batch 16, SGD) {need} bytes: params {} grads {} \
             activations {} gradient buffers {}",
            p.params_bytes, p.grads_bytes, p.activations_bytes, p.gradient_buffers_bytes
        );
        let t_cls = npy(DIR, "t_cls.npy").data;
        let t_dist = npy(DIR, "t_dist.npy").data;
        let want = npy(DIR, "step_loss.npy").data;
        for (step, want) in want.iter().enumerate() {
            let loss = f.train_on_batch(&[&x_a, &x_b], &[&t_cls, &t_dist]).unwrap();
            ember_tests::assert_close(
                &format!("{file} loss {step}"),
                &[loss],
                &[*want],
                1e-5,
                1e-7,
            );
        }
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(ember_tests::fixture(DIR, "meta.json")).unwrap(),
        )
        .unwrap();
        for (i, w) in meta["weights"].as_array().unwrap().iter().enumerate() {
            let path = w["path"].as_str().unwrap();
            let (layer, var) = path.rsplit_once('/').unwrap();
            let name = layer.rsplit('/').next().unwrap();
            let k = g.layers().iter().position(|l| l.name == name).unwrap();
            let idx = usize::from(var == "bias");
            let want = npy(DIR, &format!("after_w{i}.npy")).data;
            ember_tests::assert_close(
                &format!("{file} {path}"),
                f.param(k, idx).unwrap(),
                &want,
                1e-5,
                1e-6,
            );
        }
    }
}

/// Mutated graph blobs (random bytes changed in the graph section, CRC fixed so the
/// decoder sees them) are refused or run; nothing panics.
#[test]
fn mutated_graph_blobs_never_panic() {
    use ember_nn::blob::{checksum, Blob};
    let m = Siamese::new();
    let good = m.blob.as_slice().to_vec();
    let graph_len = Blob::parse(m.blob.as_slice()).unwrap().header().graph.len as usize;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut loaded, mut ran) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = AlignedBytes::zeroed(good.len());
        bytes.as_mut_slice().copy_from_slice(&good);
        let b = bytes.as_mut_slice();
        for _ in 0..1 + next() % 3 {
            // Half the mutations hit the topology and node records (the section's tail)
            // with small values, which keep them decodable.
            if next() % 2 == 0 {
                let at = 32 + graph_len - 1 - (next() as usize) % 48;
                b[at] = (next() % 12) as u8;
            } else {
                let at = 32 + (next() as usize) % graph_len;
                b[at] = next() as u8;
            }
        }
        let crc = checksum(b);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        let Ok(need) = Functional::<f32>::inference_bytes(b, 2) else {
            continue;
        };
        if need > 1 << 20 {
            continue;
        }
        loaded += 1;
        let mut arena = AlignedBytes::zeroed(need);
        let Ok(mut f) = Functional::<f32>::new(b, arena.as_mut_slice(), 2) else {
            continue;
        };
        let g = f.graph().clone();
        let xs: Vec<Vec<f32>> = g.inputs().iter().map(|s| vec![0.5; 2 * s.len()]).collect();
        let mut ys: Vec<Vec<f32>> = g
            .outputs()
            .iter()
            .map(|&o| vec![0.0; 2 * g.tensor_shape(o as usize).map_or(1, |s| s.len())])
            .collect();
        let xr: Vec<&[f32]> = xs.iter().map(|v| v.as_slice()).collect();
        let mut yr: Vec<&mut [f32]> = ys.iter_mut().map(|v| v.as_mut_slice()).collect();
        if f.predict(&xr, &mut yr).is_ok() {
            ran += 1;
        }
        // Training the mutated graph: refused or runs.
        let cfg = TrainConfig {
            batch_size: 2,
            optimizer: sgd(0.1, 0.0),
            loss: Loss::mean_squared_error(),
            trainable: Trainable::All,
        };
        let Ok(need) = Functional::<f32>::training_bytes(b, &cfg) else {
            continue;
        };
        let mut tarena = AlignedBytes::zeroed(need);
        let ts: Vec<Vec<f32>> = yr.iter().map(|y| vec![0.1; y.len()]).collect();
        let tr: Vec<&[f32]> = ts.iter().map(|v| v.as_slice()).collect();
        if let Ok(mut t) = Functional::<f32>::for_training(b, tarena.as_mut_slice(), cfg) {
            let _ = t.train_on_batch(&xr, &tr);
        };
    }
    println!("3000 mutated blobs: {loaded} loaded, {ran} ran");
    assert!(loaded > 0 && ran > 0, "the mutations reach the executor");
}
