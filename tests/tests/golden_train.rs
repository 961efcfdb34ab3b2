//! `train_on_batch` for k steps matches Keras's weights and losses (SGD, SGD with momentum,
//! Nesterov, Adam, a frozen layer), within 1e-5 relative.

use ember_cli::convert::DTypeChoice;
use ember_nn::{Sequential, TrainConfig};
use ember_tests::{assert_close, blob, cases, npy};

fn train(model: &str, config: TrainConfig, steps: usize, name: &str) -> (Vec<f32>, Vec<Vec<f32>>) {
    let blob = blob(model, DTypeChoice::F32);
    let needed = Sequential::<f32>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = ember_cli::blob_file::AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let xs = npy(model, &format!("train_{name}_x.npy"));
    let ys = npy(model, &format!("train_{name}_y.npy"));
    let (xn, yn) = (xs.data.len() / steps, ys.data.len() / steps);
    let mut losses = Vec::new();
    for k in 0..steps {
        let loss = m
            .train_on_batch(
                &xs.data[k * xn..(k + 1) * xn],
                &ys.data[k * yn..(k + 1) * yn],
            )
            .unwrap();
        losses.push(loss);
    }
    assert_eq!(m.iterations(), steps as u64);
    let mut weights = Vec::new();
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            weights.push(m.param(l, p).unwrap().to_vec());
        }
    }
    (losses, weights)
}

#[test]
fn training_steps_match_keras() {
    let mut checked = 0;
    for model in ["dense_relu_softmax", "dense_sigmoid_linear", "digits_mlp"] {
        for case in cases(model) {
            let what = format!("{model}/{}", case.name);
            let (losses, weights) = train(model, case.config, case.steps, &case.name);
            let want = npy(model, &format!("train_{}_losses.npy", case.name));
            assert_close(&format!("{what} losses"), &losses, &want.data, 1e-5, 1e-7);
            for (i, w) in weights.iter().enumerate() {
                let want = npy(model, &format!("train_{}_w{i}.npy", case.name));
                assert_close(&format!("{what} w{i}"), w, &want.data, 1e-5, 1e-6);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9, "every generated case was checked");
}

#[test]
fn frozen_layer_keeps_blob_weights() {
    let model = "dense_relu_softmax";
    let case = cases(model)
        .into_iter()
        .find(|c| c.name == "sgd_frozen_first")
        .unwrap();
    let (_, weights) = train(model, case.config, case.steps, &case.name);
    let original =
        ember_cli::keras::read_keras_file(&ember_tests::fixture(model, "model.keras")).unwrap();
    assert_eq!(weights[0], original.layers[0].weights[0].data);
    assert_eq!(weights[1], original.layers[0].weights[1].data);
    assert_ne!(weights[2], original.layers[1].weights[0].data);
}
