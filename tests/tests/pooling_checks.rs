//! Pooling layers: the converter's option handling (every unsupported value refused by
//! name, Keras defaults for absent keys), finite-difference gradient checks (f32, central
//! differences) and bad shapes and buffers (errors, never panics).

use ember_cli::convert::layer_config;
use ember_cli::keras::KerasLayer;
use ember_nn::layers::{
    AveragePooling1D, AveragePooling2D, Context, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, LayerConfig, MaxPooling1D, MaxPooling2D, Padding,
};
use ember_nn::{Error, Shape, TensorView, TensorViewMut};
use serde_json::{json, Value};

fn layer(class: &str, config: Value) -> KerasLayer {
    KerasLayer {
        name: "pool".into(),
        class_name: class.into(),
        config,
        trainable: true,
        weights: Vec::new(),
    }
}

fn conf(class: &str, config: Value) -> LayerConfig {
    layer_config(&layer(class, config)).unwrap()
}

/// A Keras 3 `get_config()` of a windowed pooling layer.
fn window_config(n: usize) -> Value {
    let v: Vec<u32> = vec![2; n];
    json!({
        "name": "pool", "trainable": true,
        "dtype": {"module": "keras", "class_name": "DTypePolicy",
                  "config": {"name": "float32"}, "registered_name": null},
        "pool_size": v, "padding": "valid", "strides": v, "data_format": "channels_last"
    })
}

fn global_config() -> Value {
    json!({"name": "pool", "trainable": true, "dtype": "float32",
           "data_format": "channels_last", "keepdims": false})
}

const WINDOWED: [(&str, usize); 4] = [
    ("MaxPooling1D", 1),
    ("MaxPooling2D", 2),
    ("AveragePooling1D", 1),
    ("AveragePooling2D", 2),
];
const GLOBAL: [&str; 4] = [
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
];

#[test]
fn converter_reads_options_and_defaults() {
    let mut c = window_config(2);
    c["pool_size"] = json!([2, 3]);
    c["strides"] = json!([1, 2]);
    c["padding"] = json!("same");
    assert_eq!(
        conf("MaxPooling2D", c.clone()),
        LayerConfig::MaxPooling2D(MaxPooling2D {
            pool_size: [2, 3],
            strides: [1, 2],
            padding: Padding::Same
        })
    );
    assert_eq!(
        conf("AveragePooling2D", c),
        LayerConfig::AveragePooling2D(AveragePooling2D {
            pool_size: [2, 3],
            strides: [1, 2],
            padding: Padding::Same
        })
    );
    // Keras's strides=None is pool_size; an int means the same size on every axis;
    // padding is case-insensitive (Keras's ops lowercase it).
    let c = json!({"pool_size": 3, "strides": null, "padding": "SAME"});
    assert_eq!(
        conf("AveragePooling2D", c.clone()),
        LayerConfig::AveragePooling2D(AveragePooling2D {
            pool_size: [3, 3],
            strides: [3, 3],
            padding: Padding::Same
        })
    );
    assert_eq!(
        conf("AveragePooling1D", c),
        LayerConfig::AveragePooling1D(AveragePooling1D {
            pool_size: 3,
            strides: 3,
            padding: Padding::Same
        })
    );
    // Absent keys: Keras's defaults (MaxPooling: pool 2; strides = pool; valid).
    assert_eq!(
        conf("MaxPooling1D", json!({})),
        LayerConfig::MaxPooling1D(MaxPooling1D::default())
    );
    assert_eq!(
        conf("MaxPooling2D", json!({"strides": 1})),
        LayerConfig::MaxPooling2D(MaxPooling2D {
            pool_size: [2, 2],
            strides: [1, 1],
            padding: Padding::Valid
        })
    );
    assert_eq!(
        conf("GlobalMaxPooling1D", json!({})),
        LayerConfig::GlobalMaxPooling1D(GlobalMaxPooling1D { keepdims: false })
    );
    let mut g = global_config();
    g["keepdims"] = json!(true);
    assert_eq!(
        conf("GlobalMaxPooling2D", g.clone()),
        LayerConfig::GlobalMaxPooling2D(GlobalMaxPooling2D { keepdims: true })
    );
    assert_eq!(
        conf("GlobalAveragePooling1D", g.clone()),
        LayerConfig::GlobalAveragePooling1D(GlobalAveragePooling1D { keepdims: true })
    );
    assert_eq!(
        conf("GlobalAveragePooling2D", g),
        LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2D { keepdims: true })
    );
    // Every class converts from its full Keras config.
    for (class, n) in WINDOWED {
        assert_eq!(conf(class, window_config(n)).keras_class(), class);
    }
    for class in GLOBAL {
        assert_eq!(conf(class, global_config()).keras_class(), class);
    }
}

#[test]
fn converter_refuses_unsupported_options_by_name() {
    let refused = |class: &str, base: &Value, key: &str, v: Value| {
        let mut c = base.clone();
        c[key] = v.clone();
        let err = layer_config(&layer(class, c)).unwrap_err().to_string();
        assert!(err.contains(key), "{class} {key}={v}: {err}");
    };
    for (class, n) in WINDOWED {
        let base = window_config(n);
        refused(class, &base, "data_format", json!("channels_first"));
        refused(class, &base, "padding", json!("causal"));
        refused(class, &base, "padding", json!("full"));
        refused(class, &base, "padding", json!(1));
        refused(class, &base, "pool_size", json!(0));
        refused(class, &base, "pool_size", json!(-2));
        refused(class, &base, "pool_size", json!(2.5));
        refused(class, &base, "pool_size", json!(vec![2; n + 1]));
        refused(class, &base, "pool_size", json!(null));
        refused(class, &base, "pool_size", json!(1u64 << 33));
        refused(class, &base, "strides", json!(0));
        refused(class, &base, "strides", json!(vec![1; n + 1]));
        refused(class, &base, "strides", json!("2"));
        refused(class, &base, "dtype", json!("float16"));
        refused(class, &base, "dtype", json!("mixed_float16"));
    }
    // AveragePooling has no default pool_size in Keras: an absent key is refused.
    for class in ["AveragePooling1D", "AveragePooling2D"] {
        let err = layer_config(&layer(class, json!({})))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pool_size"), "{class}: {err}");
    }
    for class in GLOBAL {
        let base = global_config();
        refused(class, &base, "data_format", json!("channels_first"));
        refused(class, &base, "keepdims", json!("yes"));
        refused(class, &base, "keepdims", json!(1));
        refused(class, &base, "dtype", json!("bfloat16"));
    }
}

/// Deterministic distinct values: a shuffled `0, 0.1, 0.2, …` (gaps of 0.1, so a
/// perturbation of `H` never changes which input is a window's maximum).
fn distinct(n: usize, seed: u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - n as f32 * 0.05).collect();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (s >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
    v
}

const H: f32 = 1e-2;

/// Σ c ⊙ layer(x) for a batch.
fn objective(l: &LayerConfig, input: Shape, batch: usize, x: &[f32], c: &[f32]) -> f32 {
    let out = l.output_shape(input).unwrap();
    let mut y = vec![0.0f32; batch * out.len()];
    l.forward(
        &[],
        TensorView::new(input.with_batch(batch).unwrap(), x).unwrap(),
        TensorViewMut::new(out.with_batch(batch).unwrap(), &mut y).unwrap(),
        &Context::default(),
    )
    .unwrap();
    y.iter().zip(c).map(|(a, b)| a * b).sum()
}

fn gradcheck(what: &str, l: LayerConfig, input: &[usize]) {
    let input = Shape::new(input).unwrap();
    let batch = 2;
    let out = l.output_shape(input).unwrap();
    let x = distinct(batch * input.len(), 3);
    let c: Vec<f32> = distinct(batch * out.len(), 5)
        .iter()
        .map(|v| v * 0.37 + 0.11)
        .collect();
    let mut y = vec![0.0f32; c.len()];
    let (xs, ys) = (
        input.with_batch(batch).unwrap(),
        out.with_batch(batch).unwrap(),
    );
    l.forward(
        &[],
        TensorView::new(xs, &x).unwrap(),
        TensorViewMut::new(ys, &mut y).unwrap(),
        &Context::default(),
    )
    .unwrap();
    let mut dy = c.clone();
    let mut dx = vec![0.0f32; x.len()];
    l.backward(
        &[],
        TensorView::new(xs, &x).unwrap(),
        TensorView::new(ys, &y).unwrap(),
        &mut dy,
        Some(&mut dx),
        None,
        &Context::default(),
    )
    .unwrap();
    for i in 0..x.len() {
        let mut xp = x.clone();
        xp[i] += H;
        let mut xm = x.clone();
        xm[i] -= H;
        let numeric = (objective(&l, input, batch, &xp, &c) - objective(&l, input, batch, &xm, &c))
            / (2.0 * H);
        assert!(
            (dx[i] - numeric).abs() <= 2e-3 + 2e-3 * numeric.abs(),
            "{what} dx[{i}]: analytic {}, numeric {numeric}",
            dx[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    for padding in [Padding::Valid, Padding::Same] {
        for (pool, strides) in [([2, 2], [2, 2]), ([3, 3], [2, 2]), ([2, 3], [1, 2])] {
            let what = format!("{padding:?} pool {pool:?} strides {strides:?}");
            let m = MaxPooling2D {
                pool_size: pool,
                strides,
                padding,
            };
            gradcheck(&what, LayerConfig::MaxPooling2D(m), &[6, 7, 2]);
            let a = AveragePooling2D {
                pool_size: pool,
                strides,
                padding,
            };
            gradcheck(&what, LayerConfig::AveragePooling2D(a), &[7, 6, 2]);
            let m = MaxPooling1D {
                pool_size: pool[1],
                strides: strides[1],
                padding,
            };
            gradcheck(&what, LayerConfig::MaxPooling1D(m), &[8, 3]);
            let a = AveragePooling1D {
                pool_size: pool[1],
                strides: strides[1],
                padding,
            };
            gradcheck(&what, LayerConfig::AveragePooling1D(a), &[7, 3]);
        }
    }
    for keepdims in [false, true] {
        let k = format!("keepdims {keepdims}");
        gradcheck(
            &k,
            LayerConfig::GlobalMaxPooling1D(GlobalMaxPooling1D { keepdims }),
            &[5, 3],
        );
        gradcheck(
            &k,
            LayerConfig::GlobalMaxPooling2D(GlobalMaxPooling2D { keepdims }),
            &[3, 4, 2],
        );
        gradcheck(
            &k,
            LayerConfig::GlobalAveragePooling1D(GlobalAveragePooling1D { keepdims }),
            &[5, 3],
        );
        gradcheck(
            &k,
            LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2D { keepdims }),
            &[3, 4, 2],
        );
    }
}

fn all_layers() -> Vec<LayerConfig> {
    vec![
        LayerConfig::MaxPooling1D(MaxPooling1D::default()),
        LayerConfig::MaxPooling2D(MaxPooling2D::default()),
        LayerConfig::AveragePooling1D(AveragePooling1D {
            pool_size: 2,
            strides: 2,
            padding: Padding::Same,
        }),
        LayerConfig::AveragePooling2D(AveragePooling2D {
            pool_size: [2, 2],
            strides: [2, 2],
            padding: Padding::Same,
        }),
        LayerConfig::GlobalMaxPooling1D(GlobalMaxPooling1D { keepdims: true }),
        LayerConfig::GlobalMaxPooling2D(GlobalMaxPooling2D { keepdims: false }),
        LayerConfig::GlobalAveragePooling1D(GlobalAveragePooling1D { keepdims: false }),
        LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2D { keepdims: true }),
    ]
}

/// `(steps, c)` for the 1-D layers, `(h, w, c)` for the 2-D ones.
fn sample_for(l: &LayerConfig) -> Shape {
    if l.keras_class().ends_with("1D") {
        Shape::new(&[4, 3]).unwrap()
    } else {
        Shape::new(&[4, 4, 3]).unwrap()
    }
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    for l in all_layers() {
        let name = l.keras_class();
        let good = sample_for(&l);
        let out = l.output_shape(good).unwrap();
        assert!(l.param_shapes(good).unwrap().is_empty());
        assert_eq!(l.macs(good), 0, "{name}");
        // Wrong rank (1-D layers take rank 2 samples, 2-D layers rank 3).
        for bad in [s(&[12]), s(&[2, 2, 3, 1]), s(&[])] {
            assert_eq!(
                l.output_shape(bad),
                Err(Error::InvalidShape),
                "{name} {bad:?}"
            );
        }
        let other = if good.rank() == 2 {
            s(&[2, 2, 3])
        } else {
            s(&[4, 3])
        };
        assert_eq!(l.output_shape(other), Err(Error::InvalidShape), "{name}");

        let batch = 2;
        let (xs, ys) = (
            good.with_batch(batch).unwrap(),
            out.with_batch(batch).unwrap(),
        );
        let x = vec![0.5f32; xs.len()];
        let mut y = vec![0.0f32; ys.len()];
        let ctx = Context::default();
        // A parameter where none is expected.
        let p: [&[f32]; 1] = [&x];
        assert!(l
            .forward(
                &p,
                TensorView::new(xs, &x).unwrap(),
                TensorViewMut::new(ys, &mut y).unwrap(),
                &ctx
            )
            .is_err());
        // A y buffer of the wrong size.
        let mut short = vec![0.0f32; ys.len() - 1];
        let short_shape = s(&[ys.len() - 1]);
        assert!(matches!(
            l.forward(
                &[],
                TensorView::new(xs, &x).unwrap(),
                TensorViewMut::new(short_shape, &mut short).unwrap(),
                &ctx
            ),
            Err(Error::ShapeMismatch { .. })
        ));
        // An x without a batch axis is read as a batch of the wrong rank.
        assert!(l
            .forward(
                &[],
                TensorView::new(good, &x[..good.len()]).unwrap(),
                TensorViewMut::new(ys, &mut y).unwrap(),
                &ctx
            )
            .is_err());
        l.forward(
            &[],
            TensorView::new(xs, &x).unwrap(),
            TensorViewMut::new(ys, &mut y).unwrap(),
            &ctx,
        )
        .unwrap();
        // Backward: wrong dy, dx, y sizes; dx None is fine.
        let mut dy = vec![1.0f32; ys.len()];
        let mut dx = vec![0.0f32; xs.len()];
        let xv = TensorView::new(xs, &x).unwrap();
        let yv = TensorView::new(ys, &y).unwrap();
        assert!(l
            .backward(&[], xv, yv, &mut dy[1..], Some(&mut dx), None, &ctx)
            .is_err());
        assert!(l
            .backward(&[], xv, yv, &mut dy, Some(&mut dx[1..]), None, &ctx)
            .is_err());
        let y_short = TensorView::new(short_shape, &y[1..]).unwrap();
        assert!(l
            .backward(&[], xv, y_short, &mut dy, Some(&mut dx), None, &ctx)
            .is_err());
        assert!(l
            .backward(&p, xv, yv, &mut dy, Some(&mut dx), None, &ctx)
            .is_err());
        l.backward(&[], xv, yv, &mut dy, None, None, &ctx).unwrap();
        l.backward(&[], xv, yv, &mut dy, Some(&mut dx), None, &ctx)
            .unwrap();
    }
}

#[test]
fn impossible_windows_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    // A valid window longer than the input (Keras would give a 0-sized output).
    let big = LayerConfig::MaxPooling2D(MaxPooling2D {
        pool_size: [5, 2],
        strides: [1, 1],
        padding: Padding::Valid,
    });
    assert_eq!(big.output_shape(s(&[4, 4, 1])), Err(Error::InvalidShape));
    // With same padding the same window fits: ⌈4 / 1⌉ = 4 outputs.
    let same = LayerConfig::MaxPooling2D(MaxPooling2D {
        pool_size: [5, 2],
        strides: [1, 1],
        padding: Padding::Same,
    });
    assert_eq!(same.output_shape(s(&[4, 4, 1])).unwrap().dims(), &[4, 4, 1]);
    // Zero sizes and causal padding (decoded from an untrusted blob) are config errors.
    for l in [
        LayerConfig::MaxPooling1D(MaxPooling1D {
            pool_size: 0,
            strides: 1,
            padding: Padding::Valid,
        }),
        LayerConfig::AveragePooling2D(AveragePooling2D {
            pool_size: [2, 2],
            strides: [0, 1],
            padding: Padding::Same,
        }),
        LayerConfig::AveragePooling1D(AveragePooling1D {
            pool_size: 2,
            strides: 1,
            padding: Padding::Causal,
        }),
    ] {
        let input = sample_for(&l);
        assert!(
            matches!(l.output_shape(input), Err(Error::InvalidConfig(_))),
            "{l:?}"
        );
        let x = vec![0.0f32; 2 * input.len()];
        let mut y = vec![0.0f32; 2 * input.len()];
        let r = l.forward(
            &[],
            TensorView::new(input.with_batch(2).unwrap(), &x).unwrap(),
            TensorViewMut::new(input.with_batch(2).unwrap(), &mut y).unwrap(),
            &Context::default(),
        );
        assert!(matches!(r, Err(Error::InvalidConfig(_))), "{l:?}");
    }
    // Huge strides and pools do not overflow: an error where the geometry's sizes would
    // (ConvGeometry checks pool_h · pool_w · channels²), else windows clipped to the input
    // (the loops visit only the taps inside it, so this is fast).
    let huge = LayerConfig::MaxPooling2D(MaxPooling2D {
        pool_size: [u32::MAX, u32::MAX],
        strides: [u32::MAX, u32::MAX],
        padding: Padding::Same,
    });
    assert_eq!(huge.output_shape(s(&[3, 3, 2])), Err(Error::InvalidShape));
    let huge = LayerConfig::AveragePooling1D(AveragePooling1D {
        pool_size: u32::MAX,
        strides: 1,
        padding: Padding::Same,
    });
    let input = s(&[3, 2]);
    assert_eq!(huge.output_shape(input).unwrap().dims(), &[3, 2]);
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut y = [0.0f32; 6];
    huge.forward(
        &[],
        TensorView::new(input.with_batch(1).unwrap(), &x).unwrap(),
        TensorViewMut::new(input.with_batch(1).unwrap(), &mut y).unwrap(),
        &Context::default(),
    )
    .unwrap();
    // Every window covers the whole input: each output is the per-channel mean.
    assert_eq!(y, [3.0, 4.0, 3.0, 4.0, 3.0, 4.0]);
}
