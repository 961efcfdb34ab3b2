//! Issue 5's acceptance: sentiment models trained in Keras on padded drug reviews
//! (`tests/fixtures/sentiment`: `Embedding(mask_zero) -> LSTM -> Dense(sigmoid)` and
//! `Embedding(mask_zero) -> Bidirectional(GRU) -> Dense(sigmoid)`) convert and match
//! Keras on every test review, whole-sequence and (LSTM) streamed one token at a time;
//! and stateful Keras LSTM/GRU models stream on the device with Keras's step-by-step
//! outputs (`tests/fixtures/recurrent/stream_*`).

use ember_cli::convert::{convert, convert_with, ConvertOptions, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_nn::model::Stream;
use ember_nn::{Scalar, Sequential, Q16_16};
use ember_tests::{assert_close, fixture, npy, worst_summary};

fn blob(dir: &str, file: &str, dtype: DTypeChoice) -> ember_cli::blob_file::AlignedBytes {
    convert(&read_keras_file(&fixture(dir, file)).unwrap(), dtype).unwrap()
}

/// Whole-sequence predictions of `blob` on `x` (`n` samples).
fn predict<T: Scalar>(blob: &[u8], x: &[f32], n: usize, out: usize) -> Vec<f32> {
    let batch = 16;
    let mut arena = vec![0u8; Sequential::<T>::inference_bytes(blob, batch).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut m = Sequential::<T>::new(blob, &mut arena[off..], batch).unwrap();
    let xq: Vec<T> = x.iter().map(|&v| T::from_f32(v)).collect();
    let mut y = vec![T::ZERO; n * out];
    m.predict(&xq, &mut y).unwrap();
    y.iter().map(|v| v.to_f32()).collect()
}

/// Streams each of `seqs` (`steps · step_len` values each) one step at a time from a
/// fresh state; returns every step's output.
fn stream<T: Scalar>(blob: &[u8], seqs: &[f32], steps: usize, out: usize) -> Vec<f32> {
    let mut arena = vec![0u8; Stream::<T>::arena_bytes(blob).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut state = vec![T::ZERO; Stream::<T>::state_elems(blob).unwrap()];
    let mut s = Stream::<T>::new(blob, &mut arena[off..], &mut state).unwrap();
    let step_len = s.step_input_len();
    assert_eq!(s.step_output_len(), out);
    let mut ys = Vec::new();
    for seq in seqs.chunks(steps * step_len) {
        s.reset_states();
        for x in seq.chunks(step_len) {
            let xq: Vec<T> = x.iter().map(|&v| T::from_f32(v)).collect();
            let mut y = vec![T::ZERO; out];
            s.step(&xq, &mut y).unwrap();
            ys.extend(y.iter().map(|v| v.to_f32()));
        }
    }
    ys
}

#[test]
fn sentiment_models_match_keras_on_every_test_review() {
    let ids = npy("sentiment", "test_ids.npy");
    let n = ids.shape[0];
    assert_eq!(n, 343);
    let labels = npy("sentiment", "test_labels.npy").data;
    for (file, want) in [
        ("lstm.keras", "lstm_pred.npy"),
        ("lstm.h5", "lstm_pred.npy"),
        ("bigru.keras", "bigru_pred.npy"),
    ] {
        let b = blob("sentiment", file, DTypeChoice::F32);
        let y = predict::<f32>(b.as_slice(), &ids.data, n, 1);
        let want = npy("sentiment", want).data;
        println!("{file}: {}", worst_summary(&y, &want));
        assert_close(file, &y, &want, 1e-5, 1e-6);
        let correct = y
            .iter()
            .zip(&labels)
            .filter(|(&p, &l)| (p > 0.5) == (l > 0.5))
            .count();
        println!(
            "{file}: test accuracy {:.1}%",
            100.0 * correct as f32 / n as f32
        );
        // Q16.16 on the same blob: the same decisions except at the boundary.
        let bq = blob("sentiment", file, DTypeChoice::Fixed);
        let yq = predict::<Q16_16>(bq.as_slice(), &ids.data, n, 1);
        let worst = yq
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        println!("{file}: Q16.16 worst |diff| {worst:e}");
        assert!(worst < 5e-3, "{file}: Q16.16 {worst}");
    }
}

#[test]
fn lstm_sentiment_streams_token_by_token_like_keras() {
    let ids = npy("sentiment", "test_ids.npy");
    let want = npy("sentiment", "lstm_prefix_pred.npy");
    let (n, steps) = (want.shape[0], want.shape[1]);
    let b = blob("sentiment", "lstm.keras", DTypeChoice::F32);
    let got = stream::<f32>(b.as_slice(), &ids.data[..n * steps], steps, 1);
    println!("streamed prefixes: {}", worst_summary(&got, &want.data));
    assert_close("streamed", &got, &want.data, 1e-5, 1e-6);
    // Every test review streamed: the last step is the whole-sequence prediction (the
    // trailing padding is masked: the state and output stay).
    let whole = npy("sentiment", "lstm_pred.npy").data;
    let all = stream::<f32>(b.as_slice(), &ids.data, steps, 1);
    let last: Vec<f32> = all.chunks(steps).map(|c| c[steps - 1]).collect();
    assert_close("streamed, last step", &last, &whole, 1e-5, 1e-6);
}

#[test]
fn stateful_keras_models_stream_with_keras_outputs() {
    for kind in ["lstm", "gru"] {
        let x = npy("recurrent", &format!("stream_{kind}_x.npy"));
        let (n, steps) = (x.shape[0], x.shape[1]);
        let want = npy("recurrent", &format!("stream_{kind}_y.npy")).data;
        // Saved with an open time axis, `Input(batch_shape=(1, None, 3))`.
        let k = read_keras_file(&fixture("recurrent", &format!("stream_{kind}.keras"))).unwrap();
        assert!(convert(&k, DTypeChoice::F32).is_err(), "open time axis");
        let options = ConvertOptions {
            sequence_length: Some(steps),
            ..Default::default()
        };
        let b = convert_with(&k, &options).unwrap();
        let whole_run = predict::<f32>(b.as_slice(), &x.data, n, 2);
        let got = stream::<f32>(b.as_slice(), &x.data, steps, 2);
        println!("{kind}: streamed {}", worst_summary(&got, &want));
        assert_close(kind, &got, &want, 1e-5, 1e-6);
        let whole = npy("recurrent", &format!("stream_{kind}_whole.npy")).data;
        let last: Vec<f32> = got
            .chunks(2 * steps)
            .flat_map(|c| c[2 * steps - 2..].to_vec())
            .collect();
        assert_close(&format!("{kind} last step"), &last, &whole, 1e-5, 1e-6);
        assert_close(
            &format!("{kind} whole sequence"),
            &whole_run,
            &whole,
            1e-5,
            1e-6,
        );
        assert_eq!(last.len(), 2 * n);
    }
}

/// Sequence to sequence (`tests/fixtures/recurrent/return_state.py`): an encoder
/// `LSTM(return_state=True)` whose final `h` and `c` start a decoder LSTM
/// (`initial_state=[h, c]`), then `Dense`. Converted, it predicts like Keras, and three
/// SGD(0.1) steps on mse give Keras's losses and weights: gradients flow from the
/// decoder back into the encoder through the returned states.
#[test]
fn seq2seq_with_returned_states_predicts_and_trains_like_keras() {
    use ember_nn::model::Functional;
    use ember_nn::{Loss, Optimizer, Sgd, TrainConfig, Trainable};
    let b = blob("recurrent", "seq2seq.keras", DTypeChoice::F32);
    let blob = b.as_slice();
    let (xa, xb) = (
        npy("recurrent", "seq2seq_xa.npy"),
        npy("recurrent", "seq2seq_xb.npy"),
    );
    let want = npy("recurrent", "seq2seq_y.npy").data;
    let batch = xa.shape[0];
    let mut arena = vec![0u8; Functional::<f32>::inference_bytes(blob, batch).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut f = Functional::<f32>::new(blob, &mut arena[off..], batch).unwrap();
    let mut y = vec![0.0f32; want.len()];
    f.predict(&[&xa.data, &xb.data], &mut [&mut y]).unwrap();
    println!("seq2seq predict: {}", worst_summary(&y, &want));
    assert_close("seq2seq predict", &y, &want, 1e-5, 1e-6);

    let cfg = TrainConfig {
        batch_size: 4,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            momentum: 0.0,
            nesterov: false,
        }),
        loss: Loss::from_keras_name("mse").unwrap(),
        trainable: Trainable::All,
    };
    let mut arena = vec![0u8; Functional::<f32>::training_bytes(blob, &cfg).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut f = Functional::<f32>::for_training(blob, &mut arena[off..], cfg).unwrap();
    let xas = npy("recurrent", "seq2seq_sgd_xa.npy").data;
    let xbs = npy("recurrent", "seq2seq_sgd_xb.npy").data;
    let ts = npy("recurrent", "seq2seq_sgd_t.npy").data;
    let (na, nb, nt) = (xas.len() / 3, xbs.len() / 3, ts.len() / 3);
    let losses: Vec<f32> = (0..3)
        .map(|s| {
            f.train_on_batch(
                &[&xas[s * na..(s + 1) * na], &xbs[s * nb..(s + 1) * nb]],
                &[&ts[s * nt..(s + 1) * nt]],
            )
            .unwrap()
        })
        .collect();
    let want = npy("recurrent", "seq2seq_sgd_losses.npy").data;
    println!("seq2seq losses {losses:?} vs Keras {want:?}");
    assert_close("seq2seq losses", &losses, &want, 1e-5, 1e-6);
    // Keras's weight order: encoder (kernel, recurrent, bias), decoder (same), head.
    let layer = |name: &str| {
        f.graph()
            .layers()
            .iter()
            .position(|l| l.name == name)
            .unwrap()
    };
    let order = [
        ("encoder", 0),
        ("encoder", 1),
        ("encoder", 2),
        ("decoder", 0),
        ("decoder", 1),
        ("decoder", 2),
        ("head", 0),
        ("head", 1),
    ];
    for (i, (name, p)) in order.iter().enumerate() {
        let got = f.param(layer(name), *p).unwrap().to_vec();
        let before = f.graph().layers()[layer(name)].params[*p];
        assert_ne!(got.as_slice(), before, "{name}[{p}] trained");
        let want = npy("recurrent", &format!("seq2seq_sgd_w{i}.npy")).data;
        println!("{name}[{p}]: {}", worst_summary(&got, &want));
        assert_close(&format!("{name}[{p}]"), &got, &want, 1e-5, 1e-6);
    }
}

/// What cannot stream is refused with a typed error, never run wrong: a layer that mixes
/// time steps before the last recurrent layer (Conv1D), a `go_backwards` layer (it needs
/// the sequence's end first), a non-chain model; a wrong state buffer or step length.
#[test]
fn stream_refuses_what_cannot_stream() {
    use ember_nn::layers::{Conv1D, Dense, LayerConfig, Padding, LSTM};
    use ember_nn::model::SequentialBuilder;
    use ember_nn::{Activation, Error, Shape};
    let write = |layers: &[LayerConfig]| {
        let m = SequentialBuilder::<8>::new("s", Shape::new(&[6, 3]).unwrap(), layers);
        let mut scratch = vec![0.0f32; m.scratch_len().unwrap()];
        let mut blob = ember_cli::blob_file::AlignedBytes::zeroed(4096);
        let n = m
            .write_with_scratch::<f32>(3, blob.as_mut_slice(), &mut scratch)
            .unwrap();
        ember_cli::blob_file::AlignedBytes::from_slice(&blob.as_slice()[..n])
    };
    let dense = LayerConfig::Dense(Dense {
        units: 2,
        activation: Activation::Linear,
        use_bias: true,
    });
    let conv = LayerConfig::Conv1D(Conv1D {
        filters: 2,
        kernel_size: 3,
        strides: 1,
        padding: Padding::Same,
        dilation_rate: 1,
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    });
    let lstm = LayerConfig::LSTM(LSTM::new(4));
    let mut back = LSTM::new(4);
    back.rnn.go_backwards = true;
    let refused = |layers: &[LayerConfig]| {
        let b = write(layers);
        Stream::<f32>::arena_bytes(b.as_slice()).map(|_| ())
    };
    assert!(matches!(
        refused(&[conv, lstm, dense]),
        Err(Error::InvalidConfig(_))
    ));
    assert_eq!(refused(&[lstm, dense]), Ok(()));
    // go_backwards: refused at the first step.
    let b = write(&[LayerConfig::LSTM(back), dense]);
    let mut arena = vec![0u8; Stream::<f32>::arena_bytes(b.as_slice()).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut state = vec![0.0f32; 8];
    let mut s = Stream::<f32>::new(b.as_slice(), &mut arena[off..], &mut state).unwrap();
    let mut y = [0.0f32; 2];
    assert!(matches!(
        s.step(&[0.1, 0.2, 0.3], &mut y),
        Err(Error::InvalidConfig(_))
    ));
    // A wrong state buffer or step length is a typed error.
    let b = write(&[lstm, dense]);
    let mut arena = vec![0u8; Stream::<f32>::arena_bytes(b.as_slice()).unwrap() + 16];
    let off = arena.as_ptr().align_offset(16);
    let mut short = vec![0.0f32; 7];
    assert!(matches!(
        Stream::<f32>::new(b.as_slice(), &mut arena[off..], &mut short),
        Err(Error::ShapeMismatch {
            expected: 8,
            found: 7
        })
    ));
    let mut state = vec![0.0f32; 8];
    let mut s = Stream::<f32>::new(b.as_slice(), &mut arena[off..], &mut state).unwrap();
    assert!(matches!(
        s.step(&[0.1, 0.2], &mut y),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(s.step(&[0.1, 0.2, 0.3], &mut y).is_ok());
    assert!(s.states().iter().any(|&v| v != 0.0));
}
