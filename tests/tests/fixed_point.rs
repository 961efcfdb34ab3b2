//! Q16.16 fixed point against f32 on the same models.
//!
//! Documented tolerance (README, `Q16_16` docs): on these fixture models Q16.16 inference
//! agrees with f32 to 1·10⁻⁴ absolute (measured worst case 3.1·10⁻⁵: weights and inputs
//! rounded to 2⁻¹⁶, one rounding per dot product and per activation), with the same
//! argmax on every digits test sample; three SGD steps stay within 2·10⁻⁴ of the f32
//! weights (measured worst case 7.3·10⁻⁵, Nesterov).

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_cli::predict::predict;
use ember_nn::{Scalar, Sequential, Q16_16};
use ember_tests::{assert_close, blob, cases, npy, MODELS};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn fixed_inference_matches_f32_within_tolerance() {
    for model in MODELS {
        let x = npy(model, "x.npy");
        let f = predict(blob(model, DTypeChoice::F32).as_slice(), &x, 4).unwrap();
        let q = predict(blob(model, DTypeChoice::Fixed).as_slice(), &x, 4).unwrap();
        let d = max_abs_diff(&q.data, &f.data);
        println!("{model}: max |Q16.16 − f32| = {d:e}");
        assert_close(model, &q.data, &f.data, 0.0, 1e-4);
        // Not trivially equal: fixed point really rounds.
        assert!(d > 0.0, "{model}");
    }
}

#[test]
fn fixed_digits_predictions_have_the_same_argmax() {
    let x = npy("digits_mlp", "x.npy");
    let f = predict(blob("digits_mlp", DTypeChoice::F32).as_slice(), &x, 8).unwrap();
    let q = predict(blob("digits_mlp", DTypeChoice::Fixed).as_slice(), &x, 8).unwrap();
    let argmax = |r: &[f32]| (0..r.len()).fold(0, |b, i| if r[i] > r[b] { i } else { b });
    for (a, b) in f.data.chunks(10).zip(q.data.chunks(10)) {
        assert_eq!(argmax(a), argmax(b));
    }
}

fn train<T: Scalar>(model: &str, case: &ember_tests::Case, dtype: DTypeChoice) -> Vec<f32> {
    let b = blob(model, dtype);
    let blob = b.as_slice();
    let mut arena =
        AlignedBytes::zeroed(Sequential::<T>::training_bytes(blob, &case.config).unwrap());
    let mut m = Sequential::<T>::for_training(blob, arena.as_mut_slice(), case.config).unwrap();
    let xs = npy(model, &format!("train_{}_x.npy", case.name));
    let ys = npy(model, &format!("train_{}_y.npy", case.name));
    let conv = |v: &[f32]| v.iter().map(|&a| T::from_f32(a)).collect::<Vec<T>>();
    let (xn, yn) = (xs.data.len() / case.steps, ys.data.len() / case.steps);
    for k in 0..case.steps {
        m.train_on_batch(
            &conv(&xs.data[k * xn..(k + 1) * xn]),
            &conv(&ys.data[k * yn..(k + 1) * yn]),
        )
        .unwrap();
    }
    let mut out = Vec::new();
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            out.extend(m.param(l, p).unwrap().iter().map(|v| v.to_f32()));
        }
    }
    out
}

#[test]
fn fixed_sgd_training_tracks_f32() {
    let mut checked = 0;
    for model in ["dense_relu_softmax", "dense_sigmoid_linear", "digits_mlp"] {
        for case in cases(model) {
            if !case.name.starts_with("sgd") {
                continue; // Adam in Q16.16 is a documented limit (v underflows).
            }
            let f = train::<f32>(model, &case, DTypeChoice::F32);
            let q = train::<Q16_16>(model, &case, DTypeChoice::Fixed);
            let d = max_abs_diff(&q, &f);
            println!(
                "{model}/{}: max |Q16.16 − f32| weight after training = {d:e}",
                case.name
            );
            assert_close(&format!("{model}/{}", case.name), &q, &f, 0.0, 2e-4);
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}
