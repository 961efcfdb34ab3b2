//! Bias-only training ([`Trainable::BiasOnly`]) and per-tensor trainability
//! ([`TensorMask`], [`Layer::backward_masked`]).
//!
//! - Keras golden (`tests/fixtures/bias_only`, see its `generate.py`): 3 SGD-momentum
//!   steps of an MLP (Dense, LayerNormalization, a bias-free Dense), a small CNN (Conv2D,
//!   BatchNormalization, SeparableConv2D, BatchNormalization without beta,
//!   Conv2DTranspose, Dense) and the digits CNN, with every non-bias variable
//!   `trainable=False` in Keras: losses and every weight (moving statistics included)
//!   ≤ 1e-5 relative, frozen tensors bit for bit, read in place from the blob.
//! - Memory: the arena holds only the bias copies, their gradients and optimizer slots
//!   (plus layer state, activations and gradient buffers) — equal to a hand count, less
//!   than `LastK(1)` and `All`, and exact (one byte less is `ArenaTooSmall`).
//! - Layers: `backward_masked` gives, for every layer with a bias, the same gradients as
//!   the full backward pass (bit for bit) for the bias alone and for the kernels alone,
//!   and refuses other subsets and wrong buffers without panicking.
//! - Q16.16 bias-only training agrees with f32.

use std::path::PathBuf;

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::read_keras_file;
use ember_cli::summary::{render, summarize};
use ember_cli::train_spec::parse_trainable;
use ember_nn::layers::{
    BatchNormalization, Context, Conv1DTranspose, Conv2D, Dense, DepthwiseConv2D, Layer,
    LayerConfig, LayerNormalization, Padding, SeparableConv1D, TensorMask,
};
use ember_nn::model::Graph;
use ember_nn::{
    Activation, Error, Loss, MemoryPlan, Optimizer, Scalar, Sequential, Sgd, Shape, TensorView,
    TrainConfig, Trainable, Q16_16,
};
use ember_tests::{assert_close, npy};
use serde_json::Value;

const DIR: &str = "bias_only";

fn fixture(file: &str) -> PathBuf {
    ember_tests::fixture(DIR, file)
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

/// The model of a case, converted.
fn case_blob(name: &str, dtype: DTypeChoice) -> AlignedBytes {
    let path = match name {
        "digits" => ember_tests::fixture("digits_cnn", "model.keras"),
        other => fixture(&format!("{other}.keras")),
    };
    convert(&read_keras_file(&path).unwrap(), dtype).unwrap()
}

fn sgd(lr: f32, momentum: f32) -> Optimizer {
    Optimizer::sgd(Sgd {
        learning_rate: lr,
        momentum,
        nesterov: false,
    })
}

fn config(case: &Value, trainable: Trainable) -> TrainConfig {
    TrainConfig {
        batch_size: case["batch_size"].as_u64().unwrap() as usize,
        optimizer: sgd(
            case["learning_rate"].as_f64().unwrap() as f32,
            case["momentum"].as_f64().unwrap() as f32,
        ),
        loss: Loss::categorical_crossentropy(),
        trainable,
    }
}

/// Largest `|a − e| / max(|e|, floor)`.
fn worst_rel(actual: &[f32], expected: &[f32], floor: f32) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs() / e.abs().max(floor))
        .fold(0.0, f32::max)
}

/// Largest `|a − e|`.
fn worst_abs(actual: &[f32], expected: &[f32]) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

#[test]
fn three_sgd_momentum_steps_match_keras() {
    let mut worst_loss = 0.0f32;
    let mut worst_weight = 0.0f32;
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let b = case_blob(name, DTypeChoice::F32);
        let blob = b.as_slice();
        let cfg = config(&case, Trainable::BiasOnly);
        let needed = Sequential::<f32>::training_bytes(blob, &cfg).unwrap();
        let mut arena = AlignedBytes::zeroed(needed);
        let mut m = Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg).unwrap();
        let x = npy(DIR, &format!("{name}_x.npy")).data;
        let y = npy(DIR, &format!("{name}_y.npy")).data;
        let want_losses = npy(DIR, &format!("{name}_losses.npy")).data;
        let steps = case["steps"].as_u64().unwrap() as usize;
        let (xn, yn) = (x.len() / steps, y.len() / steps);
        let losses: Vec<f32> = (0..steps)
            .map(|s| {
                m.train_on_batch(&x[s * xn..(s + 1) * xn], &y[s * yn..(s + 1) * yn])
                    .unwrap()
            })
            .collect();
        assert_close(&format!("{name} losses"), &losses, &want_losses, 1e-5, 0.0);
        let case_loss = worst_rel(&losses, &want_losses, 1e-30);
        worst_loss = worst_loss.max(case_loss);
        let mut case_weight = 0.0f32;
        let mut case_abs = 0.0f32;

        let biases: Vec<usize> = case["bias_weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let paths = case["weights"].as_array().unwrap();
        let graph = Graph::<f32>::parse(blob).unwrap();
        let mut w = 0;
        for (k, l) in graph.layers().iter().enumerate() {
            let n_train = l.trainable_tensors();
            for (i, blob_param) in l.params.iter().enumerate() {
                let what = format!("{name} {}", paths[w].as_str().unwrap());
                let got = m.param(k, i).unwrap();
                let want = npy(DIR, &format!("{name}_w{w}.npy")).data;
                if biases.contains(&w) {
                    assert_eq!(
                        m.memory_plan().trained_tensors(k),
                        TensorMask::only(i),
                        "{what}"
                    );
                    // Biases that feed a BatchNormalization in training mode have a true
                    // gradient of 0 (the normalization cancels them): their tiny updates
                    // are rounding noise in both, hence the absolute floor.
                    assert_close(&what, got, &want, 1e-5, 1e-7);
                    case_weight = case_weight.max(worst_rel(got, &want, 1e-2));
                    case_abs = case_abs.max(worst_abs(got, &want));
                } else if i < n_train {
                    // Frozen: bit for bit, and still the blob's (flash) memory.
                    assert_eq!(got, &want[..], "{what} unchanged");
                    assert_eq!(got, *blob_param, "{what} unchanged");
                    assert!(std::ptr::eq(got, *blob_param), "{what} read in place");
                } else {
                    // Moving statistics: updated in training mode, as in Keras.
                    assert_close(&what, got, &want, 1e-5, 1e-7);
                    case_weight = case_weight.max(worst_rel(got, &want, 1e-2));
                    case_abs = case_abs.max(worst_abs(got, &want));
                }
                w += 1;
            }
        }
        assert_eq!(w, paths.len(), "{name}: every Keras weight checked");
        println!("{name}: worst loss rel error {case_loss:e}, worst weight rel error {case_weight:e} (|w| floored at 1e-2), worst weight abs error {case_abs:e}");
        worst_weight = worst_weight.max(case_weight);
    }
    println!("bias-only vs Keras: worst loss rel error {worst_loss:e}, worst weight rel error {worst_weight:e}");
}

/// Hand count of the digits CNN's training arena, f32, batch 32, SGD with momentum.
///
/// Layer outputs per sample: Conv2D 8·8·16 = 1024, BatchNormalization 1024, ReLU 1024,
/// MaxPooling2D 4·4·16 = 256, DepthwiseConv2D 4·4·32 = 512, GlobalAveragePooling2D 32,
/// Dense 10: activations = 32·4·3882 = 496 896 bytes; gradient buffers = 2·32·1024·4 =
/// 262 144 bytes (every region is a multiple of 16 already).
const DIGITS_ACTIVATIONS: usize = 32 * 4 * (3 * 1024 + 256 + 512 + 32 + 10);
const DIGITS_GBUFS: usize = 2 * 32 * 1024 * 4;

fn align16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

#[test]
fn bias_only_arena_is_exact_and_smallest() {
    let b = case_blob("digits", DTypeChoice::F32);
    let blob = b.as_slice();
    let g = Graph::<f32>::parse(blob).unwrap();
    let cfg = |trainable| TrainConfig {
        batch_size: 32,
        optimizer: sgd(0.05, 0.9),
        loss: Loss::categorical_crossentropy(),
        trainable,
    };
    let plan = |t| MemoryPlan::training(&g, &cfg(t)).unwrap();
    let (bias, last, all) = (
        plan(Trainable::BiasOnly),
        plan(Trainable::LastK(1)),
        plan(Trainable::All),
    );
    // BiasOnly: P = 16 (conv bias) + 16 (bn beta) + 32 (depthwise bias) + 10 (dense bias)
    // = 74 elements; S = 32 (bn moving mean and variance: the layer is included, as in
    // Keras, so it runs in training mode and updates them).
    let p = 74 * 4;
    assert_eq!(bias.trained_elements(), 74);
    assert_eq!(bias.params_bytes, align16(p));
    assert_eq!(bias.grads_bytes, align16(p));
    assert_eq!(bias.optimizer_bytes, align16(p)); // one momentum slot
    assert_eq!(bias.state_bytes, 32 * 4);
    assert_eq!(bias.activations_bytes, DIGITS_ACTIVATIONS);
    assert_eq!(bias.gradient_buffers_bytes, DIGITS_GBUFS);
    let want = 3 * align16(p) + 32 * 4 + DIGITS_ACTIVATIONS + DIGITS_GBUFS;
    assert_eq!(bias.total_bytes(), want);
    assert_eq!(want, 760_080);
    // LastK(1): the Dense head, 32·10 + 10 = 330 elements, no layer state.
    assert_eq!(last.trained_elements(), 330);
    assert_eq!(
        last.total_bytes(),
        3 * align16(330 * 4) + DIGITS_ACTIVATIONS + DIGITS_GBUFS
    );
    // All: 3·3·1·16 + 16 + 2·16 + 3·3·16·2 + 32 + 32·10 + 10 = 842 trainable elements.
    assert_eq!(all.trained_elements(), 842);
    assert_eq!(
        all.total_bytes(),
        3 * align16(842 * 4) + 32 * 4 + DIGITS_ACTIVATIONS + DIGITS_GBUFS
    );
    assert!(bias.total_bytes() < last.total_bytes());
    assert!(last.total_bytes() < all.total_bytes());
    println!(
        "digits_cnn training arena (f32, batch 32, SGD momentum): All {} B, LastK(1) {} B, BiasOnly {} B",
        all.total_bytes(),
        last.total_bytes(),
        bias.total_bytes()
    );

    // The figure is exact: it loads, and one aligned step less does not.
    let needed = Sequential::<f32>::training_bytes(blob, &cfg(Trainable::BiasOnly)).unwrap();
    assert_eq!(needed, want);
    let mut arena = AlignedBytes::zeroed(needed);
    Sequential::<f32>::for_training(blob, arena.as_mut_slice(), cfg(Trainable::BiasOnly)).unwrap();
    let err = Sequential::<f32>::for_training(
        blob,
        &mut arena.as_mut_slice()[..needed - 16],
        cfg(Trainable::BiasOnly),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::ArenaTooSmall {
            needed,
            available: needed - 16
        }
    );

    // `ember inspect --trainable bias-only` reports the same bytes, the bias counts.
    let t = parse_trainable("bias-only").unwrap();
    assert_eq!(t, Trainable::BiasOnly);
    let s = summarize(blob, 1, &cfg(t)).unwrap();
    assert_eq!(s.arena_training_bytes, want);
    assert_eq!(
        s.training_breakdown,
        [
            align16(p),
            align16(p),
            align16(p),
            128,
            DIGITS_ACTIVATIONS,
            DIGITS_GBUFS
        ]
    );
    let trained: Vec<usize> = s.layers.iter().map(|l| l.trained_params).collect();
    assert_eq!(trained, [16, 16, 0, 0, 32, 0, 10]);
    let text = render(&s);
    assert!(text.contains("conv (Conv2D) (trains 16)"), "{text}");
    assert!(text.contains("dense (Dense) (trains 10)"), "{text}");
    assert!(text.contains("760080 bytes"), "{text}");
}

#[test]
fn mlp_memory_is_a_hand_count() {
    // Dense(5→8) + LayerNormalization(8) + Dense(8→6, no bias) + Dense(6→3), f32, batch 8,
    // SGD momentum: P = 8 (d1 bias) + 8 (ln beta) + 3 (head bias) = 19 elements.
    let case = &cases()[0];
    assert_eq!(case["name"], "mlp");
    let b = case_blob("mlp", DTypeChoice::F32);
    let g = Graph::<f32>::parse(b.as_slice()).unwrap();
    let p = MemoryPlan::training(&g, &config(case, Trainable::BiasOnly)).unwrap();
    let acts = 8 * 4 * (8 + 8 + 6 + 3);
    let gbufs = 2 * 8 * 8 * 4;
    assert_eq!(p.total_bytes(), 3 * align16(19 * 4) + acts + gbufs);
    // The bias-free Dense is included but trains nothing; the kernels are not copied.
    assert_eq!(p.trained_tensors(2), TensorMask::EMPTY);
    assert_eq!(p.trained_tensors(1), TensorMask::only(1));
    let all = MemoryPlan::training(&g, &config(case, Trainable::All)).unwrap();
    assert!(p.total_bytes() < all.total_bytes());
}

#[test]
fn fixed_point_bias_only_training_agrees_with_f32() {
    // Q16.16 rounds each product to 2^-16 ≈ 1.5e-5; 3 steps of a 5-input MLP stay within
    // a few 1e-4 of f32 (biases, losses).
    let case = &cases()[0];
    let cfg = config(case, Trainable::BiasOnly);
    let x = npy(DIR, "mlp_x.npy").data;
    let y = npy(DIR, "mlp_y.npy").data;
    let (xn, yn) = (x.len() / 3, y.len() / 3);
    let bf = case_blob("mlp", DTypeChoice::F32);
    let bq = case_blob("mlp", DTypeChoice::Fixed);
    let mut af =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(bf.as_slice(), &cfg).unwrap());
    let mut aq =
        AlignedBytes::zeroed(Sequential::<Q16_16>::training_bytes(bq.as_slice(), &cfg).unwrap());
    let mut mf = Sequential::<f32>::for_training(bf.as_slice(), af.as_mut_slice(), cfg).unwrap();
    let mut mq = Sequential::<Q16_16>::for_training(bq.as_slice(), aq.as_mut_slice(), cfg).unwrap();
    let q = |v: &[f32]| v.iter().map(|&a| Q16_16::from_f32(a)).collect::<Vec<_>>();
    let mut worst = 0.0f32;
    for s in 0..3 {
        let lf = mf
            .train_on_batch(&x[s * xn..(s + 1) * xn], &y[s * yn..(s + 1) * yn])
            .unwrap();
        let lq = mq
            .train_on_batch(&q(&x[s * xn..(s + 1) * xn]), &q(&y[s * yn..(s + 1) * yn]))
            .unwrap()
            .to_f32();
        worst = worst.max((lf - lq).abs());
    }
    let pf = mf.trainable_params();
    let pq: Vec<f32> = mq.trainable_params().iter().map(|v| v.to_f32()).collect();
    assert_eq!(pf.len(), 19);
    for (a, b) in pf.iter().zip(&pq) {
        worst = worst.max((a - b).abs());
    }
    println!("Q16.16 vs f32 bias-only MLP: worst abs difference {worst:e}");
    assert!(worst < 1e-3, "{worst}");
}

/// Runs `backward_masked` of `layer` with every tensor, the bias alone and the kernels
/// alone, and checks the partial gradients are the full ones' slices, bit for bit, and
/// `dx` identical.
fn check_masks<L: Layer>(layer: L, input: &[usize], batch: usize) {
    let cfg_name = L::KERAS_CLASS;
    let mut dims = vec![batch];
    dims.extend_from_slice(input);
    let in_shape = Shape::new(input).unwrap();
    let out_shape = layer.output_shape(in_shape).unwrap();
    let shapes = layer.param_shapes(in_shape).unwrap();
    let bias = layer.bias_tensor().expect("has a bias");
    let n_train = shapes.len() - layer.state_tensors();
    let mut seed = 1u32;
    let mut rnd = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((seed >> 8) as f32 / (1u32 << 24) as f32) - 0.5
            })
            .collect()
    };
    let params: Vec<Vec<f32>> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = rnd(s.len());
            // Positive variances for the normalization layers' state.
            if i >= n_train {
                v.iter().map(|a| a + 1.0).collect()
            } else {
                v
            }
        })
        .collect();
    let ps: Vec<&[f32]> = params.iter().map(|p| p.as_slice()).collect();
    let x = rnd(batch * in_shape.len());
    let mut out_dims = vec![batch];
    out_dims.extend(out_shape.dims().iter().map(|&d| d as usize));
    let y_shape = Shape::new(&out_dims).unwrap();
    let x_shape = Shape::new(&dims).unwrap();
    let mut y = vec![0.0f32; y_shape.len()];
    let ctx = Context::training(3);
    layer
        .forward(
            &ps,
            TensorView::new(x_shape, &x).unwrap(),
            ember_nn::TensorViewMut::new(y_shape, &mut y).unwrap(),
            &ctx,
        )
        .unwrap();
    let c = rnd(y.len());
    let lens: Vec<usize> = shapes[..n_train].iter().map(|s| s.len()).collect();
    let run = |mask: TensorMask| -> (Vec<f32>, Vec<f32>) {
        let mut dy = c.clone();
        let mut dx = vec![0.0f32; x.len()];
        let mut dp = vec![f32::NAN; mask.select_len(&lens)];
        layer
            .backward_masked(
                &ps,
                TensorView::new(x_shape, &x).unwrap(),
                TensorView::new(y_shape, &y).unwrap(),
                &mut dy,
                Some(&mut dx),
                Some(&mut dp),
                mask,
                &ctx,
            )
            .unwrap();
        (dp, dx)
    };
    let all = TensorMask::first(n_train);
    let (full, dx_full) = run(all);
    // The trait's backward is the all-tensors case.
    let mut dy = c.clone();
    let mut dx = vec![0.0f32; x.len()];
    let mut dp = vec![0.0f32; full.len()];
    layer
        .backward(
            &ps,
            TensorView::new(x_shape, &x).unwrap(),
            TensorView::new(y_shape, &y).unwrap(),
            &mut dy,
            Some(&mut dx),
            Some(&mut dp),
            &ctx,
        )
        .unwrap();
    assert_eq!(dp, full, "{cfg_name}: backward = backward_masked(all)");
    assert_eq!(dx, dx_full, "{cfg_name}");
    let offset = |i: usize| lens[..i].iter().sum::<usize>();
    let (db, dx_b) = run(TensorMask::only(bias));
    assert_eq!(
        db,
        full[offset(bias)..offset(bias) + lens[bias]],
        "{cfg_name}: bias alone"
    );
    assert_eq!(dx_b, dx_full, "{cfg_name}: dx with the bias alone");
    let kernels = all.without(bias);
    if !kernels.is_empty() {
        let (dk, dx_k) = run(kernels);
        let want: Vec<f32> = (0..n_train)
            .filter(|&i| i != bias)
            .flat_map(|i| full[offset(i)..offset(i) + lens[i]].to_vec())
            .collect();
        assert_eq!(dk, want, "{cfg_name}: kernels alone");
        assert_eq!(dx_k, dx_full, "{cfg_name}");
    }
    // No gradient at all: dx still right.
    let (none, dx_n) = run(TensorMask::EMPTY);
    assert!(none.is_empty());
    assert_eq!(dx_n, dx_full, "{cfg_name}: dx without parameter gradients");
    // A wrong gradient buffer is an error, not a panic.
    let mut dy = c.clone();
    let mut short = vec![0.0f32; lens[bias] + 1];
    let err = layer
        .backward_masked(
            &ps,
            TensorView::new(x_shape, &x).unwrap(),
            TensorView::new(y_shape, &y).unwrap(),
            &mut dy,
            None,
            Some(&mut short),
            TensorMask::only(bias),
            &ctx,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { .. }),
        "{cfg_name}: {err:?}"
    );
    // A tensor the layer does not have.
    let mut dy = c.clone();
    let err = layer
        .backward_masked(
            &ps,
            TensorView::new(x_shape, &x).unwrap(),
            TensorView::new(y_shape, &y).unwrap(),
            &mut dy,
            None,
            None,
            TensorMask::only(3),
            &ctx,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig(_)),
        "{cfg_name}: {err:?}"
    );
}

#[test]
fn masked_backward_gives_the_full_gradients_slices() {
    check_masks(
        Dense {
            units: 3,
            activation: Activation::Tanh,
            use_bias: true,
        },
        &[4],
        5,
    );
    check_masks(
        Conv2D {
            filters: 4,
            kernel_size: [2, 3],
            strides: [1, 1],
            padding: Padding::Same,
            dilation_rate: [1, 1],
            groups: 2,
            activation: Activation::Relu,
            use_bias: true,
        },
        &[4, 5, 2],
        3,
    );
    check_masks(
        DepthwiseConv2D {
            kernel_size: [3, 3],
            strides: [1, 1],
            padding: Padding::Valid,
            depth_multiplier: 2,
            dilation_rate: [1, 1],
            activation: Activation::Linear,
            use_bias: true,
        },
        &[5, 5, 3],
        2,
    );
    check_masks(
        SeparableConv1D {
            filters: 4,
            kernel_size: 3,
            strides: 1,
            padding: Padding::Same,
            depth_multiplier: 2,
            dilation_rate: 1,
            activation: Activation::Sigmoid,
            use_bias: true,
        },
        &[6, 3],
        2,
    );
    check_masks(
        Conv1DTranspose {
            filters: 3,
            kernel_size: 3,
            strides: 2,
            padding: Padding::Valid,
            output_padding: None,
            dilation_rate: 1,
            activation: Activation::Linear,
            use_bias: true,
        },
        &[4, 2],
        2,
    );
    check_masks(
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
        },
        &[3, 4],
        3,
    );
    check_masks(LayerNormalization::last_axis(1e-3), &[2, 5], 3);
}

#[test]
fn partial_masks_are_refused_where_unsupported() {
    // SeparableConv: the depthwise kernel alone (without the pointwise one) is not a
    // supported subset.
    let sep = SeparableConv1D {
        filters: 2,
        kernel_size: 2,
        strides: 1,
        padding: Padding::Valid,
        depth_multiplier: 1,
        dilation_rate: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    let shapes = sep.param_shapes(Shape::new(&[3, 2]).unwrap()).unwrap();
    let params: Vec<Vec<f32>> = shapes.iter().map(|s| vec![0.5; s.len()]).collect();
    let ps: Vec<&[f32]> = params.iter().map(|p| p.as_slice()).collect();
    let x = [0.25f32; 6];
    let y = [0.0f32; 4];
    let mut dy = [1.0f32; 4];
    let err = sep
        .backward_masked(
            &ps,
            TensorView::new(Shape::new(&[1, 3, 2]).unwrap(), &x).unwrap(),
            TensorView::new(Shape::new(&[1, 2, 2]).unwrap(), &y).unwrap(),
            &mut dy,
            None,
            Some(&mut [0.0; 4]),
            TensorMask::only(0),
            &Context::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    // A layer without a bias: the trait's default takes all or nothing.
    let prelu = LayerConfig::PReLU(ember_nn::layers::PReLU { shared_axes: 0 });
    assert_eq!(prelu.bias_tensor(), None);
    let alpha = [0.1f32; 2];
    let x = [-1.0f32, 2.0];
    let mut dy = [1.0f32, 1.0];
    let s = Shape::new(&[1, 2]).unwrap();
    let mut dparams = [0.0f32; 2];
    let err = prelu
        .backward_masked(
            &[&alpha],
            TensorView::new(s, &x).unwrap(),
            TensorView::new(s, &x).unwrap(),
            &mut dy,
            None,
            Some(&mut dparams),
            TensorMask::EMPTY,
            &Context::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err:?}");
    // Bias-only training of a model without any bias is a configuration error.
    let dense = LayerConfig::Dense(Dense {
        units: 2,
        activation: Activation::Linear,
        use_bias: false,
    });
    assert_eq!(dense.bias_tensor(), None);
    assert_eq!(
        Trainable::BiasOnly.tensors(&dense, 0, 1, true, 1),
        TensorMask::EMPTY
    );
    assert_eq!(
        Trainable::All.tensors(&dense, 0, 1, true, 1),
        TensorMask::first(1)
    );
}
