//! Backend ops (`ember_nn::ops`) against Keras 3's `keras.ops` on the JAX backend (golden
//! values from `tests/fixtures/ops/generate.py`): outputs and `jax.grad` gradients of
//! every case in f32 (≤ 1e-6 relative), the same cases in Q16.16 against f32, central
//! finite differences, the shape ops against `keras.ops` shapes and refusals, casts, and
//! bad axes / shapes / lengths as errors.

#[path = "ops_support/mod.rs"]
mod ops_support;

use ember_nn::{ops, Error, Scalar, Shape, TensorView, Q16_16};
use ember_tests::{fixture, npy, worst_summary};
use ops_support::{check_close, load_cases, operands, run, Operand, GRAD_ATOL, GRAD_RTOL};
use serde_json::Value;

const DIR: &str = "ops";

#[test]
fn ops_match_keras() {
    let cases = load_cases();
    assert_eq!(cases.len(), 74);
    let mut worst = 0.0f32;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let inputs: Vec<Operand<f32>> = operands(case);
        let c = case["grads"]
            .as_array()
            .unwrap()
            .is_empty()
            .then(Vec::new)
            .unwrap_or_else(|| npy(DIR, &format!("{name}_c.npy")).data);
        let r = run(case, &inputs, &c).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            r.shape.dims().iter().map(|&d| d as u64).collect::<Vec<_>>(),
            case["output_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect::<Vec<_>>(),
            "{name} output shape"
        );
        let want_y = npy(DIR, &format!("{name}_y.npy")).data;
        let mut results = vec![("y".to_string(), r.y, want_y)];
        for (k, g) in r.grads {
            let want = npy(DIR, &format!("{name}_d{k}.npy")).data;
            results.push((format!("d{k}"), g, want));
        }
        for (what, got, want) in &results {
            worst = worst.max(check_close(&format!("{name} {what}"), got, want));
            let finite: Vec<(f32, f32)> = got
                .iter()
                .zip(want)
                .filter(|(_, e)| e.is_finite())
                .map(|(&a, &e)| (a, e))
                .collect();
            let (a, e): (Vec<f32>, Vec<f32>) = finite.into_iter().unzip();
            if a != e {
                println!("{name} {what}: {}", worst_summary(&a, &e));
            }
        }
    }
    println!("worst share of the tolerance (rtol {GRAD_RTOL}, atol {GRAD_ATOL}): {worst:.3}");
}

/// Q16.16 runs every case; its results agree with f32 run on the same (quantized) inputs.
///
/// Tolerance `4 LSB + 2⁻¹²·|f32|`: each Q16.16 result is one or two correctly rounded
/// steps (≤ ½ LSB each; libm's `exp`/`log` add ≤ 1 f32 ulp before rounding) whose
/// rounding errors are amplified by the op's local condition: at most ~10 on these inputs
/// (`0.5/√x` and `dy/x` at x ≥ 0.05, `a/b²` at |b| ≥ 0.5); the gradient of a broadcast
/// operand adds up to 12 such terms (exactly, in fixed point), so its error grows with its
/// magnitude — hence the relative part (measured worst: 6.6 LSB on a value of 8.9, the
/// scalar divisor's gradient). f32's own rounding (2⁻²⁴ relative) is negligible. Elements
/// whose f32 value is beyond Q16.16's range (±32768) saturate by design and are
/// checked to be at the matching rail instead; at a pole (f32 ±inf) the saturated
/// fixed-point factor must have the same sign.
#[test]
fn fixed_point_agrees_with_f32() {
    const LSB: f32 = 1.0 / 65536.0;
    let mut worst_lsb = (0.0f32, String::new());
    for case in &load_cases() {
        let name = case["name"].as_str().unwrap();
        let f: Vec<Operand<f32>> = operands(case);
        let q: Vec<Operand<Q16_16>> = f
            .iter()
            .map(|o| Operand {
                name: o.name.clone(),
                shape: o.shape,
                data: o.data.iter().map(|&v| Q16_16::from_f32(v)).collect(),
            })
            .collect();
        let fq: Vec<Operand<f32>> = q
            .iter()
            .map(|o| Operand {
                name: o.name.clone(),
                shape: o.shape,
                data: o.data.iter().map(|v| v.to_f32()).collect(),
            })
            .collect();
        let has_grads = !case["grads"].as_array().unwrap().is_empty();
        let c = if has_grads {
            npy(DIR, &format!("{name}_c.npy")).data
        } else {
            Vec::new()
        };
        let cq: Vec<Q16_16> = c.iter().map(|&v| Q16_16::from_f32(v)).collect();
        let c_f: Vec<f32> = cq.iter().map(|v| v.to_f32()).collect();
        let rq = run(case, &q, &cq).unwrap();
        let rf = run(case, &fq, &c_f).unwrap();
        let mut pairs = vec![("y".to_string(), &rq.y, &rf.y)];
        for ((k, gq), (_, gf)) in rq.grads.iter().zip(&rf.grads) {
            pairs.push((format!("d{k}"), gq, gf));
        }
        for (what, got, want) in pairs {
            for (i, (g, &w)) in got.iter().zip(want.iter()).enumerate() {
                let g = g.to_f32();
                if !w.is_finite() {
                    // A pole (sqrt'(0), log'(0)): the saturated factor keeps the sign.
                    assert!(
                        w.is_nan() || (g > 0.0) == (w > 0.0),
                        "{name} {what}[{i}]: f32 {w}, Q16.16 {g}"
                    );
                    continue;
                }
                if w.abs() >= 32768.0 {
                    let rail = if w > 0.0 { Q16_16::MAX } else { Q16_16::MIN };
                    assert_eq!(
                        g,
                        rail.to_f32(),
                        "{name} {what}[{i}]: f32 {w} not saturated"
                    );
                    continue;
                }
                let err = (g - w).abs();
                assert!(
                    err <= 4.0 * LSB + w.abs() / 4096.0,
                    "{name} {what}[{i}]: Q16.16 {g}, f32 {w}"
                );
                if err / LSB > worst_lsb.0 {
                    worst_lsb = (err / LSB, format!("{name} {what}[{i}] (f32 {w})"));
                }
            }
        }
    }
    println!(
        "Q16.16 vs f32: worst {:.2} LSB at {}",
        worst_lsb.0, worst_lsb.1
    );
}

/// Central differences (f32, step 1e-3, objective Σ c·y summed in f64) against every
/// analytic gradient, away from kinks (|x| ≤ 2h from a kink of abs/sqrt/log/clip) and on
/// the cases without ties.
#[test]
fn gradients_match_finite_differences() {
    const H: f32 = 1e-3;
    let mut checked = 0;
    for case in &load_cases() {
        let name = case["name"].as_str().unwrap();
        let grads: Vec<String> = case["grads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        if grads.is_empty() || name.contains("ties") {
            continue;
        }
        let c = npy(DIR, &format!("{name}_c.npy")).data;
        let mut inputs: Vec<Operand<f32>> = operands(case);
        let analytic = run(case, &inputs, &c).unwrap();
        let objective = |inputs: &[Operand<f32>]| -> f64 {
            let r = run(case, inputs, &c).unwrap();
            // Non-finite terms (log 0) are constants of the other elements: left out.
            r.y.iter()
                .zip(&c)
                .filter(|(a, _)| a.is_finite())
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum()
        };
        let op = case["op"].as_str().unwrap();
        let args = &case["args"];
        for (k, g) in &analytic.grads {
            let slot = inputs.iter().position(|o| &o.name == k).unwrap();
            for (i, &grad) in g.iter().enumerate() {
                let v = inputs[slot].data[i];
                if near_kink(op, args, v, 2.0 * H) {
                    continue;
                }
                inputs[slot].data[i] = v + H;
                let up = objective(&inputs);
                inputs[slot].data[i] = v - H;
                let down = objective(&inputs);
                inputs[slot].data[i] = v;
                let numeric = ((up - down) / (2.0 * H as f64)) as f32;
                assert!(
                    (grad - numeric).abs() <= 2e-3 + 2e-3 * numeric.abs(),
                    "{name} d{k}[{i}]: analytic {grad}, numeric {numeric}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} elements checked");
}

/// Is `v` within `d` of a point where `op` is not differentiable?
fn near_kink(op: &str, args: &Value, v: f32, d: f32) -> bool {
    match op {
        "abs" => v.abs() <= d,
        "sqrt" | "log" => v <= d,
        "clip" => {
            let lo = args["min_value"].as_f64().unwrap() as f32;
            let hi = args["max_value"].as_f64().unwrap() as f32;
            (v - lo).abs() <= d || (v - hi).abs() <= d
        }
        _ => false,
    }
}

#[test]
fn shape_ops_match_keras() {
    let text = std::fs::read_to_string(fixture(DIR, "shapes.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 27);
    for c in &cases {
        let dims: Vec<usize> = c["input_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let shape = Shape::new(&dims).unwrap();
        let arg = &c["arg"];
        let got = match c["op"].as_str().unwrap() {
            "squeeze" => ops::squeeze(shape, arg.as_i64().map(|a| a as i32)),
            "expand_dims" => ops::expand_dims(shape, arg.as_i64().unwrap() as i32),
            "reshape" => {
                let t: Vec<i32> = arg
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap() as i32)
                    .collect();
                ops::reshape(shape, &t)
            }
            other => panic!("{other}"),
        };
        match &c["output_shape"] {
            Value::String(_) => assert!(got.is_err(), "{c}: Keras refuses, got {got:?}"),
            want => {
                let want: Vec<u32> = want
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect();
                let got = got.unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(got.dims(), want.as_slice(), "{c}");
                assert_eq!(got.len(), shape.len(), "{c}");
            }
        }
    }
    // Views keep the data and only change the shape.
    let data: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let x = TensorView::new(Shape::new(&[2, 3, 4]).unwrap(), &data).unwrap();
    let r = ops::reshape_view(x, &[4, -1]).unwrap();
    assert_eq!(r.shape().dims(), &[4, 6]);
    assert_eq!(r.data().as_ptr(), data.as_ptr());
    let e = ops::expand_dims_view(r, 1).unwrap();
    assert_eq!(e.shape().dims(), &[4, 1, 6]);
    assert_eq!(ops::squeeze_view(e, None).unwrap().shape().dims(), &[4, 6]);
    assert_eq!(ops::int_shape(&e).dims(), &[4, 1, 6]);
    // Rank limits: expand_dims beyond MAX_RANK and reshape to more dims are errors.
    let r5 = Shape::new(&[1, 1, 1, 1, 2]).unwrap();
    assert_eq!(ops::expand_dims(r5, 0), Err(Error::InvalidShape));
    assert_eq!(
        ops::reshape(r5, &[1, 1, 1, 1, 1, 2]),
        Err(Error::InvalidShape)
    );
    assert!(ops::reshape(r5, &[0, 2]).is_err());
    assert!(ops::reshape(r5, &[-2, 1]).is_err());
    assert!(ops::reshape(r5, &[i32::MAX, i32::MAX, i32::MAX]).is_err());
}

#[test]
fn casts_use_the_crate_conversion() {
    let lsb = 1.0 / 65536.0;
    let xs = [
        0.0f32,
        -0.0,
        1.5,
        -0.25,
        0.5 * lsb,  // tie: rounds to even (0)
        1.5 * lsb,  // tie: rounds to even (2 LSB)
        -1.5 * lsb, // tie: -2 LSB
        32767.9,
        40000.0,
        -40000.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-9,
    ];
    let mut q = vec![Q16_16::ZERO; xs.len()];
    ops::cast(&xs, &mut q).unwrap();
    for (&x, &v) in xs.iter().zip(&q) {
        assert_eq!(v, Q16_16::from_f32(x), "{x}");
    }
    assert_eq!(q[4].to_bits(), 0);
    assert_eq!(q[5].to_bits(), 2);
    assert_eq!(q[6].to_bits(), -2);
    assert_eq!(q[8], Q16_16::MAX);
    assert_eq!(q[9], Q16_16::MIN);
    assert_eq!(q[10], Q16_16::MAX);
    assert_eq!(q[11], Q16_16::MIN);
    assert_eq!(q[12], Q16_16::ZERO);
    // Q16.16 → f32: exact below 256, nearest above.
    let raws = [1, -1, 0x18000, 255 << 16 | 0xffff, i32::MAX, i32::MIN];
    let qs: Vec<Q16_16> = raws.iter().map(|&r| Q16_16::from_bits(r)).collect();
    let mut f = vec![0.0f32; qs.len()];
    ops::cast(&qs, &mut f).unwrap();
    for (&r, &v) in raws.iter().zip(&f) {
        assert_eq!(v as f64, (r as f64 / 65536.0) as f32 as f64, "{r:#x}");
    }
    assert_eq!(f[3] as f64, (255 << 16 | 0xffff) as f64 / 65536.0);
    // Same type: bit-exact, even where an f32 round trip would not be.
    let mut same = vec![Q16_16::ZERO; qs.len()];
    ops::cast(&qs, &mut same).unwrap();
    assert_eq!(same, qs);
    let mut ff = [0.0f32; 2];
    ops::cast(&[f32::NAN, -0.0], &mut ff).unwrap();
    assert!(ff[0].is_nan() && ff[1].to_bits() == (-0.0f32).to_bits());
    // bool ↔ numbers.
    let mut b = [Q16_16::ZERO; 3];
    ops::cast_bool(&[true, false, true], &mut b).unwrap();
    assert_eq!(b, [Q16_16::ONE, Q16_16::ZERO, Q16_16::ONE]);
    let mut bb = [true; 3];
    ops::cast_to_bool(&[Q16_16::ZERO, Q16_16::EPSILON, -Q16_16::ONE], &mut bb).unwrap();
    assert_eq!(bb, [false, true, true]);
    // Lengths.
    assert!(ops::cast(&xs, &mut q[..3]).is_err());
    assert!(ops::cast_bool(&[true], &mut f).is_err());
    assert!(ops::cast_to_bool(&xs, &mut bb).is_err());
}

#[test]
fn bad_axes_shapes_and_lengths_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let data = [1.0f32; 24];
    let x = TensorView::new(s(&[2, 3, 4]), &data).unwrap();
    let mut out = [0.0f32; 24];
    let mut dx = [0.0f32; 24];
    // Axes.
    for axes in [&[3][..], &[-4], &[0, 0], &[1, -2], &[i32::MIN], &[i32::MAX]] {
        assert!(
            matches!(
                ops::reduced_shape(x.shape(), Some(axes), false),
                Err(Error::InvalidConfig(_))
            ),
            "{axes:?}"
        );
        assert!(ops::sum(x, Some(axes), &mut out[..6]).is_err());
        assert!(ops::mean(x, Some(axes), &mut out[..6]).is_err());
        assert!(ops::max(x, Some(axes), &mut out[..6]).is_err());
        assert!(ops::min_backward(x, Some(axes), &out[..6], &mut dx).is_err());
        assert!(ops::sum_backward(x.shape(), Some(axes), &out[..6], &mut dx).is_err());
        assert!(ops::mean_backward(x.shape(), Some(axes), &out[..6], &mut dx).is_err());
    }
    assert!(ops::normalize_axis(0, 0).is_err());
    assert!(ops::squeeze(s(&[2, 3]), Some(5)).is_err());
    // Output lengths of reductions.
    for n in [0, 5, 7, 24] {
        assert!(matches!(
            ops::sum(x, Some(&[-1]), &mut out[..n]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(ops::max(x, Some(&[-1]), &mut out[..n]).is_err());
        assert!(ops::max_backward(x, Some(&[-1]), &out[..n], &mut dx).is_err());
        assert!(ops::mean_backward(x.shape(), Some(&[-1]), &out[..n], &mut dx).is_err());
    }
    assert!(ops::max_backward(x, Some(&[-1]), &out[..6], &mut dx[..23]).is_err());
    assert!(ops::sum_backward(x.shape(), None, &out[..1], &mut dx[..20]).is_err());
    // Elementwise lengths.
    let (a, b) = (&data[..4], &data[..5]);
    let mut o4 = [0.0f32; 4];
    let mut o5 = [0.0f32; 5];
    assert!(ops::abs(b, &mut o4).is_err());
    assert!(ops::exp(a, &mut o5).is_err());
    assert!(ops::clip(a, 0.0, 1.0, &mut o5).is_err());
    assert!(ops::log_backward(a, b, &mut o4).is_err());
    assert!(ops::sqrt_backward(a, a, &mut o5).is_err());
    assert!(ops::clip_backward(a, 0.0, 1.0, b, &mut o4).is_err());
    // Broadcasting refusals and output lengths.
    let v = |shape: Shape| TensorView::new(shape, &data[..shape.len()]).unwrap();
    let mut bools = [false; 24];
    let (x34, x24, x4) = (v(s(&[3, 4])), v(s(&[2, 4])), v(s(&[4])));
    assert!(matches!(
        ops::less(x34, x24, &mut bools[..12]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(ops::equal(x34, x4, &mut bools[..11]).is_err());
    assert!(ops::add(x34, x24, &mut out[..12]).is_err());
    assert!(ops::divide(x34, x4, &mut out[..13]).is_err());
    assert!(ops::multiply_backward(x34, x4, &out[..12], None, Some(&mut dx[..3])).is_err());
    assert!(ops::subtract_backward(x34.shape(), x4.shape(), &out[..11], None, None).is_err());
    let cond = ops::BoolView::new(s(&[3, 4]), &bools[..12]).unwrap();
    assert!(ops::switch(cond, x24, x4, &mut out[..12]).is_err());
    assert!(ops::switch(cond, x34, x4, &mut out[..11]).is_err());
    assert!(ops::switch_backward(
        cond,
        s(&[3, 4]),
        s(&[4]),
        &out[..12],
        None,
        Some(&mut dx[..3])
    )
    .is_err());
    assert!(ops::BoolView::new(s(&[3]), &bools[..2]).is_err());
    // Rank-5 operands broadcast; the rank cannot grow beyond MAX_RANK anyway.
    let r5 = s(&[1, 2, 1, 3, 1]);
    assert_eq!(
        ops::broadcast_shape(r5, s(&[4, 1, 2])).unwrap().dims(),
        &[1, 2, 4, 3, 2]
    );
}

/// Fixed point saturates instead of overflowing, and never panics on extreme values.
#[test]
fn fixed_point_saturates() {
    let q = Q16_16::from_f32;
    let x = [q(11.0), q(-30000.0), Q16_16::MIN, Q16_16::ZERO, q(-1.0)];
    let mut y = [Q16_16::ZERO; 5];
    ops::exp(&x, &mut y).unwrap();
    assert_eq!(y[0], Q16_16::MAX);
    ops::square(&x, &mut y).unwrap();
    assert_eq!(y[1], Q16_16::MAX);
    ops::abs(&x, &mut y).unwrap();
    assert_eq!(y[2], Q16_16::MAX);
    ops::log(&x, &mut y).unwrap();
    assert_eq!((y[3], y[4]), (Q16_16::MIN, Q16_16::MIN));
    ops::sqrt(&x, &mut y).unwrap();
    assert_eq!(y[4], Q16_16::ZERO);
    let dy = [Q16_16::ONE; 5];
    ops::sqrt_backward(&x, &dy, &mut y).unwrap();
    assert_eq!(y[3], Q16_16::MAX);
    ops::log_backward(&x, &dy, &mut y).unwrap();
    assert_eq!(y[3], Q16_16::MAX);
    let big = [q(30000.0); 4];
    let v = TensorView::new(Shape::new(&[4]).unwrap(), &big).unwrap();
    let mut s1 = [Q16_16::ZERO];
    ops::sum(v, None, &mut s1).unwrap();
    assert_eq!(s1[0], Q16_16::MAX);
}
