//! Reshaping layers (`Flatten`, `Reshape`, `Permute`, `RepeatVector`) against Keras 3
//! (golden values from `tests/fixtures/shape_layers/generate.py`): outputs and `jax.grad`
//! input gradients for every layer case, the converter's option checks, impossible
//! shapes, a converted Sequential's predictions and 3 SGD steps, and Q16.16.

use ember_cli::convert::{convert, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::layers::{Context, Flatten, LayerConfig, Permute, RepeatVector, Reshape};
use ember_nn::{Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, blob, case_named, cases, dims, fixture, forward_backward_weightless, keras_layer,
    layer_cases, npy, train_f32, worst_summary,
};
use serde_json::Value;

const DIR: &str = "shape_layers";

/// Forward and backward of one parameter-free layer on a batch; returns (y, dx).
fn run<T: Scalar>(
    config: &LayerConfig,
    input: Shape,
    batch: usize,
    x: &[T],
    dy: &[T],
) -> ember_nn::Result<(Vec<T>, Vec<T>)> {
    let r = forward_backward_weightless(config, input, batch, x, dy, T::ZERO)?;
    assert_eq!(config.macs(input), 0);
    Ok(r)
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 15);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let config = layer_config(&keras_layer(case)).unwrap();
        assert_eq!(config.keras_class(), case["class_name"].as_str().unwrap());
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
        // Pure data movement: exact. RepeatVector's gradient sums n copies (float order
        // may differ from XLA's).
        assert_eq!(y, want_y, "{name} y");
        println!("{name}: dx worst {}", worst_summary(&dx, &want_dx));
        assert_close(&format!("{name} dx"), &dx, &want_dx, 1e-6, 1e-7);
    }
}

#[test]
fn converter_reads_options() {
    let conf = |n: &str| layer_config(&keras_layer(&case_named(layer_cases(DIR), n))).unwrap();
    assert_eq!(conf("flatten_rank3"), LayerConfig::Flatten(Flatten));
    assert_eq!(
        conf("reshape_4_m1"),
        LayerConfig::Reshape(Reshape::new(&[4, -1]).unwrap())
    );
    assert_eq!(
        conf("permute_4213"),
        LayerConfig::Permute(Permute::new(&[4, 2, 1, 3]).unwrap())
    );
    assert_eq!(
        conf("repeat_vector_3"),
        LayerConfig::RepeatVector(RepeatVector { n: 3 })
    );
    // Unsupported or invalid options are refused by name.
    let refused = |n: &str, key: &str, v: Value| {
        let mut c = case_named(layer_cases(DIR), n);
        c["config"][key] = v.clone();
        let err = layer_config(&keras_layer(&c)).unwrap_err().to_string();
        assert!(err.contains(key), "{n} {key}={v}: {err}");
    };
    refused("flatten_rank3", "data_format", "channels_first".into());
    refused("reshape_4_m1", "target_shape", serde_json::json!([-1, -1]));
    refused("reshape_4_m1", "target_shape", serde_json::json!([0, 4]));
    refused(
        "reshape_4_m1",
        "target_shape",
        serde_json::json!([1, 1, 1, 1, 24]),
    );
    refused("reshape_4_m1", "target_shape", serde_json::json!(4));
    refused("permute_21", "dims", serde_json::json!([1, 1]));
    refused("permute_21", "dims", serde_json::json!([0, 1]));
    refused("permute_21", "dims", serde_json::json!([-1, 1]));
    refused("repeat_vector_3", "n", serde_json::json!(0));
    refused("repeat_vector_3", "n", serde_json::json!(2.5));
    refused("repeat_vector_3", "dtype", "float16".into());
    // Keras's default data format (absent key) is channels_last.
    let mut c = case_named(layer_cases(DIR), "flatten_rank3");
    c["config"].as_object_mut().unwrap().remove("data_format");
    assert_eq!(
        layer_config(&keras_layer(&c)).unwrap(),
        LayerConfig::Flatten(Flatten)
    );
}

#[test]
fn impossible_shapes_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let reshape = |t: &[i32]| LayerConfig::Reshape(Reshape::new(t).unwrap());
    assert!(matches!(
        reshape(&[5, -1]).output_shape(s(&[2, 3, 4])),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        reshape(&[5, 5]).output_shape(s(&[24])),
        Err(Error::ShapeMismatch { .. })
    ));
    let permute = LayerConfig::Permute(Permute::new(&[2, 1]).unwrap());
    assert_eq!(permute.output_shape(s(&[6])), Err(Error::InvalidShape));
    assert_eq!(
        permute.output_shape(s(&[2, 3, 1])),
        Err(Error::InvalidShape)
    );
    let rv = LayerConfig::RepeatVector(RepeatVector { n: 2 });
    assert_eq!(rv.output_shape(s(&[2, 3])), Err(Error::InvalidShape));
    assert!(matches!(
        LayerConfig::RepeatVector(RepeatVector { n: 0 }).output_shape(s(&[3])),
        Err(Error::InvalidConfig(_))
    ));
    // A repeat whose output would overflow the element count.
    let huge = LayerConfig::RepeatVector(RepeatVector { n: u32::MAX });
    assert_eq!(huge.output_shape(s(&[3])), Err(Error::InvalidShape));
    // Flatten of a rank-4 sample gives rank 1; of a rank-0 one, (1,) as in Keras.
    let f = LayerConfig::Flatten(Flatten);
    assert_eq!(f.output_shape(s(&[2, 3, 4, 5])).unwrap().dims(), &[120]);
    assert_eq!(f.output_shape(s(&[])).unwrap().dims(), &[1]);
    // Wrongly sized buffers and parameters are errors, not panics.
    let x = [0.0f32; 12];
    let mut y = [0.0f32; 11];
    let xs = s(&[1, 3, 4]);
    for c in [f, reshape(&[-1]), permute] {
        let r = c.forward(
            &[],
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(s(&[11]), &mut y).unwrap(),
            &Context::default(),
        );
        assert!(r.is_err(), "{c:?}");
        let p: [&[f32]; 1] = [&x];
        let mut y = [0.0f32; 12];
        let r = c.forward(
            &p,
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(s(&[1, 12]), &mut y).unwrap(),
            &Context::default(),
        );
        assert!(r.is_err(), "{c:?} with a parameter");
    }
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
            "Flatten",
            "Dense",
            "Reshape",
            "Permute",
            "Flatten",
            "Dense",
            "RepeatVector",
            "Flatten",
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
            vec![3, 5],
            vec![15],
            vec![6],
            vec![2, 3],
            vec![3, 2],
            vec![6],
            vec![4],
            vec![2, 4],
            vec![8],
            vec![3]
        ]
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    // Batch 2 over 5 samples: also exercises predict's chunking.
    let y = predict(b.as_slice(), &x, 2).unwrap();
    println!("predict: worst {}", worst_summary(&y.data, &want.data));
    assert_close("shape_layers_mlp predict", &y.data, &want.data, 1e-5, 1e-7);
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
            println!("w{i}: worst {}", worst_summary(w, &want.data));
            assert_close(&format!("w{i}"), w, &want.data, 1e-5, 1e-6);
            i += 1;
        }
        // Dense ×4 (kernel, bias).
        assert_eq!(i, 8);
        // The first Dense trained, so gradients crossed every reshaping layer.
        assert_ne!(
            t.params[0][0].as_slice(),
            k.layers[0].weights[0].data.as_slice()
        );
    }
}

#[test]
fn fixed_point_moves_values_exactly() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let config = layer_config(&keras_layer(&case)).unwrap();
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let (yf, dxf) = run(&config, input, x.shape[0], &x.data, &c).unwrap();
        let (yq, dxq) = run(&config, input, x.shape[0], &q(&x.data), &q(&c)).unwrap();
        // Forward moves values: bit-exact against the quantized f32 result.
        assert_eq!(yq, q(&yf), "{name} y");
        let f: Vec<f32> = dxq.iter().map(|v| v.to_f32()).collect();
        assert_close(&format!("{name} dx"), &f, &dxf, 0.0, 1e-4);
    }
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(blob(DIR, DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close("Q16.16 predict", &y.data, &want.data, 0.0, 1e-3);
}
