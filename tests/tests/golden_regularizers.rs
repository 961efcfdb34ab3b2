//! Regularizers and constraints vs Keras 3 (JAX): `train_on_batch` losses and weights over
//! 3 SGD steps on models that use every regularizer and constraint, `test_on_batch`'s
//! loss, regularizer values and gradients and constraint projections on golden tensors,
//! the converter's accepted forms and refusals, Q16.16, finite differences, bad inputs.
//! Fixtures: `tests/fixtures/regularizers/` (see its README.md).

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, layer_attrs, layer_config, DTypeChoice};
use ember_cli::keras::{read_keras_file, KerasLayer, KerasModel};
use ember_nn::blob::{checksum, encoded_len, write, Blob, LayerSpec};
use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::{BatchNormalization, Dense, LayerAttrs, LayerConfig};
use ember_nn::model::Graph;
use ember_nn::regularizers::Regularizer;
use ember_nn::{
    Activation, Error, Loss, Optimizer, Scalar, Sequential, Sgd, Shape, TrainConfig, Trainable,
    Q16_16,
};
use ember_tests::{assert_close, cases, fixture, npy};
use serde_json::{json, Value};

const DIR: &str = "regularizers";

fn read_json(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(DIR, file)).unwrap()).unwrap()
}

fn keras_model(name: &str) -> KerasModel {
    read_keras_file(&fixture(DIR, &format!("{name}.keras"))).unwrap()
}

fn blob_of(name: &str, dtype: DTypeChoice) -> AlignedBytes {
    convert(&keras_model(name), dtype).unwrap()
}

/// Largest `|a − e| / max(|e|, floor)` over the elements.
fn worst_rel(a: &[f32], e: &[f32], floor: f32) -> f32 {
    a.iter()
        .zip(e)
        .map(|(a, e)| (a - e).abs() / e.abs().max(floor))
        .fold(0.0, f32::max)
}

struct Trained {
    losses: Vec<f32>,
    weights: Vec<Vec<f32>>,
    test_loss: f32,
}

/// Runs a training case of `cases.json` in `T`, returning losses, weights after the steps
/// and `test_on_batch` on the case's test batch, all as f32.
fn run<T: Scalar>(case: &ember_tests::Case, model: &str, dtype: DTypeChoice) -> Trained {
    let blob = blob_of(model, dtype);
    let needed = Sequential::<T>::training_bytes(blob.as_slice(), &case.config).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<T>::for_training(blob.as_slice(), arena.as_mut_slice(), case.config).unwrap();
    let q = |v: &[f32]| v.iter().map(|&x| T::from_f32(x)).collect::<Vec<T>>();
    let xs = q(&npy(DIR, &format!("train_{}_x.npy", case.name)).data);
    let ys = q(&npy(DIR, &format!("train_{}_y.npy", case.name)).data);
    let (xn, yn) = (xs.len() / case.steps, ys.len() / case.steps);
    let mut losses = Vec::new();
    for k in 0..case.steps {
        let loss = m
            .train_on_batch(&xs[k * xn..(k + 1) * xn], &ys[k * yn..(k + 1) * yn])
            .unwrap();
        losses.push(loss.to_f32());
    }
    let mut weights = Vec::new();
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            weights.push(m.param(l, p).unwrap().iter().map(|v| v.to_f32()).collect());
        }
    }
    let tx = q(&npy(DIR, &format!("train_{}_test_x.npy", case.name)).data);
    let ty = q(&npy(DIR, &format!("train_{}_test_y.npy", case.name)).data);
    let test_loss = m.test_on_batch(&tx, &ty).unwrap().to_f32();
    Trained {
        losses,
        weights,
        test_loss,
    }
}

fn case_models() -> Vec<(ember_tests::Case, String, f32)> {
    let json = read_json("cases.json");
    cases(DIR)
        .into_iter()
        .zip(json["cases"].as_array().unwrap())
        .map(|(c, j)| {
            assert_eq!(c.name, j["name"].as_str().unwrap());
            let model = j["model"].as_str().unwrap().to_string();
            (c, model, j["test_loss"].as_f64().unwrap() as f32)
        })
        .collect()
}

#[test]
fn training_steps_match_keras() {
    let mut worst = (0.0f32, 0.0f32, 0.0f32);
    let all = case_models();
    assert_eq!(all.len(), 4);
    for (case, model, test_loss) in &all {
        let what = format!("{model}/{}", case.name);
        let got = run::<f32>(case, model, DTypeChoice::F32);
        let want = npy(DIR, &format!("train_{}_losses.npy", case.name));
        assert_close(
            &format!("{what} losses"),
            &got.losses,
            &want.data,
            1e-5,
            1e-7,
        );
        worst.0 = worst.0.max(worst_rel(&got.losses, &want.data, 1e-3));
        for (i, w) in got.weights.iter().enumerate() {
            let want = npy(DIR, &format!("train_{}_w{i}.npy", case.name));
            assert_close(&format!("{what} w{i}"), w, &want.data, 1e-5, 1e-6);
            worst.1 = worst.1.max(worst_rel(w, &want.data, 1e-1));
        }
        assert_close(
            &format!("{what} test_on_batch"),
            &[got.test_loss],
            &[*test_loss],
            1e-5,
            1e-7,
        );
        worst.2 = worst
            .2
            .max(worst_rel(&[got.test_loss], &[*test_loss], 1e-3));
    }
    println!(
        "worst relative error: losses {:.2e}, weights {:.2e} (|w| floor 0.1), test loss {:.2e}",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn frozen_layer_keeps_weights_but_its_activity_penalty_counts() {
    let (case, model, _) = case_models()
        .into_iter()
        .find(|(c, _, _)| c.name == "mlp_momentum_frozen_first")
        .unwrap();
    let k = keras_model(&model);
    let got = run::<f32>(&case, &model, DTypeChoice::F32);
    // Frozen: no penalty gradient, no constraint (the saved kernel breaks MaxNorm(1.5)).
    assert_eq!(got.weights[0], k.layers[0].weights[0].data);
    assert_eq!(got.weights[1], k.layers[0].weights[1].data);
    // Its activity regularizer is still in the loss: without it the first loss differs.
    let mut k2 = k.clone();
    k2.layers[0].config["activity_regularizer"] = Value::Null;
    let blob = convert(&k2, DTypeChoice::F32).unwrap();
    let needed = Sequential::<f32>::training_bytes(blob.as_slice(), &case.config).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), case.config)
        .unwrap();
    let xs = npy(DIR, &format!("train_{}_x.npy", case.name)).data;
    let ys = npy(DIR, &format!("train_{}_y.npy", case.name)).data;
    let (xn, yn) = (xs.len() / case.steps, ys.len() / case.steps);
    let without = m.train_on_batch(&xs[..xn], &ys[..yn]).unwrap();
    assert!(
        (without - got.losses[0]).abs() > 1e-3,
        "{without} vs {}",
        got.losses[0]
    );
}

#[test]
fn fixed_point_training_follows_f32() {
    // Q16.16 resolution is 2^-16 ≈ 1.5e-5; 3 SGD steps with lr 0.1 on O(1) weights
    // accumulate a few rounding steps per weight (forward, backward, penalty gradients,
    // the constraint's sqrt and division), so 2e-3 absolute bounds the drift with margin.
    for (case, model, _) in case_models().iter().filter(|(c, _, _)| c.name == "mlp_sgd") {
        let f = run::<f32>(case, model, DTypeChoice::F32);
        let q = run::<Q16_16>(case, model, DTypeChoice::Fixed);
        let mut worst = 0.0f32;
        for (a, b) in q.weights.iter().zip(&f.weights) {
            assert_close("Q16.16 weights", a, b, 0.0, 2e-3);
            worst = worst.max(
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max),
            );
        }
        assert_close("Q16.16 losses", &q.losses, &f.losses, 0.0, 2e-3);
        println!("Q16.16 vs f32 after 3 steps: worst weight difference {worst:.2e}");
    }
}

fn attr_layer(class: &str, key: &str, v: &Value) -> KerasLayer {
    let mut config = json!({"name": "l", "units": 3, "use_bias": true});
    config[key] = v.clone();
    KerasLayer {
        name: "l".into(),
        class_name: class.into(),
        config,
        trainable: true,
        weights: Vec::new(),
    }
}

fn regularizer_from_keras(v: &Value) -> Regularizer {
    layer_attrs(&attr_layer("Dense", "kernel_regularizer", v))
        .unwrap()
        .regularizers[0]
        .unwrap()
}

fn constraint_from_keras(v: &Value) -> Constraint {
    layer_attrs(&attr_layer("Dense", "kernel_constraint", v))
        .unwrap()
        .constraints[0]
        .unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn regularizer_values_and_gradients_match_keras() {
    let json = read_json("vectors.json");
    let mut worst = 0.0f32;
    for case in json["regularizers"].as_array().unwrap() {
        let r = regularizer_from_keras(&case["keras"]);
        let w = floats(&case["w"]);
        let value = r.value(&w);
        let want = case["value"].as_f64().unwrap() as f32;
        assert_close(&format!("{r:?} value"), &[value], &[want], 1e-6, 1e-7);
        let mut g = vec![0.0f32; w.len()];
        r.add_gradient(&w, &mut g).unwrap();
        let want_g = floats(&case["grad"]);
        assert_close(&format!("{r:?} gradient"), &g, &want_g, 1e-6, 1e-7);
        worst = worst.max(worst_rel(&[value], &[want], 1e-6));
        worst = worst.max(worst_rel(&g, &want_g, 1e-6));
    }
    println!("regularizers: worst relative error {worst:.2e}");
}

#[test]
fn constraint_projections_match_keras() {
    let json = read_json("vectors.json");
    let mut worst = 0.0f32;
    let mut n = 0;
    for case in json["constraints"].as_array().unwrap() {
        let c = constraint_from_keras(&case["keras"]);
        let dims: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let mut w = floats(&case["w"]);
        c.apply(&mut w, Shape::new(&dims).unwrap()).unwrap();
        let want = floats(&case["y"]);
        assert_close(&format!("{c:?} on {dims:?}"), &w, &want, 1e-6, 1e-12);
        worst = worst.max(worst_rel(&w, &want, 1e-9));
        n += 1;
    }
    assert_eq!(n, 13);
    println!("constraints: worst relative error {worst:.2e}");
}

#[test]
fn converter_accepts_keras_string_forms_with_class_defaults() {
    let r = |s: &str| regularizer_from_keras(&json!(s));
    assert_eq!(r("l1"), Regularizer::L1 { l1: 0.01 });
    assert_eq!(r("L2"), Regularizer::L2 { l2: 0.01 });
    assert_eq!(r("l1l2"), Regularizer::L1L2 { l1: 0.0, l2: 0.0 });
    assert_eq!(r("L1L2"), Regularizer::L1L2_DEFAULT);
    let c = |s: &str| constraint_from_keras(&json!(s));
    assert_eq!(c("max_norm"), Constraint::MAX_NORM_DEFAULT);
    assert_eq!(c("MaxNorm"), Constraint::MAX_NORM_DEFAULT);
    assert_eq!(c("non_neg"), Constraint::NonNeg);
    assert_eq!(c("unit_norm"), Constraint::UNIT_NORM_DEFAULT);
    assert_eq!(c("min_max_norm"), Constraint::MIN_MAX_NORM_DEFAULT);
    // tf.keras 2 serialization (no `module`), and Keras's null factor (= default).
    assert_eq!(
        regularizer_from_keras(&json!({"class_name": "L2", "config": {"l2": 0.5}})),
        Regularizer::L2 { l2: 0.5 }
    );
    assert_eq!(
        regularizer_from_keras(&json!({"class_name": "L1L2", "config": {"l1": null}})),
        Regularizer::L1L2 { l1: 0.0, l2: 0.0 }
    );
    assert_eq!(
        constraint_from_keras(&json!({"class_name": "MaxNorm", "config": {"axis": [-1, 0]}})),
        Constraint::MaxNorm {
            max_value: 2.0,
            axis: NormAxes {
                from_start: 1,
                from_end: 1
            }
        }
    );
    // Absent or null: none. A weight the layer does not create: ignored, as in Keras.
    let none = layer_attrs(&attr_layer("Dense", "kernel_regularizer", &Value::Null)).unwrap();
    assert!(none.is_none());
    let mut l = attr_layer("Dense", "bias_regularizer", &json!("l2"));
    l.config["use_bias"] = json!(false);
    assert!(layer_attrs(&l).unwrap().is_none());
    // Parameter indices follow Keras's weight order.
    let mut bn = attr_layer("BatchNormalization", "beta_constraint", &json!("non_neg"));
    bn.config["gamma_regularizer"] = json!("l1");
    let a = layer_attrs(&bn).unwrap();
    assert_eq!(a.regularizers[0], Some(Regularizer::L1_DEFAULT));
    assert_eq!(a.constraints[1], Some(Constraint::NonNeg));
    bn.config["scale"] = json!(false);
    let a = layer_attrs(&bn).unwrap();
    assert_eq!(a.regularizers, [None; 4]);
    assert_eq!(a.constraints[0], Some(Constraint::NonNeg));
    let p = layer_attrs(&attr_layer("PReLU", "alpha_constraint", &json!("non_neg"))).unwrap();
    assert_eq!(p.constraints[0], Some(Constraint::NonNeg));
    // Every class's activity_regularizer.
    let a = layer_attrs(&attr_layer("ReLU", "activity_regularizer", &json!("l2"))).unwrap();
    assert_eq!(a.activity_regularizer, Some(Regularizer::L2_DEFAULT));
}

#[test]
fn converter_refuses_unsupported_forms_by_name() {
    let refused = |class: &str, key: &str, v: Value| {
        let l = attr_layer(class, key, &v);
        let err = layer_attrs(&l).unwrap_err().to_string();
        assert!(err.contains(key), "{key}={v}: {err}");
        // layer_config refuses it too (the classes' own mappings).
        if class == "Dense" {
            let err = layer_config(&l).unwrap_err().to_string();
            assert!(err.contains(key), "{key}={v}: {err}");
        }
    };
    let ortho = json!({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer",
                       "config": {"factor": 0.01, "mode": "rows"}, "registered_name": null});
    refused("Dense", "kernel_regularizer", ortho.clone());
    refused("Dense", "activity_regularizer", ortho);
    refused(
        "Dense",
        "kernel_regularizer",
        json!("orthogonal_regularizer"),
    );
    refused("Dense", "kernel_regularizer", json!("l1_l2")); // Keras refuses it too
    refused(
        "Dense",
        "bias_regularizer",
        json!({"module": "my_pkg", "class_name": "L2", "config": {"l2": 0.1}}),
    );
    refused(
        "Dense",
        "bias_regularizer",
        json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.1},
               "registered_name": "my_pkg>L2"}),
    );
    refused(
        "Dense",
        "kernel_regularizer",
        json!({"class_name": "L2", "config": {"l1": 0.1}}),
    );
    refused(
        "Dense",
        "kernel_regularizer",
        json!({"class_name": "L2", "config": {"l2": -0.1}}),
    );
    refused(
        "Dense",
        "kernel_regularizer",
        json!({"class_name": "L1", "config": {"l1": "x"}}),
    );
    refused("Dense", "kernel_regularizer", json!(3));
    refused("Dense", "kernel_constraint", json!("radial_constraint"));
    refused(
        "Dense",
        "kernel_constraint",
        json!({"class_name": "MaxNorm", "config": {"axis": null}}),
    );
    refused(
        "Dense",
        "kernel_constraint",
        json!({"class_name": "MaxNorm", "config": {"axis": [0, 0]}}),
    );
    refused(
        "Dense",
        "kernel_constraint",
        json!({"class_name": "MaxNorm", "config": {"axis": 9}}),
    );
    refused(
        "Dense",
        "kernel_constraint",
        json!({"class_name": "MinMaxNorm", "config": {"rate": "fast"}}),
    );
    refused(
        "Dense",
        "bias_constraint",
        json!({"class_name": "NonNeg", "config": {"x": 1}}),
    );
    refused(
        "PReLU",
        "alpha_regularizer",
        json!("orthogonal_regularizer"),
    );
    refused("BatchNormalization", "gamma_constraint", json!("custom"));
    refused(
        "LayerNormalization",
        "beta_regularizer",
        json!({"class_name": "Custom"}),
    );
    // A constraint axis the weight does not have: refused when the model is converted,
    // naming the layer.
    let mut k = keras_model("reg_mlp");
    k.layers[1].config["bias_constraint"] =
        json!({"class_name": "UnitNorm", "config": {"axis": 1}});
    let err = convert(&k, DTypeChoice::F32).unwrap_err().to_string();
    assert!(err.contains("`out`") && err.contains("constraint"), "{err}");
}

/// A Dense(tanh) → Dense(softmax) blob with regularizers on every tensor and an activity
/// regularizer on each layer (no constraints), for the finite-difference check.
fn fd_blob(attrs: [LayerAttrs; 2], params: &[Vec<f32>; 4]) -> AlignedBytes {
    let d = |units, activation| {
        LayerConfig::Dense(Dense {
            units,
            activation,
            use_bias: true,
        })
    };
    let p0: [&[f32]; 2] = [&params[0], &params[1]];
    let p1: [&[f32]; 2] = [&params[2], &params[3]];
    let layers = [
        LayerSpec::new("a", true, d(4, Activation::Tanh), &p0).with_attrs(attrs[0]),
        LayerSpec::new("b", true, d(3, Activation::Softmax), &p1).with_attrs(attrs[1]),
    ];
    let input = Shape::new(&[3]).unwrap();
    let mut out = AlignedBytes::zeroed(encoded_len("fd", input, &layers).unwrap());
    write("fd", input, &layers, out.as_mut_slice()).unwrap();
    out
}

#[test]
fn finite_differences_of_the_regularized_loss() {
    let attrs = [
        LayerAttrs::NONE
            .with_regularizer(0, Regularizer::L1L2 { l1: 0.05, l2: 0.1 })
            .with_regularizer(1, Regularizer::L1 { l1: 0.07 })
            .with_activity_regularizer(Regularizer::L1L2 { l1: 0.04, l2: 0.3 }),
        LayerAttrs::NONE
            .with_regularizer(0, Regularizer::L2 { l2: 0.2 })
            .with_activity_regularizer(Regularizer::L2 { l2: 0.5 }),
    ];
    let mut seed = 7u32;
    let mut rnd = || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        // Values in ±[0.2, 1.0]: away from L1's kink at 0.
        let u = (seed >> 8) as f32 / (1u32 << 24) as f32;
        let m = 0.2 + 0.8 * u;
        if seed & 1 == 0 {
            m
        } else {
            -m
        }
    };
    let params = [
        (0..12).map(|_| rnd()).collect::<Vec<_>>(),
        (0..4).map(|_| rnd()).collect(),
        (0..12).map(|_| rnd()).collect(),
        (0..3).map(|_| rnd()).collect(),
    ];
    let x: Vec<f32> = (0..6).map(|_| rnd()).collect();
    let y = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
    let blob = fd_blob(attrs, &params);
    let config = TrainConfig {
        batch_size: 2,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 1.0,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::from_keras_name("categorical_crossentropy").unwrap(),
        trainable: Trainable::All,
    };
    let needed = Sequential::<f32>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let w0 = m.trainable_params().to_vec();
    // The activity penalty of layer a needs |tanh(x·W + b)| away from 0 for L1's kink.
    m.train_on_batch(&x, &y).unwrap();
    let grad: Vec<f32> = w0
        .iter()
        .zip(m.trainable_params())
        .map(|(a, b)| a - b)
        .collect();
    let eps = 1e-2f32;
    let mut worst = 0.0f32;
    for i in 0..w0.len() {
        let mut loss_at = |d: f32| {
            let mut w = w0.clone();
            w[i] += d;
            m.set_trainable_params(&w).unwrap();
            m.test_on_batch(&x, &y).unwrap() as f64
        };
        let fd = ((loss_at(eps) - loss_at(-eps)) / (2.0 * eps as f64)) as f32;
        let err = (fd - grad[i]).abs();
        worst = worst.max(err);
        assert!(
            err < 2e-3,
            "parameter {i}: backward {} vs finite differences {fd}",
            grad[i]
        );
    }
    println!("finite differences: worst absolute gradient error {worst:.2e}");
}

#[test]
fn bad_attributes_are_errors() {
    let bn = LayerConfig::BatchNormalization(BatchNormalization {
        axis: -1,
        momentum: 0.99,
        epsilon: 1e-3,
        center: true,
        scale: true,
    });
    let ones = [1.0f32; 3];
    let params: [&[f32]; 4] = [&ones, &ones, &ones, &ones];
    let input = Shape::new(&[3]).unwrap();
    let try_write = |attrs: LayerAttrs| {
        let layers = [LayerSpec::new("bn", true, bn, &params).with_attrs(attrs)];
        let mut out = vec![0u8; 1024];
        write("m", input, &layers, &mut out).map(|_| ())
    };
    assert!(try_write(LayerAttrs::NONE.with_constraint(1, Constraint::NonNeg)).is_ok());
    // Moving statistics (tensors 2, 3) are not trainable: no attributes on them.
    assert!(matches!(
        try_write(LayerAttrs::NONE.with_regularizer(2, Regularizer::L2_DEFAULT)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(try_write(LayerAttrs::NONE.with_constraint(3, Constraint::NonNeg)).is_err());
    // gamma is (3,): axis 1 does not exist; -1 and 0 name the same axis twice.
    let axis = |a: NormAxes| Constraint::UnitNorm { axis: a };
    assert!(try_write(LayerAttrs::NONE.with_constraint(0, axis(NormAxes::axis(1)))).is_err());
    assert!(try_write(LayerAttrs::NONE.with_constraint(0, axis(NormAxes::axis(-2)))).is_err());
    let twice = NormAxes::from_list(&[0, -1]).unwrap();
    assert!(try_write(LayerAttrs::NONE.with_constraint(0, axis(twice))).is_err());
    assert!(NormAxes::from_list(&[0, 0]).is_none());
    assert!(NormAxes::from_list(&[5]).is_none());
    // Non-finite or negative factors, non-finite constraint values.
    assert!(try_write(LayerAttrs::NONE.with_regularizer(0, Regularizer::L1 { l1: -1.0 })).is_err());
    assert!(try_write(
        LayerAttrs::NONE.with_activity_regularizer(Regularizer::L2 { l2: f32::NAN })
    )
    .is_err());
    let inf = Constraint::MaxNorm {
        max_value: f32::INFINITY,
        axis: NormAxes::FIRST,
    };
    assert!(try_write(LayerAttrs::NONE.with_constraint(0, inf)).is_err());
    // Wrong lengths at the API.
    let mut w = [1.0f32; 4];
    assert!(matches!(
        Constraint::NonNeg.apply(&mut w, Shape::new(&[3]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut g = [0.0f32; 3];
    assert!(Regularizer::L2_DEFAULT.add_gradient(&w, &mut g).is_err());
}

#[test]
fn corrupted_attrs_in_a_blob_are_refused_at_load() {
    // A valid blob with a NonNeg constraint on BatchNormalization's beta, then the
    // constraint moved onto a moving statistic by editing bytes (CRC recomputed).
    let bn = LayerConfig::BatchNormalization(BatchNormalization {
        axis: -1,
        momentum: 0.99,
        epsilon: 1e-3,
        center: true,
        scale: true,
    });
    let ones = [1.0f32; 3];
    let params: [&[f32]; 4] = [&ones, &ones, &ones, &ones];
    let input = Shape::new(&[3]).unwrap();
    let layers = [LayerSpec::new("bn", true, bn, &params)
        .with_attrs(LayerAttrs::NONE.with_constraint(1, Constraint::NonNeg))];
    let mut out = AlignedBytes::zeroed(encoded_len("m", input, &layers).unwrap());
    let len = write("m", input, &layers, out.as_mut_slice()).unwrap();
    let bytes = out.as_mut_slice();
    assert!(Graph::<f32>::parse(&bytes[..len]).is_ok());
    let graph_len = Blob::parse(&bytes[..len]).unwrap().header().graph.len as usize;
    // The layer record ends with constraints [None, Some(NonNeg), None, None] =
    // 00 01 01 00 00, before the chain's topology (10 bytes), node (4 bytes) and empty
    // training (1 byte) records.
    let end = 32 + graph_len - 15;
    assert_eq!(&bytes[end - 5..end], &[0, 1, 1, 0, 0]);
    bytes[end - 5..end].copy_from_slice(&[0, 0, 1, 1, 0]);
    let crc = checksum(&bytes[..len]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        Graph::<f32>::parse(&bytes[..len]),
        Err(Error::MalformedBlob(_))
    ));
    // An undecodable regularizer variant.
    bytes[end - 5..end].copy_from_slice(&[0, 1, 1, 0, 0]);
    let at = end - 5 - 4; // regularizers[3]
    bytes[at] = 1;
    bytes[at + 1] = 9;
    let crc = checksum(&bytes[..len]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    assert!(Graph::<f32>::parse(&bytes[..len]).is_err());
}

#[test]
fn inspect_lists_regularizers_and_constraints() {
    let blob = blob_of("reg_mlp", DTypeChoice::F32);
    let train = TrainConfig {
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd::DEFAULT),
        loss: Loss::from_keras_name("categorical_crossentropy").unwrap(),
        trainable: Trainable::All,
    };
    let s = ember_cli::summary::summarize(blob.as_slice(), 1, &train).unwrap();
    assert_eq!(
        s.layers[0].training_attrs,
        [
            "activity: L1L2(l1=0.01, l2=0.02)",
            "param 0: L2(l2=0.01), MaxNorm(max_value=1.5, axis=0)",
            "param 1: L1(l1=0.02)",
        ]
    );
    assert_eq!(
        s.layers[1].training_attrs,
        ["param 0: UnitNorm(axis=0)", "param 1: NonNeg()"]
    );
    assert!(ember_cli::summary::render(&s).contains("    param 1: NonNeg()\n"));
}
