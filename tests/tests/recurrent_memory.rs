//! Arena bytes of the recurrent layers (issue 5): LSTM(64) and GRU(64) on 32 inputs over
//! 50 steps — inference (whole sequence and streaming, one step per call), training with
//! full BPTT and with `bptt_window = 10` — and of the Sequential model
//! `Input(50, 32) → LSTM(64) → Dense(1)`, asserted against counts derived by hand from
//! the formulas of `core/src/layers/recurrent/sequence.rs` and `model/memory.rs`.
//!
//! # The derivation (elements; bytes = 4 · elements for f32)
//!
//! `sequence::scratch_elems`, with `u` units, `n` inputs, `G` gates, `S` state vectors,
//! `s = S·u`, `E` = the cell's `saved_extra`, `K` = the cell's `work`:
//!
//! ```text
//! inference = 2·s + G·(n + u) + E + K                      (no dependence on the steps)
//! training  = inference + W·(E + s) + 3·s + s              (W = window or all steps;
//!                                                           the last s: ∂initial state,
//!                                                           added by layer::scratch_elems)
//! ```
//!
//! - LSTM(64), n = 32: G = 4, S = 2 → s = 128; E = 4u = 256 (the four gates); K = 8u = 512.
//!   inference = 256 + 4·96 + 256 + 512 = 1408 elements = **5 632 B**;
//!   record E + s = 384; full BPTT: 1408 + 50·384 + 384 + 128 = 21 120 = **84 480 B**;
//!   window 10: 1408 + 10·384 + 384 + 128 = 5 760 = **23 040 B**.
//! - GRU(64), n = 32, `reset_after` (Keras's default): G = 3, S = 1 → s = 64;
//!   E = 4u = 256 (z, r, hh and h·U_h + b_rh); K = 7u = 448.
//!   inference = 128 + 3·96 + 256 + 448 = 1120 = **4 480 B**;
//!   record = 320; full BPTT: 1120 + 50·320 + 192 + 64 = 17 376 = **69 504 B**;
//!   window 10: 1120 + 3200 + 192 + 64 = 4 576 = **18 304 B**.
//!
//! Streaming (one step per call, the state carried by the caller) needs the inference
//! scratch of a 1-step sequence, which is the same: inference scratch is `O(units)`.
//!
//! The model `Input(50, 32) → LSTM(64) → Dense(1)`, f32, `memory.rs` (every region
//! rounded up to 16 bytes):
//!
//! - inference, batch 1: activations = the LSTM's output, 64·4 = 256 B (the Dense writes
//!   the caller's buffer); scratch = the LSTM's 5 632 B → **5 888 B**.
//! - training, batch 1, every layer: P = 32·256 + 64·256 + 256 (LSTM) + 64 + 1 (Dense)
//!   = 24 897 parameters, 99 588 B → 99 600 B for the copies and as much for the
//!   gradients; activations 256 + ⌈4⌉ = 272 B; gradient buffers 2·256 = 512 B; scratch
//!   84 480 B (the backward pass runs through the LSTM).
//!   SGD (no momentum, no slots): 2·99 600 + 272 + 512 + 84 480 = **284 464 B**;
//!   Adam (2 slots, ⌈2·99 588⌉ = 199 184 B): **483 648 B**;
//!   SGD with `bptt_window = 10` (scratch 23 040 B): **223 024 B**.

use ember_cli::blob_file::AlignedBytes;
use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::layers::{Dense, LayerConfig, GRU, LSTM};
use ember_nn::{
    Activation, Adam, Loss, MemoryPlan, Optimizer, Sequential, Sgd, Shape, TrainConfig, Trainable,
};

const STEPS: usize = 50;
const INPUTS: usize = 32;

fn lstm(window: u32) -> LayerConfig {
    let mut l = LSTM::new(64);
    l.rnn.bptt_window = window;
    LayerConfig::LSTM(l)
}

fn gru(window: u32) -> LayerConfig {
    let mut g = GRU::new(64);
    g.rnn.bptt_window = window;
    LayerConfig::GRU(g)
}

fn scratch_bytes(layer: LayerConfig, steps: usize, training: bool) -> usize {
    let input = Shape::new(&[steps, INPUTS]).unwrap();
    4 * layer.scratch_elems(&[input], training).unwrap()
}

#[test]
fn lstm_and_gru_scratch_match_the_hand_count() {
    // (layer, inference, training full BPTT, training window 10), bytes.
    for (name, layer, want) in [
        ("LSTM", lstm as fn(u32) -> LayerConfig, [5632, 84480, 23040]),
        ("GRU", gru, [4480, 69504, 18304]),
    ] {
        let got = [
            scratch_bytes(layer(0), STEPS, false),
            scratch_bytes(layer(0), STEPS, true),
            scratch_bytes(layer(10), STEPS, true),
        ];
        assert_eq!(got, want, "{name}(64) on 32 inputs, 50 steps");
        // Streaming: one step per call needs the same inference scratch.
        assert_eq!(
            scratch_bytes(layer(0), 1, false),
            want[0],
            "{name} streaming"
        );
        // The window only matters for training.
        assert_eq!(scratch_bytes(layer(10), STEPS, false), want[0]);
    }
}

/// A blob of `Input(50, 32) → LSTM(64) → Dense(1)`, f32, with small deterministic weights.
fn lstm_dense_blob(window: u32) -> AlignedBytes {
    let layers_cfg = [
        lstm(window),
        LayerConfig::Dense(Dense {
            units: 1,
            activation: Activation::Linear,
            use_bias: true,
        }),
    ];
    let input = Shape::new(&[STEPS, INPUTS]).unwrap();
    let lstm_params: Vec<Vec<f32>> = [32 * 256, 64 * 256, 256]
        .iter()
        .map(|&n| (0..n).map(|i| ((i % 17) as f32 - 8.0) * 0.01).collect())
        .collect();
    let dense_params: Vec<Vec<f32>> = vec![vec![0.05; 64], vec![0.0]];
    let p0: Vec<&[f32]> = lstm_params.iter().map(Vec::as_slice).collect();
    let p1: Vec<&[f32]> = dense_params.iter().map(Vec::as_slice).collect();
    let specs = [
        LayerSpec::new("lstm", true, layers_cfg[0], &p0),
        LayerSpec::new("dense", true, layers_cfg[1], &p1),
    ];
    let mut blob = AlignedBytes::zeroed(encoded_len("lstm_dense", input, &specs).unwrap());
    write("lstm_dense", input, &specs, blob.as_mut_slice()).unwrap();
    blob
}

fn train_config(optimizer: Optimizer) -> TrainConfig {
    TrainConfig {
        batch_size: 1,
        optimizer,
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    }
}

#[test]
fn lstm_dense_model_arena_matches_the_hand_count() {
    let blob = lstm_dense_blob(0);
    let b = blob.as_slice();
    let sgd = train_config(Optimizer::sgd(Sgd::default()));
    let adam = train_config(Optimizer::adam(Adam::default()));
    assert_eq!(Sequential::<f32>::inference_bytes(b, 1).unwrap(), 5888);
    assert_eq!(Sequential::<f32>::training_bytes(b, &sgd).unwrap(), 284_464);
    assert_eq!(
        Sequential::<f32>::training_bytes(b, &adam).unwrap(),
        483_648
    );
    let g = ember_nn::model::Graph::<f32>::parse(b).unwrap();
    let plan = MemoryPlan::training(&g, &sgd).unwrap();
    assert_eq!(
        [
            plan.params_bytes,
            plan.grads_bytes,
            plan.activations_bytes,
            plan.gradient_buffers_bytes,
            plan.scratch_bytes
        ],
        [99_600, 99_600, 272, 512, 84_480]
    );
    let windowed = lstm_dense_blob(10);
    assert_eq!(
        Sequential::<f32>::training_bytes(windowed.as_slice(), &sgd).unwrap(),
        223_024
    );
}

#[test]
fn the_stated_arenas_are_enough_to_predict_and_train() {
    let blob = lstm_dense_blob(0);
    let b = blob.as_slice();
    let x: Vec<f32> = (0..STEPS * INPUTS)
        .map(|i| ((i % 13) as f32 - 6.0) * 0.1)
        .collect();
    let mut arena = AlignedBytes::zeroed(5888);
    let mut m = Sequential::<f32>::new(b, arena.as_mut_slice(), 1).unwrap();
    let mut y = [0.0f32];
    m.predict(&x, &mut y).unwrap();
    assert!(y[0].is_finite() && y[0] != 0.0);
    let config = train_config(Optimizer::sgd(Sgd::default()));
    let mut arena = AlignedBytes::zeroed(284_464);
    let mut m = Sequential::<f32>::for_training(b, arena.as_mut_slice(), config).unwrap();
    let loss = m.train_on_batch(&x, &[1.0]).unwrap();
    assert!(loss.is_finite() && loss > 0.0);
}
