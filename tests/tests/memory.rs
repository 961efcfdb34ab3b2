//! The memory query is exact: an arena of `needed` bytes works, one aligned step less is
//! `ArenaTooSmall { needed }`, and the figures match a hand count.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_nn::model::Graph;
use ember_nn::{Adam, Error, Loss, MemoryPlan, Optimizer, Sequential, Sgd, TrainConfig, Trainable};
use ember_tests::{blob, MODELS};

fn config(optimizer: Optimizer, trainable: Trainable, batch_size: usize) -> TrainConfig {
    TrainConfig {
        batch_size,
        optimizer,
        loss: Loss::categorical_crossentropy(),
        trainable,
    }
}

#[test]
fn digits_figures_match_a_hand_count() {
    let b = blob("digits_mlp", DTypeChoice::F32);
    let g = Graph::<f32>::parse(b.as_slice()).unwrap();
    // Inference, batch 1: only the 32-float hidden activation lives in the arena.
    assert_eq!(MemoryPlan::inference(&g, 1).unwrap().total_bytes(), 32 * 4);
    assert_eq!(
        MemoryPlan::inference(&g, 5).unwrap().total_bytes(),
        5 * 32 * 4
    );
    // Training, Adam, batch 16, all layers: 2410 params -> 9640 B, aligned to 9648.
    let p = MemoryPlan::training(
        &g,
        &config(Optimizer::adam(Adam::default()), Trainable::All, 16),
    )
    .unwrap();
    assert_eq!(p.params_bytes, 9648);
    assert_eq!(p.grads_bytes, 9648);
    assert_eq!(p.optimizer_bytes, 2 * 9640);
    assert_eq!(p.activations_bytes, 16 * 32 * 4 + 16 * 10 * 4);
    assert_eq!(p.gradient_buffers_bytes, 2 * 16 * 32 * 4);
    assert_eq!(p.total_bytes(), 9648 * 2 + 19280 + 2688 + 4096);
    // Only the head trains, plain SGD: 330 params, no optimizer state.
    let head = MemoryPlan::training(
        &g,
        &config(Optimizer::sgd(Sgd::default()), Trainable::LastK(1), 16),
    )
    .unwrap();
    assert_eq!(head.params_bytes, 1328);
    assert_eq!(head.optimizer_bytes, 0);
}

#[test]
fn needed_bytes_are_exact_for_every_model() {
    for model in MODELS {
        let b = blob(model, DTypeChoice::F32);
        let blob = b.as_slice();
        for batch in [1, 4] {
            let needed = Sequential::<f32>::inference_bytes(blob, batch).unwrap();
            let mut arena = AlignedBytes::zeroed(needed);
            Sequential::<f32>::new(blob, arena.as_mut_slice(), batch).unwrap();
            if needed > 0 {
                let err =
                    Sequential::<f32>::new(blob, &mut arena.as_mut_slice()[..needed - 1], batch)
                        .unwrap_err();
                assert_eq!(
                    err,
                    Error::ArenaTooSmall {
                        needed,
                        available: needed - 1
                    }
                );
            }
            for opt in [
                Optimizer::sgd(Sgd::default()),
                Optimizer::sgd(Sgd {
                    momentum: 0.9,
                    ..Sgd::default()
                }),
                Optimizer::adam(Adam::default()),
                Optimizer::adam(Adam {
                    amsgrad: true,
                    ..Adam::default()
                }),
            ] {
                let cfg = config(opt, Trainable::All, batch);
                let needed = Sequential::<f32>::training_bytes(blob, &cfg).unwrap();
                let mut arena = AlignedBytes::zeroed(needed);
                Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
                let err = Sequential::<f32>::for_training(
                    blob,
                    &mut arena.as_mut_slice()[..needed - 1],
                    cfg,
                )
                .unwrap_err();
                assert_eq!(
                    err,
                    Error::ArenaTooSmall {
                        needed,
                        available: needed - 1
                    }
                );
            }
        }
    }
}

#[test]
fn inference_reuses_dead_buffers() {
    // Four layers 8->16->12->4 (relu_softmax has 3); with batch 1 the plan needs the largest
    // pair of neighbouring intermediates, not their sum.
    let b = blob("dense_relu_softmax", DTypeChoice::F32);
    let needed = Sequential::<f32>::inference_bytes(b.as_slice(), 1).unwrap();
    assert_eq!(needed, (16 + 12) * 4);
}

#[test]
fn api_misuse_is_an_error_not_a_panic() {
    let b = blob("digits_mlp", DTypeChoice::F32);
    let blob = b.as_slice();
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(blob, 1).unwrap());
    let mut m = Sequential::<f32>::new(blob, arena.as_mut_slice(), 1).unwrap();
    let mut y = [0.0f32; 10];
    assert!(matches!(
        m.predict(&[0.0; 63], &mut y),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        m.predict(&[0.0; 64], &mut y[..9]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        m.train_on_batch(&[0.0; 64], &[0.0; 10]),
        Err(Error::NotTraining)
    );
    assert_eq!(m.predict(&[], &mut []), Ok(0));

    let cfg = config(Optimizer::sgd(Sgd::default()), Trainable::All, 2);
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut t = Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    assert_eq!(
        t.train_on_batch(&[0.0; 3 * 64], &[0.0; 30]),
        Err(Error::BatchTooLarge { max: 2, found: 3 })
    );
    assert!(matches!(
        t.train_on_batch(&[0.0; 64], &[0.0; 9]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(
        Sequential::<f32>::training_bytes(
            blob,
            &config(Optimizer::sgd(Sgd::default()), Trainable::Mask(0), 2)
        ),
        Err(Error::InvalidConfig(
            "no layer with parameters is trainable"
        ))
    );
    assert_eq!(
        Sequential::<f32>::inference_bytes(blob, 0),
        Err(Error::InvalidConfig("batch size must be positive"))
    );
    // A partial final batch trains (Keras accepts any batch size up to the planned one).
    assert!(t.train_on_batch(&[0.1; 64], &[0.1; 10]).is_ok());
}

#[test]
fn predicting_in_training_layout_matches_inference() {
    let b = blob("digits_mlp", DTypeChoice::F32);
    let blob = b.as_slice();
    let x: Vec<f32> = (0..5 * 64).map(|i| (i % 17) as f32 / 16.0).collect();
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(blob, 2).unwrap());
    let mut m = Sequential::<f32>::new(blob, arena.as_mut_slice(), 2).unwrap();
    let mut y1 = vec![0.0f32; 50];
    m.predict(&x, &mut y1).unwrap();
    let cfg = config(Optimizer::sgd(Sgd::default()), Trainable::All, 4);
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut t = Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    let mut y2 = vec![0.0f32; 50];
    t.predict(&x, &mut y2).unwrap();
    assert_eq!(y1, y2);
}

#[test]
fn inference_reads_weights_in_place_and_training_copies_only_trainable() {
    let b = blob("dense_relu_softmax", DTypeChoice::F32);
    let blob = b.as_slice();
    let in_blob = |p: &[f32]| blob.as_ptr_range().contains(&(p.as_ptr() as *const u8));
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(blob, 1).unwrap());
    let m = Sequential::<f32>::new(blob, arena.as_mut_slice(), 1).unwrap();
    for l in 0..3 {
        assert!(
            in_blob(m.param(l, 0).unwrap()),
            "layer {l} kernel is read in place"
        );
    }
    // Only the last layer trains: its parameters are copies in the arena, the others are
    // still the blob's bytes.
    let cfg = config(Optimizer::sgd(Sgd::default()), Trainable::LastK(1), 2);
    let mut arena = AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob, &cfg).unwrap());
    let t = Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    assert!(in_blob(t.param(0, 0).unwrap()));
    assert!(in_blob(t.param(1, 1).unwrap()));
    assert!(!in_blob(t.param(2, 0).unwrap()));
    assert_eq!(t.param(2, 0).unwrap(), m.param(2, 0).unwrap());
    assert_eq!(t.memory_plan().params_bytes, (12 * 4 + 4) * 4);
}
