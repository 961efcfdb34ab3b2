//! `fit` / `evaluate` on graph models: a chain run as [`Functional`] and as [`Sequential`]
//! through the same loop gives bit-identical weights and history; a branching graph
//! learns; callbacks (EarlyStopping's restore, ModelCheckpoint) work on a graph; a graph
//! with several inputs or outputs is refused with an error naming the limit.

use ember_cli::blob_file::AlignedBytes;
use ember_nn::layers::{Add, Dense, LayerConfig};
use ember_nn::metrics::{AnyMetric, CategoricalAccuracy, MeanAbsoluteError};
use ember_nn::model::callbacks::{EarlyStopping, History, MemoryStorage, ModelCheckpoint};
use ember_nn::model::{
    evaluate, fit, FitBuffers, FitModel, FitOptions, Functional, FunctionalBuilder, Logs,
    SequentialBuilder, SliceDataset,
};
use ember_nn::{Activation, Adam, Error, Loss, Optimizer, Sequential, Shape, TrainConfig};
use ember_nn::{Sgd, Trainable};

fn dense(units: u32, activation: Activation) -> LayerConfig {
    LayerConfig::Dense(Dense {
        units,
        activation,
        use_bias: true,
    })
}

/// `Input((4,)) → Dense(6, tanh) → Dense(3, softmax)`, freshly initialized.
fn chain_blob() -> AlignedBytes {
    let layers = [dense(6, Activation::Tanh), dense(3, Activation::Softmax)];
    let b = SequentialBuilder::<4>::new("chain", Shape::new(&[4]).unwrap(), &layers);
    let mut out = AlignedBytes::zeroed(b.encoded_len::<f32>().unwrap());
    b.write::<f32>(3, out.as_mut_slice()).unwrap();
    out
}

fn config(batch: usize) -> TrainConfig {
    TrainConfig {
        batch_size: batch,
        optimizer: Optimizer::adam(Adam {
            learning_rate: 0.05,
            ..Adam::DEFAULT
        }),
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    }
}

/// Deterministic 3-class data: `n` samples of 4 features, one-hot labels.
fn classes(n: usize, seed: u32) -> (Vec<f32>, Vec<f32>) {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 8) as f32 / (1u32 << 24) as f32
    };
    let (mut x, mut y) = (Vec::new(), vec![0.0f32; n * 3]);
    for i in 0..n {
        let f: Vec<f32> = (0..4).map(|_| next() * 2.0 - 1.0).collect();
        let class = if f[0] + f[1] > 0.3 {
            0
        } else if f[2] > 0.0 {
            1
        } else {
            2
        };
        x.extend_from_slice(&f);
        y[i * 3 + class] = 1.0;
    }
    (x, y)
}

/// What a run leaves: final trainable parameters, every epoch's logs, the evaluation.
#[derive(Debug, PartialEq)]
struct Run {
    params: Vec<u32>,
    history: Vec<Logs>,
    eval: Logs,
}

/// Fits `model` for 3 epochs (batch 4 on 10 samples: a remainder batch), with a
/// validation set and categorical accuracy; `options` adds shuffling or class weights.
fn run<M: FitModel<f32, N>, const N: usize>(model: &mut M, options: FitOptions<'_>) -> Run {
    let (x, y) = classes(10, 1);
    let (xv, yv) = classes(6, 2);
    let train = SliceDataset::new(&x, &y, 4, 3).unwrap();
    let val = SliceDataset::new(&xv, &yv, 4, 3).unwrap();
    let sizes = FitBuffers::sizes(model, 10).unwrap();
    let (mut xb, mut yb) = (vec![0.0f32; sizes.x], vec![0.0f32; sizes.y]);
    let (mut order, mut w) = (vec![0u32; sizes.order], vec![0.0f32; sizes.sample_weight]);
    let buffers = FitBuffers {
        x: &mut xb,
        y: &mut yb,
        order: &mut order,
        sample_weight: &mut w,
    };
    let mut metrics = [AnyMetric::<2>::CategoricalAccuracy(
        CategoricalAccuracy::new(),
    )];
    let mut history = History::<8>::new();
    fit(
        model,
        &train,
        Some(&val),
        &options,
        &mut metrics,
        &mut history,
        buffers,
    )
    .unwrap();
    let eval = evaluate(model, &val, &mut metrics, &mut xb, &mut yb).unwrap();
    Run {
        params: model
            .trainable_params()
            .iter()
            .map(|v| v.to_bits())
            .collect(),
        history: history.epochs().to_vec(),
        eval,
    }
}

fn parity(options: FitOptions<'_>) {
    let blob = chain_blob();
    let cfg = config(4);
    let seq = {
        let mut arena =
            AlignedBytes::zeroed(Sequential::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
        let mut m =
            Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        run(&mut m, options)
    };
    let graph = {
        let mut arena =
            AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
        let mut m =
            Functional::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        run(&mut m, options)
    };
    assert_eq!(seq.history.len(), 3);
    assert!(
        seq.history[2].loss < seq.history[0].loss,
        "{:?}",
        seq.history
    );
    assert!(seq.history.iter().all(|l| l.val_loss.is_some()));
    assert_eq!(seq, graph, "Sequential and Functional differ");
}

#[test]
fn a_chain_fits_bit_identically_as_sequential_and_as_functional() {
    parity(FitOptions::epochs(3));
}

#[test]
fn shuffled_and_class_weighted_fits_are_bit_identical_too() {
    parity(FitOptions {
        shuffle: Some(9),
        class_weight: Some(&[1.0, 2.5, 0.5]),
        ..FitOptions::epochs(3)
    });
}

/// `x → Dense(8, tanh) → a`, `x → Dense(8, relu) → b`, `Add(a, b) → Dense(1)`.
fn branching_blob() -> AlignedBytes {
    let mut m = FunctionalBuilder::<8>::new("branches");
    let x = m.input(Shape::new(&[2]).unwrap()).unwrap();
    let a = m.apply(dense(8, Activation::Tanh), &[x]).unwrap();
    let b = m.apply(dense(8, Activation::Relu), &[x]).unwrap();
    let s = m.apply(LayerConfig::Add(Add), &[a, b]).unwrap();
    let y = m.apply(dense(1, Activation::Linear), &[s]).unwrap();
    m.output(y).unwrap();
    let mut out = AlignedBytes::zeroed(m.encoded_len::<f32>().unwrap());
    m.write::<f32>(11, out.as_mut_slice()).unwrap();
    out
}

fn regression(n: usize) -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..n * 2)
        .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
        .collect();
    let y = x.chunks(2).map(|p| p[0] * p[1] + 0.5 * p[0]).collect();
    (x, y)
}

fn mse_config() -> TrainConfig {
    TrainConfig {
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            ..Sgd::DEFAULT
        }),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    }
}

/// A training model of [`branching_blob`] with its arena.
fn with_branching(f: impl FnOnce(&mut Functional<'_, f32>)) {
    let blob = branching_blob();
    let cfg = mse_config();
    let mut arena =
        AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
    let mut m =
        Functional::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    assert!(!m.graph().is_chain());
    f(&mut m);
}

#[test]
fn a_branching_graph_learns() {
    with_branching(|m| {
        let (x, y) = regression(40);
        let train = SliceDataset::new(&x, &y, 2, 1).unwrap();
        let (mut xb, mut yb) = ([0.0f32; 16], [0.0f32; 8]);
        let buffers = FitBuffers {
            x: &mut xb,
            y: &mut yb,
            order: &mut [],
            sample_weight: &mut [],
        };
        let mut history = History::<40>::new();
        let mut metrics = [AnyMetric::<2>::MeanAbsoluteError(MeanAbsoluteError::new())];
        fit(
            m,
            &train,
            None::<&SliceDataset<'_, f32>>,
            &FitOptions::epochs(40),
            &mut metrics,
            &mut history,
            buffers,
        )
        .unwrap();
        let losses: Vec<f32> = history.losses().collect();
        assert!(
            losses[39] < 0.5 * losses[0],
            "the loss does not decrease: {losses:?}"
        );
        let mae: Vec<f32> = history.values("mean_absolute_error").collect();
        assert!(mae[39] < mae[0], "{mae:?}");
    });
}

#[test]
fn callbacks_restore_a_graph_models_best_weights() {
    with_branching(|m| {
        let (x, y) = regression(40);
        // Validation targets of the opposite sign: the better the fit, the worse the
        // validation loss, so the best epoch is an early one and EarlyStopping stops.
        let (xv, yv) = regression(12);
        let yv: Vec<f32> = yv.iter().map(|v| -v).collect();
        let train = SliceDataset::new(&x, &y, 2, 1).unwrap();
        let val = SliceDataset::new(&xv, &yv, 2, 1).unwrap();
        let (mut xb, mut yb) = ([0.0f32; 16], [0.0f32; 8]);
        let buffers = FitBuffers {
            x: &mut xb,
            y: &mut yb,
            order: &mut [],
            sample_weight: &mut [],
        };
        let n = m.snapshot_len();
        let (mut best, mut ckpt) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut history = History::<40>::new();
        let stop = EarlyStopping::new("val_loss")
            .patience(2)
            .restore_best_weights(&mut best);
        let mut storage = MemoryStorage::new(&mut ckpt[..]);
        let save = ModelCheckpoint::new(&mut storage)
            .monitor("val_loss")
            .save_best_only(true);
        let mut metrics: [AnyMetric<2>; 0] = [];
        let mut callbacks = (&mut history, (stop, save));
        fit(
            m,
            &train,
            Some(&val),
            &FitOptions::epochs(40),
            &mut metrics,
            &mut callbacks,
            buffers,
        )
        .unwrap();
        let (_, (stop, _)) = callbacks;
        let last = history.len() - 1;
        assert!(
            stop.stopped_epoch() > 0 && last < 39,
            "EarlyStopping never stopped"
        );
        let best_epoch = stop.best_epoch();
        assert!(best_epoch < last, "best {best_epoch}, last {last}");
        // EarlyStopping put back the best epoch's weights; the best-only checkpoint saved
        // that same epoch: the model's weights are the checkpoint's.
        assert_eq!(storage.saved_epoch(), Some(best_epoch));
        let mut now = vec![0.0f32; n];
        m.write_snapshot(&mut now).unwrap();
        assert_eq!(Some(&now[..]), storage.snapshot());
        // The restored weights give the best validation loss again.
        let eval = evaluate(m, &val, &mut metrics, &mut xb, &mut yb).unwrap();
        let best_val = history.values("val_loss").fold(f32::INFINITY, f32::min);
        assert_eq!(eval.loss.to_bits(), best_val.to_bits());
    });
}

#[test]
fn graphs_with_several_inputs_or_outputs_are_refused() {
    let two = Shape::new(&[2]).unwrap();
    // Two inputs, one output.
    let mut a = FunctionalBuilder::<4>::new("two_in");
    let (x1, x2) = (a.input(two).unwrap(), a.input(two).unwrap());
    let s = a.apply(LayerConfig::Add(Add), &[x1, x2]).unwrap();
    let y = a.apply(dense(1, Activation::Linear), &[s]).unwrap();
    a.output(y).unwrap();
    // One input, two outputs.
    let mut b = FunctionalBuilder::<4>::new("two_out");
    let x = b.input(two).unwrap();
    let y1 = b.apply(dense(1, Activation::Linear), &[x]).unwrap();
    let y2 = b.apply(dense(1, Activation::Linear), &[x]).unwrap();
    b.output(y1).unwrap();
    b.output(y2).unwrap();
    for builder in [a, b] {
        let mut blob = AlignedBytes::zeroed(builder.encoded_len::<f32>().unwrap());
        builder.write::<f32>(1, blob.as_mut_slice()).unwrap();
        let cfg = mse_config();
        let mut arena =
            AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob.as_slice(), &cfg).unwrap());
        let mut m =
            Functional::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        let err = FitBuffers::sizes(&m, 4).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig(msg) if msg.contains("exactly 1 input and 1 output")),
            "{err:?}"
        );
        let (x, y) = ([0.0f32; 8], [0.0f32; 4]);
        let data = SliceDataset::new(&x, &y, 2, 1).unwrap();
        let (mut xb, mut yb) = ([0.0f32; 16], [0.0f32; 8]);
        let buffers = FitBuffers {
            x: &mut xb,
            y: &mut yb,
            order: &mut [],
            sample_weight: &mut [],
        };
        let mut metrics: [AnyMetric<2>; 0] = [];
        let r = fit(
            &mut m,
            &data,
            None::<&SliceDataset<'_, f32>>,
            &FitOptions::epochs(1),
            &mut metrics,
            &mut (),
            buffers,
        );
        assert!(matches!(r, Err(Error::InvalidConfig(_))), "{r:?}");
        let r = evaluate(&mut m, &data, &mut metrics, &mut xb, &mut yb);
        assert!(matches!(r, Err(Error::InvalidConfig(_))), "{r:?}");
        assert_eq!(m.iterations(), 0, "nothing trained");
    }
}
