//! Activation functions and activation layers against Keras 3 (golden values from
//! `tests/fixtures/activations/generate.py`): outputs and `jax.grad` input gradients for
//! every string activation and every layer configuration, PReLU's alpha gradient, a
//! Sequential model's predictions and 3 SGD steps; finite-difference checks (f32) and a
//! Q16.16 smoke test.

use ember_cli::convert::{convert, layer_config, layer_configs, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{
    ActivationLayer, Dense, Layer, LayerConfig, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU,
    ELU,
};
use ember_nn::{Activation, Error, Scalar, Shape, Q16_16};
use ember_tests::{
    assert_close, blob, cases, fixture, forward_backward, keras_layer, layer_cases, lcg_from_state,
    npy, train_f32, worst_summary, Pass,
};

const DIR: &str = "activations";

/// Strings Keras 3 accepts that Ember implements (`swish` is an alias of `silu`,
/// `hard_swish` of `hard_silu`).
const NAMES: [&str; 29] = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "hard_sigmoid",
    "softplus",
    "softsign",
    "elu",
    "selu",
    "exponential",
    "silu",
    "swish",
    "gelu",
    "relu6",
    "leaky_relu",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "tanh_shrink",
    "mish",
    "celu",
    "log_sigmoid",
    "soft_shrink",
    "hard_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "log_softmax",
];

fn sample_shape() -> (Shape, usize) {
    let x = npy(DIR, "x.npy");
    (Shape::new(&x.shape[1..]).unwrap(), x.shape[0])
}

#[test]
fn activation_functions_match_keras() {
    let (input, batch) = sample_shape();
    let x = npy(DIR, "x.npy").data;
    let c = npy(DIR, "c.npy").data;
    for name in NAMES {
        let a = Activation::from_keras_name(name).unwrap_or_else(|| panic!("{name}"));
        let want_y = npy(DIR, &format!("act_{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("act_{name}_dx.npy")).data;
        // As a separate layer (receives x).
        let layer = LayerConfig::Activation(ActivationLayer { activation: a });
        let Pass { y, dx, .. } = forward_backward(&layer, &[], input, batch, &x, &c).unwrap();
        println!(
            "{name}: worst y {}, dx {}",
            worst_summary(&y, &want_y),
            worst_summary(&dx, &want_dx)
        );
        assert_close(&format!("{name} y"), &y, &want_y, 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &dx, &want_dx, 1e-5, 1e-6);
        // Fused (as Dense runs it): backward from y alone.
        if !a.needs_input() {
            let mut d = c.clone();
            a.backward(&[], &y, &mut d, input.last()).unwrap();
            assert_close(&format!("{name} fused dx"), &d, &want_dx, 1e-5, 1e-6);
        }
    }
}

#[test]
fn activation_layers_match_keras() {
    let (input, batch) = sample_shape();
    let x = npy(DIR, "x.npy").data;
    let c = npy(DIR, "c.npy").data;
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 20);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let n_w = case["weights"].as_u64().unwrap() as usize;
        let weights: Vec<Vec<f32>> = (0..n_w)
            .map(|i| npy(DIR, &format!("layer_{name}_w{i}.npy")).data)
            .collect();
        let config = layer_config(&keras_layer(case)).unwrap();
        assert_eq!(config.keras_class(), case["class_name"].as_str().unwrap());
        let params: Vec<&[f32]> = weights.iter().map(|w| w.as_slice()).collect();
        let Pass { y, dx, dparams: dp } =
            forward_backward(&config, &params, input, batch, &x, &c).unwrap();
        let want_y = npy(DIR, &format!("layer_{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("layer_{name}_dx.npy")).data;
        println!(
            "{name}: worst y {}, dx {}",
            worst_summary(&y, &want_y),
            worst_summary(&dx, &want_dx)
        );
        assert_close(&format!("{name} y"), &y, &want_y, 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &dx, &want_dx, 1e-5, 1e-6);
        if n_w == 1 {
            let want = npy(DIR, &format!("layer_{name}_dw0.npy")).data;
            println!("{name}: worst dalpha {}", worst_summary(&dp, &want));
            assert_close(&format!("{name} dalpha"), &dp, &want, 1e-5, 1e-6);
        } else {
            assert!(dp.is_empty());
        }
    }
}

#[test]
fn converter_reads_layer_options() {
    let cases = layer_cases(DIR);
    let by_name = |n: &str| {
        let case = cases.iter().find(|c| c["name"] == n).unwrap();
        layer_config(&keras_layer(case)).unwrap()
    };
    assert_eq!(
        by_name("relu_all"),
        LayerConfig::ReLU(ReLU {
            max_value: Some(3.5),
            negative_slope: 0.2,
            threshold: 0.5
        })
    );
    assert_eq!(
        by_name("leaky_relu_default"),
        LayerConfig::LeakyReLU(LeakyReLU {
            negative_slope: 0.3
        })
    );
    assert_eq!(by_name("elu_0_5"), LayerConfig::ELU(ELU { alpha: 0.5 }));
    assert_eq!(
        by_name("softmax_axis1"),
        LayerConfig::Softmax(Softmax { axis: 1 })
    );
    assert_eq!(
        by_name("prelu_shared12"),
        LayerConfig::PReLU(PReLU { shared_axes: 0b110 })
    );
    assert_eq!(
        by_name("thresholded_relu"),
        LayerConfig::ThresholdedReLU(ThresholdedReLU { theta: 0.75 })
    );
    // tf.keras 2 saved LeakyReLU's slope as `alpha`.
    let mut tf2 = cases
        .iter()
        .find(|c| c["name"] == "leaky_relu_0_1")
        .unwrap()
        .clone();
    let cfg = tf2["config"].as_object_mut().unwrap();
    cfg.remove("negative_slope");
    cfg.insert("alpha".into(), serde_json::json!(0.125));
    assert_eq!(
        layer_config(&keras_layer(&tf2)).unwrap(),
        LayerConfig::LeakyReLU(LeakyReLU {
            negative_slope: 0.125
        })
    );
    // Unsupported options are refused by name.
    let prelu = cases.iter().find(|c| c["name"] == "prelu").unwrap();
    let mut bad = prelu.clone();
    bad["config"]["alpha_constraint"] = serde_json::json!({"class_name": "RadialConstraint"});
    let err = layer_config(&keras_layer(&bad)).unwrap_err();
    assert!(err.to_string().contains("alpha_constraint"), "{err}");
    let mut bad = cases
        .iter()
        .find(|c| c["name"] == "softmax_default")
        .unwrap()
        .clone();
    bad["config"]["axis"] = serde_json::json!([1, 2]);
    let err = layer_config(&keras_layer(&bad)).unwrap_err();
    assert!(err.to_string().contains("axis"), "{err}");
    let mut bad = cases
        .iter()
        .find(|c| c["name"] == "activation_gelu")
        .unwrap()
        .clone();
    bad["config"]["activation"] = serde_json::json!("sparsemax");
    let err = layer_config(&keras_layer(&bad)).unwrap_err();
    assert!(err.to_string().contains("sparsemax"), "{err}");
}

#[test]
fn dense_with_input_needing_activation_is_lowered_and_refused_fused() {
    let fused = Dense {
        units: 3,
        activation: Activation::Gelu,
        use_bias: true,
    };
    assert!(matches!(
        fused.output_shape(Shape::new(&[4]).unwrap()),
        Err(Error::InvalidConfig(_))
    ));
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let swish = k.layers.iter().find(|l| l.name == "dense_swish").unwrap();
    let lowered = layer_configs(swish).unwrap();
    assert_eq!(lowered.len(), 2);
    assert!(matches!(
        lowered[0],
        LayerConfig::Dense(Dense {
            units: 6,
            activation: Activation::Linear,
            use_bias: true
        })
    ));
    assert_eq!(
        lowered[1],
        LayerConfig::Activation(ActivationLayer {
            activation: Activation::Silu
        })
    );
    let blob = convert(&k, DTypeChoice::F32).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(blob.as_slice()).unwrap();
    let names: Vec<&str> = g.layers().iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        [
            "dense_relu",
            "prelu",
            "dense_linear",
            "prelu_2",
            "leaky",
            "dense_swish",
            "dense_swish/activation",
            "dense_softmax"
        ]
    );
}

#[test]
fn model_predictions_match_keras() {
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(blob(DIR, DTypeChoice::F32).as_slice(), &x, 2).unwrap();
    println!(
        "model predict: worst {}",
        worst_summary(&y.data, &want.data)
    );
    assert_close("activations_mlp predict", &y.data, &want.data, 1e-5, 1e-7);
}

#[test]
fn model_training_matches_keras() {
    let cs = cases(DIR);
    assert_eq!(cs.len(), 1);
    for case in cs {
        let b = blob(DIR, DTypeChoice::F32);
        let xs = npy(DIR, &format!("train_{}_x.npy", case.name));
        let ys = npy(DIR, &format!("train_{}_y.npy", case.name));
        let t = train_f32(b.as_slice(), case.config, case.steps, &xs.data, &ys.data);
        let want = npy(DIR, &format!("train_{}_losses.npy", case.name));
        assert_close("losses", &t.losses, &want.data, 1e-5, 1e-7);
        let mut i = 0;
        for w in t.params.iter().flatten() {
            let want = npy(DIR, &format!("train_{}_w{i}.npy", case.name));
            println!(
                "model training w{i}: worst {}",
                worst_summary(w, &want.data)
            );
            assert_close(&format!("w{i}"), w, &want.data, 1e-5, 1e-6);
            i += 1;
        }
        // Dense ×4 (kernel, bias) + 2 PReLU alphas.
        assert_eq!(i, 10);
        // The second PReLU's alpha trained (the first's input is a relu output: no
        // negative inputs, no gradient, as in Keras).
        let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
        assert_ne!(
            t.params[3][0].as_slice(),
            k.layers[3].weights[0].data.as_slice()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Finite differences (f32).

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    lcg_from_state(seed.wrapping_mul(6364136223846793005).wrapping_add(1), n)
}

const H: f32 = 1e-2;

/// Central-difference check of `∂(Σ c ⊙ layer(x))/∂x` and `/∂params` for every input
/// element farther than 2H from a kink.
fn gradcheck(what: &str, config: LayerConfig, params: &[Vec<f32>], kinks: &[f32]) {
    let input = Shape::new(&[3, 4]).unwrap();
    let batch = 2;
    let x: Vec<f32> = values(batch * input.len(), 11)
        .iter()
        .map(|v| v * 4.0)
        .collect();
    let c = values(batch * input.len(), 12);
    let refs: Vec<&[f32]> = params.iter().map(|p| p.as_slice()).collect();
    let Pass {
        dx, dparams: dp, ..
    } = forward_backward(&config, &refs, input, batch, &x, &c).unwrap();
    let objective = |x: &[f32], params: &[&[f32]]| -> f32 {
        let Pass { y, .. } = forward_backward(&config, params, input, batch, x, &c).unwrap();
        y.iter().zip(&c).map(|(a, b)| a * b).sum()
    };
    let near_kink = |v: f32| kinks.iter().any(|k| (v - k).abs() < 2.0 * H);
    let check = |w: &str, analytic: f32, numeric: f32| {
        assert!(
            (analytic - numeric).abs() <= 3e-3 + 3e-3 * numeric.abs(),
            "{what} {w}: analytic {analytic}, numeric {numeric}"
        );
    };
    let mut checked = 0;
    for i in 0..x.len() {
        if near_kink(x[i]) {
            continue;
        }
        let mut xp = x.clone();
        xp[i] = x[i] + H;
        let up = objective(&xp, &refs);
        xp[i] = x[i] - H;
        let down = objective(&xp, &refs);
        check(&format!("dx[{i}]"), dx[i], (up - down) / (2.0 * H));
        checked += 1;
    }
    assert!(checked > x.len() / 2, "{what}: too few points checked");
    let mut off = 0;
    for (k, p) in params.iter().enumerate() {
        for j in 0..p.len() {
            let mut q: Vec<Vec<f32>> = params.to_vec();
            q[k][j] = p[j] + H;
            let qr: Vec<&[f32]> = q.iter().map(|p| p.as_slice()).collect();
            let up = objective(&x, &qr);
            q[k][j] = p[j] - H;
            let qr: Vec<&[f32]> = q.iter().map(|p| p.as_slice()).collect();
            let down = objective(&x, &qr);
            check(
                &format!("dparam{k}[{j}]"),
                dp[off + j],
                (up - down) / (2.0 * H),
            );
        }
        off += p.len();
    }
}

#[test]
fn gradients_match_finite_differences() {
    for a in Activation::ALL {
        gradcheck(
            a.keras_name(),
            LayerConfig::Activation(ActivationLayer { activation: a }),
            &[],
            &[0.0, -3.0, 3.0, 6.0, -1.0, 1.0, -0.5, 0.5],
        );
    }
    let relus = [
        ReLU::default(),
        ReLU {
            max_value: Some(2.0),
            negative_slope: 0.1,
            threshold: 0.0,
        },
        ReLU {
            max_value: Some(3.5),
            negative_slope: 0.2,
            threshold: 0.5,
        },
        ReLU {
            max_value: None,
            negative_slope: 0.25,
            threshold: 0.0,
        },
        ReLU {
            max_value: Some(6.0),
            negative_slope: 0.0,
            threshold: 0.0,
        },
    ];
    for r in relus {
        let kinks = [0.0, r.threshold, r.max_value.unwrap_or(0.0)];
        gradcheck(&format!("{r:?}"), LayerConfig::ReLU(r), &[], &kinks);
    }
    gradcheck(
        "LeakyReLU",
        LayerConfig::LeakyReLU(LeakyReLU::default()),
        &[],
        &[0.0],
    );
    gradcheck("ELU", LayerConfig::ELU(ELU { alpha: 0.7 }), &[], &[0.0]);
    gradcheck(
        "ThresholdedReLU",
        LayerConfig::ThresholdedReLU(ThresholdedReLU { theta: 0.5 }),
        &[],
        &[0.5],
    );
    for axis in [-1, 1, 2, -2] {
        gradcheck(
            &format!("Softmax axis {axis}"),
            LayerConfig::Softmax(Softmax { axis }),
            &[],
            &[],
        );
    }
    let alpha = values(12, 21);
    gradcheck(
        "PReLU",
        LayerConfig::PReLU(PReLU { shared_axes: 0 }),
        &[alpha],
        &[0.0],
    );
    let alpha = values(4, 22);
    gradcheck(
        "PReLU shared_axes=[1]",
        LayerConfig::PReLU(PReLU { shared_axes: 0b10 }),
        &[alpha],
        &[0.0],
    );
    // Dense with a fused output-only activation: its backward sees only y.
    for a in Activation::ALL.into_iter().filter(|a| !a.needs_input()) {
        let d = Dense {
            units: 4,
            activation: a,
            use_bias: true,
        };
        let w: Vec<f32> = values(16, 31).iter().map(|v| v * 0.5).collect();
        let b = values(4, 32);
        // Kinks are in the pre-activation, so no element-wise skipping applies; use
        // activations without kinks only.
        if matches!(
            a,
            Activation::Relu | Activation::HardSigmoid | Activation::Elu | Activation::Selu
        ) {
            continue;
        }
        gradcheck(a.keras_name(), LayerConfig::Dense(d), &[w, b], &[]);
    }
}

// ---------------------------------------------------------------------------------------
// Q16.16.

#[test]
fn fixed_point_smoke() {
    // Every layer and activation runs in Q16.16 and agrees with f32 on moderate inputs.
    let input = Shape::new(&[3, 4]).unwrap();
    let batch = 2;
    let x: Vec<f32> = values(batch * input.len(), 41)
        .iter()
        .map(|v| v * 3.0)
        .collect();
    let c = values(batch * input.len(), 42);
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    let mut configs: Vec<(LayerConfig, Vec<Vec<f32>>)> = Activation::ALL
        .iter()
        .map(|&a| {
            (
                LayerConfig::Activation(ActivationLayer { activation: a }),
                vec![],
            )
        })
        .collect();
    configs.extend([
        (
            LayerConfig::ReLU(ReLU {
                max_value: Some(2.0),
                negative_slope: 0.1,
                threshold: 0.5,
            }),
            vec![],
        ),
        (LayerConfig::LeakyReLU(LeakyReLU::default()), vec![]),
        (LayerConfig::ELU(ELU::default()), vec![]),
        (
            LayerConfig::ThresholdedReLU(ThresholdedReLU::default()),
            vec![],
        ),
        (LayerConfig::Softmax(Softmax { axis: 1 }), vec![]),
        (
            LayerConfig::PReLU(PReLU { shared_axes: 0 }),
            vec![values(12, 43)],
        ),
    ]);
    for (config, params) in configs {
        let pf: Vec<&[f32]> = params.iter().map(|p| p.as_slice()).collect();
        let Pass {
            y: yf,
            dx: dxf,
            dparams: dpf,
        } = forward_backward(&config, &pf, input, batch, &x, &c).unwrap();
        let pq_own: Vec<Vec<Q16_16>> = params.iter().map(|p| q(p)).collect();
        let pq: Vec<&[Q16_16]> = pq_own.iter().map(|p| p.as_slice()).collect();
        let Pass {
            y: yq,
            dx: dxq,
            dparams: dpq,
        } = forward_backward(&config, &pq, input, batch, &q(&x), &q(&c)).unwrap();
        let what = format!("{config:?}");
        // exponential(3) ≈ 20: relative tolerance for the large values.
        assert_close(&format!("{what} y"), &f(&yq), &yf, 1e-4, 2e-4);
        assert_close(&format!("{what} dx"), &f(&dxq), &dxf, 1e-4, 5e-4);
        assert_close(&format!("{what} dp"), &f(&dpq), &dpf, 1e-4, 5e-4);
    }
    // The golden model converts to Q16.16 and predicts close to Keras.
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(blob(DIR, DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close(
        "Q16.16 activations_mlp predict",
        &y.data,
        &want.data,
        0.0,
        1e-3,
    );
}
