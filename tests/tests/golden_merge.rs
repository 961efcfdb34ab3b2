//! Merge layers (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`,
//! `Concatenate`, `Dot`) against Keras 3 (golden values from
//! `tests/fixtures/merge/generate.py`): outputs and `jax.grad` input gradients of every
//! case through `LayerConfig::forward_n`/`backward_n`, finite differences, Q16.16
//! against f32, the converter's options, and errors on bad shapes, counts and buffers.

use ember_cli::convert::{layer_config, SUPPORTED_CLASSES};
use ember_nn::layers::TensorMask;
use ember_nn::layers::{
    Add, Average, Concatenate, Context, Dot, LayerConfig, Maximum, Merge, Minimum, Multiply, ReLU,
    Subtract, MAX_MERGE_INPUTS,
};
use ember_nn::{Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{assert_close, case_named, dims, keras_layer, layer_cases, npy, worst_summary};
use serde_json::{json, Value};

const DIR: &str = "merge";
const BATCH: usize = 2;

/// One golden case: converted config, per-sample input shapes, inputs, cotangent and
/// Keras's y and input gradients.
struct Golden {
    name: String,
    config: LayerConfig,
    inputs: Vec<Shape>,
    output: Vec<usize>,
    xs: Vec<Vec<f32>>,
    c: Vec<f32>,
    y: Vec<f32>,
    dxs: Vec<Vec<f32>>,
}

fn golden(case: &Value) -> Golden {
    let name = case["name"].as_str().unwrap().to_string();
    let config = layer_config(&keras_layer(case)).unwrap();
    let inputs: Vec<Shape> = case["input_shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Shape::new(&dims(s)).unwrap())
        .collect();
    let n = inputs.len();
    let file = |f: String| npy(DIR, &f).data;
    Golden {
        config,
        output: dims(&case["output_shape"]),
        xs: (0..n).map(|i| file(format!("{name}_x{i}.npy"))).collect(),
        c: file(format!("{name}_c.npy")),
        y: file(format!("{name}_y.npy")),
        dxs: (0..n).map(|i| file(format!("{name}_dx{i}.npy"))).collect(),
        inputs,
        name,
    }
}

fn goldens() -> Vec<Golden> {
    layer_cases(DIR).iter().map(golden).collect()
}

/// Forward, then backward with `dy = c` asking for every input gradient (buffers filled
/// with 7 first: backward must overwrite them). Checks that `dy` is left unchanged.
fn run<T: Scalar>(
    config: &LayerConfig,
    inputs: &[Shape],
    batch: usize,
    xs: &[Vec<T>],
    c: &[T],
) -> ember_nn::Result<(Vec<T>, Vec<Vec<T>>)> {
    let out = config.output_shape_n(inputs)?;
    let views = inputs
        .iter()
        .zip(xs)
        .map(|(s, x)| TensorView::new(s.with_batch(batch)?, x))
        .collect::<ember_nn::Result<Vec<_>>>()?;
    let ys = out.with_batch(batch)?;
    let mut y = vec![T::ZERO; ys.len()];
    let ctx = Context::default();
    config.forward_n(&[], &views, TensorViewMut::new(ys, &mut y)?, &ctx)?;
    let mut dy = c.to_vec();
    let mut dxs: Vec<Vec<T>> = xs.iter().map(|x| vec![T::from_f32(7.0); x.len()]).collect();
    let mut slots: Vec<Option<&mut [T]>> = dxs.iter_mut().map(|d| Some(d.as_mut_slice())).collect();
    config.backward_n(
        &[],
        &views,
        TensorView::new(ys, &y)?,
        &mut dy,
        &mut slots,
        None,
        TensorMask::EMPTY,
        &ctx,
    )?;
    assert!(dy == c, "merge backward changed dy");
    Ok((y, dxs))
}

fn to_q(v: &[f32]) -> Vec<Q16_16> {
    v.iter().map(|&x| Q16_16::from_f32(x)).collect()
}

fn to_f(v: &[Q16_16]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32()).collect()
}

#[test]
fn merges_match_keras() {
    let cases = goldens();
    assert_eq!(cases.len(), 34);
    let (mut worst_y, mut worst_dx) = (0.0f32, 0.0f32);
    for g in &cases {
        let name = &g.name;
        assert!(g.config.is_merge(), "{name}");
        assert!(g.config.input_count_ok(g.inputs.len()), "{name}");
        let out = g.config.output_shape_n(&g.inputs).unwrap();
        let want: Vec<u32> = g.output.iter().map(|&d| d as u32).collect();
        assert_eq!(out.dims(), want.as_slice(), "{name} output shape");
        let (y, dxs) = run(&g.config, &g.inputs, BATCH, &g.xs, &g.c).unwrap();
        assert_close(&format!("{name} y"), &y, &g.y, 1e-5, 1e-6);
        worst_y = worst_y.max(ember_tests::worst_rel(&y, &g.y, 1e-3));
        for (i, (dx, want)) in dxs.iter().zip(&g.dxs).enumerate() {
            assert_close(&format!("{name} dx{i}"), dx, want, 1e-5, 1e-6);
            worst_dx = worst_dx.max(ember_tests::worst_rel(dx, want, 1e-3));
        }
        println!(
            "{name}: y {} dx0 {}",
            worst_summary(&y, &g.y),
            worst_summary(&dxs[0], &g.dxs[0])
        );
    }
    println!("worst relative error (|e| >= 1e-3): y {worst_y:.1e}, dx {worst_dx:.1e}");
}

/// The tie fixtures really hold ties: Keras's gradient there has halves and quarters,
/// which Ember must reproduce (checked by `merges_match_keras`).
#[test]
fn tie_fixtures_split_the_gradient() {
    for name in ["maximum_tie", "minimum_tie", "maximum_broadcast_tie"] {
        let g = golden(&case_named(layer_cases(DIR), name));
        let ratios: Vec<f32> = g
            .dxs
            .iter()
            .flat_map(|d| d.iter().zip(&g.c).map(|(a, c)| a / c))
            .collect();
        let split = |r: f32| ratios.iter().any(|&x| (x - r).abs() < 1e-6);
        if name == "maximum_broadcast_tie" {
            // dx1 sums over the broadcast axis: just check the case has ties.
            let x0 = &g.xs[0];
            assert!(x0.iter().zip(x0.iter().skip(3)).any(|(a, b)| a == b));
        } else {
            assert!(split(0.5) && split(0.25), "{name}: {ratios:?}");
        }
    }
}

/// `Σ c ⊙ merge(xs)` in f64.
fn objective(config: &LayerConfig, inputs: &[Shape], xs: &[Vec<f32>], c: &[f32]) -> f64 {
    let out = config.output_shape_n(inputs).unwrap();
    let views: Vec<_> = inputs
        .iter()
        .zip(xs)
        .map(|(s, x)| TensorView::new(s.with_batch(BATCH).unwrap(), x).unwrap())
        .collect();
    let ys = out.with_batch(BATCH).unwrap();
    let mut y = vec![0.0f32; ys.len()];
    config
        .forward_n(
            &[],
            &views,
            TensorViewMut::new(ys, &mut y).unwrap(),
            &Context::default(),
        )
        .unwrap();
    y.iter().zip(c).map(|(&a, &b)| a as f64 * b as f64).sum()
}

#[test]
fn finite_differences() {
    let h = 1e-3f32;
    let tol = 5e-3f32;
    for g in goldens() {
        if g.name.contains("tie") {
            continue; // max/min are not differentiable at ties
        }
        let (_, dxs) = run(&g.config, &g.inputs, BATCH, &g.xs, &g.c).unwrap();
        let mut xs = g.xs.clone();
        for i in 0..xs.len() {
            for e in 0..xs[i].len() {
                let v = xs[i][e];
                xs[i][e] = v + h;
                let up = objective(&g.config, &g.inputs, &xs, &g.c);
                xs[i][e] = v - h;
                let down = objective(&g.config, &g.inputs, &xs, &g.c);
                xs[i][e] = v;
                let numeric = ((up - down) / (2.0 * h as f64)) as f32;
                let analytic = dxs[i][e];
                assert!(
                    (analytic - numeric).abs() <= tol + tol * numeric.abs(),
                    "{} dx{i}[{e}]: analytic {analytic}, numeric {numeric}",
                    g.name
                );
            }
        }
    }
}

/// Q16.16 against f32 on every case. Inputs are N(0, 1) (|x| < 4), outputs and
/// gradients below ~20 in magnitude: each Q16.16 rounding costs at most 2⁻¹⁷ ≈ 7.6e-6
/// (relative to 1), inputs are quantized once, and the longest chains (Dot's K ≤ 6 terms
/// accumulated exactly then rounded once; normalize's 1/√, products by r and the
/// projection, and its gradient summed in Q16.16 over ≤ 15 terms) take fewer than 30
/// roundings of values ≤ 4: 30 · 4 · 7.6e-6 ≈ 1e-3 absolute, plus 1e-3 relative for
/// the larger values.
#[test]
fn fixed_point_agrees_with_f32() {
    let mut worst = 0.0f32;
    for g in goldens() {
        let xq: Vec<Vec<Q16_16>> = g.xs.iter().map(|x| to_q(x)).collect();
        let (yq, dq) = run(&g.config, &g.inputs, BATCH, &xq, &to_q(&g.c)).unwrap();
        let (y, d) = run(&g.config, &g.inputs, BATCH, &g.xs, &g.c).unwrap();
        assert_close(&format!("{} q16 y", g.name), &to_f(&yq), &y, 1e-3, 1e-3);
        worst = worst.max(ember_tests::worst_abs(&to_f(&yq), &y));
        for (i, (a, b)) in dq.iter().zip(&d).enumerate() {
            assert_close(&format!("{} q16 dx{i}", g.name), &to_f(a), b, 1e-3, 1e-3);
            worst = worst.max(ember_tests::worst_abs(&to_f(a), b));
        }
    }
    println!("Q16.16 vs f32 worst absolute difference: {worst:.1e}");
}

#[test]
fn converter_reads_options() {
    let conf = |n: &str| layer_config(&keras_layer(&case_named(layer_cases(DIR), n))).unwrap();
    assert_eq!(conf("add_2"), LayerConfig::Add(Add));
    assert_eq!(conf("subtract_2"), LayerConfig::Subtract(Subtract));
    assert_eq!(conf("multiply_2"), LayerConfig::Multiply(Multiply));
    assert_eq!(conf("average_2"), LayerConfig::Average(Average));
    assert_eq!(conf("maximum_2"), LayerConfig::Maximum(Maximum));
    assert_eq!(conf("minimum_2"), LayerConfig::Minimum(Minimum));
    assert_eq!(
        conf("concatenate_axis1"),
        LayerConfig::Concatenate(Concatenate { axis: 1 })
    );
    assert_eq!(
        conf("dot_12"),
        LayerConfig::Dot(Dot {
            axes: [1, 2],
            normalize: false
        })
    );
    assert_eq!(
        conf("dot_vectors"),
        LayerConfig::Dot(Dot {
            axes: [-1, -1],
            normalize: false
        })
    );
    assert_eq!(
        conf("dot_normalize_vectors"),
        LayerConfig::Dot(Dot {
            axes: [1, 1],
            normalize: true
        })
    );
    for class in [
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "Dot",
    ] {
        assert!(SUPPORTED_CLASSES.contains(class), "{class}");
    }
    // Defaults when keys are absent: Concatenate(axis=-1), Dot(normalize=False).
    let without = |n: &str, key: &str| {
        let mut c = case_named(layer_cases(DIR), n);
        c["config"].as_object_mut().unwrap().remove(key);
        layer_config(&keras_layer(&c))
    };
    assert_eq!(
        without("concatenate_axis1", "axis").unwrap(),
        LayerConfig::Concatenate(Concatenate { axis: -1 })
    );
    assert_eq!(
        without("dot_normalize_vectors", "normalize").unwrap(),
        LayerConfig::Dot(Dot {
            axes: [1, 1],
            normalize: false
        })
    );
    assert_eq!(without("add_2", "dtype").unwrap(), LayerConfig::Add(Add));
    // Keras requires `axes`: its absence is refused by name.
    let err = without("dot_12", "axes").unwrap_err().to_string();
    assert!(err.contains("axes"), "{err}");
    // Unsupported or invalid options are refused by name.
    let refused = |n: &str, key: &str, v: Value| {
        let mut c = case_named(layer_cases(DIR), n);
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{n} {key}={v}: {err}");
    };
    for n in [
        "add_2",
        "subtract_2",
        "multiply_2",
        "average_2",
        "maximum_2",
        "minimum_2",
        "concatenate_axis1",
        "dot_12",
    ] {
        refused(n, "dtype", "float16".into());
        refused(n, "dtype", json!({"config": {"name": "mixed_float16"}}));
    }
    refused("concatenate_axis1", "axis", json!(0));
    refused("concatenate_axis1", "axis", json!(1.5));
    refused("concatenate_axis1", "axis", json!([1]));
    refused("concatenate_axis1", "axis", json!(null));
    refused("dot_12", "axes", json!(0));
    refused("dot_12", "axes", json!([0, 1]));
    refused("dot_12", "axes", json!([1, 2, 3]));
    refused("dot_12", "axes", json!([[1], [2]]));
    refused("dot_12", "axes", json!("1"));
    refused("dot_12", "normalize", json!(1));
    refused("dot_12", "normalize", json!(null));
}

fn s(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

#[test]
fn bad_counts_and_shapes_are_errors() {
    let add = LayerConfig::Add(Add);
    let sub = LayerConfig::Subtract(Subtract);
    let dot = LayerConfig::Dot(Dot {
        axes: [-1, -1],
        normalize: false,
    });
    let cat = LayerConfig::Concatenate(Concatenate { axis: -1 });
    // Input counts: Keras's Merge needs >= 1; Subtract and Dot exactly 2.
    assert!(add.input_count_ok(1) && add.input_count_ok(MAX_MERGE_INPUTS));
    assert!(!add.input_count_ok(0) && !add.input_count_ok(MAX_MERGE_INPUTS + 1));
    assert!(sub.input_count_ok(2) && !sub.input_count_ok(1) && !sub.input_count_ok(3));
    assert!(dot.input_count_ok(2) && !dot.input_count_ok(3));
    assert!(LayerConfig::ReLU(ReLU::default()).input_count_ok(1));
    assert!(!LayerConfig::ReLU(ReLU::default()).input_count_ok(2));
    let v = s(&[3]);
    assert!(add.output_shape_n(&[]).is_err());
    assert!(add.output_shape_n(&[v; MAX_MERGE_INPUTS + 1]).is_err());
    assert!(sub.output_shape_n(&[v, v, v]).is_err());
    assert!(dot.output_shape_n(&[v]).is_err());
    assert!(cat.output_shape_n(&[]).is_err());
    // Incompatible shapes.
    assert!(add.output_shape_n(&[s(&[3]), s(&[4])]).is_err());
    assert!(add.output_shape_n(&[s(&[2, 3]), s(&[3, 3])]).is_err());
    assert_eq!(
        add.output_shape_n(&[s(&[2, 1]), s(&[3])]).unwrap(),
        s(&[2, 3])
    );
    assert!(cat.output_shape_n(&[s(&[2, 3]), s(&[3, 3])]).is_err());
    assert!(cat.output_shape_n(&[s(&[2, 3]), s(&[3])]).is_err());
    for axis in [0, 3, -3, i32::MIN, i32::MAX] {
        let c = LayerConfig::Concatenate(Concatenate { axis });
        assert!(
            c.output_shape_n(&[s(&[2, 3]), s(&[2, 3])]).is_err(),
            "{axis}"
        );
    }
    assert!(cat.output_shape_n(&[s(&[]), s(&[])]).is_err());
    assert!(dot.output_shape_n(&[s(&[3]), s(&[4])]).is_err());
    assert!(dot.output_shape_n(&[s(&[]), s(&[4])]).is_err());
    for axes in [[0, 1], [1, 0], [3, 1], [i32::MIN, 1], [1, i32::MAX]] {
        let d = LayerConfig::Dot(Dot {
            axes,
            normalize: false,
        });
        let r = d.output_shape_n(&[s(&[2, 2]), s(&[2, 2])]);
        // i32::MIN wraps (Python's %) to a valid axis, as in Keras.
        if axes[0] != i32::MIN {
            assert!(r.is_err(), "{axes:?}");
        }
    }
    // An output of rank > 4 (per sample) cannot be represented.
    assert_eq!(
        dot.output_shape_n(&[s(&[2, 2, 2, 2]), s(&[2, 2, 2, 2])]),
        Err(Error::InvalidShape)
    );
    // A concatenation whose joined axis overflows.
    let big = s(&[u32::MAX as usize]);
    assert!(cat.output_shape_n(&[big, big]).is_err());
    // Merges refuse the single-input methods, with the class name.
    for m in [add, sub, dot, cat] {
        match m.output_shape(v) {
            Err(Error::InvalidConfig(msg)) => assert!(msg.contains(m.keras_class()), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(m.param_shapes(v).unwrap().is_empty());
        assert_eq!(m.macs(v), 0);
        let x = [1.0f32; 3];
        let mut y = [0.0f32; 3];
        let bs = s(&[1, 3]);
        let r = m.forward(
            &[],
            TensorView::new(bs, &x).unwrap(),
            TensorViewMut::new(bs, &mut y).unwrap(),
            &Context::default(),
        );
        assert!(matches!(r, Err(Error::InvalidConfig(_))));
        let mut dy = [0.0f32; 3];
        let r = m.backward(
            &[],
            TensorView::new(bs, &x).unwrap(),
            TensorView::new(bs, &y).unwrap(),
            &mut dy,
            None,
            None,
            &Context::default(),
        );
        assert!(matches!(r, Err(Error::InvalidConfig(_))));
        assert_eq!(m.feature(), None);
        assert!(m.is_compiled());
    }
    // Macs: Multiply (n − 1) per output element, Dot K per output element.
    assert_eq!(
        LayerConfig::Multiply(Multiply).macs_n(&[s(&[2, 3]), s(&[2, 3]), s(&[3])]),
        12
    );
    assert_eq!(dot.macs_n(&[s(&[5, 4]), s(&[3, 4])]), 60);
    assert_eq!(add.macs_n(&[s(&[3]), s(&[3])]), 0);
}

#[test]
fn bad_buffers_are_errors() {
    let x = vec![1.0f32; 6];
    let bs = s(&[2, 3]);
    let view = TensorView::new(bs, &x).unwrap();
    let ctx = Context::default();
    let all: [LayerConfig; 8] = [
        LayerConfig::Add(Add),
        LayerConfig::Subtract(Subtract),
        LayerConfig::Multiply(Multiply),
        LayerConfig::Average(Average),
        LayerConfig::Maximum(Maximum),
        LayerConfig::Minimum(Minimum),
        LayerConfig::Concatenate(Concatenate { axis: -1 }),
        LayerConfig::Dot(Dot {
            axes: [1, 1],
            normalize: true,
        }),
    ];
    for m in all {
        let out = m.output_shape_n(&[s(&[3]), s(&[3])]).unwrap();
        let ys = out.with_batch(2).unwrap();
        let mut y = vec![0.0f32; ys.len()];
        // Good call first.
        m.forward_n(
            &[],
            &[view, view],
            TensorViewMut::new(ys, &mut y).unwrap(),
            &ctx,
        )
        .unwrap();
        // Output view of the wrong shape (same length for elementwise: (3, 2)).
        let wrong = s(&[ys.len() / 2, 2]);
        let mut y2 = vec![0.0f32; wrong.len()];
        let r = m.forward_n(
            &[],
            &[view, view],
            TensorViewMut::new(wrong, &mut y2).unwrap(),
            &ctx,
        );
        assert!(r.is_err(), "{m:?} wrong y");
        // Inputs with different batches.
        let x1 = vec![1.0f32; 3];
        let other = TensorView::new(s(&[1, 3]), &x1).unwrap();
        let r = m.forward_n(
            &[],
            &[view, other],
            TensorViewMut::new(ys, &mut y).unwrap(),
            &ctx,
        );
        assert!(r.is_err(), "{m:?} batch");
        // Parameters given to a merge.
        let p = [1.0f32];
        let r = m.forward_n(
            &[&p],
            &[view, view],
            TensorViewMut::new(ys, &mut y).unwrap(),
            &ctx,
        );
        assert!(r.is_err(), "{m:?} params");
        // Backward: wrong dy, wrong dx, wrong number of dx slots, dparams.
        let yv = TensorView::new(ys, &y).unwrap();
        let mut dy = vec![1.0f32; ys.len()];
        let mut short = vec![1.0f32; ys.len() - 1];
        let (mut d0, mut d1) = (vec![0.0f32; 6], vec![0.0f32; 5]);
        let r = m.backward_n(
            &[],
            &[view, view],
            yv,
            &mut short,
            &mut [None, None],
            None,
            TensorMask::EMPTY,
            &ctx,
        );
        assert!(r.is_err(), "{m:?} dy");
        let r = m.backward_n(
            &[],
            &[view, view],
            yv,
            &mut dy,
            &mut [Some(&mut d0), Some(&mut d1)],
            None,
            TensorMask::EMPTY,
            &ctx,
        );
        assert!(r.is_err(), "{m:?} dx");
        let r = m.backward_n(
            &[],
            &[view, view],
            yv,
            &mut dy,
            &mut [Some(&mut d0)],
            None,
            TensorMask::EMPTY,
            &ctx,
        );
        assert!(r.is_err(), "{m:?} slots");
        let mut dp = [0.0f32; 1];
        let r = m.backward_n(
            &[],
            &[view, view],
            yv,
            &mut dy,
            &mut [None, None],
            Some(&mut dp),
            TensorMask::EMPTY,
            &ctx,
        );
        assert!(r.is_err(), "{m:?} dparams");
        // None entries are skipped; the others computed.
        let mut d0 = vec![f32::NAN; 6];
        m.backward_n(
            &[],
            &[view, view],
            yv,
            &mut dy,
            &mut [Some(&mut d0), None],
            None,
            TensorMask::EMPTY,
            &ctx,
        )
        .unwrap();
        assert!(d0.iter().all(|v| v.is_finite()), "{m:?} skipped");
    }
    // A single-input layer through the _n methods: exactly one input and one dx slot.
    let relu = LayerConfig::ReLU(ReLU::default());
    let xr = [-1.0f32, 2.0, -3.0, 4.0, 5.0, -6.0];
    let vr = TensorView::new(bs, &xr).unwrap();
    let mut y = vec![0.0f32; 6];
    relu.forward_n::<f32>(&[], &[vr], TensorViewMut::new(bs, &mut y).unwrap(), &ctx)
        .unwrap();
    assert_eq!(y, [0.0, 2.0, 0.0, 4.0, 5.0, 0.0]);
    assert_eq!(relu.output_shape_n(&[s(&[3])]).unwrap(), s(&[3]));
    assert!(relu.output_shape_n(&[s(&[3]), s(&[3])]).is_err());
    let r = relu.forward_n::<f32>(
        &[],
        &[vr, vr],
        TensorViewMut::new(bs, &mut y).unwrap(),
        &ctx,
    );
    assert!(r.is_err());
    let mut dy = vec![1.0f32; 6];
    let mut dx = vec![9.0f32; 6];
    let yv = TensorView::new(bs, &y).unwrap();
    relu.backward_n(
        &[],
        &[vr],
        yv,
        &mut dy,
        &mut [Some(&mut dx)],
        None,
        TensorMask::EMPTY,
        &ctx,
    )
    .unwrap();
    assert_eq!(dx, [0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
    let r = relu.backward_n(
        &[],
        &[vr],
        yv,
        &mut dy,
        &mut [None, None],
        None,
        TensorMask::EMPTY,
        &ctx,
    );
    assert!(r.is_err());
}

/// The `Merge` trait is usable directly, and a zero vector under `Dot(normalize=True)`
/// gives Keras's clamped `1/ε` scale rather than a NaN.
#[test]
fn normalize_of_zero_vector_is_finite() {
    let d = Dot {
        axes: [1, 1],
        normalize: true,
    };
    assert_eq!(<Dot as Merge>::KERAS_CLASS, "Dot");
    let bs = s(&[1, 2]);
    let (a, b) = ([0.0f32, 0.0], [3.0f32, 4.0]);
    let xs = [
        TensorView::new(bs, &a).unwrap(),
        TensorView::new(bs, &b).unwrap(),
    ];
    let mut y = [1.0f32];
    d.forward(&xs, TensorViewMut::new(s(&[1, 1]), &mut y).unwrap())
        .unwrap();
    assert_eq!(y, [0.0]);
    let (mut da, mut db) = ([0.0f32; 2], [0.0f32; 2]);
    d.backward(
        &xs,
        TensorView::new(s(&[1, 1]), &y).unwrap(),
        &[1.0],
        &mut [Some(&mut da), Some(&mut db)],
    )
    .unwrap();
    // ∂/∂a of (a/ε)·(b/‖b‖) = b/‖b‖/ε.
    assert_close("da", &da, &[0.6e7, 0.8e7], 1e-6, 0.0);
    assert_eq!(db, [0.0, 0.0]);
}
