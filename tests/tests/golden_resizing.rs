//! `ZeroPadding1D/2D`, `Cropping1D/2D`, `UpSampling1D/2D` against Keras 3 (golden values
//! from `tests/fixtures/resizing/generate.py`, JAX backend): outputs and `jax.grad` input
//! gradients, finite differences, Q16.16, the converter's spellings and refusals, bad
//! shapes and buffers.

use ember_cli::convert::layer_config;
use ember_cli::keras::KerasLayer;
use ember_nn::layers::{
    bilinear_taps, Context, Cropping1D, Cropping2D, Interpolation, LayerConfig, UpSampling1D,
    UpSampling2D, ZeroPadding1D, ZeroPadding2D,
};
use ember_nn::{Error, Scalar, Shape, TensorView, TensorViewMut, Q16_16};
use ember_tests::{
    assert_close, check_finite_differences, dims, forward_backward_weightless, layer_cases,
    lcg_values, npy, FiniteDiff,
};
use serde_json::{json, Value};

const DIR: &str = "resizing";
const RTOL: f32 = 1e-5;
const ATOL: f32 = 1e-6;

/// Forward and backward (`dy = c`) of a parameter-free layer; returns (y, dx).
fn run<T: Scalar>(
    config: &LayerConfig,
    input: Shape,
    x: &[T],
    c: &[T],
) -> ember_nn::Result<(Vec<T>, Vec<T>)> {
    forward_backward_weightless(config, input, x.len() / input.len(), x, c, T::ZERO)
}

fn keras_layer(class: &str, config: Value) -> KerasLayer {
    KerasLayer {
        name: "l".into(),
        class_name: class.into(),
        config,
        trainable: true,
        weights: Vec::new(),
    }
}

fn load(case: &Value) -> (String, LayerConfig, Shape, Vec<f32>, Vec<f32>) {
    let name = case["name"].as_str().unwrap().to_string();
    let config = layer_config(&keras_layer(
        case["class_name"].as_str().unwrap(),
        case["config"].clone(),
    ))
    .unwrap();
    let input = Shape::new(&dims(&case["input_shape"])).unwrap();
    let x = npy(DIR, &format!("{name}_x.npy")).data;
    let c = npy(DIR, &format!("{name}_c.npy")).data;
    (name, config, input, x, c)
}

fn is_bilinear(c: &LayerConfig) -> bool {
    matches!(
        c,
        LayerConfig::UpSampling2D(UpSampling2D {
            interpolation: Interpolation::Bilinear,
            ..
        })
    )
}

#[test]
fn layers_match_keras() {
    let cases = layer_cases(DIR);
    assert_eq!(cases.len(), 23);
    let mut worst = 0.0f32;
    for case in &cases {
        let (name, config, input, x, c) = load(case);
        assert_eq!(config.keras_class(), case["class_name"].as_str().unwrap());
        let out = config.output_shape(input).unwrap();
        let want: Vec<u32> = dims(&case["output_shape"])
            .iter()
            .map(|&d| d as u32)
            .collect();
        assert_eq!(out.dims(), want.as_slice(), "{name} output shape");
        let (y, dx) = run(&config, input, &x, &c).unwrap();
        let want_y = npy(DIR, &format!("{name}_y.npy")).data;
        let want_dx = npy(DIR, &format!("{name}_dx.npy")).data;
        if is_bilinear(&config) {
            assert_close(&format!("{name} y"), &y, &want_y, RTOL, ATOL);
        } else {
            // Padding, cropping and repetition move values: exact.
            assert_eq!(y, want_y, "{name} y");
        }
        assert_close(&format!("{name} dx"), &dx, &want_dx, RTOL, ATOL);
        for (a, e) in y.iter().zip(&want_y).chain(dx.iter().zip(&want_dx)) {
            worst = worst.max((a - e).abs() / (RTOL * e.abs() + ATOL));
        }
    }
    println!("worst over all cases: {worst:.2} of the tolerance (1e-5·|e| + 1e-6)");
}

/// Every layer is linear in x, so central differences are exact up to rounding: each
/// input's gradient is checked against (L(x + h·e) − L(x − h·e)) / 2h.
#[test]
fn gradients_match_finite_differences() {
    const H: f32 = 1e-2;
    for case in layer_cases(DIR) {
        let (name, config, input, _, _) = load(&case);
        let mut x = lcg_values(2 * input.len(), 7);
        let c = lcg_values(2 * config.output_shape(input).unwrap().len(), 9);
        let fd = FiniteDiff {
            h: H,
            tol: 1e-3,
            x_stride: 1,
        };
        check_finite_differences(&name, &config, input, 2, &mut [], &mut x, &c, fd);
    }
}

/// Q16.16: padding, cropping and nearest repetition move values, so they are bit-exact
/// against the quantized f32 result, and their gradients sum at most 9 exact Q16.16
/// values (exact unless saturating). Bilinear weights are multiples of 1/(2·size) rounded
/// to 2⁻¹⁶ and each output sums 4 products rounded once: within 4·(|x|·2⁻¹⁶ + 2⁻¹⁷) +
/// 2⁻¹⁷ of f32 for |x| < 5, so 5e-4 absolute for y and for dx (at most 4·3·2 products).
#[test]
fn fixed_point_agrees_with_f32() {
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let mut worst = 0.0f32;
    for case in layer_cases(DIR) {
        let (name, config, input, x, c) = load(&case);
        let (yf, dxf) = run(&config, input, &x, &c).unwrap();
        let (yq, dxq) = run(&config, input, &q(&x), &q(&c)).unwrap();
        if is_bilinear(&config) {
            let f: Vec<f32> = yq.iter().map(|v| v.to_f32()).collect();
            assert_close(&format!("{name} Q16.16 y"), &f, &yf, 0.0, 5e-4);
            worst = f
                .iter()
                .zip(&yf)
                .map(|(a, e)| (a - e).abs())
                .fold(worst, f32::max);
        } else {
            assert_eq!(yq, q(&yf), "{name} Q16.16 y");
        }
        let f: Vec<f32> = dxq.iter().map(|v| v.to_f32()).collect();
        assert_close(&format!("{name} Q16.16 dx"), &f, &dxf, 0.0, 5e-4);
        worst = f
            .iter()
            .zip(&dxf)
            .map(|(a, e)| (a - e).abs())
            .fold(worst, f32::max);
    }
    println!("Q16.16 vs f32: worst absolute difference {worst:.2e}");
}

#[test]
fn bilinear_taps_sum_to_one() {
    for size in 1..6 {
        for n in 1..5 {
            for o in 0..n * size {
                let [(a, wa), (b, wb)] = bilinear_taps::<f32>(o, n, size);
                assert!(a < n && b < n);
                assert!((wa + wb - 1.0).abs() < 1e-6, "{o} {n} {size}");
            }
        }
    }
}

#[test]
fn converter_reads_every_spelling() {
    let conv = |class: &str, c: Value| layer_config(&keras_layer(class, c));
    // ZeroPadding1D / Cropping1D: int, pair; defaults (1, 1).
    assert_eq!(
        conv("ZeroPadding1D", json!({})).unwrap(),
        LayerConfig::ZeroPadding1D(ZeroPadding1D { padding: [1, 1] })
    );
    assert_eq!(
        conv("ZeroPadding1D", json!({"padding": 3})).unwrap(),
        LayerConfig::ZeroPadding1D(ZeroPadding1D { padding: [3, 3] })
    );
    assert_eq!(
        conv("ZeroPadding1D", json!({"padding": [0, 2]})).unwrap(),
        LayerConfig::ZeroPadding1D(ZeroPadding1D { padding: [0, 2] })
    );
    assert_eq!(
        conv("Cropping1D", json!({})).unwrap(),
        LayerConfig::Cropping1D(Cropping1D { cropping: [1, 1] })
    );
    assert_eq!(
        conv("Cropping1D", json!({"cropping": 2})).unwrap(),
        LayerConfig::Cropping1D(Cropping1D { cropping: [2, 2] })
    );
    // 2-D: int, pair (symmetric per axis), pair of pairs; defaults.
    let zp2 = |p| LayerConfig::ZeroPadding2D(ZeroPadding2D { padding: p });
    assert_eq!(
        conv("ZeroPadding2D", json!({})).unwrap(),
        zp2([[1, 1], [1, 1]])
    );
    assert_eq!(
        conv("ZeroPadding2D", json!({"padding": 2})).unwrap(),
        zp2([[2, 2], [2, 2]])
    );
    assert_eq!(
        conv("ZeroPadding2D", json!({"padding": [1, 3]})).unwrap(),
        zp2([[1, 1], [3, 3]])
    );
    assert_eq!(
        conv("ZeroPadding2D", json!({"padding": [[1, 0], [2, 3]]})).unwrap(),
        zp2([[1, 0], [2, 3]])
    );
    assert_eq!(
        conv("ZeroPadding2D", json!({"padding": [[1, 0], 2]})).unwrap(),
        zp2([[1, 0], [2, 2]])
    );
    let cr2 = |p| LayerConfig::Cropping2D(Cropping2D { cropping: p });
    assert_eq!(
        conv("Cropping2D", json!({})).unwrap(),
        cr2([[0, 0], [0, 0]])
    );
    assert_eq!(
        conv("Cropping2D", json!({"cropping": [[2, 0], [1, 3]]})).unwrap(),
        cr2([[2, 0], [1, 3]])
    );
    assert_eq!(
        conv("Cropping2D", json!({"cropping": 1})).unwrap(),
        cr2([[1, 1], [1, 1]])
    );
    // UpSampling.
    assert_eq!(
        conv("UpSampling1D", json!({})).unwrap(),
        LayerConfig::UpSampling1D(UpSampling1D { size: 2 })
    );
    let up2 = |size, interpolation| {
        LayerConfig::UpSampling2D(UpSampling2D {
            size,
            interpolation,
        })
    };
    assert_eq!(
        conv("UpSampling2D", json!({})).unwrap(),
        up2([2, 2], Interpolation::Nearest)
    );
    assert_eq!(
        conv(
            "UpSampling2D",
            json!({"size": 3, "interpolation": "Bilinear"})
        )
        .unwrap(),
        up2([3, 3], Interpolation::Bilinear)
    );
    assert_eq!(
        conv("UpSampling2D", json!({"size": [3, 2]})).unwrap(),
        up2([3, 2], Interpolation::Nearest)
    );
    // Refusals, by option name.
    let refused = |class: &str, key: &str, v: Value| {
        let err = conv(class, json!({ key: v.clone() }))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{class} {key}={v}: {err}");
    };
    for class in [
        "ZeroPadding2D",
        "Cropping2D",
        "UpSampling2D",
        "ZeroPadding1D",
    ] {
        refused(class, "data_format", "channels_first".into());
    }
    for class in [
        "ZeroPadding1D",
        "ZeroPadding2D",
        "Cropping1D",
        "Cropping2D",
        "UpSampling1D",
        "UpSampling2D",
    ] {
        refused(class, "dtype", "float16".into());
    }
    refused("ZeroPadding1D", "padding", json!(-1));
    refused("ZeroPadding1D", "padding", json!([1, 2, 3]));
    refused("ZeroPadding1D", "padding", json!(null));
    refused("ZeroPadding2D", "padding", json!([[1, 2, 3], [1, 1]]));
    refused("ZeroPadding2D", "padding", json!([1]));
    refused("ZeroPadding2D", "padding", json!("1"));
    refused("Cropping1D", "cropping", json!([1.5, 1]));
    refused("Cropping2D", "cropping", json!([[1, -1], [0, 0]]));
    refused("UpSampling1D", "size", json!(0));
    refused("UpSampling1D", "size", json!([2]));
    refused("UpSampling2D", "size", json!([2, 0]));
    refused("UpSampling2D", "size", json!([2, 2, 2]));
    refused("UpSampling2D", "interpolation", "bicubic".into());
    refused("UpSampling2D", "interpolation", "lanczos3".into());
    refused("UpSampling2D", "interpolation", "area".into());
}

#[test]
fn bad_shapes_and_buffers_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    // Crops that leave nothing (Keras raises) and wrong ranks.
    let c1 = LayerConfig::Cropping1D(Cropping1D { cropping: [2, 3] });
    assert_eq!(c1.output_shape(s(&[5, 2])), Err(Error::InvalidShape));
    assert_eq!(c1.output_shape(s(&[6, 2])).unwrap().dims(), &[1, 2]);
    assert_eq!(c1.output_shape(s(&[6, 2, 1])), Err(Error::InvalidShape));
    let c2 = LayerConfig::Cropping2D(Cropping2D {
        cropping: [[1, 1], [0, 4]],
    });
    assert_eq!(c2.output_shape(s(&[3, 4, 1])), Err(Error::InvalidShape));
    assert_eq!(c2.output_shape(s(&[2, 5, 1])), Err(Error::InvalidShape));
    assert_eq!(c2.output_shape(s(&[3, 5, 1])).unwrap().dims(), &[1, 1, 1]);
    let z2 = LayerConfig::ZeroPadding2D(ZeroPadding2D {
        padding: [[u32::MAX, 1], [0, 0]],
    });
    assert_eq!(z2.output_shape(s(&[3, 5, 1])), Err(Error::InvalidShape));
    assert_eq!(z2.output_shape(s(&[3, 5])), Err(Error::InvalidShape));
    let z1 = LayerConfig::ZeroPadding1D(ZeroPadding1D { padding: [1, 1] });
    assert_eq!(z1.output_shape(s(&[3, 5, 1])), Err(Error::InvalidShape));
    let u1 = LayerConfig::UpSampling1D(UpSampling1D { size: 0 });
    assert!(matches!(
        u1.output_shape(s(&[3, 5])),
        Err(Error::InvalidConfig(_))
    ));
    let u2 = LayerConfig::UpSampling2D(UpSampling2D {
        size: [70000, 70000],
        interpolation: Interpolation::Bilinear,
    });
    assert_eq!(u2.output_shape(s(&[1, 1, 1])), Err(Error::InvalidShape));
    assert_eq!(u2.macs(s(&[1, 1, 1])), 0);

    // Wrong buffers, parameters and batched ranks: errors, not panics.
    let layers = [
        z1,
        LayerConfig::ZeroPadding2D(ZeroPadding2D {
            padding: [[1, 0], [0, 2]],
        }),
        LayerConfig::Cropping1D(Cropping1D { cropping: [1, 0] }),
        LayerConfig::Cropping2D(Cropping2D {
            cropping: [[1, 0], [0, 1]],
        }),
        LayerConfig::UpSampling1D(UpSampling1D { size: 2 }),
        LayerConfig::UpSampling2D(UpSampling2D {
            size: [2, 3],
            interpolation: Interpolation::Nearest,
        }),
        LayerConfig::UpSampling2D(UpSampling2D {
            size: [2, 3],
            interpolation: Interpolation::Bilinear,
        }),
    ];
    for l in layers {
        let input = if l.output_shape(s(&[3, 4])).is_ok() {
            s(&[3, 4])
        } else {
            s(&[3, 4, 2])
        };
        let out = l.output_shape(input).unwrap();
        let x = vec![0.5f32; 2 * input.len()];
        let xs = input.with_batch(2).unwrap();
        let ys = out.with_batch(2).unwrap();
        let mut y = vec![0.0f32; ys.len()];
        let fwd = |p: &[&[f32]], xs: Shape, ys: Shape, y: &mut [f32]| {
            l.forward(
                p,
                TensorView::new(xs, &x[..xs.len()]).unwrap(),
                TensorViewMut::new(ys, y).unwrap(),
                &Context::default(),
            )
        };
        assert!(fwd(&[], xs, ys, &mut y).is_ok(), "{l:?}");
        assert!(
            fwd(&[&x], xs, ys, &mut y).is_err(),
            "{l:?} with a parameter"
        );
        let n = ys.len() - out.len();
        let one = out.with_batch(1).unwrap();
        assert!(fwd(&[], xs, one, &mut y[..n]).is_err(), "{l:?} short y");
        assert!(fwd(&[], s(&[x.len()]), ys, &mut y).is_err(), "{l:?} flat x");
        let bwd = |dy: &mut [f32], dx: &mut [f32]| {
            l.backward(
                &[],
                TensorView::new(xs, &x).unwrap(),
                TensorView::new(ys, &y).unwrap(),
                dy,
                Some(dx),
                None,
                &Context::default(),
            )
        };
        let mut dy = vec![0.0f32; y.len()];
        let mut dx = vec![0.0f32; x.len()];
        assert!(bwd(&mut dy, &mut dx).is_ok(), "{l:?}");
        assert!(bwd(&mut dy[1..], &mut dx).is_err(), "{l:?} short dy");
        assert!(bwd(&mut dy, &mut dx[1..]).is_err(), "{l:?} short dx");
    }
}
