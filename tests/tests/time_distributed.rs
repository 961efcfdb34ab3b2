//! Keras `TimeDistributed` (tests/fixtures/time_distributed): TimeDistributed(Conv1D),
//! (Flatten) and (Dense) in a Sequential convert to TimeDistributed calls in a graph blob,
//! predict like Keras and train two SGD steps to Keras's weights.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_nn::model::{Functional, Graph};
use ember_nn::{Loss, Optimizer, Sgd, TrainConfig, Trainable};
use ember_tests::{assert_close, fixture, npy};

const DIR: &str = "time_distributed";

#[test]
fn time_distributed_layers_match_keras() {
    let k = read_keras_file(&fixture(DIR, "model.keras")).unwrap();
    let b = convert(&k, DTypeChoice::F32).unwrap();
    let blob = b.as_slice();
    let g = Graph::<f32>::parse(blob).unwrap();
    let td: Vec<bool> = g.nodes().iter().map(|n| n.time_distributed).collect();
    assert_eq!(td, [true, true, true, false, false]);
    let x = npy(DIR, "x.npy").data;
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::inference_bytes(blob, 4).unwrap());
    let mut m = Functional::<f32>::new(blob, arena.as_mut_slice(), 4).unwrap();
    let mut y = vec![0.0f32; 12];
    m.predict(&[&x], &mut [&mut y]).unwrap();
    assert_close("predictions", &y, &npy(DIR, "y.npy").data, 1e-5, 1e-6);

    let cfg = TrainConfig {
        batch_size: 6,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.2,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut m = Functional::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    let t = npy(DIR, "t.npy").data;
    for (step, want) in npy(DIR, "step_loss.npy").data.iter().enumerate() {
        let loss = m.train_on_batch(&[&x], &[&t]).unwrap();
        assert_close(&format!("loss {step}"), &[loss], &[*want], 1e-5, 1e-7);
    }
    let mut i = 0;
    for (k, l) in g.layers().iter().enumerate() {
        for p in 0..l.params.len() {
            let want = npy(DIR, &format!("after_w{i}.npy")).data;
            assert_close(
                &format!("{} param {p}", l.name),
                m.param(k, p).unwrap(),
                &want,
                1e-5,
                1e-6,
            );
            i += 1;
        }
    }
    assert_eq!(i, 6, "every Keras weight compared");
}
