//! Unit tests of the losses on hand-computed values. The Keras golden values and the
//! finite-difference checks are in `tests/tests/golden_losses.rs`.

use super::*;

fn vg(loss: Loss, p: &[f32], t: &[f32], w: Option<&[f32]>, last: usize) -> (f32, [f32; 8]) {
    let mut g = [0.0f32; 8];
    let l = loss
        .value_and_grad(p, t, w, &mut g[..p.len()], last)
        .unwrap();
    (l, g)
}

#[test]
fn mse_value_and_gradient() {
    let (l, g) = vg(
        Loss::mean_squared_error(),
        &[1.0, 2.0, 3.0, 4.0],
        &[0.0, 2.0, 3.0, 6.0],
        None,
        2,
    );
    // rows: (1 + 0)/2 = 0.5 and (0 + 4)/2 = 2 -> mean 1.25
    assert_eq!(l, 1.25);
    assert_eq!(g[..4], [0.5, 0.0, 0.0, -1.0]);
}

#[test]
fn reductions_and_sample_weights() {
    let p = [1.0f32, 2.0, 3.0, 4.0];
    let t = [0.0f32, 2.0, 3.0, 6.0];
    let w = [2.0f32, 0.5];
    // Per-sample 0.5 and 2; weighted 1 and 1.
    let mse = Loss::mean_squared_error();
    let (l, g) = vg(mse, &p, &t, Some(&w), 2);
    assert_eq!(l, 1.0); // (1 + 1) / 2 samples, not / Σw
    assert_eq!(g[..4], [1.0, 0.0, 0.0, -0.5]);
    let (l, g) = vg(mse.with_reduction(Reduction::Sum), &p, &t, Some(&w), 2);
    assert_eq!(l, 2.0);
    assert_eq!(g[..4], [2.0, 0.0, 0.0, -1.0]);
    let (l, _) = vg(mse.with_reduction(Reduction::Mean), &p, &t, Some(&w), 2);
    assert_eq!(l, 1.0);
    let mw = mse.with_reduction(Reduction::MeanWithSampleWeight);
    let (l, _) = vg(mw, &p, &t, Some(&w), 2);
    assert_eq!(l, 0.8); // 2 / 2.5
    let (l, _) = vg(mw, &p, &t, None, 2);
    assert_eq!(l, 1.25);
    let (l, g) = vg(mw, &p, &t, Some(&[0.0, 0.0]), 2);
    assert_eq!((l, g[..4].iter().all(|&x| x == 0.0)), (0.0, true));
    // One weight covering both samples.
    let (l, _) = vg(mse, &p, &t, Some(&[2.0]), 2);
    assert_eq!(l, 2.5);
}

#[test]
fn cce_matches_closed_form_for_normalised_input() {
    let (l, g) = vg(
        Loss::categorical_crossentropy(),
        &[0.2, 0.7, 0.1],
        &[0.0, 1.0, 0.0],
        None,
        3,
    );
    assert!((l + libm::logf(0.7)).abs() < 1e-6);
    // For sum(p) = 1: g_k = 1 - t_k / p_k.
    assert!((g[0] - 1.0).abs() < 1e-5);
    assert!((g[1] - (1.0 - 1.0 / 0.7)).abs() < 1e-5);
}

#[test]
fn sparse_cce_equals_one_hot_cce() {
    for from_logits in [false, true] {
        let p = [0.2f32, 0.7, 0.1, 1.5, 0.3, 0.2];
        let dense = Loss::CategoricalCrossentropy {
            from_logits,
            label_smoothing: 0.0,
            reduction: Reduction::SumOverBatchSize,
        };
        let sparse = Loss::SparseCategoricalCrossentropy {
            from_logits,
            reduction: Reduction::SumOverBatchSize,
        };
        let (a, ga) = vg(dense, &p, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0], None, 3);
        let (b, gb) = vg(sparse, &p, &[1.0, 0.0], None, 3);
        assert!((a - b).abs() < 1e-7, "{from_logits}");
        for (x, y) in ga.iter().zip(&gb) {
            assert!((x - y).abs() < 1e-7);
        }
    }
    assert_eq!(sparse_len(), 2);
}

fn sparse_len() -> usize {
    Loss::sparse_categorical_crossentropy().y_true_len(6, 3)
}

#[test]
fn sparse_labels_out_of_range_are_errors() {
    let mut g = [0.0f32; 3];
    let s = Loss::sparse_categorical_crossentropy();
    for bad in [3.0f32, -1.0, f32::NAN] {
        assert_eq!(
            s.value_and_grad(&[0.2f32, 0.3, 0.5], &[bad], None, &mut g, 3),
            Err(Error::LabelOutOfRange {
                index: 0,
                classes: 3
            })
        );
    }
    // Truncated like a cast to int32.
    assert!(s
        .value_and_grad(&[0.2f32, 0.3, 0.5], &[2.9], None, &mut g, 3)
        .is_ok());
}

#[test]
fn hinge_converts_binary_labels_for_the_whole_batch_only() {
    let h = Loss::hinge();
    // {0, 1} labels become {-1, +1}: max(1 - (-1)(0.5), 0) = 1.5, max(1 - 0.5, 0) = 0.5.
    let (l, _) = vg(h, &[0.5, 0.5], &[0.0, 1.0], None, 2);
    assert_eq!(l, 1.0);
    // A 2 anywhere: labels used as given: max(1 - 0, 0) = 1, max(1 - 1, 0) = 0.
    let (l, g) = vg(h, &[0.5, 0.5], &[0.0, 2.0], None, 2);
    assert_eq!(l, 0.5);
    // Exactly at the kink (1 - 2·0.5 = 0) JAX's gradient of max is halved.
    assert_eq!(g[..2], [0.0, -0.5]);
}

#[test]
fn categorical_hinge_shares_ties() {
    let (l, g) = vg(
        Loss::categorical_hinge(),
        &[0.5, 0.2, 0.5],
        &[0.0, 1.0, 0.0],
        None,
        3,
    );
    assert!((l - 1.3).abs() < 1e-6);
    assert_eq!(g[..3], [0.5, -1.0, 0.5]);
}

#[test]
fn binary_crossentropy_clip_has_zero_gradient_outside() {
    let (_, g) = vg(
        Loss::binary_crossentropy(),
        &[0.0, 1.0, 0.5],
        &[1.0, 0.0, 1.0],
        None,
        3,
    );
    assert_eq!(g[0], 0.0);
    assert_eq!(g[1], 0.0);
    assert!((g[2] - (-2.0 / 3.0)).abs() < 1e-6);
}

#[test]
fn constructors_are_keras_defaults_and_const() {
    const L: Loss = Loss::huber().with_reduction(Reduction::Sum);
    assert_eq!(
        L,
        Loss::Huber {
            delta: 1.0,
            reduction: Reduction::Sum
        }
    );
    assert_eq!(
        Loss::from_keras_name("mse"),
        Some(Loss::mean_squared_error())
    );
    assert_eq!(
        Loss::from_keras_name("CategoricalCrossentropy"),
        Some(Loss::categorical_crossentropy())
    );
    assert_eq!(Loss::from_keras_name("nope"), None);
    assert_eq!(Reduction::default(), Reduction::SumOverBatchSize);
    assert_eq!(
        Reduction::from_keras_name(Reduction::MeanWithSampleWeight.keras_name()),
        Some(Reduction::MeanWithSampleWeight)
    );
}

#[test]
fn rejects_mismatched_lengths() {
    let mut g = [0.0f32; 3];
    let mse = Loss::mean_squared_error();
    assert!(mse
        .value_and_grad(&[1.0f32; 3], &[1.0f32; 2], None, &mut g, 3)
        .is_err());
    assert!(mse
        .value_and_grad(&[1.0f32; 3], &[1.0f32; 3], None, &mut g, 2)
        .is_err());
    assert!(mse
        .value_and_grad(&[1.0f32; 3], &[1.0f32; 3], Some(&[1.0, 1.0]), &mut g, 3)
        .is_err());
    assert!(mse
        .value_and_grad(&[1.0f32; 3], &[1.0f32; 3], Some(&[]), &mut g, 3)
        .is_err());
    assert!(mse
        .value_and_grad(&[1.0f32; 3], &[1.0f32; 3], None, &mut g[..2], 3)
        .is_err());
    assert_eq!(
        mse.value_and_grad::<f32>(&[], &[], None, &mut [], 3),
        Err(Error::InvalidShape)
    );
}
