//! `Lambda` layers: the Keras model of tests/fixtures/lambda (two Lambdas, one changing
//! the shape) converts, runs with the functions registered by layer name, and trains
//! through them like Keras; a missing registration is an error at load.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_nn::layers::LambdaFn;
use ember_nn::model::Functional;
use ember_nn::{
    Error, Loss, Optimizer, Result, Sequential, Sgd, TensorView, TensorViewMut, TrainConfig,
    Trainable,
};
use ember_tests::{assert_close, fixture, npy};

const DIR: &str = "lambda";

/// `affine`: y = 2x + 1.
fn affine(x: TensorView<'_, f32>, mut y: TensorViewMut<'_, f32>) -> Result<()> {
    for (o, i) in y.data().iter_mut().zip(x.data()) {
        *o = 2.0 * i + 1.0;
    }
    Ok(())
}

fn affine_grad(
    _x: TensorView<'_, f32>,
    _y: TensorView<'_, f32>,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<()> {
    for (d, g) in dx.iter_mut().zip(dy) {
        *d = 2.0 * g;
    }
    Ok(())
}

/// `pairs`: (b, 4) → (b, 3), y[j] = x[j]·x[j+1].
fn pairs(x: TensorView<'_, f32>, mut y: TensorViewMut<'_, f32>) -> Result<()> {
    let b = x.shape().dim(0);
    let (xs, ys) = (x.data(), y.data());
    for s in 0..b {
        for j in 0..3 {
            ys[s * 3 + j] = xs[s * 4 + j] * xs[s * 4 + j + 1];
        }
    }
    Ok(())
}

fn pairs_grad(
    x: TensorView<'_, f32>,
    _y: TensorView<'_, f32>,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<()> {
    let b = x.shape().dim(0);
    let xs = x.data();
    dx.fill(0.0);
    for s in 0..b {
        for j in 0..3 {
            dx[s * 4 + j] += dy[s * 3 + j] * xs[s * 4 + j + 1];
            dx[s * 4 + j + 1] += dy[s * 3 + j] * xs[s * 4 + j];
        }
    }
    Ok(())
}

static LAMBDAS: [LambdaFn<f32>; 2] = [
    LambdaFn::new("affine", affine).with_backward(affine_grad),
    LambdaFn::new("pairs", pairs).with_backward(pairs_grad),
];

fn blob() -> AlignedBytes {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    convert(&k, DTypeChoice::F32).unwrap()
}

#[test]
fn lambdas_predict_and_train_like_keras() {
    let b = blob();
    let blob = b.as_slice();
    let x = npy(DIR, "x.npy").data;
    let want = npy(DIR, "y.npy").data;
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::inference_bytes(blob, 8).unwrap());
    let mut m =
        Functional::<f32>::new_with_lambdas(blob, arena.as_mut_slice(), 8, &LAMBDAS).unwrap();
    let mut y = vec![0.0f32; 16];
    m.predict(&[&x], &mut [&mut y]).unwrap();
    assert_close("predictions", &y, &want, 1e-5, 1e-6);

    let cfg = TrainConfig {
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut m =
        Functional::<f32>::for_training_with_lambdas(blob, arena.as_mut_slice(), cfg, &LAMBDAS)
            .unwrap();
    let t = npy(DIR, "t.npy").data;
    let losses = npy(DIR, "step_loss.npy").data;
    for (step, want) in losses.iter().enumerate() {
        let loss = m.train_on_batch(&[&x], &[&t]).unwrap();
        assert_close(&format!("loss {step}"), &[loss], &[*want], 1e-5, 1e-7);
    }
    // Weights: d1 (layer 0) and d2 (layer 3).
    for (i, (layer, idx)) in [(0, 0), (0, 1), (3, 0), (3, 1)].into_iter().enumerate() {
        let want = npy(DIR, &format!("after_w{i}.npy")).data;
        assert_close(
            &format!("weight {i}"),
            m.param(layer, idx).unwrap(),
            &want,
            1e-5,
            1e-6,
        );
    }
}

#[test]
fn a_missing_registration_is_an_error_at_load() {
    let b = blob();
    let blob = b.as_slice();
    let mut arena = AlignedBytes::zeroed(4096);
    // Nothing registered: the first Lambda (layer 1) is named.
    assert_eq!(
        Functional::<f32>::new(blob, arena.as_mut_slice(), 1).unwrap_err(),
        Error::UnresolvedLambda { layer: 1 }
    );
    // Only `affine`: `pairs` (layer 2) is missing.
    assert_eq!(
        Functional::<f32>::new_with_lambdas(blob, arena.as_mut_slice(), 1, &LAMBDAS[..1])
            .unwrap_err(),
        Error::UnresolvedLambda { layer: 2 }
    );
    // Sequential has no resolver: refused at load, not at the first call.
    assert_eq!(
        Sequential::<f32>::new(blob, arena.as_mut_slice(), 1).unwrap_err(),
        Error::UnresolvedLambda { layer: 1 }
    );
    // Training through a Lambda without a backward.
    static FORWARD_ONLY: [LambdaFn<f32>; 2] = [
        LambdaFn::new("affine", affine),
        LambdaFn::new("pairs", pairs),
    ];
    let cfg = TrainConfig {
        batch_size: 2,
        optimizer: Optimizer::sgd(Sgd::DEFAULT),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let mut big = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &cfg).unwrap());
    assert!(matches!(
        Functional::<f32>::for_training_with_lambdas(blob, big.as_mut_slice(), cfg, &FORWARD_ONLY),
        Err(Error::InvalidConfig(_))
    ));
    // Training only the last Dense never goes back through the Lambdas: allowed.
    let last = TrainConfig {
        trainable: Trainable::LastK(1),
        ..cfg
    };
    let mut small = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &last).unwrap());
    assert!(Functional::<f32>::for_training_with_lambdas(
        blob,
        small.as_mut_slice(),
        last,
        &FORWARD_ONLY
    )
    .is_ok());
}
