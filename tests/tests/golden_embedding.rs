//! `Embedding` against Keras 3 (golden values from `tests/fixtures/embedding/generate.py`):
//! outputs, `jax.grad` table gradients (scatter-add over repeated ids) and the zero input
//! gradient, `compute_mask`, the converter's options, finite differences, Q16.16, bad ids
//! and buffers, and two converted Sequentials (`Embedding(mask_zero) → Flatten → Dense`:
//! predictions and 3 SGD steps; `Embedding → GlobalAveragePooling1D → Dense`:
//! predictions).

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, layer_attrs, layer_config, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::constraints::{Constraint, NormAxes};
use ember_nn::layers::{Context, Embedding, Layer, LayerConfig};
use ember_nn::regularizers::Regularizer;
use ember_nn::{Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, case_named, cases, dims, fixture, forward_backward, keras_layer, layer_cases,
    npy, train_f32, weighted_output_sum, worst_summary,
};
use serde_json::{json, Value};

const DIR: &str = "embedding";

fn embedding(case: &Value) -> (LayerConfig, Embedding) {
    let config = layer_config(&keras_layer(case)).unwrap();
    match config {
        LayerConfig::Embedding(e) => (config, e),
        other => panic!("{other:?}"),
    }
}

fn convert_file(file: &str, dtype: DTypeChoice) -> AlignedBytes {
    convert(&read_keras_file(&fixture(DIR, file)).unwrap(), dtype).unwrap()
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 5);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (config, emb) = embedding(case);
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let out = config.output_shape(input).unwrap();
        let want_out: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want_out.as_slice(), "{name} output shape");
        let shapes = config.param_shapes(input).unwrap();
        let table = npy(DIR, &format!("layer_{name}_w0.npy"));
        let table_dims: Vec<u32> = table.shape.iter().map(|&d| d as u32).collect();
        assert_eq!(
            shapes[0].dims(),
            table_dims.as_slice(),
            "{name} table shape"
        );
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let p = forward_backward(&config, &[&table.data], input, x.shape[0], &x.data, &c).unwrap();
        // A gather: bit-exact.
        assert_eq!(
            p.y,
            npy(DIR, &format!("layer_{name}_y.npy")).data,
            "{name} y"
        );
        // Keras casts the ids to int32: no input gradient.
        assert_eq!(p.dx, npy(DIR, &format!("layer_{name}_dx.npy")).data);
        assert!(p.dx.iter().all(|&v| v == 0.0));
        let want_dw = npy(DIR, &format!("layer_{name}_dw0.npy")).data;
        println!("{name}: dw worst {}", worst_summary(&p.dparams, &want_dw));
        assert_close(&format!("{name} dw"), &p.dparams, &want_dw, 1e-5, 1e-7);
        // Keras's compute_mask (no mask = nothing masked).
        let want_mask: Vec<bool> = npy(DIR, &format!("layer_{name}_mask.npy"))
            .data
            .iter()
            .map(|&m| m != 0.0)
            .collect();
        let mut mask = vec![false; x.data.len()];
        emb.compute_mask(&x.data, &mut mask).unwrap();
        assert_eq!(mask, want_mask, "{name} mask");
        assert_eq!(emb.mask_zero, name == "mask_zero");
    }
}

#[test]
fn converter_reads_options() {
    let case = |n: &str| case_named(layer_cases(DIR), n);
    assert_eq!(
        embedding(&case("seq")).1,
        Embedding {
            input_dim: 7,
            output_dim: 3,
            mask_zero: false
        }
    );
    assert_eq!(
        embedding(&case("mask_zero")).1,
        Embedding {
            input_dim: 6,
            output_dim: 4,
            mask_zero: true
        }
    );
    // The table's regularizer and constraint, and the activity regularizer.
    let attrs = layer_attrs(&keras_layer(&case("regularized"))).unwrap();
    assert_eq!(attrs.regularizers[0], Some(Regularizer::L2 { l2: 0.01 }));
    assert_eq!(
        attrs.constraints[0],
        Some(Constraint::MaxNorm {
            max_value: 2.0,
            axis: NormAxes::FIRST
        })
    );
    assert_eq!(
        attrs.activity_regularizer,
        Some(Regularizer::L1 { l1: 0.01 })
    );
    assert_eq!(
        layer_attrs(&keras_layer(&case("seq"))).unwrap(),
        ember_nn::layers::LayerAttrs::NONE
    );
    // Accepted: defaults when keys are absent, Keras 2's input_length, sparse=False, any
    // initializer (the weights come from the file).
    let with = |edits: &[(&str, Option<Value>)]| {
        let mut c = case("mask_zero");
        let o = c["config"].as_object_mut().unwrap();
        for (k, v) in edits {
            match v {
                Some(v) => o.insert(k.to_string(), v.clone()),
                None => o.remove(*k),
            };
        }
        layer_config(&keras_layer(&c))
    };
    let plain = |mask_zero| {
        LayerConfig::Embedding(Embedding {
            input_dim: 6,
            output_dim: 4,
            mask_zero,
        })
    };
    assert_eq!(with(&[("mask_zero", None)]).unwrap(), plain(false));
    assert_eq!(
        with(&[("mask_zero", Some(Value::Null))]).unwrap(),
        plain(false)
    );
    for (k, v) in [
        ("input_length", json!(4)),
        ("input_length", Value::Null),
        ("sparse", json!(false)),
        ("lora_rank", Value::Null),
        ("embeddings_initializer", json!("glorot_uniform")),
        ("weights", Value::Null),
        ("dtype", json!("float32")),
    ] {
        assert_eq!(with(&[(k, Some(v))]).unwrap(), plain(true), "{k}");
    }
    for k in [
        "embeddings_initializer",
        "embeddings_regularizer",
        "embeddings_constraint",
        "activity_regularizer",
        "quantization_config",
        "dtype",
    ] {
        assert_eq!(with(&[(k, None)]).unwrap(), plain(true), "absent {k}");
    }
    // Refused by name.
    for (k, v) in [
        ("input_dim", json!(0)),
        ("input_dim", json!(2.5)),
        ("input_dim", Value::Null),
        ("output_dim", json!(-1)),
        ("output_dim", json!(1u64 << 33)),
        ("mask_zero", json!("yes")),
        ("sparse", json!(true)),
        ("input_length", json!(0)),
        ("input_length", json!("ten")),
        ("lora_rank", json!(2)),
        ("lora_alpha", json!(2)),
        ("quantization_config", json!({"mode": "int8"})),
        ("dtype", json!("float16")),
        ("embeddings_regularizer", json!("orthogonal_regularizer")),
        (
            "embeddings_constraint",
            json!({"class_name": "Custom", "config": {}}),
        ),
        ("activity_regularizer", json!(3)),
    ] {
        let err = with(&[(k, Some(v.clone()))]).unwrap_err().to_string();
        assert!(err.contains(k), "{k}={v}: {err}");
    }
    for k in ["input_dim", "output_dim"] {
        let err = with(&[(k, None)]).unwrap_err().to_string();
        assert!(err.contains(k), "absent {k}: {err}");
    }
}

#[test]
fn table_gradient_matches_finite_differences() {
    for name in ["seq", "rank2"] {
        let case = case_named(layer_cases(DIR), name);
        let (config, _) = embedding(&case);
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let mut table = npy(DIR, &format!("layer_{name}_w0.npy")).data;
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let batch = x.shape[0];
        let p = forward_backward(&config, &[&table], input, batch, &x.data, &c).unwrap();
        let h = 1e-2f32;
        for i in 0..table.len() {
            let v = table[i];
            table[i] = v + h;
            let up = weighted_output_sum(&config, &[&table], input, batch, &x.data, &c);
            table[i] = v - h;
            let down = weighted_output_sum(&config, &[&table], input, batch, &x.data, &c);
            table[i] = v;
            let numeric = ((up - down) / (2.0 * h as f64)) as f32;
            // y is linear in the table: only rounding separates the two.
            assert!(
                (p.dparams[i] - numeric).abs() <= 1e-4 + 1e-4 * numeric.abs(),
                "{name} dw[{i}]: analytic {}, numeric {numeric}",
                p.dparams[i]
            );
        }
        // Ids that never occur get no gradient; the ids themselves get none.
        assert!(p.dx.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn fixed_point_matches_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    for case in layer_cases(DIR) {
        let name = case["name"].as_str().unwrap();
        let (config, emb) = embedding(&case);
        let input = Shape::new(&dims(&case["input_shape"])).unwrap();
        let table = npy(DIR, &format!("layer_{name}_w0.npy")).data;
        let x = npy(DIR, &format!("layer_{name}_x.npy"));
        let c = npy(DIR, &format!("layer_{name}_c.npy")).data;
        let batch = x.shape[0];
        let pf = forward_backward(&config, &[&table], input, batch, &x.data, &c).unwrap();
        let qt = q(&table);
        let pq = forward_backward(&config, &[&qt], input, batch, &q(&x.data), &q(&c)).unwrap();
        // The ids are exact in Q16.16 and the forward pass copies rows: bit-exact.
        assert_eq!(pq.y, q(&pf.y), "{name} y");
        assert!(pq.dx.iter().all(|&v| v == Q16_16::ZERO));
        // Each table gradient is a sum of at most 4 quantized cotangents (error ≤ 2^-17
        // each) plus exact fixed-point additions: |error| ≤ 4 · 2^-17 ≈ 3.1e-5.
        let dw: Vec<f32> = pq.dparams.iter().map(|v| v.to_f32()).collect();
        assert_close(&format!("{name} Q16 dw"), &dw, &pf.dparams, 0.0, 3.1e-5);
        let mut mask = vec![false; x.data.len()];
        emb.compute_mask(&q(&x.data), &mut mask).unwrap();
        let want: Vec<bool> = x.data.iter().map(|&v| !emb.mask_zero || v != 0.0).collect();
        assert_eq!(mask, want);
    }
}

/// Forward of `emb` on one sample of ids; the table is `input_dim × output_dim` zeros.
fn forward_ids(emb: Embedding, ids: &[f32]) -> ember_nn::Result<Vec<f32>> {
    let table = vec![0.0f32; (emb.input_dim * emb.output_dim) as usize];
    let mut y = vec![0.0f32; ids.len() * emb.output_dim as usize];
    let xs = Shape::new(&[1, ids.len()]).unwrap();
    let ys = Shape::new(&[1, ids.len(), emb.output_dim as usize]).unwrap();
    emb.forward(
        &[&table],
        TensorView::new(xs, ids).unwrap(),
        TensorViewMut::new(ys, &mut y).unwrap(),
        &Context::default(),
    )?;
    Ok(y)
}

/// Backward of `emb` on one sample of ids with the given buffers.
fn backward_ids(
    emb: Embedding,
    ids: &[f32],
    dx: Option<&mut [f32]>,
    dtable: Option<&mut [f32]>,
) -> ember_nn::Result<()> {
    let table = vec![0.0f32; (emb.input_dim * emb.output_dim) as usize];
    let y = vec![0.0f32; ids.len() * emb.output_dim as usize];
    let mut dy = y.clone();
    let xs = Shape::new(&[1, ids.len()]).unwrap();
    let ys = Shape::new(&[1, ids.len(), emb.output_dim as usize]).unwrap();
    emb.backward(
        &[&table],
        TensorView::new(xs, ids).unwrap(),
        TensorView::new(ys, &y).unwrap(),
        &mut dy,
        dx,
        dtable,
        &Context::default(),
    )
}

#[test]
fn bad_ids_and_buffers_are_errors() {
    let emb = Embedding {
        input_dim: 4,
        output_dim: 2,
        mask_zero: true,
    };
    assert_eq!(
        forward_ids(emb, &[0.0, 3.0, 1.0]).unwrap(),
        vec![0.0; 6],
        "ids in range"
    );
    let oob = Error::IndexOutOfRange { index: 2, len: 4 };
    for bad in [4.0, -1.0, 0.5, 2.999, f32::NAN, f32::INFINITY, 1e9] {
        let ids = [1.0, 2.0, bad];
        assert_eq!(forward_ids(emb, &ids), Err(oob), "forward {bad}");
        let mut dt = vec![0.0f32; 8];
        assert_eq!(
            backward_ids(emb, &ids, None, Some(&mut dt)),
            Err(oob),
            "backward {bad}"
        );
        // Also without a table gradient (a frozen embedding).
        let mut dx = [0.0f32; 3];
        assert_eq!(
            backward_ids(emb, &ids, Some(&mut dx), None),
            Err(oob),
            "frozen {bad}"
        );
    }
    // Wrongly sized buffers.
    let ids = [1.0f32, 2.0];
    let mismatch = |r: ember_nn::Result<()>| assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
    mismatch(backward_ids(emb, &ids, Some(&mut [0.0; 3]), None));
    mismatch(backward_ids(emb, &ids, None, Some(&mut [0.0; 7])));
    let xs = Shape::new(&[1, 2]).unwrap();
    let table = [0.0f32; 8];
    let run = |params: &[&[f32]], y_len: usize| {
        let mut y = vec![0.0f32; y_len];
        emb.forward(
            params,
            TensorView::new(xs, &ids).unwrap(),
            TensorViewMut::new(Shape::new(&[y_len]).unwrap(), &mut y).unwrap(),
            &Context::default(),
        )
    };
    assert!(run(&[&table], 4).is_ok());
    mismatch(run(&[&table], 5));
    mismatch(run(&[&table[..7]], 4));
    mismatch(run(&[], 4));
    mismatch(run(&[&table, &table], 4));
    let mut dy = [0.0f32; 3];
    let y = [0.0f32; 4];
    mismatch(emb.backward(
        &[&table],
        TensorView::new(xs, &ids).unwrap(),
        TensorView::new(Shape::new(&[1, 2, 2]).unwrap(), &y).unwrap(),
        &mut dy,
        None,
        None,
        &Context::default(),
    ));
    // compute_mask wants one flag per id.
    assert!(matches!(
        emb.compute_mask(&ids, &mut [false; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    // Impossible configurations and shapes.
    let s = |d: &[usize]| Shape::new(d).unwrap();
    for bad in [
        Embedding {
            input_dim: 0,
            ..emb
        },
        Embedding {
            output_dim: 0,
            ..emb
        },
    ] {
        assert!(matches!(
            bad.output_shape(s(&[3])),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            bad.param_shapes(s(&[3])),
            Err(Error::InvalidConfig(_))
        ));
        assert!(bad
            .forward(
                &[&table],
                TensorView::new(xs, &ids).unwrap(),
                TensorViewMut::new(s(&[4]), &mut [0.0f32; 4]).unwrap(),
                &Context::default()
            )
            .is_err());
    }
    // A table whose element count overflows.
    let huge = Embedding {
        input_dim: u32::MAX,
        output_dim: u32::MAX,
        mask_zero: false,
    };
    assert_eq!(huge.param_shapes(s(&[3])), Err(Error::InvalidShape));
    assert_eq!(huge.output_shape(s(&[3])), Err(Error::InvalidShape));
    // An output that would exceed the rank the model can batch.
    assert_eq!(emb.output_shape(s(&[2, 2, 2, 2])), Err(Error::InvalidShape));
    assert_eq!(
        emb.output_shape(s(&[2, 2, 2])).unwrap().dims(),
        &[2, 2, 2, 2]
    );
    assert_eq!(emb.output_shape(s(&[])).unwrap().dims(), &[2]);
    assert_eq!(emb.macs(s(&[5])), 0);
}

#[test]
fn flatten_model_predicts_and_trains_like_keras() {
    let b = convert_file("flatten.keras", DTypeChoice::F32);
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(classes, ["Embedding", "Flatten", "Dense", "Dense"]);
    assert_eq!(
        g.layers()[0].config,
        LayerConfig::Embedding(Embedding {
            input_dim: 12,
            output_dim: 4,
            mask_zero: true
        })
    );
    let x = npy(DIR, "flatten_x.npy");
    let want = npy(DIR, "flatten_y.npy");
    let y = predict(b.as_slice(), &x, 4).unwrap();
    println!(
        "flatten predict: worst {}",
        worst_summary(&y.data, &want.data)
    );
    assert_close("flatten predict", &y.data, &want.data, 1e-5, 1e-7);
    // Q16.16: ids exact, the table quantized (2^-17), two Dense layers after it.
    let yq = predict(
        convert_file("flatten.keras", DTypeChoice::Fixed).as_slice(),
        &x,
        4,
    )
    .unwrap();
    assert_close("flatten Q16 predict", &yq.data, &want.data, 0.0, 1e-3);

    let cs = cases(DIR);
    assert_eq!(cs.len(), 1);
    let case = &cs[0];
    let xs = npy(DIR, "train_sgd_x.npy");
    let ys = npy(DIR, "train_sgd_y.npy");
    let t = train_f32(b.as_slice(), case.config, case.steps, &xs.data, &ys.data);
    let want = npy(DIR, "train_sgd_losses.npy");
    println!("losses: worst {}", worst_summary(&t.losses, &want.data));
    assert_close("losses", &t.losses, &want.data, 1e-5, 1e-7);
    let k = read_keras_file(&fixture(DIR, "flatten.keras")).unwrap();
    let mut i = 0;
    for w in t.params.iter().flatten() {
        let want = npy(DIR, &format!("train_sgd_w{i}.npy"));
        println!("w{i}: worst {}", worst_summary(w, &want.data));
        assert_close(&format!("w{i}"), w, &want.data, 1e-5, 1e-6);
        i += 1;
    }
    // The table, then Dense ×2 (kernel, bias).
    assert_eq!(i, 5);
    // The table trained.
    assert_ne!(t.params[0][0], k.layers[0].weights[0].data);
}

#[test]
fn global_average_model_predicts_like_keras() {
    let b = convert_file("gap.keras", DTypeChoice::F32);
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(classes, ["Embedding", "GlobalAveragePooling1D", "Dense"]);
    let x = npy(DIR, "gap_x.npy");
    let want = npy(DIR, "gap_y.npy");
    let y = predict(b.as_slice(), &x, 5).unwrap();
    println!("gap predict: worst {}", worst_summary(&y.data, &want.data));
    assert_close("gap predict", &y.data, &want.data, 1e-5, 1e-7);
    // An id outside the vocabulary is an error, not a wrong prediction.
    let mut bad = x.clone();
    bad.data[3] = 20.0;
    let err = predict(b.as_slice(), &bad, 5).unwrap_err().to_string();
    assert!(err.contains("not an index in 0..20"), "{err}");
}

#[test]
fn regularized_table_trains_like_keras() {
    // Keras regularizes and constrains the whole table, rows the batch never used too.
    let b = convert_file("regularized.keras", DTypeChoice::F32);
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    assert_eq!(
        g.layers()[0].attrs.regularizers[0],
        Some(Regularizer::L2 { l2: 0.05 })
    );
    // The same optimizer as the flatten model's case: SGD(0.5), categorical cross-entropy.
    let config = cases(DIR)[0].config;
    let xs = npy(DIR, "reg_sgd_x.npy");
    let ys = npy(DIR, "reg_sgd_y.npy");
    let t = train_f32(b.as_slice(), config, 3, &xs.data, &ys.data);
    let want = npy(DIR, "reg_sgd_losses.npy");
    println!(
        "regularized losses: worst {}",
        worst_summary(&t.losses, &want.data)
    );
    assert_close("regularized losses", &t.losses, &want.data, 1e-5, 1e-7);
    for (i, w) in t.params.iter().flatten().enumerate() {
        let want = npy(DIR, &format!("reg_sgd_w{i}.npy"));
        println!("regularized w{i}: worst {}", worst_summary(w, &want.data));
        assert_close(&format!("regularized w{i}"), w, &want.data, 1e-5, 1e-6);
    }
    // Rows 6..9 (never looked up) moved: decay and the max-norm projection.
    let k = read_keras_file(&fixture(DIR, "regularized.keras")).unwrap();
    assert_ne!(t.params[0][0][18..], k.layers[0].weights[0].data[18..]);
}
