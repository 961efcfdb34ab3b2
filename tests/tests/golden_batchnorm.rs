//! `BatchNormalization` against Keras 3 (golden values from
//! `tests/fixtures/batchnorm/generate.py`): outputs and `jax.grad` gradients of the input
//! and of gamma/beta in training mode (batch statistics) and inference mode (moving
//! statistics), Keras's moving-statistics update, finite differences, the converter's
//! options, a converted model's predictions and 3 SGD steps (moving statistics included),
//! a frozen BatchNormalization running in inference mode while the model trains, and
//! Q16.16.

use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{BatchNormalization, Context, Layer, LayerConfig};
use ember_nn::{Scalar, Sequential, Shape, TensorView, TensorViewMut, Trainable, Q16_16};
use ember_tests::{assert_close, blob, cases, fixture, keras_layer, layer_cases, npy};
use serde_json::Value;

const DIR: &str = "batchnorm";

fn bn_of(case: &Value) -> BatchNormalization {
    match layer_config(&keras_layer(case)).unwrap() {
        LayerConfig::BatchNormalization(b) => b,
        other => panic!("{other:?}"),
    }
}

/// Forward, backward (dx and trainable-weight gradients) and, in training, the state
/// update of one layer on a batch.
struct Run<T> {
    y: Vec<T>,
    dx: Vec<T>,
    dw: Vec<T>,
    state: Vec<T>,
}

fn run<T: Scalar>(
    bn: &BatchNormalization,
    x_shape: Shape,
    x: &[T],
    c: &[T],
    weights: &[Vec<T>],
    training: bool,
) -> ember_nn::Result<Run<T>> {
    let params: Vec<&[T]> = weights.iter().map(|w| w.as_slice()).collect();
    let ctx = Context { training, seed: 0 };
    let mut y = vec![T::ZERO; x.len()];
    bn.forward(
        &params,
        TensorView::new(x_shape, x)?,
        TensorViewMut::new(x_shape, &mut y)?,
        &ctx,
    )?;
    let n_train = weights.len() - bn.state_tensors();
    let mut dw = vec![T::ZERO; weights[..n_train].iter().map(Vec::len).sum()];
    let mut dx = vec![T::ZERO; x.len()];
    let mut dy = c.to_vec();
    bn.backward(
        &params,
        TensorView::new(x_shape, x)?,
        TensorView::new(x_shape, &y)?,
        &mut dy,
        Some(&mut dx),
        Some(&mut dw),
        &ctx,
    )?;
    let mut state: Vec<T> = weights[n_train..].concat();
    if training {
        bn.update_state(TensorView::new(x_shape, x)?, &mut state)?;
    }
    Ok(Run { y, dx, dw, state })
}

fn shape_of(t: &ember_cli::tensor_file::Tensor) -> Shape {
    Shape::new(&t.shape).unwrap()
}

fn weights(name: &str, bn: &BatchNormalization) -> Vec<Vec<f32>> {
    let n = 2 + bn.scale as usize + bn.center as usize;
    (0..n)
        .map(|i| npy(DIR, &format!("layer_{name}_w{i}.npy")).data)
        .collect()
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 6);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let bn = bn_of(case);
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let ws = weights(name, &bn);
        let n_train = case["trainable_weights"].as_u64().unwrap() as usize;
        assert_eq!(ws.len() - bn.state_tensors(), n_train);
        for (mode, training) in [("train", true), ("infer", false)] {
            let r = run(&bn, shape_of(&x), &x.data, &c, &ws, training).unwrap();
            let want = |k: &str| npy(DIR, &format!("layer_{name}_{mode}_{k}.npy")).data;
            let what = format!("{name} {mode}");
            assert_close(&format!("{what} y"), &r.y, &want("y"), 1e-5, 1e-6);
            assert_close(&format!("{what} dx"), &r.dx, &want("dx"), 1e-5, 1e-6);
            let dw: Vec<f32> = (0..n_train).flat_map(|i| want(&format!("dw{i}"))).collect();
            assert_close(&format!("{what} dw"), &r.dw, &dw, 1e-5, 1e-6);
            if training {
                let moved: Vec<f32> = (0..2)
                    .flat_map(|i| npy(DIR, &format!("layer_{name}_moving_{i}.npy")).data)
                    .collect();
                assert_close(&format!("{name} moving"), &r.state, &moved, 1e-6, 1e-7);
            }
        }
    }
}

/// L = Σ c ⊙ bn(x) in training mode, by central differences, for x, gamma and beta.
#[test]
fn gradients_match_finite_differences() {
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let bn = bn_of(&case);
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let ws = weights(name, &bn);
        let s = shape_of(&x);
        let objective = |x: &[f32], ws: &[Vec<f32>]| -> f64 {
            let r = run(&bn, s, x, &c, ws, true).unwrap();
            r.y.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum()
        };
        let r = run(&bn, s, &x.data, &c, &ws, true).unwrap();
        let h = 1e-2f32;
        let check = |what: String, analytic: f32, plus: f64, minus: f64| {
            let numeric = ((plus - minus) / (2.0 * h as f64)) as f32;
            assert!(
                (analytic - numeric).abs() <= 3e-3 + 3e-3 * numeric.abs(),
                "{what}: analytic {analytic}, numeric {numeric}"
            );
        };
        for i in (0..x.data.len()).step_by(3) {
            let (mut p, mut m) = (x.data.clone(), x.data.clone());
            p[i] += h;
            m[i] -= h;
            check(
                format!("{name} dx[{i}]"),
                r.dx[i],
                objective(&p, &ws),
                objective(&m, &ws),
            );
        }
        let n_train = ws.len() - 2;
        let mut at = 0;
        for t in 0..n_train {
            for j in 0..ws[t].len() {
                let (mut p, mut m) = (ws.clone(), ws.clone());
                p[t][j] += h;
                m[t][j] -= h;
                check(
                    format!("{name} dw{t}[{j}]"),
                    r.dw[at + j],
                    objective(&x.data, &p),
                    objective(&x.data, &m),
                );
            }
            at += ws[t].len();
        }
    }
}

#[test]
fn converter_reads_options() {
    let case = layer_cases(DIR)
        .into_iter()
        .find(|c| c["name"] == "image")
        .unwrap();
    let bn = bn_of(&case);
    assert_eq!(
        bn,
        BatchNormalization {
            axis: -1,
            momentum: 0.9,
            epsilon: 1e-2,
            center: true,
            scale: true
        }
    );
    let axis1 = layer_cases(DIR)
        .into_iter()
        .find(|c| c["name"] == "axis1")
        .unwrap();
    assert_eq!(bn_of(&axis1).axis, 1);
    let refused = |key: &str, v: Value| {
        let mut c = case.clone();
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{key}={v}: {err}");
    };
    refused("renorm", Value::Bool(true));
    refused("synchronized", Value::Bool(true));
    refused("axis", serde_json::json!(0));
    refused("axis", serde_json::json!([1, 2]));
    refused("epsilon", serde_json::json!(-1.0));
    refused("momentum", serde_json::json!("fast"));
    refused("center", serde_json::json!(1));
    refused(
        "gamma_regularizer",
        serde_json::json!({"class_name": "OrthogonalRegularizer"}),
    );
    refused(
        "beta_constraint",
        serde_json::json!({"class_name": "NonNeg", "config": {"axis": 0}}),
    );
    refused("dtype", "float16".into());
    // Absent keys take Keras's defaults.
    let mut c = case.clone();
    let o = c["config"].as_object_mut().unwrap();
    for k in ["axis", "momentum", "epsilon", "center", "scale"] {
        o.remove(k);
    }
    assert_eq!(
        bn_of(&c),
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true
        }
    );
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let bn = BatchNormalization {
        axis: -1,
        momentum: 0.99,
        epsilon: 1e-3,
        center: true,
        scale: true,
    };
    let s = |d: &[usize]| Shape::new(d).unwrap();
    assert_eq!(bn.param_shapes(s(&[2, 3])).unwrap().len(), 4);
    // Axis beyond the input's rank, and the batch axis.
    for axis in [3, -4, 0] {
        let b = BatchNormalization { axis, ..bn };
        assert!(b.output_shape(s(&[2, 3])).is_err(), "axis {axis}");
    }
    let x = [1.0f32; 6];
    let mut y = [0.0f32; 6];
    let p = [1.0f32; 3];
    let short = [1.0f32; 2];
    let xs = s(&[2, 3]);
    // Wrong parameter count and length.
    for params in [vec![&p[..]; 3], vec![&p[..], &p[..], &p[..], &short[..]]] {
        let r = bn.forward(
            &params,
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(xs, &mut y).unwrap(),
            &Context::training(0),
        );
        assert!(r.is_err());
    }
    // Wrong output, gradient and state lengths.
    let params = [&p[..]; 4];
    let mut y5 = [0.0f32; 5];
    assert!(bn
        .forward(
            &params,
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(s(&[5]), &mut y5).unwrap(),
            &Context::default(),
        )
        .is_err());
    let mut dy = [0.0f32; 6];
    let mut dp = [0.0f32; 5];
    assert!(bn
        .backward(
            &params,
            TensorView::new(xs, &x).unwrap(),
            TensorView::new(xs, &y).unwrap(),
            &mut dy,
            None,
            Some(&mut dp),
            &Context::training(0),
        )
        .is_err());
    let mut state = [0.0f32; 5];
    assert!(bn
        .update_state(TensorView::new(xs, &x).unwrap(), &mut state)
        .is_err());
}

#[test]
fn model_predictions_match_keras() {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(b.as_slice(), &x, 2).unwrap();
    assert_close("batchnorm_mlp predict", &y.data, &want.data, 1e-5, 1e-7);
    let yq = predict(blob(DIR, DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close("Q16.16 predict", &yq.data, &want.data, 0.0, 2e-3);
}

#[test]
fn model_training_matches_keras_with_moving_statistics() {
    let cs = cases(DIR);
    assert_eq!(cs.len(), 1);
    let case = &cs[0];
    let b = blob(DIR, DTypeChoice::F32);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &case.config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), case.config).unwrap();
    // Layer state: moving mean and variance of 6 features, 16-byte aligned.
    assert_eq!(m.memory_plan().state_bytes, 48);
    let xs = npy(DIR, "train_sgd_x.npy");
    let ys = npy(DIR, "train_sgd_y.npy");
    let (xn, yn) = (xs.data.len() / case.steps, ys.data.len() / case.steps);
    let mut losses = Vec::new();
    for k in 0..case.steps {
        let (x, y) = (&xs.data[k * xn..][..xn], &ys.data[k * yn..][..yn]);
        losses.push(m.train_on_batch(x, y).unwrap());
    }
    assert_close(
        "losses",
        &losses,
        &npy(DIR, "train_sgd_losses.npy").data,
        1e-5,
        1e-7,
    );
    // Keras's get_weights(): dense_a (2), bn (gamma, beta, moving mean, moving var),
    // dense_out (2).
    let mut i = 0;
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            let want = npy(DIR, &format!("train_sgd_w{i}.npy"));
            assert_close(
                &format!("w{i}"),
                m.param(l, p).unwrap(),
                &want.data,
                1e-5,
                1e-6,
            );
            i += 1;
        }
    }
    assert_eq!(i, 8);
    // The moving statistics moved (momentum 0.8 over 3 steps).
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    assert_ne!(
        m.param(1, 2).unwrap(),
        k.layers[1].weights[2].data.as_slice()
    );
}

#[test]
fn frozen_batchnorm_runs_in_inference_mode() {
    // Only the last Dense trains: Keras runs the frozen BatchNormalization with its
    // moving statistics, and does not update them.
    let b = blob(DIR, DTypeChoice::F32);
    let mut config = cases(DIR)[0].config;
    config.trainable = Trainable::LastK(1);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), config).unwrap();
    assert_eq!(m.memory_plan().state_bytes, 0);
    let xs = npy(DIR, "train_sgd_x.npy");
    let ys = npy(DIR, "train_sgd_y.npy");
    let x = &xs.data[..8 * 4];
    let y = &ys.data[..8 * 3];
    let loss = m.train_on_batch(x, y).unwrap();
    // The loss is that of the inference-mode predictions.
    let mut pred = vec![0.0f32; 8 * 3];
    let bi = blob(DIR, DTypeChoice::F32);
    let mut arena2 = ember_cli::blob_file::AlignedBytes::zeroed(
        Sequential::<f32>::inference_bytes(bi.as_slice(), 8).unwrap(),
    );
    Sequential::<f32>::new(bi.as_slice(), arena2.as_mut_slice(), 8)
        .unwrap()
        .predict(x, &mut pred)
        .unwrap();
    let ce: f32 = pred
        .chunks(3)
        .zip(y.chunks(3))
        .map(|(p, t)| -p.iter().zip(t).map(|(p, t)| t * p.ln()).sum::<f32>())
        .sum::<f32>()
        / 8.0;
    assert!((loss - ce).abs() < 1e-5, "{loss} vs {ce}");
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    assert_eq!(
        m.param(1, 2).unwrap(),
        k.layers[1].weights[2].data.as_slice()
    );
}

#[test]
fn fixed_point_follows_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let bn = bn_of(&case);
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let ws = weights(name, &bn);
        let wq: Vec<Vec<Q16_16>> = ws.iter().map(|w| q(w)).collect();
        for training in [true, false] {
            let rf = run(&bn, shape_of(&x), &x.data, &c, &ws, training).unwrap();
            let rq = run(&bn, shape_of(&x), &q(&x.data), &q(&c), &wq, training).unwrap();
            let what = format!("{name} training={training}");
            // Values are O(1); a few Q16.16 roundings (2^-16 each) per output, plus the
            // rounded 1/sqrt and means.
            assert_close(&format!("{what} y"), &f(&rq.y), &rf.y, 0.0, 2e-3);
            assert_close(&format!("{what} dx"), &f(&rq.dx), &rf.dx, 0.0, 3e-3);
            assert_close(&format!("{what} dw"), &f(&rq.dw), &rf.dw, 0.0, 5e-3);
            assert_close(
                &format!("{what} state"),
                &f(&rq.state),
                &rf.state,
                0.0,
                1e-3,
            );
        }
    }
}

#[test]
fn fold_batchnorm_into_dense_keeps_predictions() {
    use ember_cli::convert::{convert_with, ConvertOptions};
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let options = ConvertOptions {
        dtype: DTypeChoice::F32,
        fold_batchnorm: true,
        ..Default::default()
    };
    let folded = convert_with(&k, &options).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(folded.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(classes, ["Dense", "ReLU", "Dense"]);
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(folded.as_slice(), &x, 5).unwrap();
    assert_close("folded predict", &y.data, &want.data, 1e-5, 1e-7);
    // A Dense without bias gains one.
    let mut nb = k.clone();
    nb.layers[0].config["use_bias"] = Value::Bool(false);
    nb.layers[0].weights.truncate(1);
    let f = convert_with(&nb, &options).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(f.as_slice()).unwrap();
    assert_eq!(g.layers().len(), 3);
    assert_eq!(g.layers()[0].params.len(), 2);
    let unfolded = convert(&nb, DTypeChoice::F32).unwrap();
    let (a, b) = (
        predict(f.as_slice(), &x, 5).unwrap(),
        predict(unfolded.as_slice(), &x, 5).unwrap(),
    );
    assert_close("folded, no bias", &a.data, &b.data, 1e-5, 1e-7);
    // An activation between Dense and BatchNormalization makes the pair non-linear: kept.
    let mut act = k.clone();
    act.layers[0].config["activation"] = Value::String("relu".into());
    let f = convert_with(&act, &options).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(f.as_slice()).unwrap();
    assert_eq!(g.layers().len(), 4);
}
