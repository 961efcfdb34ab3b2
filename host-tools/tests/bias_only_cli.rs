//! `--trainable bias-only` end to end through the `ember` binary: `inspect` reports the
//! exact bias-only training arena (the figure `Sequential::training_bytes` gives),
//! `convert` accepts it, and `train` updates only the biases (kernels bit for bit).

#[macro_use]
mod cli_support;

use cli_support::*;
use ember_nn::model::Graph;
use ember_nn::{Loss, Optimizer, Sequential, Sgd, TrainConfig, Trainable};

fn config(trainable: Trainable) -> TrainConfig {
    TrainConfig {
        batch_size: 32,
        optimizer: Optimizer::sgd(Sgd {
            learning_rate: 0.01,
            momentum: 0.9,
            nesterov: false,
        }),
        loss: Loss::categorical_crossentropy(),
        trainable,
    }
}

#[test]
fn inspect_reports_the_bias_only_arena() {
    let dir = Scratch::new("bias_only_inspect");
    let blob = convert_fixture(&dir, "digits_cnn");
    let bytes = std::fs::read(&blob).unwrap();
    let aligned = ember_cli::blob_file::AlignedBytes::from_slice(&bytes);
    let json = |t: &str| {
        inspect_json(
            &blob,
            &[
                "--train-batch",
                "32",
                "--optimizer",
                "sgd-momentum",
                "--trainable",
                t,
            ],
        )
    };
    let (bias, last, all) = (json("bias-only"), json("last-1"), json("all"));
    let want = Sequential::<f32>::training_bytes(aligned.as_slice(), &config(Trainable::BiasOnly))
        .unwrap() as u64;
    // 3 × 304 (74 bias elements: params, grads, momentum) + 128 (BN moving statistics)
    // + 496 896 (activations) + 262 144 (gradient buffers); see tests/tests/bias_only.rs.
    assert_eq!(want, 760_080);
    assert_eq!(u(&bias, "arena_training_bytes"), want);
    assert_eq!(breakdown(&bias)[..4], [304, 304, 304, 128]);
    assert!(u(&bias, "arena_training_bytes") < u(&last, "arena_training_bytes"));
    assert!(u(&last, "arena_training_bytes") < u(&all, "arena_training_bytes"));
    let trained: Vec<u64> = bias["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| u(l, "trained_params"))
        .collect();
    assert_eq!(trained, [16, 16, 0, 0, 32, 0, 10]);
    let text = ok(&ember!(
        "inspect",
        blob,
        "--train-batch",
        "32",
        "--optimizer",
        "sgd-momentum",
        "--trainable",
        "bias-only"
    ));
    assert!(text.contains("conv (Conv2D) (trains 16)"), "{text}");
    assert!(text.contains("trainable BiasOnly): 760080 bytes"), "{text}");
    // convert takes the same memory options.
    let out = dir.path("again.emb");
    ok(&ember!(
        "convert",
        fixture("digits_cnn", "model.keras"),
        "-o",
        out,
        "--trainable",
        "bias-only"
    ));
    // A misspelling is a usage error (clap: status 2) naming the choices.
    let out = ember!("inspect", blob, "--trainable", "bias");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bias-only"));
}

#[test]
fn train_bias_only_changes_only_biases() {
    let dir = Scratch::new("bias_only_train");
    let keras = fixture("bias_only", "mlp.keras");
    let blob = dir.path("mlp.emb");
    ok(&ember!("convert", keras, "-o", blob));
    let trained = dir.path("trained.emb");
    let out = run(&[
        "train".as_ref(),
        blob.as_os_str(),
        "--x".as_ref(),
        fixture("bias_only", "mlp_x.npy").as_os_str(),
        "--y".as_ref(),
        fixture("bias_only", "mlp_y.npy").as_os_str(),
        "--epochs".as_ref(),
        "2".as_ref(),
        "--batch-size".as_ref(),
        "8".as_ref(),
        "--optimizer".as_ref(),
        "sgd-momentum".as_ref(),
        "--loss".as_ref(),
        "categorical_crossentropy".as_ref(),
        "--trainable".as_ref(),
        "bias-only".as_ref(),
        "-o".as_ref(),
        trained.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let before = ember_cli::blob_file::AlignedBytes::from_slice(&std::fs::read(&blob).unwrap());
    let after = ember_cli::blob_file::AlignedBytes::from_slice(&std::fs::read(&trained).unwrap());
    let (g0, g1) = (
        Graph::<f32>::parse(before.as_slice()).unwrap(),
        Graph::<f32>::parse(after.as_slice()).unwrap(),
    );
    let mut changed = Vec::new();
    for (k, (a, b)) in g0.layers().iter().zip(g1.layers()).enumerate() {
        for (i, (p, q)) in a.params.iter().zip(&b.params).enumerate() {
            if p != q {
                changed.push((k, i));
            }
        }
    }
    // d1/bias, ln/beta, head/bias; every kernel and gamma as saved.
    assert_eq!(changed, [(0, 1), (1, 1), (3, 1)]);
}
