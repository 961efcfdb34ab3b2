//! Keras masking: `Embedding(mask_zero=True)` → (Dense keeps the mask) →
//! `GlobalAveragePooling1D` averages only the unpadded steps. Both a Sequential (run by
//! `Sequential`) and a two-input functional model (run by `Functional`) from
//! tests/fixtures/masking match Keras's predictions and two SGD steps.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_nn::model::{Functional, Graph};
use ember_nn::{Loss, Optimizer, Sequential, Sgd, TrainConfig, Trainable};
use ember_tests::{assert_close, fixture, npy};

const DIR: &str = "masking";

fn blob(name: &str) -> AlignedBytes {
    let k = read_keras_file(&fixture(DIR, &format!("{name}.keras"))).unwrap();
    convert(&k, DTypeChoice::F32).unwrap()
}

fn config() -> TrainConfig {
    TrainConfig {
        batch_size: 10,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.5,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::binary_crossentropy(),
        trainable: Trainable::All,
    }
}

/// Every parameter of every layer, in blob order, against Keras's `get_weights()`.
fn check_weights(name: &str, g: &Graph<'_, f32>, param: impl Fn(usize, usize) -> Vec<f32>) {
    let mut i = 0;
    for (k, l) in g.layers().iter().enumerate() {
        for p in 0..l.params.len() {
            let want = npy(DIR, &format!("{name}_w{i}.npy")).data;
            assert_close(
                &format!("{name} {} param {p}", l.name),
                &param(k, p),
                &want,
                1e-5,
                1e-6,
            );
            i += 1;
        }
    }
    assert!(
        !fixture(DIR, &format!("{name}_w{i}.npy")).exists(),
        "{name}: every Keras weight compared"
    );
}

#[test]
fn sequential_masked_average_matches_keras() {
    let b = blob("seq");
    let g = Graph::<f32>::parse(b.as_slice()).unwrap();
    // Embedding makes the mask, Dense keeps it, the pooling uses it.
    let masks: Vec<Option<u16>> = g.nodes().iter().map(|n| n.input_mask).collect();
    assert_eq!(masks, [None, Some(0), Some(0), None]);
    let ids = npy(DIR, "ids.npy").data;
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(b.as_slice(), 4).unwrap());
    let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), 4).unwrap();
    let mut y = vec![0.0f32; 10];
    m.predict(&ids, &mut y).unwrap();
    assert_close(
        "seq predictions",
        &y,
        &npy(DIR, "seq_y.npy").data,
        1e-5,
        1e-6,
    );

    let cfg = config();
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let t = npy(DIR, "t.npy").data;
    for (step, want) in npy(DIR, "seq_loss.npy").data.iter().enumerate() {
        let loss = m.train_on_batch(&ids, &t).unwrap();
        assert_close(&format!("seq loss {step}"), &[loss], &[*want], 1e-5, 1e-7);
    }
    check_weights("seq", &g, |k, p| m.param(k, p).unwrap().to_vec());
}

#[test]
fn functional_masked_average_matches_keras() {
    let b = blob("graph");
    let g = Graph::<f32>::parse(b.as_slice()).unwrap();
    let ids = npy(DIR, "ids.npy").data;
    let extra = npy(DIR, "extra.npy").data;
    let mut arena =
        AlignedBytes::zeroed(Functional::<f32>::inference_bytes(b.as_slice(), 3).unwrap());
    let mut m = Functional::<f32>::new(b.as_slice(), arena.as_mut_slice(), 3).unwrap();
    let mut y = vec![0.0f32; 10];
    m.predict(&[&ids, &extra], &mut [&mut y]).unwrap();
    assert_close(
        "graph predictions",
        &y,
        &npy(DIR, "graph_y.npy").data,
        1e-5,
        1e-6,
    );

    let cfg = config();
    let mut arena =
        AlignedBytes::zeroed(Functional::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Functional::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let t = npy(DIR, "t.npy").data;
    for (step, want) in npy(DIR, "graph_loss.npy").data.iter().enumerate() {
        let loss = m.train_on_batch(&[&ids, &extra], &[&t]).unwrap();
        assert_close(&format!("graph loss {step}"), &[loss], &[*want], 1e-5, 1e-7);
    }
    check_weights("graph", &g, |k, p| m.param(k, p).unwrap().to_vec());
}

/// Without the mask the pooled mean differs: the test data has padding that matters.
#[test]
fn the_padding_changes_the_unmasked_mean() {
    let ids = npy(DIR, "ids.npy").data;
    assert!(
        ids.iter().filter(|&&v| v == 0.0).count() >= 20,
        "padded fixture"
    );
}
