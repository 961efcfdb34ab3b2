//! Pooling layers (`MaxPooling1D/2D`, `AveragePooling1D/2D`, `GlobalMaxPooling1D/2D`,
//! `GlobalAveragePooling1D/2D`) against Keras 3 (golden values from
//! `tests/fixtures/pooling/generate.py`): outputs and `jax.grad` input gradients for every
//! case (including tied maxima), a converted Sequential's predictions and 3 SGD steps,
//! and Q16.16 against f32. The converter's option checks, finite differences and bad
//! shapes are in `pooling_checks.rs`.

use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{LayerConfig, MaxPooling1D, MaxPooling2D, Padding};
use ember_nn::{Scalar, Shape, Q16_16};
use ember_tests::{
    assert_close, blob, case_named, cases, dims, fixture, forward_backward_weightless, keras_layer,
    layer_cases, npy, train_f32, worst_abs, worst_rel,
};

const DIR: &str = "pooling";

/// Forward and backward of one parameter-free layer on a batch; returns (y, dx). dx starts
/// as garbage: the backward pass must overwrite, not accumulate into, it.
fn run<T: Scalar>(
    config: &LayerConfig,
    input: Shape,
    batch: usize,
    x: &[T],
    dy: &[T],
) -> ember_nn::Result<(Vec<T>, Vec<T>)> {
    let r = forward_backward_weightless(config, input, batch, x, dy, T::from_f32(7.0))?;
    assert_eq!(config.macs(input), 0);
    Ok(r)
}

/// `(max |a − e| / |e|` over `|e| ≥ 1e-3`, `max |a − e|)`.
fn worst(a: &[f32], e: &[f32]) -> (f32, f32) {
    (worst_rel(a, e, 1e-3), worst_abs(a, e))
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 40);
    let (mut worst_y, mut worst_dx) = ((0.0f32, 0.0f32), (0.0f32, 0.0f32));
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let class = case["class_name"].as_str().unwrap();
        let config = layer_config(&keras_layer(case)).unwrap();
        assert_eq!(config.keras_class(), class);
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let out = config.output_shape(input).unwrap();
        let want_out: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want_out.as_slice(), "{name} output shape");
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let (y, dx) = run(&config, input, x.shape[0], &x.data, &c).unwrap();
        let want_y = npy(DIR, &format!("layer_{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("layer_{name}_dx.npy")).data;
        let (wy, wdx) = (worst(&y, &want_y), worst(&dx, &want_dx));
        println!(
            "{name}: y rel {:.1e} abs {:.1e}; dx rel {:.1e} abs {:.1e}",
            wy.0, wy.1, wdx.0, wdx.1
        );
        worst_y = (worst_y.0.max(wy.0), worst_y.1.max(wy.1));
        worst_dx = (worst_dx.0.max(wdx.0), worst_dx.1.max(wdx.1));
        if class.contains("Max") {
            // A maximum selects an input: bit-exact. Its gradient is a routed (or, for
            // the global layers' ties, equally split) cotangent: exact up to the order of
            // the sums where windows overlap.
            assert_eq!(y, want_y, "{name} y");
        } else {
            assert_close(&format!("{name} y"), &y, &want_y, 1e-5, 1e-7);
        }
        assert_close(&format!("{name} dx"), &dx, &want_dx, 1e-5, 1e-7);
    }
    println!(
        "all cases: y worst rel {:.1e} abs {:.1e}; dx worst rel {:.1e} abs {:.1e}",
        worst_y.0, worst_y.1, worst_dx.0, worst_dx.1
    );
}

/// The tie cases have tied inputs, and in the global ones Keras's gradient is split.
#[test]
fn tie_cases_exercise_the_tie_rules() {
    for case in layer_cases(DIR).iter().filter(|c| c["inputs"] == "ties") {
        let name = case["name"].as_str().unwrap();
        let x = npy(DIR, &format!("layer_{name}_x.npy")).data;
        assert!(x.iter().all(|v| [0.0, 1.0, 2.0].contains(v)), "{name}");
        let dx = npy(DIR, &format!("layer_{name}_dx.npy")).data;
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        if name.starts_with("gmp") {
            // Split gradients: some dx is a fraction of a cotangent, not a cotangent.
            assert!(
                dx.iter().any(|d| *d != 0.0 && !c.contains(d)),
                "{name}: no split gradient"
            );
        }
    }
}

/// JAX's rule, by hand: `MaxPooling2D(2, strides=1)` on an all-ones 3×3 image sends each
/// of the 4 windows' gradient to its first (top-left) element; a 1-D `same` window with
/// ties does likewise (values from `jax.grad` in Keras 3.15 / JAX, see the fixture README).
#[test]
fn max_pooling_gradient_goes_to_the_first_maximum() {
    let m = LayerConfig::MaxPooling2D(MaxPooling2D {
        pool_size: [2, 2],
        strides: [1, 1],
        padding: Padding::Valid,
    });
    let (_, dx) = run(
        &m,
        Shape::new(&[3, 3, 1]).unwrap(),
        1,
        &[1.0f32; 9],
        &[1.0; 4],
    )
    .unwrap();
    assert_eq!(dx, [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let x = [0.0f32, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0, 2.0, 1.0];
    let (_, dx) = run(&m, Shape::new(&[3, 3, 1]).unwrap(), 1, &x, &[1.0; 4]).unwrap();
    assert_eq!(dx, [0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let m = LayerConfig::MaxPooling1D(MaxPooling1D {
        pool_size: 3,
        strides: 1,
        padding: Padding::Same,
    });
    let x = [3.0f32, 3.0, 3.0, 1.0, 3.0];
    let (y, dx) = run(&m, Shape::new(&[5, 1]).unwrap(), 1, &x, &[1.0; 5]).unwrap();
    assert_eq!(y, [3.0; 5]);
    assert_eq!(dx, [2.0, 1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn model_predictions_match_keras() {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(
        classes,
        [
            "Dense",
            "MaxPooling2D",
            "AveragePooling2D",
            "Reshape",
            "MaxPooling1D",
            "AveragePooling1D",
            "Dense",
            "GlobalAveragePooling1D",
            "Dense"
        ]
    );
    let shapes: Vec<Vec<u32>> = g
        .layers()
        .iter()
        .map(|l| l.output.dims().to_vec())
        .collect();
    assert_eq!(
        shapes,
        [
            vec![6, 6, 3],
            vec![3, 3, 3],
            vec![3, 3, 3],
            vec![9, 3],
            vec![5, 3],
            vec![4, 3],
            vec![4, 4],
            vec![4],
            vec![3]
        ]
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    // Batch 2 over 5 samples: also exercises predict's chunking.
    let y = predict(b.as_slice(), &x, 2).unwrap();
    let w = worst(&y.data, &want.data);
    println!("predict: worst rel {:.1e} abs {:.1e}", w.0, w.1);
    assert_close("pooling_net predict", &y.data, &want.data, 1e-5, 1e-7);
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
        let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
        let mut i = 0;
        for w in t.params.iter().flatten() {
            let want = npy(DIR, &format!("train_{}_w{i}.npy", case.name));
            let e = worst(w, &want.data);
            println!("w{i}: worst rel {:.1e} abs {:.1e}", e.0, e.1);
            assert_close(&format!("w{i}"), w, &want.data, 1e-5, 1e-6);
            i += 1;
        }
        // Dense ×3 (kernel, bias).
        assert_eq!(i, 6);
        // The first Dense trained, so gradients crossed every pooling layer.
        assert_ne!(
            t.params[0][0].as_slice(),
            k.layers[0].weights[0].data.as_slice()
        );
    }
}

/// Q16.16 against f32 on every golden case. One Q16.16 step is `u = 2^-16 ≈ 1.5e-5`.
///
/// - Max forward selects an input, and rounding to Q16.16 is monotonic: `y_q` is exactly
///   the rounded f32 output (unless rounding creates a new tie, which does not change the
///   maximum's value either).
/// - Average forward: inputs rounded (≤ u/2 each, so ≤ u/2 on their mean), the exact i64
///   sum rounded once (≤ u/2) and the division rounded (≤ u/2): ≤ 1.5 u; bound 3 u.
/// - Backward: each window contributes its rounded cotangent (≤ u/2), divided and rounded
///   once more for averages (≤ u); at most 16 windows overlap an input in these cases (a
///   4×4 window at stride 1), so ≤ 16 u ≈ 2.4e-4; bound 2.5e-4 plus the f32 error.
#[test]
fn fixed_point_agrees_with_f32() {
    let u = 1.0 / 65536.0f32;
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let f = |v: &[Q16_16]| v.iter().map(|a| a.to_f32()).collect::<Vec<_>>();
    let (mut wy, mut wdx) = (0.0f32, 0.0f32);
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let class = case["class_name"].as_str().unwrap();
        let config = layer_config(&keras_layer(&case)).unwrap();
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let (yf, dxf) = run(&config, input, x.shape[0], &x.data, &c).unwrap();
        let (yq, dxq) = run(&config, input, x.shape[0], &q(&x.data), &q(&c)).unwrap();
        if class.contains("Max") {
            assert_eq!(yq, q(&yf), "{name} y");
        } else {
            assert_close(&format!("{name} y"), &f(&yq), &yf, 0.0, 3.0 * u);
        }
        assert_close(&format!("{name} dx"), &f(&dxq), &dxf, 0.0, 16.5 * u);
        wy = wy.max(worst(&f(&yq), &yf).1);
        wdx = wdx.max(worst(&f(&dxq), &dxf).1);
    }
    println!(
        "Q16.16 vs f32: y worst abs {wy:.1e} ({:.1} u), dx worst abs {wdx:.1e} ({:.1} u)",
        wy / u,
        wdx / u
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(blob(DIR, DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close("Q16.16 predict", &y.data, &want.data, 0.0, 1e-3);
}

/// The case list covers what the task requires.
#[test]
fn cases_cover_the_required_geometries() {
    for name in [
        "mp2d_p2_valid",
        "mp2d_p3s2_same_even",
        "mp2d_p3s2_same_odd",
        "mp2d_p23_s12_valid",
        "mp2d_p2s3_valid",
        "mp2d_ties_p3s1_same",
        "ap2d_p3s2_same_even",
        "ap2d_p3s2_same_odd",
        "mp1d_p3s2_same_even",
        "ap1d_p3s2_same_odd",
        "gmp1d_keepdims",
        "gap2d_keepdims",
        "gmp2d_ties",
    ] {
        let c = case_named(layer_cases(DIR), name);
        assert!(c.is_object());
    }
    // Pool 3, stride 2, same on an even input pads 0 before and 1 after: 8 → 4 outputs.
    assert_eq!(
        dims(&case_named(layer_cases(DIR), "mp1d_p3s2_same_even")["output_shape"]),
        [4, 2]
    );
}
