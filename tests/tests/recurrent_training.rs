//! Training properties of the recurrent layers that Keras cannot give goldens for:
//! finite differences through a whole model (`Embedding(mask_zero) → LSTM(return_sequences)
//! → GRU → Dense`), truncated backpropagation through time (`Recurrent::bptt_window`) and
//! its memory, and dropout in training (deterministic per seed, the same masks in the
//! backward pass, the drop rate).

use ember_cli::blob_file::AlignedBytes;
use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::layers::{Context, Dense, Embedding, LayerConfig, TensorMask, GRU, LSTM};
use ember_nn::layers::{Recurrent, SimpleRNN};
use ember_nn::{Activation, Loss, Optimizer, Sequential, Sgd, Shape, TensorView, TensorViewMut};
use ember_nn::{TrainConfig, Trainable};
use ember_tests::lcg_values;

// ---- helpers ---------------------------------------------------------------------------

/// `n` values in `[-scale, scale)` from the suite's LCG.
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    lcg_values(n, seed).iter().map(|v| v * scale).collect()
}

/// A layer call's tensors: the sequence `(batch, steps, features)`, initial states.
struct Call<'a> {
    config: LayerConfig,
    params: &'a [Vec<f32>],
    input: Shape,
    batch: usize,
    x: &'a [f32],
    states: &'a [Vec<f32>],
}

impl Call<'_> {
    fn shapes(&self) -> Vec<Shape> {
        let mut s = vec![self.input];
        for st in self.states {
            s.push(Shape::new(&[st.len() / self.batch]).unwrap());
        }
        s
    }

    fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.config.scratch_elems(&self.shapes(), true).unwrap()]
    }

    fn xs(&self) -> Vec<TensorView<'_, f32>> {
        self.shapes()
            .iter()
            .zip(std::iter::once(self.x).chain(self.states.iter().map(Vec::as_slice)))
            .map(|(s, d)| TensorView::new(s.with_batch(self.batch).unwrap(), d).unwrap())
            .collect()
    }

    fn out_shape(&self) -> Shape {
        self.config
            .output_shape_n(&self.shapes())
            .unwrap()
            .with_batch(self.batch)
            .unwrap()
    }

    fn forward(&self, ctx: &Context) -> Vec<f32> {
        let ps: Vec<&[f32]> = self.params.iter().map(Vec::as_slice).collect();
        let ys = self.out_shape();
        let mut y = vec![0.0f32; ys.len()];
        let mut scratch = self.scratch();
        self.config
            .forward_call(
                &ps,
                &self.xs(),
                None,
                TensorViewMut::new(ys, &mut y).unwrap(),
                &mut scratch,
                ctx,
            )
            .unwrap();
        y
    }

    /// `(dx, dstates, dparams)` for the cotangent `c`.
    fn backward(&self, c: &[f32], ctx: &Context) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>) {
        let ps: Vec<&[f32]> = self.params.iter().map(Vec::as_slice).collect();
        let y = self.forward(ctx);
        let mut dy = c.to_vec();
        let mut dx = vec![0.0f32; self.x.len()];
        let mut ds: Vec<Vec<f32>> = self.states.iter().map(|s| vec![0.0; s.len()]).collect();
        let mut dp = vec![0.0f32; self.params.iter().map(Vec::len).sum()];
        let mut scratch = self.scratch();
        {
            let mut dxs: Vec<Option<&mut [f32]>> = vec![Some(&mut dx[..])];
            dxs.extend(ds.iter_mut().map(|d| Some(&mut d[..])));
            self.config
                .backward_call(
                    &ps,
                    &self.xs(),
                    None,
                    TensorView::new(self.out_shape(), &y).unwrap(),
                    &mut dy,
                    &mut dxs,
                    Some(&mut dp),
                    TensorMask::first(self.params.len()),
                    &mut scratch,
                    ctx,
                )
                .unwrap();
        }
        (dx, ds, dp)
    }
}

fn with_rnn(config: LayerConfig, f: impl Fn(&mut Recurrent)) -> LayerConfig {
    let mut c = config;
    match &mut c {
        LayerConfig::SimpleRNN(l) => f(&mut l.rnn),
        LayerConfig::LSTM(l) => f(&mut l.rnn),
        LayerConfig::GRU(l) => f(&mut l.rnn),
        other => panic!("{other:?}"),
    }
    c
}

/// Random parameters of Keras's shapes for `config` on `input`.
fn random_params(config: &LayerConfig, input: Shape, seed: u64, scale: f32) -> Vec<Vec<f32>> {
    config
        .param_shapes(input)
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| values(s.len(), seed + i as u64, scale))
        .collect()
}

fn sgd(lr: f32) -> Optimizer {
    Optimizer::sgd(Sgd {
        learning_rate: lr,
        momentum: 0.0,
        nesterov: false,
    })
}

fn blob_of(input: Shape, layers: &[LayerSpec<'_, f32>]) -> AlignedBytes {
    let len = encoded_len("rnn_model", input, layers).unwrap();
    let mut b = AlignedBytes::zeroed(len);
    write("rnn_model", input, layers, b.as_mut_slice()).unwrap();
    b
}

// ---- finite differences through a model --------------------------------------------------

/// `Embedding(9, 3, mask_zero) → LSTM(4, return_sequences) → GRU(3) → Dense(2)` on
/// 7-step id sequences (post-, pre- and unpadded): the analytic gradient of the mse loss
/// (SGD with rate 1: the update is the gradient) against central differences of
/// `test_on_batch`, every parameter.
#[test]
fn model_gradients_match_finite_differences() {
    let steps = 7;
    let mut lstm = LSTM::new(4);
    lstm.rnn.return_sequences = true;
    let layers_cfg = [
        LayerConfig::Embedding(Embedding {
            input_dim: 9,
            output_dim: 3,
            mask_zero: true,
        }),
        LayerConfig::LSTM(lstm),
        LayerConfig::GRU(GRU::new(3)),
        LayerConfig::Dense(Dense {
            units: 2,
            activation: Activation::Linear,
            use_bias: true,
        }),
    ];
    let input = Shape::new(&[steps]).unwrap();
    let mut shape = input;
    let mut params: Vec<Vec<Vec<f32>>> = Vec::new();
    for (k, c) in layers_cfg.iter().enumerate() {
        params.push(random_params(c, shape, 100 * k as u64 + 1, 0.8));
        shape = c.output_shape(shape).unwrap();
    }
    let refs: Vec<Vec<&[f32]>> = params
        .iter()
        .map(|p| p.iter().map(Vec::as_slice).collect())
        .collect();
    let names = ["embedding", "lstm", "gru", "dense"];
    let specs: Vec<LayerSpec<'_, f32>> = layers_cfg
        .iter()
        .zip(&refs)
        .zip(names)
        .map(|((c, p), n)| LayerSpec::new(n, true, *c, p))
        .collect();
    let b = blob_of(input, &specs);
    let batch = 3;
    #[rustfmt::skip]
    let ids: Vec<f32> = vec![
        3.0, 1.0, 8.0, 5.0, 2.0, 0.0, 0.0, // post-padded
        0.0, 0.0, 0.0, 4.0, 7.0, 6.0, 1.0, // pre-padded
        2.0, 2.0, 5.0, 8.0, 3.0, 1.0, 6.0, // full
    ];
    let targets = values(batch * 2, 77, 1.0);
    let cfg = TrainConfig {
        batch_size: batch,
        optimizer: sgd(1.0),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
    let mut m = Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
    let p0 = m.trainable_params().to_vec();
    assert_eq!(
        p0.len(),
        27 + (3 * 16 + 4 * 16 + 16) + (4 * 9 + 3 * 9 + 18) + 8
    );
    let loss0 = m.test_on_batch(&ids, &targets).unwrap();
    assert_eq!(m.train_on_batch(&ids, &targets).unwrap(), loss0);
    let grad: Vec<f32> = p0
        .iter()
        .zip(m.trainable_params())
        .map(|(a, b)| a - b)
        .collect();
    let eps = 1e-2f32;
    let (mut worst, mut worst_at) = (0.0f32, 0usize);
    let mut zero = 0;
    for i in 0..p0.len() {
        let mut p = p0.clone();
        p[i] += eps;
        m.set_trainable_params(&p).unwrap();
        let up = m.test_on_batch(&ids, &targets).unwrap();
        p[i] -= 2.0 * eps;
        m.set_trainable_params(&p).unwrap();
        let down = m.test_on_batch(&ids, &targets).unwrap();
        let fd = (up - down) / (2.0 * eps);
        let err = (fd - grad[i]).abs() / fd.abs().max(1e-2);
        if err > worst {
            (worst, worst_at) = (err, i);
        }
        zero += usize::from(grad[i] == 0.0);
        assert!(
            err < 2e-2,
            "parameter {i}: finite difference {fd}, backward {}",
            grad[i]
        );
    }
    // Every id 1..8 occurs; row 0 (the padding id) is masked and gets no gradient.
    assert_eq!(grad[..3], [0.0; 3], "the padding row is masked");
    assert_eq!(zero, 3);
    println!(
        "{} parameters, worst relative error vs central differences (eps {eps}): {worst:.2e} \
         (parameter {worst_at}); {zero} exact zeros",
        p0.len()
    );
}

// ---- truncated BPTT ----------------------------------------------------------------------

/// `bptt_window ≥ steps` gives full BPTT bit for bit; `W < steps` (return_sequences
/// False): the input gradient of every step before the last window is exactly zero, and
/// the parameter and input gradients equal those of the layer run on the last window
/// alone from the state reached after the first steps (given as a constant
/// `initial_state`): bit for bit for SimpleRNN and GRU, to rounding for the LSTM (whose
/// /// cell state is recomputed in float64 here). Windows end at the last step, so the last
/// window holds exactly `W` steps.
#[test]
fn truncated_bptt_is_full_bptt_of_the_last_window() {
    let (batch, n_in, units) = (3usize, 2usize, 4u32);
    let mut lstm_worst = 0.0f32;
    for (steps, w) in [(12usize, 4u32), (10, 4), (9, 1)] {
        let base_cells = [
            LayerConfig::SimpleRNN(SimpleRNN::new(units)),
            LayerConfig::GRU(GRU::new(units)),
            LayerConfig::LSTM(LSTM::new(units)),
        ];
        for base in base_cells {
            let class = base.keras_class();
            let input = Shape::new(&[steps, n_in]).unwrap();
            let params = random_params(&base, input, 5, 0.9);
            let x = values(batch * steps * n_in, 9, 1.0);
            let c = values(batch * units as usize, 13, 1.0);
            let ctx = Context::training(0);
            let call = |config: LayerConfig| Call {
                config,
                params: &params,
                input,
                batch,
                x: &x,
                states: &[],
            };
            let full = call(base).backward(&c, &ctx);
            // W >= steps: full BPTT, bit for bit.
            for big in [steps as u32, steps as u32 + 5] {
                let g = call(with_rnn(base, |r| r.bptt_window = big)).backward(&c, &ctx);
                assert_eq!(g.0, full.0, "{class} W={big}: dx");
                assert_eq!(g.2, full.2, "{class} W={big}: dparams");
            }
            // W < steps.
            let trunc = with_rnn(base, |r| r.bptt_window = w);
            let (dx, _, dp) = call(trunc).backward(&c, &ctx);
            assert_eq!(
                call(trunc).forward(&ctx),
                call(base).forward(&ctx),
                "{class}: y"
            );
            let k0 = steps - w as usize;
            for b in 0..batch {
                let per = steps * n_in;
                let before = &dx[b * per..b * per + k0 * n_in];
                assert!(
                    before.iter().all(|&v| v == 0.0),
                    "{class}: dx before window"
                );
                assert!(dx[b * per + k0 * n_in..(b + 1) * per]
                    .iter()
                    .any(|&v| v != 0.0));
            }
            assert_ne!(dp, full.2, "{class}: truncation changes the gradient");
            // The state after the first k0 steps: the layer's last output on them (and,
            // for the LSTM, its cell state c, which is not an output: from a float64
            // re-implementation, so that comparison is to rounding, not bit for bit).
            let split = |from: usize, to: usize| -> Vec<f32> {
                (0..batch)
                    .flat_map(|b| x[(b * steps + from) * n_in..(b * steps + to) * n_in].to_vec())
                    .collect()
            };
            let head_x = split(0, k0);
            let head_in = Shape::new(&[k0, n_in]).unwrap();
            let head = Call {
                config: base,
                params: &params,
                input: head_in,
                batch,
                x: &head_x,
                states: &[],
            };
            let h = head.forward(&ctx);
            let mut states = vec![h];
            if class == "LSTM" {
                let (h_ref, c_ref) = lstm_reference(&params, &head_x, batch, k0, n_in);
                ember_tests::assert_close("LSTM head h", &states[0], &h_ref, 1e-6, 1e-7);
                states.push(c_ref);
            }
            let tail_x = split(k0, steps);
            let tail_in = Shape::new(&[steps - k0, n_in]).unwrap();
            let tail = Call {
                config: base,
                params: &params,
                input: tail_in,
                batch,
                x: &tail_x,
                states: &states,
            };
            let (tdx, _, tdp) = tail.backward(&c, &ctx);
            let window_dx: Vec<f32> = (0..batch)
                .flat_map(|b| dx[(b * steps + k0) * n_in..(b + 1) * steps * n_in].to_vec())
                .collect();
            let what = format!("{class} steps={steps} W={w}");
            if class == "LSTM" {
                ember_tests::assert_close(&format!("{what}: dparams"), &dp, &tdp, 1e-5, 1e-6);
                ember_tests::assert_close(&format!("{what}: dx"), &window_dx, &tdx, 1e-5, 1e-6);
                lstm_worst = lstm_worst.max(ember_tests::worst_rel(&dp, &tdp, 1e-3));
            } else {
                assert_eq!(tdp, dp, "{what}: dparams");
                assert_eq!(tdx, window_dx, "{what}: dx");
            }
        }
    }
    println!("LSTM: truncated vs last-window gradients, worst relative {lstm_worst:.1e}");
}

/// `(h, c)` of a default `LSTM` (tanh, sigmoid; gates i, f, c, o) after `steps` steps
/// from zeros, in float64, rounded to f32: `(batch, units)` each.
fn lstm_reference(
    params: &[Vec<f32>],
    x: &[f32],
    batch: usize,
    steps: usize,
    n_in: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (kernel, recurrent, bias) = (&params[0], &params[1], &params[2]);
    let u = bias.len() / 4;
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (mut hs, mut cs) = (Vec::new(), Vec::new());
    for b in 0..batch {
        let (mut h, mut c) = (vec![0.0f64; u], vec![0.0f64; u]);
        for t in 0..steps {
            let xt = &x[(b * steps + t) * n_in..(b * steps + t + 1) * n_in];
            let z: Vec<f64> = (0..4 * u)
                .map(|g| {
                    let from_x: f64 = (0..n_in)
                        .map(|i| f64::from(xt[i]) * f64::from(kernel[i * 4 * u + g]))
                        .sum();
                    let from_h: f64 = (0..u)
                        .map(|j| h[j] * f64::from(recurrent[j * 4 * u + g]))
                        .sum();
                    from_x + from_h + f64::from(bias[g])
                })
                .collect();
            for j in 0..u {
                let (i, f) = (sigmoid(z[j]), sigmoid(z[u + j]));
                let (g, o) = (z[2 * u + j].tanh(), sigmoid(z[3 * u + j]));
                c[j] = f * c[j] + i * g;
                h[j] = o * c[j].tanh();
            }
        }
        hs.extend(h.iter().map(|&v| v as f32));
        cs.extend(c.iter().map(|&v| v as f32));
    }
    (hs, cs)
}

/// Training memory: `LSTM(8)` over 50 steps with `bptt_window = 10` keeps 10 step
/// records instead of 50, each `4·units` gate values and the `2·units` state: 40 × 48
/// scratch elements fewer, and the training arena shrinks by exactly those bytes.
#[test]
fn truncated_bptt_shrinks_the_training_arena() {
    let (steps, n_in, units) = (50usize, 3usize, 8u32);
    let input = Shape::new(&[steps, n_in]).unwrap();
    let full = LayerConfig::LSTM(LSTM::new(units));
    let trunc = with_rnn(full, |r| r.bptt_window = 10);
    let s_full = full.scratch_elems(&[input], true).unwrap();
    let s_trunc = trunc.scratch_elems(&[input], true).unwrap();
    let record = 4 * units as usize + 2 * units as usize;
    assert_eq!(s_full - s_trunc, (50 - 10) * record);
    assert_eq!(s_full - s_trunc, 1920);
    // Inference does not keep steps at all.
    assert_eq!(
        full.scratch_elems(&[input], false).unwrap(),
        trunc.scratch_elems(&[input], false).unwrap()
    );
    let bytes = |lstm: LayerConfig| {
        let p = random_params(&lstm, input, 3, 0.5);
        let d = [values(8, 1, 0.5), vec![0.1]];
        let pl: Vec<&[f32]> = p.iter().map(Vec::as_slice).collect();
        let pd: Vec<&[f32]> = d.iter().map(Vec::as_slice).collect();
        let dense = LayerConfig::Dense(Dense {
            units: 1,
            activation: Activation::Linear,
            use_bias: true,
        });
        let b = blob_of(
            input,
            &[
                LayerSpec::new("lstm", true, lstm, &pl),
                LayerSpec::new("dense", true, dense, &pd),
            ],
        );
        let cfg = TrainConfig {
            batch_size: 4,
            optimizer: sgd(0.1),
            loss: Loss::mean_squared_error(),
            trainable: Trainable::All,
        };
        let total = Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap();
        let mut arena = AlignedBytes::zeroed(total);
        let mut m =
            Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        let scratch = m.memory_plan().scratch_bytes;
        // It trains in that arena.
        let loss = m
            .train_on_batch(&values(4 * steps * n_in, 2, 1.0), &[0.5; 4])
            .unwrap();
        assert!(loss.is_finite());
        (total, scratch)
    };
    let (t_full, sc_full) = bytes(full);
    let (t_trunc, sc_trunc) = bytes(trunc);
    assert_eq!(sc_full, s_full * 4);
    assert_eq!(sc_trunc, s_trunc * 4);
    assert_eq!(t_full - t_trunc, 1920 * 4);
    println!(
        "LSTM(8), 50 steps, batch 4: training arena {t_full} bytes (full BPTT) vs {t_trunc} \
         (bptt_window 10); scratch {sc_full} vs {sc_trunc}"
    );
}

// ---- dropout in training -----------------------------------------------------------------

/// `Σ c·y` in f64 (so that central differences are not swamped by the sum's rounding).
fn objective(call: &Call<'_>, c: &[f32], ctx: &Context) -> f64 {
    let y = call.forward(ctx);
    y.iter()
        .zip(c)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// `LSTM(dropout=0.3, recurrent_dropout=0.2)`: a training forward is a function of the
/// seed (the same twice, another with another seed, neither the inference output); the
/// backward pass regenerates the forward's masks, so the analytic gradient of the
/// training-mode objective matches its central differences (fixed seed), for the input,
/// the initial states and every parameter.
#[test]
fn dropout_masks_are_seeded_and_reused_by_backward() {
    let (batch, steps, n_in, units) = (2usize, 5usize, 3usize, 4u32);
    let mut lstm = LSTM::new(units);
    lstm.rnn.dropout = 0.3;
    lstm.rnn.recurrent_dropout = 0.2;
    lstm.rnn.return_sequences = true;
    let config = LayerConfig::LSTM(lstm);
    let input = Shape::new(&[steps, n_in]).unwrap();
    let mut params = random_params(&config, input, 21, 0.7);
    let mut x = values(batch * steps * n_in, 22, 1.0);
    let mut states = vec![
        values(batch * units as usize, 23, 0.5),
        values(batch * units as usize, 24, 0.5),
    ];
    let c = values(batch * steps * units as usize, 25, 1.0);
    let ctx = Context::training(42);
    let call = |params: &[Vec<f32>], x: &[f32], states: &[Vec<f32>]| -> (f64, Vec<f32>) {
        let cl = Call {
            config,
            params,
            input,
            batch,
            x,
            states,
        };
        (objective(&cl, &c, &ctx), cl.forward(&ctx))
    };
    let (_, y1) = call(&params, &x, &states);
    let (_, y2) = call(&params, &x, &states);
    assert_eq!(y1, y2, "deterministic for a seed");
    let mk = |cfg: LayerConfig, ctx: &Context| {
        Call {
            config: cfg,
            params: &params,
            input,
            batch,
            x: &x,
            states: &states,
        }
        .forward(ctx)
    };
    assert_ne!(mk(config, &Context::training(43)), y1, "another seed");
    let inference = mk(config, &Context::default());
    assert_ne!(inference, y1, "inference does not drop");
    let plain = with_rnn(config, |r| {
        r.dropout = 0.0;
        r.recurrent_dropout = 0.0;
    });
    assert_eq!(inference, mk(plain, &Context::default()));
    assert_eq!(mk(plain, &ctx), inference, "no rates: training = inference");

    let analytic = Call {
        config,
        params: &params,
        input,
        batch,
        x: &x,
        states: &states,
    }
    .backward(&c, &ctx);
    let inference_grads = Call {
        config,
        params: &params,
        input,
        batch,
        x: &x,
        states: &states,
    }
    .backward(&c, &Context::default());
    assert_ne!(analytic.2, inference_grads.2, "the masks act in backward");
    let h = 1e-2f32;
    let mut worst = 0.0f32;
    let mut check = |what: String, a: f32, up: f64, down: f64| {
        let n = ((up - down) / (2.0 * f64::from(h))) as f32;
        let err = (a - n).abs() / n.abs().max(1e-2);
        worst = worst.max(err);
        assert!(err < 1e-2, "{what}: analytic {a}, numeric {n}");
    };
    for i in 0..x.len() {
        let v = x[i];
        x[i] = v + h;
        let up = call(&params, &x, &states).0;
        x[i] = v - h;
        let down = call(&params, &x, &states).0;
        x[i] = v;
        check(format!("dx[{i}]"), analytic.0[i], up, down);
    }
    for k in 0..states.len() {
        for i in 0..states[k].len() {
            let v = states[k][i];
            states[k][i] = v + h;
            let up = call(&params, &x, &states).0;
            states[k][i] = v - h;
            let down = call(&params, &x, &states).0;
            states[k][i] = v;
            check(format!("ds{k}[{i}]"), analytic.1[k][i], up, down);
        }
    }
    let mut offset = 0;
    for k in 0..params.len() {
        for i in 0..params[k].len() {
            let v = params[k][i];
            params[k][i] = v + h;
            let up = call(&params, &x, &states).0;
            params[k][i] = v - h;
            let down = call(&params, &x, &states).0;
            params[k][i] = v;
            check(format!("dparam{k}[{i}]"), analytic.2[offset + i], up, down);
        }
        offset += params[k].len();
    }
    println!(
        "dropout LSTM, training mode: worst relative error vs central differences {worst:.2e}"
    );
}

/// Fraction of `(sample, feature)` pairs whose gradient is exactly zero at every step
/// (a dropped input feature: the masks are per sample and constant over the steps, as
/// in Keras); `grads` is `(samples, steps, features)`.
fn dropped_fraction(grads: &[f32], samples: usize, steps: usize, features: usize) -> f64 {
    let mut dropped = 0usize;
    for b in 0..samples {
        for j in 0..features {
            let all_zero = (0..steps).all(|t| grads[(b * steps + t) * features + j] == 0.0);
            dropped += usize::from(all_zero);
        }
    }
    dropped as f64 / (samples * features) as f64
}

fn assert_rate(what: &str, observed: f64, p: f64, n: usize) {
    let sigma = (p * (1.0 - p) / n as f64).sqrt();
    println!(
        "{what}: dropped {observed:.4}, expected {p:.4} ± {:.4} (3σ, n = {n})",
        3.0 * sigma
    );
    assert!(
        (observed - p).abs() <= 3.0 * sigma,
        "{what}: dropped fraction {observed}, rate {p}, sigma {sigma}"
    );
}

/// Over many samples the dropped fractions match the rates (within 3σ): `SimpleRNN`
/// (one gate) drops 30 % of the input features and 20 % of the recurrent state
/// (seen through the initial state's gradient); an LSTM with both rates draws one mask
/// per gate (Keras's `implementation=1` whenever `recurrent_dropout > 0`), so a feature
/// is dropped from all four gates with probability 0.3⁴; with input dropout only, one
/// mask: 0.3.
#[test]
fn dropout_rates_are_the_fractions_dropped() {
    let (batch, steps, n_in, units) = (2000usize, 3usize, 5usize, 4u32);
    let input = Shape::new(&[steps, n_in]).unwrap();
    let x = values(batch * steps * n_in, 31, 1.0);
    let ctx = Context::training(7);
    let n = batch * n_in;
    // SimpleRNN: input and recurrent dropout.
    let mut srnn = SimpleRNN::new(units);
    srnn.rnn.dropout = 0.3;
    srnn.rnn.recurrent_dropout = 0.2;
    srnn.rnn.return_sequences = true;
    let config = LayerConfig::SimpleRNN(srnn);
    let params = random_params(&config, input, 32, 0.7);
    let states = vec![values(batch * units as usize, 33, 0.5)];
    let c = values(batch * steps * units as usize, 34, 1.0);
    let call = Call {
        config,
        params: &params,
        input,
        batch,
        x: &x,
        states: &states,
    };
    let (dx, ds, _) = call.backward(&c, &ctx);
    assert_rate(
        "SimpleRNN input",
        dropped_fraction(&dx, batch, steps, n_in),
        0.3,
        n,
    );
    let u = units as usize;
    assert_rate(
        "SimpleRNN state",
        dropped_fraction(&ds[0], batch, 1, u),
        0.2,
        batch * u,
    );
    // LSTM: four masks with recurrent dropout, one without.
    for (recurrent, p) in [(0.2f32, 0.3f64.powi(4)), (0.0, 0.3)] {
        let mut lstm = LSTM::new(units);
        lstm.rnn.dropout = 0.3;
        lstm.rnn.recurrent_dropout = recurrent;
        let config = LayerConfig::LSTM(lstm);
        let params = random_params(&config, input, 35, 0.7);
        let c = values(batch * u, 36, 1.0);
        let call = Call {
            config,
            params: &params,
            input,
            batch,
            x: &x,
            states: &[],
        };
        let (dx, _, _) = call.backward(&c, &ctx);
        let what = format!("LSTM input (recurrent_dropout {recurrent})");
        assert_rate(&what, dropped_fraction(&dx, batch, steps, n_in), p, n);
    }
}

/// In a model: `LSTM(dropout=0.3, recurrent_dropout=0.2) → Dense` trained twice from the
/// same seed ends with the same weights, bit for bit; another seed trains differently;
/// `predict` does not drop.
#[test]
fn dropout_training_in_a_model_is_seeded() {
    let (steps, n_in, batch) = (4usize, 3usize, 4usize);
    let input = Shape::new(&[steps, n_in]).unwrap();
    let mut lstm = LSTM::new(5);
    lstm.rnn.dropout = 0.3;
    lstm.rnn.recurrent_dropout = 0.2;
    let lstm = LayerConfig::LSTM(lstm);
    let p = random_params(&lstm, input, 41, 0.6);
    let d = [values(5 * 2, 42, 0.6), vec![0.1, -0.1]];
    let pl: Vec<&[f32]> = p.iter().map(Vec::as_slice).collect();
    let pd: Vec<&[f32]> = d.iter().map(Vec::as_slice).collect();
    let dense = LayerConfig::Dense(Dense {
        units: 2,
        activation: Activation::Linear,
        use_bias: true,
    });
    let b = blob_of(
        input,
        &[
            LayerSpec::new("lstm", true, lstm, &pl),
            LayerSpec::new("dense", true, dense, &pd),
        ],
    );
    let x = values(batch * steps * n_in, 43, 1.0);
    let t = values(batch * 2, 44, 1.0);
    let cfg = TrainConfig {
        batch_size: batch,
        optimizer: sgd(0.1),
        loss: Loss::mean_squared_error(),
        trainable: Trainable::All,
    };
    let train = |seed: u64| {
        let mut arena =
            AlignedBytes::zeroed(Sequential::<f32>::training_bytes(b.as_slice(), &cfg).unwrap());
        let mut m =
            Sequential::<f32>::for_training(b.as_slice(), arena.as_mut_slice(), cfg).unwrap();
        m.set_seed(seed).unwrap();
        let losses: Vec<f32> = (0..3).map(|_| m.train_on_batch(&x, &t).unwrap()).collect();
        let eval = m.test_on_batch(&x, &t).unwrap();
        (losses, m.trainable_params().to_vec(), eval)
    };
    let a = train(5);
    assert_eq!(a, train(5), "same seed, same training");
    let other = train(6);
    assert_ne!(a.0, other.0, "another seed, other masks");
    assert_ne!(a.1, other.1);
    // Without dropout the first loss is the inference loss; with it, it differs.
    let mut arena =
        AlignedBytes::zeroed(Sequential::<f32>::inference_bytes(b.as_slice(), batch).unwrap());
    let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), batch).unwrap();
    let mut y = vec![0.0f32; batch * 2];
    m.predict(&x, &mut y).unwrap();
    let mse: f32 = y
        .iter()
        .zip(&t)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f32>()
        / y.len() as f32;
    assert!(
        (mse - a.0[0]).abs() > 1e-4,
        "training loss {} vs inference {mse}",
        a.0[0]
    );
}
