//! `Conv1DTranspose` and `Conv2DTranspose` against Keras 3 (golden values from
//! `tests/fixtures/conv_transpose/generate.py`, JAX backend): outputs and `jax.grad`
//! gradients w.r.t. the input, the kernel and the bias; finite-difference gradient
//! checks; Q16.16 against f32; the converter's option handling; bad shapes and buffers.

use ember_cli::convert::{layer_config, layer_configs};
use ember_nn::layers::{Context, Conv1DTranspose, Conv2DTranspose, LayerConfig, Padding};
use ember_nn::{Activation, Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, case_named, check_finite_differences, dims, fixture, forward_backward,
    keras_layer, layer_cases, lcg_values, npy, refs, worst_share, FiniteDiff, Pass,
};
use serde_json::{json, Value};

const DIR: &str = "conv_transpose";

/// Relative tolerance of the golden comparisons; `ATOL` guards values near zero, where
/// a sum of terms of either sign cancels.
const RTOL: f32 = 1e-5;
const ATOL: f32 = 1e-6;

/// Forward, then backward with `dy = c`, of `config` on a batch of `input`-shaped samples.
fn run<T: Scalar>(
    config: &LayerConfig,
    input: Shape,
    params: &[Vec<T>],
    x: &[T],
    c: &[T],
) -> ember_nn::Result<Pass<T>> {
    forward_backward(config, &refs(params), input, x.len() / input.len(), x, c)
}

/// A golden case: (config, input shape, weights, x, c).
fn load(case: &Value) -> (LayerConfig, Shape, Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let name = case["name"].as_str().unwrap();
    let config = layer_config(&keras_layer(case)).unwrap();
    let input = Shape::new(&dims(&case["input_shape"])).unwrap();
    let n_w = case["weight_shapes"].as_array().unwrap().len();
    let weights = (0..n_w)
        .map(|i| npy(DIR, &format!("{name}_w{i}.npy")).data)
        .collect();
    let x = npy(DIR, &format!("{name}_x.npy")).data;
    let c = npy(DIR, &format!("{name}_c.npy")).data;
    (config, input, weights, x, c)
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 21);
    let mut worst = 0.0f32;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (config, input, weights, x, c) = load(case);
        assert_eq!(config.keras_class(), case["class_name"].as_str().unwrap());
        let out = config.output_shape(input).unwrap();
        let want_out: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want_out.as_slice(), "{name} output shape");
        let shapes = config.param_shapes(input).unwrap();
        let want_shapes: Vec<Vec<usize>> = case["weight_shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(dims)
            .collect();
        let got_shapes: Vec<Vec<usize>> = shapes
            .iter()
            .map(|s| s.dims().iter().map(|&d| d as usize).collect())
            .collect();
        assert_eq!(got_shapes, want_shapes, "{name} weight shapes");

        let r = run(&config, input, &weights, &x, &c).unwrap();
        let mut check = |what: &str, got: &[f32], file: String| {
            let want = npy(DIR, &file).data;
            let w = worst_share(got, &want, RTOL, ATOL);
            worst = worst.max(w);
            println!("{name} {what}: worst {w:.2} of the tolerance");
            assert_close(&format!("{name} {what}"), got, &want, RTOL, ATOL);
        };
        check("y", &r.y, format!("{name}_y.npy"));
        check("dx", &r.dx, format!("{name}_dx.npy"));
        let mut off = 0;
        for (i, w) in weights.iter().enumerate() {
            check(
                &format!("dw{i}"),
                &r.dparams[off..off + w.len()],
                format!("{name}_dw{i}.npy"),
            );
            off += w.len();
        }
    }
    println!("worst over all cases: {worst:.2} of the tolerance (1e-5·|e| + 1e-6)");
}

/// Central differences, step 1e-2, every element, tolerance 2e-3 (relative and absolute).
const FD: FiniteDiff = FiniteDiff {
    h: 1e-2,
    tol: 2e-3,
    x_stride: 1,
};

fn gradcheck(config: LayerConfig, input: &[usize]) {
    let input = Shape::new(input).unwrap();
    let batch = 2;
    let shapes = config.param_shapes(input).unwrap();
    let mut params: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| lcg_values(s.len(), 11 + i as u64))
        .collect();
    let mut x = lcg_values(batch * input.len(), 3);
    let c = lcg_values(batch * config.output_shape(input).unwrap().len(), 5);
    let what = format!("{config:?}");
    check_finite_differences(&what, &config, input, batch, &mut params, &mut x, &c, FD);
}

/// A `Conv2DTranspose` config, options in Keras's order.
#[allow(clippy::too_many_arguments)]
fn t2(
    filters: u32,
    k: [u32; 2],
    s: [u32; 2],
    padding: Padding,
    op: Option<[u32; 2]>,
    d: [u32; 2],
    activation: Activation,
    use_bias: bool,
) -> LayerConfig {
    LayerConfig::Conv2DTranspose(Conv2DTranspose {
        filters,
        kernel_size: k,
        strides: s,
        padding,
        output_padding: op,
        dilation_rate: d,
        activation,
        use_bias,
    })
}

#[test]
fn gradients_match_finite_differences() {
    use Activation::{Linear, Sigmoid, Tanh};
    use Padding::{Same, Valid};
    gradcheck(
        t2(2, [3, 3], [2, 2], Same, None, [1, 1], Tanh, true),
        &[3, 3, 2],
    );
    gradcheck(
        t2(
            2,
            [4, 3],
            [2, 1],
            Valid,
            Some([1, 0]),
            [1, 1],
            Sigmoid,
            true,
        ),
        &[2, 3, 2],
    );
    gradcheck(
        t2(3, [3, 2], [1, 1], Same, None, [2, 1], Linear, false),
        &[4, 3, 2],
    );
    gradcheck(
        t2(1, [2, 2], [3, 2], Same, Some([2, 0]), [1, 1], Tanh, true),
        &[2, 2, 3],
    );
    gradcheck(
        LayerConfig::Conv1DTranspose(Conv1DTranspose {
            filters: 2,
            kernel_size: 4,
            strides: 2,
            padding: Same,
            output_padding: None,
            dilation_rate: 1,
            activation: Tanh,
            use_bias: true,
        }),
        &[4, 3],
    );
    gradcheck(
        LayerConfig::Conv1DTranspose(Conv1DTranspose {
            filters: 2,
            kernel_size: 3,
            strides: 1,
            padding: Valid,
            output_padding: None,
            dilation_rate: 2,
            activation: Linear,
            use_bias: false,
        }),
        &[3, 2],
    );
}

/// Q16.16 runs the same loops with inputs and weights rounded to 2⁻¹⁶ and exact i64
/// accumulation, rounded once per output. Inputs are N(0, 1), weights N(0, 0.5): the
/// quantization error of each product is at most about (|x| + |w|)·2⁻¹⁷, summed over at
/// most 4·4·3 = 48 taps per output (forward, dx) or 2·20 = 40 pixel pairs per kernel
/// element (dw, db), with |x|, |w| < 4: we allow 1e-3 absolute (measured worst 1.6e-4), plus the output
/// rounding (2⁻¹⁷) and the activation's own fixed-point error (tanh, sigmoid: ≤ 1e-4).
#[test]
fn fixed_point_agrees_with_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    let mut worst = 0.0f32;
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let (config, input, weights, x, c) = load(&case);
        let rf = run(&config, input, &weights, &x, &c).unwrap();
        let wq: Vec<Vec<Q16_16>> = weights.iter().map(|w| q(w)).collect();
        let rq = run(&config, input, &wq, &q(&x), &q(&c)).unwrap();
        for (what, a, e) in [
            ("y", f(&rq.y), &rf.y),
            ("dx", f(&rq.dx), &rf.dx),
            ("dparams", f(&rq.dparams), &rf.dparams),
        ] {
            let d = a
                .iter()
                .zip(e)
                .map(|(a, e)| (a - e).abs())
                .fold(0.0, f32::max);
            worst = worst.max(d);
            assert_close(&format!("{name} Q16.16 {what}"), &a, e, 0.0, 1e-3);
        }
    }
    println!("Q16.16 vs f32: worst absolute difference {worst:.2e}");
}

#[test]
fn converter_reads_every_option() {
    let conv = |v: Value| {
        let mut case = case_named(layer_cases(DIR), "s2_same_k3");
        case["config"] = v;
        layer_config(&keras_layer(&case))
    };
    let base = case_named(layer_cases(DIR), "asym_op")["config"].clone();
    assert_eq!(
        conv(base.clone()).unwrap(),
        t2(
            2,
            [3, 2],
            [2, 3],
            Padding::Valid,
            Some([1, 2]),
            [1, 1],
            Activation::Linear,
            true
        )
    );
    let c1 = case_named(layer_cases(DIR), "c1_op1_nobias_tanh");
    assert_eq!(
        layer_config(&keras_layer(&c1)).unwrap(),
        LayerConfig::Conv1DTranspose(Conv1DTranspose {
            filters: 3,
            kernel_size: 3,
            strides: 2,
            padding: Padding::Valid,
            output_padding: Some(1),
            dilation_rate: 1,
            activation: Activation::Tanh,
            use_bias: false,
        })
    );
    // Defaults when keys are absent: strides 1, valid, no output_padding, dilation 1,
    // linear, with bias; ints for tuples; upper-case padding as Keras standardizes it.
    let minimal = json!({"name": "t", "filters": 4, "kernel_size": 3});
    assert_eq!(
        conv(minimal).unwrap(),
        t2(
            4,
            [3, 3],
            [1, 1],
            Padding::Valid,
            None,
            [1, 1],
            Activation::Linear,
            true
        )
    );
    let ints = json!({"name": "t", "filters": 4, "kernel_size": 3, "strides": 2,
        "padding": "SAME", "output_padding": 1, "activation": "relu"});
    assert_eq!(
        conv(ints).unwrap(),
        t2(
            4,
            [3, 3],
            [2, 2],
            Padding::Same,
            Some([1, 1]),
            [1, 1],
            Activation::Relu,
            true
        )
    );
    // Every unsupported option is refused by name.
    let refused = |key: &str, v: Value| {
        let mut c = base.clone();
        c[key] = v.clone();
        let err = conv(c).unwrap_err().to_string();
        assert!(err.contains(key), "{key}={v}: {err}");
    };
    refused("data_format", "channels_first".into());
    refused("padding", "causal".into());
    refused("padding", "full".into());
    refused("filters", json!(0));
    refused("filters", json!(null));
    refused("kernel_size", json!([3, 0]));
    refused("kernel_size", json!([3, 3, 3]));
    refused("kernel_size", json!(null));
    refused("strides", json!([0, 1]));
    refused("strides", json!("2"));
    refused("output_padding", json!([2, 2])); // ≥ strides (2, 3) on the first axis
    refused("output_padding", json!([-1, 0]));
    refused("dilation_rate", json!([2, 1])); // with strides > 1
    refused("dilation_rate", json!(0));
    refused("use_bias", json!("yes"));
    refused("activation", json!("no_such_activation"));
    refused("dtype", json!("float16"));
    refused("dtype", json!("mixed_float16"));
    for key in [
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
    ] {
        // Classes Ember lacks (supported ones become training attributes).
        let class = if key.ends_with("regularizer") {
            "OrthogonalRegularizer"
        } else {
            "Clip"
        };
        refused(key, json!({"class_name": class, "config": {}}));
    }
    // An activation whose backward needs its input is lowered to linear + Activation.
    let mut c = case_named(layer_cases(DIR), "s2_same_k3");
    c["config"]["activation"] = "gelu".into();
    let lowered = layer_configs(&keras_layer(&c)).unwrap();
    assert_eq!(lowered.len(), 2);
    assert!(matches!(
        lowered[0],
        LayerConfig::Conv2DTranspose(Conv2DTranspose {
            activation: Activation::Linear,
            ..
        })
    ));
    assert_eq!(lowered[1].keras_class(), "Activation");
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let good = t2(
        2,
        [3, 3],
        [2, 2],
        Padding::Same,
        None,
        [1, 1],
        Activation::Linear,
        true,
    );
    // Wrong input rank.
    assert_eq!(good.output_shape(s(&[4, 2])), Err(Error::InvalidShape));
    assert_eq!(
        good.output_shape(s(&[1, 4, 4, 2])),
        Err(Error::InvalidShape)
    );
    let c1 = LayerConfig::Conv1DTranspose(Conv1DTranspose {
        filters: 2,
        kernel_size: 2,
        strides: 2,
        padding: Padding::Same,
        output_padding: Some(0),
        dilation_rate: 1,
        activation: Activation::Linear,
        use_bias: true,
    });
    assert_eq!(c1.output_shape(s(&[4, 4, 2])), Err(Error::InvalidShape));
    // Keras's zero-length output: (1 − 1)·2 + 2 mod 2 + 0 = 0.
    assert_eq!(c1.output_shape(s(&[1, 2])), Err(Error::InvalidShape));
    assert_eq!(c1.output_shape(s(&[3, 2])).unwrap().dims(), &[4, 2]);
    // Options Keras refuses.
    for bad in [
        t2(
            0,
            [3, 3],
            [1, 1],
            Padding::Same,
            None,
            [1, 1],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [0, 3],
            [1, 1],
            Padding::Same,
            None,
            [1, 1],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [3, 3],
            [0, 1],
            Padding::Same,
            None,
            [1, 1],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [3, 3],
            [2, 2],
            Padding::Causal,
            None,
            [1, 1],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [3, 3],
            [2, 2],
            Padding::Same,
            Some([2, 0]),
            [1, 1],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [3, 3],
            [2, 1],
            Padding::Same,
            None,
            [1, 2],
            Activation::Linear,
            true,
        ),
        t2(
            2,
            [3, 3],
            [1, 1],
            Padding::Same,
            None,
            [1, 1],
            Activation::Gelu,
            true,
        ),
    ] {
        assert!(
            matches!(
                bad.output_shape(s(&[4, 4, 2])),
                Err(Error::InvalidConfig(_))
            ),
            "{bad:?}"
        );
        assert!(bad.param_shapes(s(&[4, 4, 2])).is_err());
        assert_eq!(bad.macs(s(&[4, 4, 2])), 0);
    }
    // Overflowing sizes.
    let huge = t2(
        2,
        [u32::MAX, 3],
        [1, 1],
        Padding::Valid,
        None,
        [1, 1],
        Activation::Linear,
        true,
    );
    assert!(huge.output_shape(s(&[4, 4, 2])).is_err());
    let wide = t2(
        u32::MAX,
        [3, 3],
        [u32::MAX, u32::MAX],
        Padding::Valid,
        None,
        [1, 1],
        Activation::Linear,
        true,
    );
    assert!(wide.output_shape(s(&[4096, 4096, 2])).is_err());

    // Wrong buffers and parameters: errors, never panics.
    let input = s(&[3, 3, 2]);
    assert_eq!(good.macs(input), 3 * 3 * 9 * 2 * 2);
    let out = good.output_shape(input).unwrap();
    assert_eq!(out.dims(), &[6, 6, 2]);
    let w = vec![0.5f32; 3 * 3 * 2 * 2];
    let b = vec![0.0f32; 2];
    let x = vec![1.0f32; 2 * input.len()];
    let mut y = vec![0.0f32; 2 * out.len()];
    let xs = input.with_batch(2).unwrap();
    let ys = out.with_batch(2).unwrap();
    let fwd = |p: &[&[f32]], xs: Shape, x: &[f32], ys: Shape, y: &mut [f32]| {
        good.forward(
            p,
            TensorView::new(xs, x).unwrap(),
            TensorViewMut::new(ys, y).unwrap(),
            &Context::default(),
        )
    };
    assert!(fwd(&[&w, &b], xs, &x, ys, &mut y).is_ok());
    assert!(fwd(&[&w], xs, &x, ys, &mut y).is_err());
    assert!(fwd(&[&w[1..], &b], xs, &x, ys, &mut y).is_err());
    assert!(fwd(&[&w, &b[1..]], xs, &x, ys, &mut y).is_err());
    let short = s(&[2, 6, 6, 1]);
    assert!(fwd(&[&w, &b], xs, &x, short, &mut y[..72]).is_err());
    let flat = s(&[36]);
    assert!(fwd(&[&w, &b], flat, &x, ys, &mut y).is_err());
    // Backward with a wrong dy, dx or dparams length.
    let bwd = |dy: &mut [f32], dx: Option<&mut [f32]>, dp: Option<&mut [f32]>| {
        good.backward(
            &[&w, &b],
            TensorView::new(xs, &x).unwrap(),
            TensorView::new(ys, &y).unwrap(),
            dy,
            dx,
            dp,
            &Context::default(),
        )
    };
    let mut dy = vec![0.0f32; y.len()];
    let mut dx = vec![0.0f32; x.len()];
    let mut dp = vec![0.0f32; w.len() + b.len()];
    assert!(bwd(&mut dy, Some(&mut dx), Some(&mut dp)).is_ok());
    assert!(bwd(&mut dy[1..], Some(&mut dx), Some(&mut dp)).is_err());
    assert!(bwd(&mut dy, Some(&mut dx[1..]), None).is_err());
    assert!(bwd(&mut dy, None, Some(&mut dp[1..])).is_err());
}

/// A converted Keras Sequential through every 2-D layer of this family
/// (`Conv2DTranspose` → `Cropping2D` → `ZeroPadding2D` → bilinear `UpSampling2D` →
/// `Conv2DTranspose` → `Flatten` → `Dense`): shapes, predictions, and 3 SGD steps
/// (losses and every weight) against Keras.
#[test]
fn model_predicts_and_trains_like_keras() {
    use ember_cli::convert::{convert, DTypeChoice};
    use ember_cli::keras::read_keras_file;
    use ember_cli::predict::predict;
    use ember_nn::Sequential;
    use ember_tests::{blob, cases};

    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let shapes: Vec<Vec<u32>> = g
        .layers()
        .iter()
        .map(|l| l.output.dims().to_vec())
        .collect();
    assert_eq!(
        shapes,
        [
            vec![6, 6, 3],
            vec![5, 5, 3],
            vec![6, 6, 3],
            vec![12, 6, 3],
            vec![13, 7, 2],
            vec![182],
            vec![3]
        ]
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(b.as_slice(), &x, 2).unwrap();
    assert_close("predict", &y.data, &want.data, RTOL, ATOL);
    let yq = predict(blob(DIR, DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close("Q16.16 predict", &yq.data, &want.data, 0.0, 1e-3);

    let case = cases(DIR).remove(0);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &case.config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), case.config).unwrap();
    let xs = npy(DIR, "train_sgd_x.npy");
    let ys = npy(DIR, "train_sgd_y.npy");
    let (xn, yn) = (xs.data.len() / case.steps, ys.data.len() / case.steps);
    let losses: Vec<f32> = (0..case.steps)
        .map(|s| {
            m.train_on_batch(
                &xs.data[s * xn..(s + 1) * xn],
                &ys.data[s * yn..(s + 1) * yn],
            )
            .unwrap()
        })
        .collect();
    let want = npy(DIR, "train_sgd_losses.npy");
    assert_close("losses", &losses, &want.data, RTOL, ATOL);
    let mut i = 0;
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            let w = m.param(l, p).unwrap();
            let want = npy(DIR, &format!("train_sgd_w{i}.npy"));
            assert_close(&format!("w{i}"), w, &want.data, RTOL, ATOL);
            i += 1;
        }
    }
    // Conv2DTranspose (kernel, bias), Conv2DTranspose (kernel), Dense (kernel, bias).
    assert_eq!(i, 5);
    // The first layer trained: gradients crossed every resizing layer.
    assert_ne!(
        m.param(0, 0).unwrap(),
        k.layers[0].weights[0].data.as_slice()
    );
}
