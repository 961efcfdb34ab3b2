//! DepthwiseConv1D/2D and SeparableConv1D/2D against Keras 3 (golden values from
//! `tests/fixtures/depthwise/generate.py`): outputs, and `jax.grad` gradients with respect
//! to the input and every weight, for 16 configurations; finite-difference checks (f32);
//! Q16.16 against f32; the converter's option checks and defaults; a blob round trip
//! through `Sequential`; bad shapes and buffers.

use ember_cli::convert::{convert, layer_config, layer_configs, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::layers::{
    Context, DepthwiseConv1D, DepthwiseConv2D, LayerConfig, Padding, SeparableConv1D,
    SeparableConv2D,
};
use ember_nn::{
    Activation, Error, Loss, Optimizer, Scalar, Sequential, Sgd, Shape, TensorView, TensorViewMut,
    TrainConfig, Trainable, Q16_16,
};
use ember_tests::{
    assert_close, case_named, check_finite_differences, dims, fixture, forward_backward,
    keras_layer, layer_cases, npy, FiniteDiff, Pass,
};
use serde_json::{json, Value};

const DIR: &str = "depthwise";

/// For the log: the largest `|a − e| / (1e-5·|e| + 1e-6)` (the share of the tolerance
/// used) and the largest `|a − e| / |e|` over `|e| ≥ 0.1`.
fn worst(a: &[f32], e: &[f32]) -> [f32; 2] {
    let share = a
        .iter()
        .zip(e)
        .map(|(a, e)| (a - e).abs() / (1e-5 * e.abs() + 1e-6))
        .fold(0.0, f32::max);
    let rel = a
        .iter()
        .zip(e)
        .filter(|(_, e)| e.abs() >= 0.1)
        .map(|(a, e)| (a - e).abs() / e.abs())
        .fold(0.0, f32::max);
    [share, rel]
}

fn max2(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0].max(b[0]), a[1].max(b[1])]
}

/// A golden case: converted config, input shape, batch, x, c and the weights.
struct Golden {
    name: String,
    config: LayerConfig,
    input: Shape,
    batch: usize,
    x: Vec<f32>,
    c: Vec<f32>,
    weights: Vec<Vec<f32>>,
}

fn golden(case: &Value) -> Golden {
    let name = case["name"].as_str().unwrap().to_string();
    let config = layer_config(&keras_layer(case)).unwrap();
    let input = Shape::new(&dims(&case["input_shape"])).unwrap();
    let x = npy(DIR, &format!("{name}_x.npy"));
    let c = npy(DIR, &format!("{name}_c.npy")).data;
    let n_w = case["weight_shapes"].as_array().unwrap().len();
    let weights = (0..n_w)
        .map(|k| npy(DIR, &format!("{name}_w{k}.npy")).data)
        .collect();
    Golden {
        name,
        config,
        input,
        batch: x.shape[0],
        x: x.data,
        c,
        weights,
    }
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 16);
    let mut acc = [[0.0f32; 2]; 3];
    for case in &cases {
        let g = golden(case);
        let name = &g.name;
        assert_eq!(g.config.keras_class(), case["class_name"].as_str().unwrap());
        let out = g.config.output_shape(g.input).unwrap();
        let want_out: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want_out.as_slice(), "{name} output shape");
        // Weight shapes exactly as Keras stores them.
        let shapes = g.config.param_shapes(g.input).unwrap();
        let want: Vec<Vec<usize>> = case["weight_shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(dims)
            .collect();
        let got: Vec<Vec<usize>> = shapes
            .iter()
            .map(|s| s.dims().iter().map(|&d| d as usize).collect())
            .collect();
        assert_eq!(got, want, "{name} weight shapes");

        let params: Vec<&[f32]> = g.weights.iter().map(|w| w.as_slice()).collect();
        let Pass { y, dx, dparams: dp } =
            forward_backward(&g.config, &params, g.input, g.batch, &g.x, &g.c).unwrap();
        let want_y = npy(DIR, &format!("{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("{name}_dx.npy")).data;
        assert_close(&format!("{name} y"), &y, &want_y, 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &dx, &want_dx, 1e-5, 1e-6);
        acc[0] = max2(acc[0], worst(&y, &want_y));
        acc[1] = max2(acc[1], worst(&dx, &want_dx));
        let mut off = 0;
        for (k, w) in g.weights.iter().enumerate() {
            let want_dw = npy(DIR, &format!("{name}_dw{k}.npy")).data;
            let got = &dp[off..off + w.len()];
            assert_close(&format!("{name} dw{k}"), got, &want_dw, 1e-5, 1e-6);
            acc[2] = max2(acc[2], worst(got, &want_dw));
            off += w.len();
        }
    }
    for (what, [share, rel]) in ["y", "dx", "dweights"].iter().zip(acc) {
        println!(
            "{what}: worst {share:.2} of the tolerance; worst relative error (|e| >= 0.1) {rel:.1e}"
        );
    }
}

/// Finite differences (f32, central, step 1e-2) of `L = Σ c ⊙ layer(x)` for the input
/// and every weight, against the analytic backward pass, on every golden configuration
/// whose activation is smooth (relu's kink could sit between the two evaluations).
#[test]
fn gradients_match_finite_differences() {
    const H: f32 = 1e-2;
    let mut checked = 0;
    for case in layer_cases(DIR) {
        let g = golden(&case);
        if case["config"]["activation"] == "relu" {
            continue;
        }
        let fd = FiniteDiff {
            h: H,
            tol: 3e-3,
            // Every 3rd input element (all of them would be slow for no gain).
            x_stride: 3,
        };
        let (mut w, mut x) = (g.weights.clone(), g.x.clone());
        check_finite_differences(
            &g.name, &g.config, g.input, g.batch, &mut w, &mut x, &g.c, fd,
        );
        checked += 1;
    }
    assert!(checked >= 14, "{checked}");
}

/// Q16.16 runs the same code: forward and backward agree with f32 within 2e-3 absolute.
/// Inputs are N(0, 1) and weights N(0, 0.5), so every value is O(1); Q16.16 quantizes each
/// operand with an error ≤ 2⁻¹⁷ ≈ 7.6e-6 and rounds each dot product once (plus once per
/// separable intermediate). The longest sums are the weight gradients' (up to batch 2 ×
/// 63 pixels = 126 products of two O(1) operands): ≤ 126 · 2 · 3 · 7.6e-6 ≈ 6e-3 in the
/// very worst case, ~1e-4 in practice (errors of random sign). 2e-3 leaves room while
/// still failing on any real bug (errors of order 1e-1).
#[test]
fn fixed_point_agrees_with_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    let mut worst = 0.0f32;
    for case in layer_cases(DIR) {
        let g = golden(&case);
        let name = &g.name;
        let params: Vec<&[f32]> = g.weights.iter().map(|w| w.as_slice()).collect();
        let Pass {
            y: yf,
            dx: dxf,
            dparams: dpf,
        } = forward_backward(&g.config, &params, g.input, g.batch, &g.x, &g.c).unwrap();
        let wq: Vec<Vec<Q16_16>> = g.weights.iter().map(|w| q(w)).collect();
        let pq: Vec<&[Q16_16]> = wq.iter().map(|w| w.as_slice()).collect();
        let Pass {
            y: yq,
            dx: dxq,
            dparams: dpq,
        } = forward_backward(&g.config, &pq, g.input, g.batch, &q(&g.x), &q(&g.c)).unwrap();
        for (what, a, e) in [
            ("y", f(&yq), yf),
            ("dx", f(&dxq), dxf),
            ("dw", f(&dpq), dpf),
        ] {
            assert_close(&format!("{name} Q16.16 {what}"), &a, &e, 0.0, 2e-3);
            let d = a
                .iter()
                .zip(&e)
                .map(|(a, e)| (a - e).abs())
                .fold(0.0, f32::max);
            worst = worst.max(d);
        }
    }
    println!("Q16.16 vs f32: worst absolute difference {worst:.1e}");
}

#[test]
fn converter_reads_options_and_defaults() {
    let conf = |c: &Value| layer_config(&keras_layer(c));
    assert_eq!(
        conf(&case_named(layer_cases(DIR), "dw2d_dm3_same_s2_even")).unwrap(),
        LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
            kernel_size: [3, 3],
            strides: [2, 2],
            padding: Padding::Same,
            dilation_rate: [1, 1],
            depth_multiplier: 3,
            activation: Activation::Linear,
            use_bias: true,
        })
    );
    assert_eq!(
        conf(&case_named(layer_cases(DIR), "sep1d_dm2_k4_s2_tanh")).unwrap(),
        LayerConfig::SeparableConv1D(SeparableConv1D {
            filters: 3,
            kernel_size: 4,
            strides: 2,
            padding: Padding::Valid,
            dilation_rate: 1,
            depth_multiplier: 2,
            activation: Activation::Tanh,
            use_bias: true,
        })
    );
    // Absent keys take Keras's defaults.
    for (name, keep) in [
        ("dw2d_nobias_relu", &["kernel_size"][..]),
        ("dw1d_dm2_same", &["kernel_size"][..]),
        ("sep2d_dm2_same", &["kernel_size", "filters"][..]),
        ("sep1d_same", &["kernel_size", "filters"][..]),
    ] {
        let mut c = case_named(layer_cases(DIR), name);
        let obj = c["config"].as_object_mut().unwrap();
        obj.retain(|k, _| keep.contains(&k.as_str()) || k == "name");
        let got = conf(&c).unwrap();
        let want = match got {
            LayerConfig::DepthwiseConv2D(_) => LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
                kernel_size: [3, 3],
                strides: [1, 1],
                padding: Padding::Valid,
                dilation_rate: [1, 1],
                depth_multiplier: 1,
                activation: Activation::Linear,
                use_bias: true,
            }),
            LayerConfig::DepthwiseConv1D(_) => LayerConfig::DepthwiseConv1D(DepthwiseConv1D {
                kernel_size: 3,
                strides: 1,
                padding: Padding::Valid,
                dilation_rate: 1,
                depth_multiplier: 1,
                activation: Activation::Linear,
                use_bias: true,
            }),
            LayerConfig::SeparableConv2D(_) => LayerConfig::SeparableConv2D(SeparableConv2D {
                filters: 4,
                kernel_size: [3, 3],
                strides: [1, 1],
                padding: Padding::Valid,
                dilation_rate: [1, 1],
                depth_multiplier: 1,
                activation: Activation::Linear,
                use_bias: true,
            }),
            _ => LayerConfig::SeparableConv1D(SeparableConv1D {
                filters: 4,
                kernel_size: 3,
                strides: 1,
                padding: Padding::Valid,
                dilation_rate: 1,
                depth_multiplier: 1,
                activation: Activation::Linear,
                use_bias: true,
            }),
        };
        assert_eq!(got, want, "{name} defaults");
    }
    // A plain integer stands for the same value on every axis.
    let mut c = case_named(layer_cases(DIR), "dw2d_k3_same");
    c["config"]["kernel_size"] = json!(2);
    c["config"]["strides"] = json!(3);
    let LayerConfig::DepthwiseConv2D(d) = conf(&c).unwrap() else {
        panic!()
    };
    assert_eq!((d.kernel_size, d.strides), ([2, 2], [3, 3]));
    // An activation that needs its input is lowered to linear + Activation.
    let mut c = case_named(layer_cases(DIR), "sep2d_dm2_same");
    c["config"]["activation"] = "gelu".into();
    let lowered = layer_configs(&keras_layer(&c)).unwrap();
    assert_eq!(lowered.len(), 2);
    assert_eq!(lowered[1].keras_class(), "Activation");
}

#[test]
fn converter_refuses_unsupported_options_by_name() {
    let refused = |n: &str, key: &str, v: Value| {
        let mut c = case_named(layer_cases(DIR), n);
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{n} {key}={v}: {err}");
    };
    // Regularizers and constraints Ember lacks (the supported ones are read into the
    // layer's training attributes: tests/tests/golden_regularizers.rs, conv_attrs below).
    let reg = json!({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer", "config": {"factor": 0.01}});
    let con = json!({"module": "my.constraints", "class_name": "Clip", "config": {}});
    for n in [
        "dw2d_k3_same",
        "dw1d_dm2_same",
        "sep2d_dm2_same",
        "sep1d_same",
    ] {
        refused(n, "data_format", "channels_first".into());
        refused(n, "padding", "causal".into());
        refused(n, "padding", "full".into());
        refused(n, "padding", json!([[1, 1], [1, 1]]));
        refused(n, "dtype", "float16".into());
        refused(
            n,
            "dtype",
            json!({"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "mixed_float16"}}),
        );
        refused(n, "depthwise_regularizer", reg.clone());
        refused(n, "bias_regularizer", reg.clone());
        refused(n, "activity_regularizer", reg.clone());
        refused(n, "depthwise_constraint", con.clone());
        refused(n, "bias_constraint", con.clone());
        refused(n, "depth_multiplier", json!(0));
        refused(n, "depth_multiplier", json!(1.5));
        refused(n, "kernel_size", json!([0, 3]));
        refused(n, "kernel_size", json!([1, 2, 3]));
        refused(n, "strides", json!(0));
        refused(n, "dilation_rate", json!(-1));
        refused(n, "use_bias", json!("yes"));
        refused(n, "activation", "sparsemax".into());
    }
    for n in ["sep2d_dm2_same", "sep1d_same"] {
        refused(n, "pointwise_regularizer", reg.clone());
        refused(n, "pointwise_constraint", con.clone());
        refused(n, "filters", json!(0));
        refused(n, "filters", Value::Null);
    }
}

/// Each golden layer alone as a blob: the graph decodes to the same config, `predict`
/// gives Keras's output, and one SGD step on an MSE loss (target 0) moves every weight by
/// `−lr · ∂L/∂w` with `∂L/∂y = 2y / len(y)`, through the planner's buffers.
#[test]
fn blob_round_trip_through_sequential() {
    for case in layer_cases(DIR) {
        let g = golden(&case);
        let params: Vec<&[f32]> = g.weights.iter().map(|w| w.as_slice()).collect();
        let specs = [LayerSpec {
            name: "l",
            trainable: true,
            config: g.config,
            params: &params,
            attrs: ember_nn::layers::LayerAttrs::NONE,
        }];
        let len = encoded_len("m", g.input, &specs).unwrap();
        let mut bytes = ember_cli::blob_file::AlignedBytes::zeroed(len);
        write("m", g.input, &specs, bytes.as_mut_slice()).unwrap();
        let graph = ember_nn::model::Graph::<f32>::parse(bytes.as_slice()).unwrap();
        assert_eq!(graph.layers()[0].config, g.config);

        let needed = Sequential::<f32>::inference_bytes(bytes.as_slice(), g.batch).unwrap();
        let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
        let mut m =
            Sequential::<f32>::new(bytes.as_slice(), arena.as_mut_slice(), g.batch).unwrap();
        let want = npy(DIR, &format!("{}_y.npy", g.name)).data;
        let mut y = vec![0.0f32; want.len()];
        m.predict(&g.x, &mut y).unwrap();
        assert_close(&format!("{} predict", g.name), &y, &want, 1e-5, 1e-6);

        let lr = 0.1f32;
        let config = TrainConfig {
            batch_size: g.batch,
            optimizer: Optimizer::sgd(Sgd {
                learning_rate: lr,
                momentum: 0.0,
                nesterov: false,
            }),
            loss: Loss::from_keras_name("mse").unwrap(),
            trainable: Trainable::All,
        };
        let needed = Sequential::<f32>::training_bytes(bytes.as_slice(), &config).unwrap();
        let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
        let mut m = Sequential::<f32>::for_training(bytes.as_slice(), arena.as_mut_slice(), config)
            .unwrap();
        let target = vec![0.0f32; y.len()];
        m.train_on_batch(&g.x, &target).unwrap();
        let dy: Vec<f32> = y.iter().map(|v| 2.0 * v / y.len() as f32).collect();
        let dp = forward_backward(&g.config, &params, g.input, g.batch, &g.x, &dy)
            .unwrap()
            .dparams;
        let mut off = 0;
        for (k, w) in g.weights.iter().enumerate() {
            let want: Vec<f32> = w
                .iter()
                .zip(&dp[off..off + w.len()])
                .map(|(w, d)| w - lr * d)
                .collect();
            let got = m.param(0, k).unwrap();
            assert_close(&format!("{} trained w{k}", g.name), got, &want, 1e-5, 1e-6);
            off += w.len();
        }
    }
}

/// Two Keras Sequential models (`model2d`: DepthwiseConv2D → SeparableConv2D → Flatten →
/// Dense; `model1d`: the 1-D twins) read from `.keras`, converted, run: predictions and
/// 3 SGD steps (losses and every weight) against Keras's `predict` and `train_on_batch`.
#[test]
fn models_match_keras() {
    for name in ["model2d", "model1d"] {
        let k = read_keras_file(&fixture(DIR, &format!("{name}.keras"))).unwrap();
        let b = convert(&k, DTypeChoice::F32).unwrap();
        let x = npy(DIR, &format!("{name}_x.npy"));
        let want = npy(DIR, &format!("{name}_y.npy"));
        let y = predict(b.as_slice(), &x, 2).unwrap();
        assert_close(&format!("{name} predict"), &y.data, &want.data, 1e-5, 1e-6);

        let config = TrainConfig {
            batch_size: 4,
            optimizer: Optimizer::sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.0,
                nesterov: false,
            }),
            loss: Loss::from_keras_name("categorical_crossentropy").unwrap(),
            trainable: Trainable::All,
        };
        let needed = Sequential::<f32>::training_bytes(b.as_slice(), &config).unwrap();
        let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
        let mut m =
            Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), config).unwrap();
        let xs = npy(DIR, &format!("{name}_train_x.npy"));
        let ys = npy(DIR, &format!("{name}_train_y.npy"));
        let steps = xs.shape[0];
        let (xn, yn) = (xs.data.len() / steps, ys.data.len() / steps);
        let losses: Vec<f32> = (0..steps)
            .map(|s| {
                m.train_on_batch(
                    &xs.data[s * xn..(s + 1) * xn],
                    &ys.data[s * yn..(s + 1) * yn],
                )
                .unwrap()
            })
            .collect();
        let want = npy(DIR, &format!("{name}_train_losses.npy"));
        assert_close(&format!("{name} losses"), &losses, &want.data, 1e-5, 1e-6);
        let mut i = 0;
        for l in 0..m.graph().layers().len() {
            for p in 0..m.graph().layers()[l].params.len() {
                let want = npy(DIR, &format!("{name}_train_w{i}.npy"));
                let got = m.param(l, p).unwrap();
                assert_close(&format!("{name} w{i}"), got, &want.data, 1e-5, 1e-6);
                i += 1;
            }
        }
        // dw (kernel, bias), sep (depthwise, pointwise, bias), out (kernel, bias).
        assert_eq!(i, 7, "{name}");
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let dw = LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: Padding::Valid,
        dilation_rate: [1, 1],
        depth_multiplier: 2,
        activation: Activation::Linear,
        use_bias: true,
    });
    // Wrong rank, window larger than the input, overflowing sizes.
    assert_eq!(dw.output_shape(s(&[5, 3])), Err(Error::InvalidShape));
    assert_eq!(dw.output_shape(s(&[2, 5, 3])), Err(Error::InvalidShape));
    assert_eq!(dw.param_shapes(s(&[2, 5, 3])), Err(Error::InvalidShape));
    assert_eq!(dw.macs(s(&[2, 5, 3])), 0);
    let huge = LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
        kernel_size: [u32::MAX, 1],
        dilation_rate: [u32::MAX, 1],
        ..match dw {
            LayerConfig::DepthwiseConv2D(d) => d,
            _ => unreachable!(),
        }
    });
    assert!(huge.output_shape(s(&[5, 5, 3])).is_err());
    let many = LayerConfig::DepthwiseConv1D(DepthwiseConv1D {
        kernel_size: 1,
        strides: 1,
        padding: Padding::Same,
        dilation_rate: 1,
        depth_multiplier: u32::MAX,
        activation: Activation::Linear,
        use_bias: false,
    });
    assert!(many.output_shape(s(&[4, 1 << 20])).is_err());
    // Options Keras does not allow here, or Ember cannot fuse.
    let bad = |c: LayerConfig| c.output_shape(s(&[5, 5, 2]));
    let base = DepthwiseConv2D {
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: Padding::Valid,
        dilation_rate: [1, 1],
        depth_multiplier: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    for c in [
        DepthwiseConv2D {
            padding: Padding::Causal,
            ..base
        },
        DepthwiseConv2D {
            activation: Activation::Gelu,
            ..base
        },
        DepthwiseConv2D {
            depth_multiplier: 0,
            ..base
        },
    ] {
        assert!(
            matches!(
                bad(LayerConfig::DepthwiseConv2D(c)),
                Err(Error::InvalidConfig(_))
            ),
            "{c:?}"
        );
    }
    assert!(bad(LayerConfig::DepthwiseConv2D(DepthwiseConv2D {
        strides: [0, 1],
        ..base
    }))
    .is_err());
    // Separable: more intermediate channels than the stack buffer holds.
    let sep = SeparableConv2D {
        filters: 2,
        kernel_size: [1, 1],
        strides: [1, 1],
        padding: Padding::Valid,
        dilation_rate: [1, 1],
        depth_multiplier: 2,
        activation: Activation::Linear,
        use_bias: true,
    };
    let limit = ember_nn::kernels::optimized::separable::MAX_SEPARABLE_CHANNELS;
    assert!(LayerConfig::SeparableConv2D(sep)
        .output_shape(s(&[2, 2, limit / 2]))
        .is_ok());
    assert!(matches!(
        LayerConfig::SeparableConv2D(sep).output_shape(s(&[2, 2, limit / 2 + 1])),
        Err(Error::InvalidConfig(_))
    ));
    // Wrong parameter counts and lengths, wrong output buffers: errors, never panics.
    let input = s(&[4, 4, 2]);
    let xs = input.with_batch(1).unwrap();
    let x = vec![0.5f32; xs.len()];
    let w = vec![0.1f32; 3 * 3 * 4];
    let b = vec![0.0f32; 4];
    let out = dw.output_shape(input).unwrap().with_batch(1).unwrap();
    let mut y = vec![0.0f32; out.len()];
    let call = |params: &[&[f32]], y: &mut [f32], ys: Shape| {
        dw.forward(
            params,
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(ys, y).unwrap(),
            &Context::default(),
        )
    };
    assert!(call(&[&w, &b], &mut y, out).is_ok());
    assert!(call(&[&w], &mut y, out).is_err());
    assert!(call(&[&w[1..], &b], &mut y, out).is_err());
    assert!(call(&[&w, &b[1..]], &mut y, out).is_err());
    let mut y_short = vec![0.0f32; out.len() - 1];
    assert!(call(&[&w, &b], &mut y_short, s(&[out.len() - 1])).is_err());
    // Backward: wrong dy, dx and dparams lengths.
    let mut dy = vec![1.0f32; out.len()];
    let back = |dy: &mut [f32], dx: Option<&mut [f32]>, dp: Option<&mut [f32]>| {
        dw.backward(
            &[&w, &b],
            TensorView::new(xs, &x).unwrap(),
            TensorView::new(out, &y).unwrap(),
            dy,
            dx,
            dp,
            &Context::default(),
        )
    };
    let mut dx = vec![0.0f32; x.len()];
    let mut dp = vec![0.0f32; w.len() + b.len()];
    assert!(back(&mut dy, Some(&mut dx), Some(&mut dp)).is_ok());
    assert!(back(&mut dy[1..], Some(&mut dx), None).is_err());
    assert!(back(&mut dy, Some(&mut dx[1..]), None).is_err());
    assert!(back(&mut dy, None, Some(&mut dp[1..])).is_err());
    // The kernels check their slices too.
    use ember_nn::kernels::geometry::ConvGeometry;
    use ember_nn::kernels::{optimized, reference};
    use ember_nn::layers::Window;
    let k = Window::new(3, 1, 1).unwrap();
    let geo = ConvGeometry::new(4, 4, 2, k, k, Padding::Same, 4).unwrap();
    let mut y16 = vec![0.0f32; 64];
    assert!(reference::depthwise::forward(&geo, 2, &x, &w, &b, &mut y16).is_ok());
    assert!(reference::depthwise::forward(&geo, 3, &x, &w, &b, &mut y16).is_err());
    assert!(optimized::depthwise::forward(&geo, 2, &x[1..], &w, &b, &mut y16).is_err());
    assert!(optimized::depthwise::forward(&geo, 2, &x, &w, &b, &mut y16[1..]).is_err());
    // A hand-built geometry (public fields) with a zero step or overflowing positions.
    let mut dx16 = vec![0.0f32; x.len()];
    for bad in [
        ConvGeometry { stride_h: 0, ..geo },
        ConvGeometry { dil_w: 0, ..geo },
        ConvGeometry {
            pad_top: usize::MAX,
            ..geo
        },
    ] {
        assert!(reference::depthwise::forward(&bad, 2, &x, &w, &b, &mut y16).is_err());
        assert!(optimized::depthwise::backward_input(&bad, 2, &y16, &w, &mut dx16).is_err());
    }
    let pw = vec![0.1f32; 4 * 3];
    let mut ys = vec![0.0f32; 48];
    assert!(optimized::separable::forward(&geo, 2, 3, &x, &w, &pw, &[], &mut ys).is_ok());
    assert!(optimized::separable::forward(&geo, 2, 3, &x, &w, &pw[1..], &[], &mut ys).is_err());
    assert!(reference::separable::forward(&geo, 2, 0, &x, &w, &pw, &[], &mut ys).is_err());
}
