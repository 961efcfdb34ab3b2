//! SimpleRNN, LSTM, GRU and Bidirectional against Keras 3 (golden values from
//! `tests/fixtures/recurrent/generate.py`: 53 cases with masks, `go_backwards`, initial
//! states, both GRU variants and the four merge modes): outputs, and `jax.grad` of
//! `sum(c · y)` w.r.t. the input, every weight and the initial states.

use ember_cli::convert::layer_config;
use ember_nn::layers::{Context, LayerConfig, TensorMask};
use ember_nn::{Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{assert_close, dims, keras_layer, layer_cases, npy, worst_summary};
use serde_json::Value;

const DIR: &str = "recurrent";

/// One golden case's tensors.
struct Case {
    name: String,
    config: LayerConfig,
    input: Shape,
    batch: usize,
    x: Vec<f32>,
    ids: Option<Vec<f32>>,
    states: Vec<Vec<f32>>,
    weights: Vec<Vec<f32>>,
    c: Vec<f32>,
}

fn load(case: &Value) -> Case {
    let name = case["name"].as_str().unwrap().to_string();
    let file = |what: &str| npy(DIR, &format!("layer_{name}_{what}.npy")).data;
    let config = layer_config(&keras_layer(case)).unwrap();
    let n_weights = case["weights"].as_u64().unwrap() as usize;
    let n_states = case["initial_state"].as_u64().unwrap() as usize;
    Case {
        config,
        input: Shape::new(&dims(&case["input_shape"])).unwrap(),
        batch: case["batch"].as_u64().unwrap() as usize,
        x: file("x"),
        ids: case["masked"].as_bool().unwrap().then(|| file("mask")),
        states: (0..n_states).map(|k| file(&format!("s{k}"))).collect(),
        weights: (0..n_weights).map(|i| file(&format!("w{i}"))).collect(),
        c: file("c"),
        name,
    }
}

/// The outputs of one forward and backward pass.
struct Run<T> {
    y: Vec<T>,
    dx: Vec<T>,
    dstates: Vec<Vec<T>>,
    dparams: Vec<T>,
}

fn cast<T: Scalar>(v: &[f32]) -> Vec<T> {
    v.iter().map(|&x| T::from_f32(x)).collect()
}

fn run<T: Scalar>(k: &Case, ctx: &Context) -> ember_nn::Result<Run<T>> {
    let units = |s: &[f32]| s.len() / k.batch;
    let mut shapes = vec![k.input];
    for s in &k.states {
        shapes.push(Shape::new(&[units(s)]).unwrap());
    }
    let out = k.config.output_shape_n(&shapes)?;
    let mut scratch = vec![T::ZERO; k.config.scratch_elems(&shapes, true)?];
    let x: Vec<T> = cast(&k.x);
    let states: Vec<Vec<T>> = k.states.iter().map(|s| cast(s)).collect();
    let params: Vec<Vec<T>> = k.weights.iter().map(|w| cast(w)).collect();
    let ps: Vec<&[T]> = params.iter().map(Vec::as_slice).collect();
    let ids: Option<Vec<T>> = k.ids.as_ref().map(|i| cast(i));
    let mut xs = vec![TensorView::new(k.input.with_batch(k.batch)?, &x)?];
    for (s, shape) in states.iter().zip(&shapes[1..]) {
        xs.push(TensorView::new(shape.with_batch(k.batch)?, s)?);
    }
    let ys = out.with_batch(k.batch)?;
    let mut y = vec![T::ZERO; ys.len()];
    k.config.forward_call(
        &ps,
        &xs,
        ids.as_deref(),
        TensorViewMut::new(ys, &mut y)?,
        &mut scratch,
        ctx,
    )?;
    let mut dy: Vec<T> = cast(&k.c);
    let mut dx = vec![T::ZERO; x.len()];
    let mut dstates: Vec<Vec<T>> = states.iter().map(|s| vec![T::ZERO; s.len()]).collect();
    let mut dparams = vec![T::ZERO; params.iter().map(Vec::len).sum()];
    {
        let mut dxs: Vec<Option<&mut [T]>> = vec![Some(&mut dx[..])];
        dxs.extend(dstates.iter_mut().map(|d| Some(&mut d[..])));
        k.config.backward_call(
            &ps,
            &xs,
            ids.as_deref(),
            TensorView::new(ys, &y)?,
            &mut dy,
            &mut dxs,
            Some(&mut dparams),
            TensorMask::first(params.len()),
            &mut scratch,
            ctx,
        )?;
    }
    Ok(Run {
        y,
        dx,
        dstates,
        dparams,
    })
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 53);
    for case in &cases {
        let k = load(case);
        let name = &k.name;
        let file = |what: &str| npy(DIR, &format!("layer_{name}_{what}.npy")).data;
        let r = run::<f32>(&k, &Context::default()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let want_y = file("y");
        println!("{name}: y {}", worst_summary(&r.y, &want_y));
        assert_close(&format!("{name} y"), &r.y, &want_y, 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &r.dx, &file("dx"), 1e-5, 2e-6);
        let want_dw: Vec<f32> = (0..k.weights.len())
            .flat_map(|i| file(&format!("dw{i}")))
            .collect();
        println!("{name}: dw {}", worst_summary(&r.dparams, &want_dw));
        assert_close(&format!("{name} dw"), &r.dparams, &want_dw, 1e-5, 2e-6);
        for (i, ds) in r.dstates.iter().enumerate() {
            assert_close(
                &format!("{name} ds{i}"),
                ds,
                &file(&format!("ds{i}")),
                1e-5,
                2e-6,
            );
        }
    }
}

/// Q16.16 runs the same code: every case's output and gradients stay within the format's
/// resolution (2⁻¹⁶ ≈ 1.5e-5, accumulated over the steps) of the f32 values.
#[test]
fn fixed_point_tracks_f32() {
    let mut worst = 0.0f32;
    for case in &layer_cases(DIR) {
        let k = load(case);
        let f = run::<f32>(&k, &Context::default()).unwrap();
        let q = run::<Q16_16>(&k, &Context::default()).unwrap();
        let pairs = [(&f.y, &q.y), (&f.dx, &q.dx), (&f.dparams, &q.dparams)];
        for (a, b) in pairs {
            for (&x, &y) in a.iter().zip(b.iter()) {
                worst = worst.max((x - y.to_f32()).abs());
            }
        }
    }
    println!("worst |f32 - Q16.16| over all cases: {worst:e}");
    assert!(worst < 2e-3, "{worst}");
}

/// A tf.keras 2 file means Keras 2's `hard_sigmoid` (`clip(0.2·x + 0.5, 0, 1)`), which
/// Keras 3 replaced by `clip(x/6 + 0.5, 0, 1)`: the converter reads the name by the file's
/// Keras version (`tests/fixtures/recurrent/keras2_hard_sigmoid.py`).
#[test]
fn keras2_files_keep_keras2_hard_sigmoid() {
    use ember_cli::convert::{convert, DTypeChoice};
    use ember_cli::keras::read_keras_file;
    use ember_nn::{Activation, Sequential};
    let k = read_keras_file(&ember_tests::fixture(DIR, "keras2_hard_sigmoid.h5")).unwrap();
    let blob = convert(&k, DTypeChoice::F32).unwrap();
    let x = npy(DIR, "keras2_hard_sigmoid_x.npy");
    let want = npy(DIR, "keras2_hard_sigmoid_y.npy").data;
    let mut arena = vec![0u8; Sequential::<f32>::inference_bytes(blob.as_slice(), 4).unwrap()];
    let mut m = Sequential::<f32>::new(blob.as_slice(), &mut arena, 4).unwrap();
    match m.graph().layers()[0].config {
        LayerConfig::LSTM(l) => {
            assert_eq!(l.recurrent_activation, Activation::HardSigmoidKeras2);
            assert_eq!(l.activation, Activation::HardSigmoidKeras2);
        }
        other => panic!("{other:?}"),
    }
    let mut y = vec![0.0f32; want.len()];
    m.predict(&x.data, &mut y).unwrap();
    println!("keras2 hard_sigmoid: {}", worst_summary(&y, &want));
    assert_close("keras2 hard_sigmoid", &y, &want, 1e-5, 1e-6);
}

/// Calls with several outputs (`tests/fixtures/recurrent/return_state.py`):
/// `return_state=True` and `Bidirectional(merge_mode=None)`. Ember computes the outputs
/// as one flat tensor per sample, in Keras's order ([`LayerConfig::output_parts`]); the
/// values and `jax.grad` of `Σ_k sum(c_k · y_k)` match Keras.
#[test]
fn several_outputs_match_keras() {
    let cases = ember_tests::read_cases(DIR, "return_state.json");
    assert_eq!(cases.len(), 7);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let file = |what: &str| npy(DIR, &format!("state_{name}_{what}.npy")).data;
        let config = layer_config(&keras_layer(case)).unwrap();
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let batch = case["batch"].as_u64().unwrap() as usize;
        let parts = config.output_parts(&[input]).unwrap();
        let want_parts: Vec<Vec<usize>> = case["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(dims)
            .collect();
        let got_parts: Vec<Vec<usize>> = parts
            .iter()
            .map(|s| s.dims().iter().map(|&d| d as usize).collect())
            .collect();
        assert_eq!(got_parts, want_parts, "{name} outputs");
        // Interleave the outputs per sample: [y0 | y1 | ...] for each sample.
        let flat = |arrays: &[Vec<f32>]| {
            let mut out = Vec::new();
            for b in 0..batch {
                for (a, p) in arrays.iter().zip(parts.iter()) {
                    out.extend_from_slice(&a[b * p.len()..(b + 1) * p.len()]);
                }
            }
            out
        };
        let ys: Vec<Vec<f32>> = (0..parts.len()).map(|k| file(&format!("y{k}"))).collect();
        let cs: Vec<Vec<f32>> = (0..parts.len()).map(|k| file(&format!("c{k}"))).collect();
        let k = Case {
            name: name.to_string(),
            config,
            input,
            batch,
            x: file("x"),
            ids: case["masked"].as_bool().unwrap().then(|| file("mask")),
            states: Vec::new(),
            weights: (0..case["weights"].as_u64().unwrap())
                .map(|i| file(&format!("w{i}")))
                .collect(),
            c: flat(&cs),
        };
        let r = run::<f32>(&k, &Context::default()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        println!("{name}: y {}", worst_summary(&r.y, &flat(&ys)));
        assert_close(&format!("{name} y"), &r.y, &flat(&ys), 1e-5, 1e-6);
        assert_close(&format!("{name} dx"), &r.dx, &file("dx"), 1e-5, 2e-6);
        let want_dw: Vec<f32> = (0..k.weights.len())
            .flat_map(|i| file(&format!("dw{i}")))
            .collect();
        println!("{name}: dw {}", worst_summary(&r.dparams, &want_dw));
        assert_close(&format!("{name} dw"), &r.dparams, &want_dw, 1e-5, 2e-6);
    }
}
