//! `ember train` on a graph (functional) model: the loss decreases, the outputs are
//! written (blob, history CSV, PNG, checkpoints), and the trained blob — still a graph —
//! predicts bit for bit what a [`Functional`] trained in-process by the same `fit`
//! predicts.

use ember_cli::blob_file::{self, AlignedBytes};
use ember_cli::tensor_file::{read_csv, write_npy, Tensor};
use ember_nn::layers::{Add, Dense, LayerConfig};
use ember_nn::loss::Reduction;
use ember_nn::model::SliceDataset;
use ember_nn::model::{fit, FitBuffers, FitOptions, Functional, FunctionalBuilder, Graph};
use ember_nn::{Activation, Loss, Optimizer, Sgd, Shape, TrainConfig, Trainable};

#[macro_use]
mod cli_support;

use cli_support::{fails, ok, Scratch};

const N: usize = 40;
const EPOCHS: usize = 25;

fn dense(units: u32, activation: Activation) -> LayerConfig {
    LayerConfig::Dense(Dense {
        units,
        activation,
        use_bias: true,
    })
}

/// `x → Dense(8, tanh)`, `x → Dense(8, relu)`, `Add → Dense(1)`: a graph, not a chain.
fn graph_blob() -> AlignedBytes {
    let mut m = FunctionalBuilder::<8>::new("branches");
    let x = m.input(Shape::new(&[2]).unwrap()).unwrap();
    let a = m.apply(dense(8, Activation::Tanh), &[x]).unwrap();
    let b = m.apply(dense(8, Activation::Relu), &[x]).unwrap();
    let s = m.apply(LayerConfig::Add(Add), &[a, b]).unwrap();
    let y = m.apply(dense(1, Activation::Linear), &[s]).unwrap();
    m.output(y).unwrap();
    let mut out = AlignedBytes::zeroed(m.encoded_len::<f32>().unwrap());
    m.write::<f32>(5, out.as_mut_slice()).unwrap();
    out
}

fn data() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..N * 2)
        .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
        .collect();
    let y = x.chunks(2).map(|p| p[0] * p[1] + 0.5 * p[0]).collect();
    (x, y)
}

/// What `ember train --optimizer sgd --learning-rate 0.1 --loss mse --batch-size 8` compiles.
fn config() -> TrainConfig {
    TrainConfig {
        batch_size: 8,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.1,
            ..Sgd::DEFAULT
        }),
        loss: Loss::MeanSquaredError {
            reduction: Reduction::SumOverBatchSize,
        },
        trainable: Trainable::All,
    }
}

/// The same training in-process: `fit` on a [`Functional`], then its predictions of `x`.
fn in_process(blob: &[u8], x: &[f32], y: &[f32]) -> Vec<f32> {
    let cfg = config();
    let mut arena = AlignedBytes::zeroed(Functional::<f32>::training_bytes(blob, &cfg).unwrap());
    let mut m = Functional::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
    let train = SliceDataset::new(x, y, 2, 1).unwrap();
    let (mut xb, mut yb) = ([0.0f32; 16], [0.0f32; 8]);
    let buffers = FitBuffers {
        x: &mut xb,
        y: &mut yb,
        order: &mut [],
        sample_weight: &mut [],
    };
    let mut metrics: [ember_nn::metrics::AnyMetric<2>; 0] = [];
    fit(
        &mut m,
        &train,
        None::<&SliceDataset<'_, f32>>,
        &FitOptions::epochs(EPOCHS),
        &mut metrics,
        &mut (),
        buffers,
    )
    .unwrap();
    let mut out = vec![0.0f32; N];
    m.predict(&[x], &mut [&mut out]).unwrap();
    out
}

#[test]
fn ember_train_trains_a_graph_model() {
    let dir = Scratch::new("train_graph");
    let blob = graph_blob();
    let model = dir.write("graph.emb", blob.as_slice());
    let (x, y) = data();
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    write_npy(
        &xp,
        &Tensor {
            shape: vec![N, 2],
            data: x.clone(),
        },
    )
    .unwrap();
    write_npy(
        &yp,
        &Tensor {
            shape: vec![N, 1],
            data: y.clone(),
        },
    )
    .unwrap();
    let (trained, history, plot) = (
        dir.path("trained.emb"),
        dir.path("history.csv"),
        dir.path("curve.png"),
    );
    let ckpt = dir.path("ckpt.emb");
    ok(&ember!(
        "train",
        model,
        "--x",
        xp,
        "--y",
        yp,
        "--epochs",
        EPOCHS.to_string(),
        "--batch-size",
        "8",
        "--optimizer",
        "sgd",
        "--learning-rate",
        "0.1",
        "--loss",
        "mse",
        "--metrics",
        "mae",
        "--checkpoint",
        ckpt,
        "-o",
        trained,
        "--history",
        history,
        "--plot",
        plot
    ));

    // The history: one row per epoch, the loss falls.
    let text = std::fs::read_to_string(&history).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|&h| h == "loss").unwrap();
    let losses: Vec<f32> = lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), EPOCHS);
    assert!(
        losses[EPOCHS - 1] < 0.5 * losses[0],
        "the loss does not decrease: {losses:?}"
    );
    assert!(header.contains(&"mean_absolute_error") || header.contains(&"mae"));
    assert!(std::fs::metadata(&plot).unwrap().len() > 0);

    // The trained blob is still a graph, with trained weights.
    let out = blob_file::read(&trained).unwrap();
    let g = Graph::<f32>::parse(out.as_slice()).unwrap();
    assert!(!g.is_chain());
    assert_eq!(g.nodes().len(), 4);
    assert!(
        out.as_slice() != blob.as_slice(),
        "the weights did not change"
    );
    // The last epoch's checkpoint holds the final weights.
    assert!(blob_file::read(&ckpt).unwrap().as_slice() == out.as_slice());

    // `ember predict` of the trained blob (written as CSV) = the in-process Functional's
    // predictions after the same fit, bit for bit.
    let pred = dir.path("pred.csv");
    ok(&ember!(
        "predict", trained, "--input", xp, "--output", pred, "--batch", "8"
    ));
    let got = read_csv(&pred).unwrap();
    assert_eq!(got.shape, vec![N, 1]);
    let want = in_process(blob.as_slice(), &x, &y);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got.data), bits(&want));
}

#[test]
fn ember_train_refuses_graph_data_of_the_wrong_shape() {
    let dir = Scratch::new("train_graph_shape");
    let model = dir.write("graph.emb", graph_blob().as_slice());
    let xp = dir.path("x.npy");
    write_npy(
        &xp,
        &Tensor {
            shape: vec![4, 3],
            data: vec![0.0; 12],
        },
    )
    .unwrap();
    let yp = dir.path("y.npy");
    write_npy(
        &yp,
        &Tensor {
            shape: vec![4, 1],
            data: vec![0.0; 4],
        },
    )
    .unwrap();
    let err = fails(&ember!(
        "train",
        model,
        "--x",
        xp,
        "--y",
        yp,
        "--epochs",
        "1",
        "--loss",
        "mse",
        "-o",
        dir.path("t.emb")
    ));
    assert!(err.contains("the model takes (N, 2)"), "{err}");
}
