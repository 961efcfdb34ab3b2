//! `LayerNormalization` against Keras 3 (golden values from
//! `tests/fixtures/layernorm/generate.py`): outputs and `jax.grad` gradients of the input,
//! gamma and beta on last-axis, multi-axis and image cases; finite differences; the
//! converter's options; bad shapes; Q16.16.

use ember_cli::convert::layer_config;
use ember_nn::layers::{Context, Layer, LayerConfig, LayerNormalization};
use ember_nn::{Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{assert_close, keras_layer, layer_cases, npy};
use serde_json::Value;

const DIR: &str = "layernorm";

fn ln_of(case: &Value) -> LayerNormalization {
    match layer_config(&keras_layer(case)).unwrap() {
        LayerConfig::LayerNormalization(l) => l,
        other => panic!("{other:?}"),
    }
}

/// (y, dx, dweights) of one batch.
fn run<T: Scalar>(
    ln: &LayerNormalization,
    s: Shape,
    x: &[T],
    c: &[T],
    ws: &[Vec<T>],
) -> ember_nn::Result<(Vec<T>, Vec<T>, Vec<T>)> {
    let params: Vec<&[T]> = ws.iter().map(Vec::as_slice).collect();
    let mut y = vec![T::ZERO; x.len()];
    let ctx = Context::default();
    ln.forward(
        &params,
        TensorView::new(s, x)?,
        TensorViewMut::new(s, &mut y)?,
        &ctx,
    )?;
    let mut dx = vec![T::ZERO; x.len()];
    let mut dw = vec![T::ZERO; ws.iter().map(Vec::len).sum()];
    let mut dy = c.to_vec();
    ln.backward(
        &params,
        TensorView::new(s, x)?,
        TensorView::new(s, &y)?,
        &mut dy,
        Some(&mut dx),
        Some(&mut dw),
        &ctx,
    )?;
    Ok((y, dx, dw))
}

struct Case {
    name: String,
    ln: LayerNormalization,
    shape: Shape,
    x: Vec<f32>,
    c: Vec<f32>,
    ws: Vec<Vec<f32>>,
}

fn load(case: &Value) -> Case {
    let name = case["name"].as_str().unwrap().to_string();
    let x = npy(DIR, &format!("layer_{name}_x.npy"));
    let n = case["weights"].as_u64().unwrap() as usize;
    Case {
        ln: ln_of(case),
        shape: Shape::new(&x.shape).unwrap(),
        c: npy(DIR, &format!("layer_{name}_c.npy")).data,
        ws: (0..n)
            .map(|i| npy(DIR, &format!("layer_{name}_w{i}.npy")).data)
            .collect(),
        x: x.data,
        name,
    }
}

#[test]
fn layers_match_keras() {
    let cs = layer_cases(DIR);
    assert_eq!(cs.len(), 6);
    for case in &cs {
        let k = load(case);
        let input = Shape::new(
            &k.shape.dims()[1..]
                .iter()
                .map(|&d| d as usize)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let shapes = k.ln.param_shapes(input).unwrap();
        assert_eq!(shapes.len(), k.ws.len(), "{}", k.name);
        for (s, w) in shapes.iter().zip(&k.ws) {
            assert_eq!(s.len(), w.len(), "{}", k.name);
        }
        let (y, dx, dw) = run(&k.ln, k.shape, &k.x, &k.c, &k.ws).unwrap();
        let want = |f: &str| npy(DIR, &format!("layer_{}_{f}.npy", k.name)).data;
        assert_close(&format!("{} y", k.name), &y, &want("y"), 1e-5, 1e-6);
        assert_close(&format!("{} dx", k.name), &dx, &want("dx"), 1e-5, 1e-6);
        let dws: Vec<f32> = (0..k.ws.len())
            .flat_map(|i| want(&format!("dw{i}")))
            .collect();
        assert_close(&format!("{} dw", k.name), &dw, &dws, 1e-5, 1e-6);
    }
}

#[test]
fn gradients_match_finite_differences() {
    for case in layer_cases(DIR) {
        let k = load(&case);
        let objective = |x: &[f32], ws: &[Vec<f32>]| -> f64 {
            let (y, _, _) = run(&k.ln, k.shape, x, &k.c, ws).unwrap();
            y.iter().zip(&k.c).map(|(a, b)| (a * b) as f64).sum()
        };
        let (_, dx, dw) = run(&k.ln, k.shape, &k.x, &k.c, &k.ws).unwrap();
        let h = 1e-2f32;
        let check = |what: String, analytic: f32, p: f64, m: f64| {
            let numeric = ((p - m) / (2.0 * h as f64)) as f32;
            assert!(
                (analytic - numeric).abs() <= 3e-3 + 3e-3 * numeric.abs(),
                "{what}: analytic {analytic}, numeric {numeric}"
            );
        };
        for i in (0..k.x.len()).step_by(2) {
            let (mut p, mut m) = (k.x.clone(), k.x.clone());
            p[i] += h;
            m[i] -= h;
            check(
                format!("{} dx[{i}]", k.name),
                dx[i],
                objective(&p, &k.ws),
                objective(&m, &k.ws),
            );
        }
        let mut at = 0;
        for t in 0..k.ws.len() {
            for j in 0..k.ws[t].len() {
                let (mut p, mut m) = (k.ws.clone(), k.ws.clone());
                p[t][j] += h;
                m[t][j] -= h;
                check(
                    format!("{} dw{t}[{j}]", k.name),
                    dw[at + j],
                    objective(&k.x, &p),
                    objective(&k.x, &m),
                );
            }
            at += k.ws[t].len();
        }
    }
}

#[test]
fn converter_reads_options_and_refuses_the_rest() {
    let case = layer_cases(DIR)
        .into_iter()
        .find(|c| c["name"] == "seq")
        .unwrap();
    assert_eq!(ln_of(&case), LayerNormalization::last_axis(1e-2));
    let image = layer_cases(DIR)
        .into_iter()
        .find(|c| c["name"] == "image_all")
        .unwrap();
    let ln = ln_of(&image);
    assert_eq!((ln.n_axes, &ln.axes[..3]), (3, &[1i8, 2, 3][..]));
    let refused = |key: &str, v: Value| {
        let mut c = case.clone();
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{key}={v}: {err}");
    };
    refused("rms_scaling", Value::Bool(true));
    refused("axis", serde_json::json!(0));
    refused("axis", serde_json::json!([]));
    refused("axis", serde_json::json!([7]));
    refused("epsilon", serde_json::json!(-0.5));
    refused("scale", serde_json::json!("yes"));
    refused(
        "gamma_regularizer",
        serde_json::json!({"class_name": "OrthogonalRegularizer"}),
    );
    refused("dtype", "bfloat16".into());
    // Axes that are not the trailing ones are an error once the input shape is known.
    let mut c = case.clone();
    c["config"]["axis"] = serde_json::json!([1]);
    let ln = ln_of(&c);
    let s = Shape::new(&[4, 5]).unwrap();
    assert!(ln.output_shape(s).is_err());
    assert!(ln.output_shape(Shape::new(&[5]).unwrap()).is_ok());
    // Defaults.
    let mut c = case.clone();
    let o = c["config"].as_object_mut().unwrap();
    for k in ["axis", "epsilon", "center", "scale"] {
        o.remove(k);
    }
    assert_eq!(ln_of(&c), LayerNormalization::last_axis(1e-3));
}

#[test]
fn bad_buffers_are_errors() {
    let ln = LayerNormalization::last_axis(1e-3);
    let s = Shape::new(&[2, 3]).unwrap();
    let x = [1.0f32; 6];
    let mut y = [0.0f32; 6];
    let g = [1.0f32; 3];
    let short = [1.0f32; 2];
    for params in [vec![&g[..]], vec![&g[..], &short[..]], vec![&g[..]; 3]] {
        let r = ln.forward(
            &params,
            TensorView::new(s, &x).unwrap(),
            TensorViewMut::new(s, &mut y).unwrap(),
            &Context::default(),
        );
        assert!(r.is_err());
    }
    let mut dy = [0.0f32; 6];
    let mut dp = [0.0f32; 5];
    assert!(ln
        .backward(
            &[&g, &g],
            TensorView::new(s, &x).unwrap(),
            TensorView::new(s, &y).unwrap(),
            &mut dy,
            None,
            Some(&mut dp),
            &Context::default(),
        )
        .is_err());
}

#[test]
fn fixed_point_follows_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    for case in layer_cases(DIR) {
        let k = load(&case);
        let wq: Vec<Vec<Q16_16>> = k.ws.iter().map(|w| q(w)).collect();
        let (yf, dxf, dwf) = run(&k.ln, k.shape, &k.x, &k.c, &k.ws).unwrap();
        let (yq, dxq, dwq) = run(&k.ln, k.shape, &q(&k.x), &q(&k.c), &wq).unwrap();
        // O(1) values; a handful of 2^-16 roundings plus the rounded 1/sqrt.
        assert_close(&format!("{} y", k.name), &f(&yq), &yf, 0.0, 2e-3);
        assert_close(&format!("{} dx", k.name), &f(&dxq), &dxf, 0.0, 3e-3);
        assert_close(&format!("{} dw", k.name), &f(&dwq), &dwf, 0.0, 5e-3);
    }
}
