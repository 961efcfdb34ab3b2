//! The legacy activation layers `ParametricSoftplus` and `ThresholdedLinear` against their
//! Keras 1-era formulas run in Keras 3 (golden values from
//! `tests/fixtures/legacy_activations/generate.py`, which defines them as custom Keras 3
//! layers): outputs and `jax.grad` gradients, the converter's options, finite
//! differences, Q16.16, bad shapes and buffers, and a `.keras` Sequential holding both
//! custom classes converted end to end.

use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{Context, Layer, LayerConfig, ParametricSoftplus, ThresholdedLinear};
use ember_nn::{Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, case_named, check_finite_differences, dims, fixture, forward_backward,
    keras_layer, layer_cases, npy, worst_summary, FiniteDiff,
};
use serde_json::{json, Value};

const DIR: &str = "legacy_activations";

/// A case's layer, input shape (no batch), input, cotangent and weights.
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
    let x = npy(DIR, &format!("layer_{name}_x.npy"));
    let n = case["weight_shapes"].as_array().unwrap().len();
    let weights = (0..n)
        .map(|i| npy(DIR, &format!("layer_{name}_w{i}.npy")).data)
        .collect();
    Golden {
        c: npy(DIR, &format!("layer_{name}_c.npy")).data,
        batch: x.shape[0],
        x: x.data,
        name,
        config,
        input,
        weights,
    }
}

fn refs(w: &[Vec<f32>]) -> Vec<&[f32]> {
    w.iter().map(Vec::as_slice).collect()
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 8);
    for case in &cases {
        let g = golden(case);
        let name = &g.name;
        assert_eq!(g.config.keras_class(), case["class_name"].as_str().unwrap());
        assert_eq!(g.config.output_shape(g.input).unwrap(), g.input);
        let shapes: Vec<Vec<usize>> = g
            .config
            .param_shapes(g.input)
            .unwrap()
            .iter()
            .map(|s| s.dims().iter().map(|&d| d as usize).collect())
            .collect();
        let want: Vec<Vec<usize>> = case["weight_shapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(dims)
            .collect();
        assert_eq!(shapes, want, "{name} weight shapes");
        let p =
            forward_backward(&g.config, &refs(&g.weights), g.input, g.batch, &g.x, &g.c).unwrap();
        let want_y = npy(DIR, &format!("layer_{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("layer_{name}_dx.npy")).data;
        println!(
            "{name}: y worst {}, dx worst {}",
            worst_summary(&p.y, &want_y),
            worst_summary(&p.dx, &want_dx)
        );
        assert_close(&format!("{name} y"), &p.y, &want_y, 1e-5, 1e-7);
        assert_close(&format!("{name} dx"), &p.dx, &want_dx, 1e-5, 1e-7);
        let mut offset = 0;
        for (i, w) in g.weights.iter().enumerate() {
            let got = &p.dparams[offset..offset + w.len()];
            let want = npy(DIR, &format!("layer_{name}_dw{i}.npy")).data;
            println!("{name}: dw{i} worst {}", worst_summary(got, &want));
            assert_close(&format!("{name} dw{i}"), got, &want, 1e-5, 1e-7);
            offset += w.len();
        }
        assert_eq!(offset, p.dparams.len());
    }
}

#[test]
fn converter_reads_options() {
    let conf = |n: &str| layer_config(&keras_layer(&case_named(layer_cases(DIR), n))).unwrap();
    let psp = |shared_axes| LayerConfig::ParametricSoftplus(ParametricSoftplus { shared_axes });
    let tl = |theta| LayerConfig::ThresholdedLinear(ThresholdedLinear { theta });
    assert_eq!(conf("psp_default"), psp(0));
    assert_eq!(conf("psp_init"), psp(0));
    assert_eq!(conf("psp_shared1"), psp(0b10));
    assert_eq!(conf("psp_shared12"), psp(0b110));
    assert_eq!(conf("psp_shared_int"), psp(0b100));
    assert_eq!(conf("tl_default"), tl(1.0));
    assert_eq!(conf("tl_theta"), tl(0.5));
    assert_eq!(conf("tl_zero"), tl(0.0));
    let with = |n: &str, k: &str, v: Option<Value>| {
        let mut c = case_named(layer_cases(DIR), n);
        let o = c["config"].as_object_mut().unwrap();
        match v {
            Some(v) => o.insert(k.to_string(), v),
            None => o.remove(k),
        };
        layer_config(&keras_layer(&c))
    };
    // Defaults when keys are absent (Keras 1's get_config has no shared_axes).
    for k in ["alpha_init", "beta_init", "dtype"] {
        assert_eq!(with("psp_shared1", k, None).unwrap(), psp(0b10), "{k}");
    }
    assert_eq!(with("psp_shared1", "shared_axes", None).unwrap(), psp(0));
    assert_eq!(with("psp_default", "alpha_init", None).unwrap(), psp(0));
    assert_eq!(with("tl_theta", "theta", None).unwrap(), tl(1.0));
    assert_eq!(with("tl_theta", "dtype", None).unwrap(), tl(0.5));
    // Accepted: Keras 1's `weights` (initial values; the file's weights win).
    assert_eq!(
        with("psp_default", "weights", Some(Value::Null)).unwrap(),
        psp(0)
    );
    // Refused by name.
    for (n, k, v) in [
        ("psp_default", "shared_axes", json!([0])),
        ("psp_default", "shared_axes", json!([6])),
        ("psp_default", "shared_axes", json!("channels")),
        ("psp_default", "shared_axes", json!([1.5])),
        ("psp_default", "alpha_init", json!("ones")),
        ("psp_default", "beta_init", Value::Null),
        ("psp_default", "dtype", json!("float16")),
        ("tl_default", "theta", json!("one")),
        ("tl_default", "theta", Value::Null),
        ("tl_default", "dtype", json!("mixed_float16")),
    ] {
        let err = with(n, k, Some(v.clone())).unwrap_err().to_string();
        assert!(err.contains(k), "{n} {k}={v}: {err}");
    }
}

#[test]
fn parametric_softplus_matches_finite_differences() {
    for name in ["psp_default", "psp_init", "psp_shared1", "psp_shared12"] {
        let mut g = golden(&case_named(layer_cases(DIR), name));
        let fd = FiniteDiff {
            h: 1e-2,
            tol: 5e-3,
            x_stride: 1,
        };
        check_finite_differences(
            name,
            &g.config,
            g.input,
            g.batch,
            &mut g.weights,
            &mut g.x,
            &g.c,
            fd,
        );
    }
}

#[test]
fn thresholded_linear_matches_finite_differences() {
    for name in ["tl_default", "tl_theta", "tl_zero"] {
        let mut g = golden(&case_named(layer_cases(DIR), name));
        let theta = match g.config {
            LayerConfig::ThresholdedLinear(t) => t.theta,
            _ => unreachable!(),
        };
        // Central differences need both sides of the step on one side of ±theta: move
        // inputs within 0.05 of a threshold 0.1 away from it.
        for v in g.x.iter_mut() {
            if (v.abs() - theta).abs() < 0.05 {
                *v += 0.1 * v.signum();
            }
        }
        let fd = FiniteDiff {
            h: 1e-2,
            tol: 1e-3,
            x_stride: 1,
        };
        check_finite_differences(
            name,
            &g.config,
            g.input,
            g.batch,
            &mut g.weights,
            &mut g.x,
            &g.c,
            fd,
        );
    }
}

#[test]
fn fixed_point_matches_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    for case in layer_cases(DIR) {
        let g = golden(&case);
        let name = &g.name;
        let pf =
            forward_backward(&g.config, &refs(&g.weights), g.input, g.batch, &g.x, &g.c).unwrap();
        let qw: Vec<Vec<Q16_16>> = g.weights.iter().map(|w| q(w)).collect();
        let qr: Vec<&[Q16_16]> = qw.iter().map(Vec::as_slice).collect();
        let pq = forward_backward(&g.config, &qr, g.input, g.batch, &q(&g.x), &q(&g.c)).unwrap();
        if name.starts_with("tl") {
            // A selection of inputs (the thresholds ±theta are exact in Q16.16): exact
            // against the quantized f32 results.
            assert_eq!(pq.y, q(&pf.y), "{name} y");
            assert_eq!(pq.dx, q(&pf.dx), "{name} dx");
            continue;
        }
        // ParametricSoftplus on |x| up to 60 with beta up to 5: quantizing x, alpha, beta
        // and c (|δ| ≤ 2^-17 ≈ 7.6e-6 each) moves z = beta·x by up to (60 + 5)·7.6e-6 ≈
        // 5e-4, hence y = alpha·softplus(z) (alpha ≤ 1) by ≤ 5e-4 plus softplus(z)·7.6e-6
        // (≤ 1e-3 relative), and dx = c·alpha·beta·sigmoid(z) by about as much: 1e-3
        // relative + 1e-3 absolute. The parameter gradients sum up to 12 such terms, the
        // beta ones multiplied by x: 5e-3 absolute. Measured worst: 2.3e-4 (y), 5.2e-5
        // (dx), 8.1e-4 (parameters).
        let (yq, dxq, dpq) = (f(&pq.y), f(&pq.dx), f(&pq.dparams));
        println!(
            "{name}: Q16 y worst {}, dx worst {}, dparams worst {}",
            worst_summary(&yq, &pf.y),
            worst_summary(&dxq, &pf.dx),
            worst_summary(&dpq, &pf.dparams)
        );
        assert_close(&format!("{name} Q16 y"), &yq, &pf.y, 1e-3, 1e-3);
        assert_close(&format!("{name} Q16 dx"), &dxq, &pf.dx, 1e-3, 1e-3);
        assert_close(
            &format!("{name} Q16 dparams"),
            &dpq,
            &pf.dparams,
            1e-3,
            5e-3,
        );
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let ctx = Context::default();
    let psp = ParametricSoftplus { shared_axes: 0b10 };
    // Input (3, 4) → alpha, beta (1, 4).
    assert_eq!(psp.param_shapes(s(&[3, 4])).unwrap()[0].dims(), &[1, 4]);
    for bad in [0b1u8, 0b1000] {
        let l = ParametricSoftplus { shared_axes: bad };
        assert!(matches!(
            l.output_shape(s(&[3, 4])),
            Err(Error::InvalidConfig(_))
        ));
    }
    let x = [0.5f32; 12];
    let (a, b) = ([1.0f32; 4], [2.0f32; 4]);
    let xs = s(&[1, 3, 4]);
    let fwd = |params: &[&[f32]], xs: Shape, y_len: usize| {
        let mut y = vec![0.0f32; y_len];
        psp.forward(
            params,
            TensorView::new(xs, &x[..xs.len()]).unwrap(),
            TensorViewMut::new(s(&[y_len]), &mut y).unwrap(),
            &ctx,
        )
    };
    assert!(fwd(&[&a, &b], xs, 12).is_ok());
    let mismatch =
        |r: ember_nn::Result<()>| assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
    mismatch(fwd(&[&a], xs, 12));
    mismatch(fwd(&[&a, &b, &b], xs, 12));
    mismatch(fwd(&[&a, &b[..3]], xs, 12));
    mismatch(fwd(&[&a[..3], &b], xs, 12));
    mismatch(fwd(&[&a, &b], xs, 11));
    // A batched input without a sample axis.
    assert_eq!(fwd(&[&a, &b], s(&[12]), 12), Err(Error::InvalidShape));
    let bwd = |dy_len: usize, dx_len: Option<usize>, dp_len: Option<usize>| {
        let y = [0.0f32; 12];
        let mut dy = vec![0.0f32; dy_len];
        let mut dx = dx_len.map(|n| vec![0.0f32; n]);
        let mut dp = dp_len.map(|n| vec![0.0f32; n]);
        psp.backward(
            &[&a, &b],
            TensorView::new(xs, &x).unwrap(),
            TensorView::new(xs, &y).unwrap(),
            &mut dy,
            dx.as_deref_mut(),
            dp.as_deref_mut(),
            &ctx,
        )
    };
    assert!(bwd(12, Some(12), Some(8)).is_ok());
    mismatch(bwd(11, Some(12), Some(8)));
    mismatch(bwd(12, Some(13), None));
    mismatch(bwd(12, None, Some(4)));

    let tl = ThresholdedLinear { theta: f32::NAN };
    assert!(matches!(
        tl.output_shape(s(&[3])),
        Err(Error::InvalidConfig(_))
    ));
    let tl = ThresholdedLinear::default();
    let mut y = [0.0f32; 11];
    mismatch(tl.forward(
        &[],
        TensorView::new(xs, &x).unwrap(),
        TensorViewMut::new(s(&[11]), &mut y).unwrap(),
        &ctx,
    ));
    let mut y = [0.0f32; 12];
    mismatch(tl.forward(
        &[&a],
        TensorView::new(xs, &x).unwrap(),
        TensorViewMut::new(xs, &mut y).unwrap(),
        &ctx,
    ));
    let mut dy = [0.0f32; 12];
    mismatch(tl.backward(
        &[],
        TensorView::new(xs, &x).unwrap(),
        TensorView::new(xs, &y).unwrap(),
        &mut dy,
        Some(&mut [0.0f32; 5]),
        None,
        &ctx,
    ));
}

#[test]
fn keras_model_with_custom_classes_converts_and_predicts() {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(
        classes,
        [
            "Dense",
            "ParametricSoftplus",
            "ThresholdedLinear",
            "Flatten",
            "Dense"
        ]
    );
    assert_eq!(
        g.layers()[1].config,
        LayerConfig::ParametricSoftplus(ParametricSoftplus { shared_axes: 0b10 })
    );
    assert_eq!(
        g.layers()[2].config,
        LayerConfig::ThresholdedLinear(ThresholdedLinear { theta: 0.4 })
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(b.as_slice(), &x, 2).unwrap();
    println!("predict: worst {}", worst_summary(&y.data, &want.data));
    assert_close("legacy model predict", &y.data, &want.data, 1e-5, 1e-7);
    let yq = predict(convert(&k, DTypeChoice::Fixed).unwrap().as_slice(), &x, 2).unwrap();
    println!("Q16 predict: worst {}", worst_summary(&yq.data, &want.data));
    assert_close("legacy model Q16 predict", &yq.data, &want.data, 0.0, 1e-3);
}
