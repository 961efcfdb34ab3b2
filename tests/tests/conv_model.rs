//! A small Keras CNN (Conv2D with relu and stride 2, grouped Conv2D with tanh, Reshape,
//! causal dilated Conv1D, Flatten, Dense softmax) converted from its `.keras` file:
//! predictions and 3 SGD training steps against Keras (`tests/fixtures/conv/generate.py`),
//! through the blob, the memory planner and `Sequential`.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::predict::predict;
use ember_nn::{Loss, Optimizer, Sequential, Sgd, TrainConfig, Trainable};
use ember_tests::{assert_close, fixture, npy};

const DIR: &str = "conv";

fn blob(dtype: DTypeChoice) -> AlignedBytes {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    convert(&k, dtype).unwrap()
}

#[test]
fn cnn_predictions_match_keras() {
    let b = blob(DTypeChoice::F32);
    let g = ember_nn::model::Graph::<f32>::parse(b.as_slice()).unwrap();
    let classes: Vec<&str> = g.layers().iter().map(|l| l.config.keras_class()).collect();
    assert_eq!(
        classes,
        ["Conv2D", "Conv2D", "Reshape", "Conv1D", "Flatten", "Dense"]
    );
    let x = npy(DIR, "model_x.npy");
    let want = npy(DIR, "model_y.npy");
    let y = predict(b.as_slice(), &x, 2).unwrap();
    assert_close("conv_cnn predict", &y.data, &want.data, 1e-5, 1e-7);
    // Q16.16 inference: within 1e-3 of Keras's probabilities.
    let y = predict(blob(DTypeChoice::Fixed).as_slice(), &x, 2).unwrap();
    assert_close("conv_cnn Q16.16 predict", &y.data, &want.data, 0.0, 1e-3);
}

#[test]
fn cnn_training_matches_keras() {
    let text = std::fs::read_to_string(fixture(DIR, "model.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = &json["cases"][0];
    let steps = case["steps"].as_u64().unwrap() as usize;
    let config = TrainConfig {
        batch_size: case["batch_size"].as_u64().unwrap() as usize,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::from_keras_name("categorical_crossentropy").unwrap(),
        trainable: Trainable::All,
    };
    let b = blob(DTypeChoice::F32);
    let needed = Sequential::<f32>::training_bytes(b.as_slice(), &config).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m =
        Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), config).unwrap();
    let xs = npy(DIR, "train_sgd_x.npy");
    let ys = npy(DIR, "train_sgd_y.npy");
    let (xn, yn) = (xs.data.len() / steps, ys.data.len() / steps);
    let mut losses = Vec::new();
    for k in 0..steps {
        losses.push(
            m.train_on_batch(
                &xs.data[k * xn..(k + 1) * xn],
                &ys.data[k * yn..(k + 1) * yn],
            )
            .unwrap(),
        );
    }
    let want = npy(DIR, "train_sgd_losses.npy");
    assert_close("losses", &losses, &want.data, 1e-5, 1e-7);
    let mut i = 0;
    for l in 0..m.graph().layers().len() {
        for p in 0..m.graph().layers()[l].params.len() {
            let w = m.param(l, p).unwrap();
            let want = npy(DIR, &format!("train_sgd_w{i}.npy"));
            assert_close(&format!("w{i}"), w, &want.data, 1e-5, 1e-6);
            i += 1;
        }
    }
    // Conv2D ×2, Conv1D, Dense: kernel and bias each.
    assert_eq!(i, 8);
}
