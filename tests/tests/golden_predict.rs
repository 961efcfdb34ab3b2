//! Keras file → blob → predict matches Keras's `model.predict` (golden vectors from
//! `tests/fixtures/generate.py`, Keras 3.15.1 / JAX). f32 within 1e-5 relative.

use ember_cli::convert::DTypeChoice;
use ember_cli::predict::predict;
use ember_tests::{assert_close, blob, npy, MODELS};

#[test]
fn f32_predictions_match_keras() {
    for model in MODELS {
        let blob = blob(model, DTypeChoice::F32);
        let x = npy(model, "x.npy");
        let want = npy(model, "y.npy");
        for batch in [1, 3, 64] {
            let got = predict(blob.as_slice(), &x, batch).unwrap();
            assert_eq!(got.shape, want.shape, "{model}");
            assert_close(
                &format!("{model} batch {batch}"),
                &got.data,
                &want.data,
                1e-5,
                1e-7,
            );
        }
    }
}

#[test]
fn digits_accuracy_matches_keras() {
    let blob = blob("digits_mlp", DTypeChoice::F32);
    let x = npy("digits_mlp", "x.npy");
    let keras = npy("digits_mlp", "y.npy");
    let labels = npy("digits_mlp", "labels.npy");
    let ours = predict(blob.as_slice(), &x, 8).unwrap();
    let argmax = |r: &[f32]| {
        r.iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0
    };
    let mut correct = 0;
    for ((o, k), &l) in ours
        .data
        .chunks(10)
        .zip(keras.data.chunks(10))
        .zip(&labels.data)
    {
        assert_eq!(argmax(o), argmax(k));
        correct += usize::from(argmax(o) == l as usize);
    }
    // Keras's accuracy on this split, printed by the generator: 271 / 297.
    assert_eq!(correct, 271);
}
