//! `Conv1D` and `Conv2D` against Keras 3 (golden values from
//! `tests/fixtures/conv/generate.py`): outputs and `jax.grad` gradients w.r.t. the input,
//! the kernel and the bias for every case; finite-difference gradient checks; Q16.16
//! against f32; the converter's option checks; bad shapes and buffers.

use ember_cli::convert::layer_config;
use ember_cli::keras::KerasLayer;
use ember_nn::layers::{Context, Conv1D, Conv2D, LayerConfig, Padding};
use ember_nn::{Activation, Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, case_named, check_finite_differences, dims, forward_backward, keras_layer,
    lcg_from_state, npy, read_cases, refs, worst_abs, worst_rel, FiniteDiff,
};
use serde_json::{json, Value};

const DIR: &str = "conv";

fn all_cases() -> Vec<Value> {
    read_cases(DIR, "cases.json")
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    lcg_from_state(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, n)
}

/// A golden case loaded: config, input shape, batch, weights, x, c and the expected
/// y, dx and weight gradients.
struct Golden {
    name: String,
    config: LayerConfig,
    input: Shape,
    batch: usize,
    weights: Vec<Vec<f32>>,
    x: Vec<f32>,
    c: Vec<f32>,
    y: Vec<f32>,
    dx: Vec<f32>,
    dweights: Vec<Vec<f32>>,
}

fn golden(case: &Value) -> Golden {
    let name = case["name"].as_str().unwrap().to_string();
    let config = layer_config(&keras_layer(case)).unwrap();
    let input = Shape::new(&dims(&case["input_shape"])).unwrap();
    let n_w = case["weight_shapes"].as_array().unwrap().len();
    let x = npy(DIR, &format!("{name}_x.npy"));
    Golden {
        config,
        input,
        batch: x.shape[0],
        weights: (0..n_w)
            .map(|i| npy(DIR, &format!("{name}_w{i}.npy")).data)
            .collect(),
        x: x.data,
        c: npy(DIR, &format!("{name}_c.npy")).data,
        y: npy(DIR, &format!("{name}_y.npy")).data,
        dx: npy(DIR, &format!("{name}_dx.npy")).data,
        dweights: (0..n_w)
            .map(|i| npy(DIR, &format!("{name}_dw{i}.npy")).data)
            .collect(),
        name,
    }
}

#[test]
fn layers_match_keras() {
    let cases = all_cases();
    assert_eq!(cases.len(), 26);
    let mut worst = [0.0f32; 4];
    for case in &cases {
        let g = golden(case);
        let name = &g.name;
        assert_eq!(
            g.config.keras_class(),
            case["class_name"].as_str().unwrap(),
            "{name}"
        );
        let out = g.config.output_shape(g.input).unwrap();
        let want_out: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want_out.as_slice(), "{name} output shape");
        let shapes = g.config.param_shapes(g.input).unwrap();
        let want_shapes: Vec<Vec<u32>> = case["weight_shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| dims(s).iter().map(|&d| d as u32).collect())
            .collect();
        let got_shapes: Vec<Vec<u32>> = shapes.iter().map(|s| s.dims().to_vec()).collect();
        assert_eq!(got_shapes, want_shapes, "{name} weight shapes");

        let p =
            forward_backward(&g.config, &refs(&g.weights), g.input, g.batch, &g.x, &g.c).unwrap();
        assert_close(&format!("{name} y"), &p.y, &g.y, 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &p.dx, &g.dx, 1e-5, 1e-6);
        let mut rest = p.dparams.as_slice();
        let mut ws = [0.0f32; 2];
        for (i, want) in g.dweights.iter().enumerate() {
            let (got, r) = rest.split_at(want.len());
            rest = r;
            assert_close(&format!("{name} dw{i}"), got, want, 1e-5, 1e-6);
            ws[i] = worst_rel(got, want, 1e-2);
        }
        assert!(rest.is_empty());
        let e = [
            worst_rel(&p.y, &g.y, 1e-2),
            worst_rel(&p.dx, &g.dx, 1e-2),
            ws[0],
            ws[1],
        ];
        println!(
            "{name}: worst rel y {:.1e} dx {:.1e} dkernel {:.1e} dbias {:.1e}",
            e[0], e[1], e[2], e[3]
        );
        for (w, e) in worst.iter_mut().zip(e) {
            *w = w.max(e);
        }
    }
    println!(
        "all cases: worst rel y {:.1e} dx {:.1e} dkernel {:.1e} dbias {:.1e}",
        worst[0], worst[1], worst[2], worst[3]
    );
}

#[test]
fn fixed_point_agrees_with_f32() {
    // Q16.16 steps are 2^-16 ≈ 1.5e-5. Inputs, weights and cotangents are rounded to that
    // grid (error ≤ 7.6e-6 each); every dot product is then exact in i64 and rounded once.
    // A term a·b moves by ≤ |a|·δb + |b|·δa ≲ 3e-5 (|x| ≲ 3, |w|, |c| ≤ 1), with random
    // signs, so an n-term sum moves by about √n · 1e-5: ≈ 1e-4 for the longest sums here
    // (dkernel: 2 samples × up to 56 positions), plus ~1e-5 from the fixed-point
    // tanh/sigmoid/softmax. Tolerance 5e-4 absolute: 4× the measured worst (1.3e-4).
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    let mut worst = [0.0f32; 3];
    for case in all_cases() {
        let g = golden(&case);
        let pf =
            forward_backward(&g.config, &refs(&g.weights), g.input, g.batch, &g.x, &g.c).unwrap();
        let wq: Vec<Vec<Q16_16>> = g.weights.iter().map(|w| q(w)).collect();
        let pq =
            forward_backward(&g.config, &refs(&wq), g.input, g.batch, &q(&g.x), &q(&g.c)).unwrap();
        let name = &g.name;
        for (k, (a, e)) in [
            (f(&pq.y), &pf.y),
            (f(&pq.dx), &pf.dx),
            (f(&pq.dparams), &pf.dparams),
        ]
        .iter()
        .enumerate()
        {
            assert_close(&format!("{name} Q16.16 output {k}"), a, e, 0.0, 5e-4);
            worst[k] = worst[k].max(worst_abs(a, e));
        }
    }
    println!(
        "Q16.16 vs f32 worst abs: y {:.1e} dx {:.1e} dparams {:.1e}",
        worst[0], worst[1], worst[2]
    );
}

/// Central differences, step 1e-2, every element, tolerance 2e-3 (relative and absolute).
const FD: FiniteDiff = FiniteDiff {
    h: 1e-2,
    tol: 2e-3,
    x_stride: 1,
};

fn gradcheck(what: &str, config: LayerConfig, input: &[usize]) {
    let input = Shape::new(input).unwrap();
    let batch = 2;
    let shapes = config.param_shapes(input).unwrap();
    let mut params: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| values(s.len(), 10 + i as u64))
        .collect();
    let mut x = values(batch * input.len(), 1);
    let n_out = config.output_shape(input).unwrap().len() * batch;
    let c = values(n_out, 2);
    check_finite_differences(what, &config, input, batch, &mut params, &mut x, &c, FD);
}

fn conv2d(filters: u32, k: [u32; 2], s: [u32; 2], padding: Padding, d: [u32; 2]) -> Conv2D {
    Conv2D {
        filters,
        kernel_size: k,
        strides: s,
        padding,
        dilation_rate: d,
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    }
}

#[test]
fn finite_differences_agree_with_backward() {
    use Padding::{Causal, Same, Valid};
    let c2 = |c: Conv2D| LayerConfig::Conv2D(c);
    gradcheck(
        "same s2",
        c2(conv2d(3, [3, 3], [2, 2], Same, [1, 1])),
        &[6, 5, 2],
    );
    gradcheck(
        "valid 2x3",
        c2(conv2d(2, [2, 3], [1, 1], Valid, [1, 1])),
        &[4, 5, 3],
    );
    gradcheck(
        "same dil2",
        c2(conv2d(2, [3, 2], [1, 1], Same, [2, 2])),
        &[5, 5, 2],
    );
    let grouped = Conv2D {
        groups: 2,
        activation: Activation::Tanh,
        ..conv2d(4, [2, 2], [2, 1], Same, [1, 1])
    };
    gradcheck("groups tanh", c2(grouped), &[5, 4, 4]);
    let no_bias = Conv2D {
        use_bias: false,
        activation: Activation::Sigmoid,
        ..conv2d(3, [3, 1], [1, 2], Valid, [1, 1])
    };
    gradcheck("no bias sigmoid", c2(no_bias), &[5, 4, 2]);
    let c1 = |padding, strides, dilation_rate, groups| {
        LayerConfig::Conv1D(Conv1D {
            filters: 4,
            kernel_size: 3,
            strides,
            padding,
            dilation_rate,
            groups,
            activation: Activation::Linear,
            use_bias: true,
        })
    };
    gradcheck("1d causal d2", c1(Causal, 1, 2, 1), &[8, 2]);
    gradcheck("1d same s2", c1(Same, 2, 1, 2), &[9, 2]);
    gradcheck("1d valid s2", c1(Valid, 2, 1, 4), &[9, 4]);
}

#[test]
fn converter_reads_every_option() {
    let conf = |c: &Value| layer_config(&keras_layer(c));
    assert_eq!(
        conf(&case_named(all_cases(), "c2_same_s2_even")).unwrap(),
        LayerConfig::Conv2D(conv2d(4, [3, 3], [2, 2], Padding::Same, [1, 1]))
    );
    assert_eq!(
        conf(&case_named(all_cases(), "c1_causal_nobias_sigmoid")).unwrap(),
        LayerConfig::Conv1D(Conv1D {
            filters: 2,
            kernel_size: 4,
            strides: 1,
            padding: Padding::Causal,
            dilation_rate: 1,
            groups: 1,
            activation: Activation::Sigmoid,
            use_bias: false,
        })
    );
    // Defaults when the optional keys are absent; ints for tuples (tf.keras style); Keras
    // lower-cases padding.
    for (class, base) in [("Conv2D", "c2_groups2"), ("Conv1D", "c1_groups2_relu")] {
        let mut c = case_named(all_cases(), base);
        let filters = c["config"]["filters"].as_u64().unwrap() as u32;
        let o = c["config"].as_object_mut().unwrap();
        o.retain(|k, _| k == "name" || k == "filters" || k == "kernel_size");
        o.insert("kernel_size".into(), json!(3));
        let got = conf(&c).unwrap();
        let want = if class == "Conv2D" {
            LayerConfig::Conv2D(conv2d(filters, [3, 3], [1, 1], Padding::Valid, [1, 1]))
        } else {
            LayerConfig::Conv1D(Conv1D {
                filters,
                kernel_size: 3,
                strides: 1,
                padding: Padding::Valid,
                dilation_rate: 1,
                groups: 1,
                activation: Activation::Linear,
                use_bias: true,
            })
        };
        assert_eq!(got, want, "{class} defaults");
        c["config"]["padding"] = json!("SAME");
        assert!(conf(&c).is_ok());
    }
    // Every unsupported value is refused by the option's name.
    let refused = |base: &str, key: &str, v: Value| {
        let mut c = case_named(all_cases(), base);
        c["config"][key] = v.clone();
        let err = conf(&c).unwrap_err().to_string();
        assert!(err.contains(key), "{base} {key}={v}: {err}");
    };
    // Regularizers and constraints Ember lacks (the supported ones are read into the
    // layer's training attributes: tests/tests/golden_regularizers.rs, conv_attrs below).
    let reg = json!({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer", "config": {"factor": 0.01}});
    let con = json!({"module": "my.constraints", "class_name": "Clip", "config": {}});
    for base in ["c2_relu", "c1_valid"] {
        refused(base, "data_format", json!("channels_first"));
        refused(base, "kernel_regularizer", reg.clone());
        refused(base, "bias_regularizer", reg.clone());
        refused(base, "activity_regularizer", reg.clone());
        refused(base, "kernel_constraint", con.clone());
        refused(base, "bias_constraint", con.clone());
        refused(base, "lora_rank", json!(4));
        refused(base, "lora_alpha", json!(4));
        refused(base, "quantization_config", json!({"mode": "int8"}));
        refused(base, "dtype", json!("float16"));
        refused(base, "dtype", json!("mixed_float16"));
        refused(base, "filters", json!(0));
        refused(base, "filters", json!(-3));
        refused(base, "filters", Value::Null);
        refused(base, "kernel_size", json!(0));
        refused(base, "kernel_size", json!([1, 2, 3]));
        refused(base, "strides", json!(0));
        refused(base, "strides", json!("2"));
        refused(base, "dilation_rate", json!([0]));
        refused(base, "padding", json!("full"));
        refused(base, "padding", json!([[1, 1], [1, 1]]));
        refused(base, "groups", json!(0));
        refused(base, "groups", json!(3)); // does not divide filters = 4
        refused(base, "use_bias", json!("yes"));
        refused(base, "activation", json!("no_such_activation"));
    }
    refused("c2_relu", "padding", json!("causal"));
    refused("c2_relu", "kernel_size", json!([3]));
    // strides > 1 together with dilation_rate > 1 (Keras refuses it), even on other axes.
    let mut c = case_named(all_cases(), "c2_strides21");
    c["config"]["dilation_rate"] = json!([1, 2]);
    assert!(conf(&c).unwrap_err().to_string().contains("dilation_rate"));
    let mut c = case_named(all_cases(), "c1_valid_s2");
    c["config"]["dilation_rate"] = json!([2]);
    assert!(conf(&c).unwrap_err().to_string().contains("dilation_rate"));
    // The initializers only matter before training: any value is accepted.
    let mut c = case_named(all_cases(), "c2_relu");
    c["config"]["kernel_initializer"] = json!("he_normal");
    c["config"]["bias_initializer"] = json!("ones");
    assert!(conf(&c).is_ok());
    // An activation whose backward needs its input: Conv(linear) + Activation.
    let mut c = case_named(all_cases(), "c2_relu");
    c["config"]["activation"] = json!("gelu");
    let lowered = ember_cli::convert::layer_configs(&keras_layer(&c)).unwrap();
    assert_eq!(lowered.len(), 2);
    assert!(matches!(
        lowered[0],
        LayerConfig::Conv2D(Conv2D {
            activation: Activation::Linear,
            ..
        })
    ));
    assert_eq!(lowered[1].keras_class(), "Activation");
}

#[test]
fn bad_configs_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let base = conv2d(4, [3, 3], [1, 1], Padding::Same, [1, 1]);
    let c2 = LayerConfig::Conv2D;
    let invalid = |c: LayerConfig, input: Shape| {
        assert!(
            matches!(c.output_shape(input), Err(Error::InvalidConfig(_))),
            "{c:?}"
        );
        assert!(c.param_shapes(input).is_err());
        assert_eq!(c.macs(input), 0);
    };
    let img = s(&[6, 6, 4]);
    invalid(c2(Conv2D { filters: 0, ..base }), img);
    invalid(c2(Conv2D { groups: 0, ..base }), img);
    invalid(c2(Conv2D { groups: 3, ..base }), img);
    invalid(
        c2(Conv2D {
            kernel_size: [0, 3],
            ..base
        }),
        img,
    );
    invalid(
        c2(Conv2D {
            strides: [2, 1],
            dilation_rate: [1, 2],
            ..base
        }),
        img,
    );
    invalid(
        c2(Conv2D {
            padding: Padding::Causal,
            ..base
        }),
        img,
    );
    invalid(
        c2(Conv2D {
            activation: Activation::Gelu,
            ..base
        }),
        img,
    );
    let c1 = Conv1D {
        filters: 4,
        kernel_size: 3,
        strides: 2,
        padding: Padding::Valid,
        dilation_rate: 2,
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    invalid(LayerConfig::Conv1D(c1), s(&[9, 2]));
    // Shapes: wrong rank, channels not divisible by groups, a valid window too long.
    let bad_shape = |c: LayerConfig, input: Shape| {
        assert_eq!(c.output_shape(input), Err(Error::InvalidShape), "{c:?}");
    };
    bad_shape(c2(base), s(&[6, 4]));
    bad_shape(c2(base), s(&[2, 6, 6, 4]));
    bad_shape(c2(Conv2D { groups: 2, ..base }), s(&[6, 6, 3]));
    bad_shape(
        c2(Conv2D {
            padding: Padding::Valid,
            ..base
        }),
        s(&[2, 6, 4]),
    );
    let c1_ok = LayerConfig::Conv1D(Conv1D {
        dilation_rate: 1,
        ..c1
    });
    bad_shape(c1_ok, s(&[9, 2, 1]));
    bad_shape(c1_ok, s(&[2, 2]));
    // Overflowing sizes.
    let huge = c2(Conv2D {
        filters: u32::MAX,
        kernel_size: [1, 1],
        ..base
    });
    // 4096·4096·u32::MAX elements: more than a shape holds (u32 element count).
    assert_eq!(
        huge.output_shape(s(&[4096, 4096, 4])),
        Err(Error::InvalidShape)
    );

    // Buffers: wrong counts and lengths of params, x, y, dy, dx, dparams.
    let layer = c2(base);
    let input = s(&[5, 5, 4]);
    let xs = input.with_batch(2).unwrap();
    let ys = layer.output_shape(input).unwrap().with_batch(2).unwrap();
    let x = vec![0.5f32; xs.len()];
    let w = vec![0.1f32; 3 * 3 * 4 * 4];
    let b = vec![0.0f32; 4];
    let ctx = Context::default();
    let fwd = |params: &[&[f32]], y_len: usize| {
        let mut y = vec![0.0f32; y_len];
        let ysh = if y_len == ys.len() { ys } else { s(&[y_len]) };
        layer.forward(
            params,
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(ysh, &mut y).unwrap(),
            &ctx,
        )
    };
    assert!(fwd(&[&w, &b], ys.len()).is_ok());
    assert!(fwd(&[&w], ys.len()).is_err());
    assert!(fwd(&[&w, &b, &b], ys.len()).is_err());
    assert!(fwd(&[&w[1..], &b], ys.len()).is_err());
    assert!(fwd(&[&w, &b[1..]], ys.len()).is_err());
    assert!(fwd(&[&w, &b], ys.len() - 1).is_err());
    let y = vec![0.0f32; ys.len()];
    let bwd = |dy_len: usize, dx_len: usize, dp_len: usize| {
        let mut dy = vec![0.0f32; dy_len];
        let mut dx = vec![0.0f32; dx_len];
        let mut dp = vec![0.0f32; dp_len];
        layer.backward(
            &[&w, &b],
            TensorView::new(xs, &x).unwrap(),
            TensorView::new(ys, &y).unwrap(),
            &mut dy,
            Some(&mut dx),
            Some(&mut dp),
            &ctx,
        )
    };
    let n_p = w.len() + b.len();
    assert!(bwd(ys.len(), xs.len(), n_p).is_ok());
    assert!(bwd(ys.len() - 1, xs.len(), n_p).is_err());
    assert!(bwd(ys.len(), xs.len() + 1, n_p).is_err());
    assert!(bwd(ys.len(), xs.len(), n_p - 1).is_err());
    assert!(bwd(ys.len(), xs.len(), n_p + 4).is_err());
}

#[test]
fn macs_count_every_window_tap() {
    // 32×32×16 → 16 filters, 3×3 same: 32·32 outputs × 9 taps × 16 in × 16 out.
    let c = LayerConfig::Conv2D(conv2d(16, [3, 3], [1, 1], Padding::Same, [1, 1]));
    assert_eq!(
        c.macs(Shape::new(&[32, 32, 16]).unwrap()),
        32 * 32 * 9 * 16 * 16
    );
    // Grouped: each output reads in_c / groups channels.
    let g = LayerConfig::Conv2D(Conv2D {
        groups: 4,
        ..conv2d(8, [3, 3], [1, 1], Padding::Valid, [1, 1])
    });
    assert_eq!(g.macs(Shape::new(&[5, 5, 8]).unwrap()), 3 * 3 * 9 * 2 * 8);
}

/// Regularizers and constraints on the conv family become the layer's training
/// attributes, on the right parameter index (their effect on training is tested for
/// every kind in `golden_regularizers.rs`).
#[test]
fn conv_regularizers_and_constraints_are_read() {
    use ember_cli::convert::layer_attrs;
    use ember_nn::regularizers::Regularizer;
    let l2 = json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.02}});
    let maxnorm = json!({"module": "keras.constraints", "class_name": "MaxNorm",
        "config": {"max_value": 1.5, "axis": [0, 1, 2]}});
    let mut c = case_named(all_cases(), "c2_relu");
    c["config"]["kernel_regularizer"] = l2.clone();
    c["config"]["kernel_constraint"] = maxnorm.clone();
    c["config"]["activity_regularizer"] = l2.clone();
    let a = layer_attrs(&keras_layer(&c)).unwrap();
    assert_eq!(a.regularizers[0], Some(Regularizer::L2 { l2: 0.02 }));
    assert!(a.constraints[0].is_some());
    assert_eq!(a.regularizers[1], None);
    assert_eq!(a.activity_regularizer, Some(Regularizer::L2 { l2: 0.02 }));
    // SeparableConv2D: depthwise kernel 0, pointwise kernel 1, bias 2.
    let sep = KerasLayer {
        name: "sep".into(),
        class_name: "SeparableConv2D".into(),
        config: json!({"filters": 4, "kernel_size": [3, 3], "pointwise_regularizer": l2,
            "bias_constraint": {"class_name": "NonNeg", "config": {}}}),
        trainable: true,
        weights: Vec::new(),
    };
    let a = layer_attrs(&sep).unwrap();
    assert_eq!(a.regularizers[1], Some(Regularizer::L2 { l2: 0.02 }));
    assert!(a.constraints[2].is_some());
    assert!(a.regularizers[0].is_none() && a.constraints[0].is_none());
}
