//! Every Keras optimizer, learning-rate schedule and clipping option against Keras 3: five
//! `train_on_batch` steps of a Dense 5→7 tanh → 3 softmax model give Keras's weights and
//! losses (fixtures: `tests/fixtures/optimizers`, made by its `generate.py`), the
//! optimizer state matches Keras's variables one for one, and every optimizer trains in
//! `Q16_16`.

use ember_cli::blob_file::AlignedBytes;
use ember_nn::blob::{encoded_len, write, LayerSpec};
use ember_nn::layers::{Dense, LayerConfig};
use ember_nn::optimizer::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Algorithm, Clip, CosineDecay, ExponentialDecay,
    InverseTimeDecay, LearningRateSchedule, Nadam, Optimizer, PiecewiseConstantDecay, RmsProp,
    ScalarState, Sgd,
};
use ember_nn::{
    Activation, Error, Loss, Scalar, Sequential, Shape, TrainConfig, Trainable, Q16_16,
};
use ember_tests::{assert_close, fixture, npy};
use serde_json::Value;

const DIR: &str = "optimizers";
/// Elements of the four parameter tensors: kernel (5, 7), bias (7), kernel (7, 3), bias (3).
const TENSORS: [usize; 4] = [35, 7, 21, 3];
const PARAMS: usize = 66;
const BATCH: usize = 4;

/// The fixture model, weights converted to `T`.
fn blob<T: Scalar>() -> AlignedBytes {
    let w: Vec<Vec<T>> = (0..4)
        .map(|i| {
            npy(DIR, &format!("initial_w{i}.npy"))
                .data
                .iter()
                .map(|&v| T::from_f32(v))
                .collect()
        })
        .collect();
    let dense = |units, activation| {
        LayerConfig::Dense(Dense {
            units,
            activation,
            use_bias: true,
        })
    };
    let hidden: [&[T]; 2] = [&w[0], &w[1]];
    let out: [&[T]; 2] = [&w[2], &w[3]];
    let layers = [
        LayerSpec {
            name: "hidden",
            trainable: true,
            config: dense(7, Activation::Tanh),
            params: &hidden,
            attrs: ember_nn::layers::LayerAttrs::NONE,
        },
        LayerSpec {
            name: "out",
            trainable: true,
            config: dense(3, Activation::Softmax),
            params: &out,
            attrs: ember_nn::layers::LayerAttrs::NONE,
        },
    ];
    let input = Shape::new(&[5]).unwrap();
    let len = encoded_len("optimizers", input, &layers).unwrap();
    let mut bytes = AlignedBytes::zeroed(len);
    write("optimizers", input, &layers, bytes.as_mut_slice()).unwrap();
    bytes
}

fn config(optimizer: Optimizer) -> TrainConfig {
    TrainConfig {
        batch_size: BATCH,
        optimizer,
        loss: Loss::categorical_crossentropy(),
        trainable: Trainable::All,
    }
}

/// Trained weights.
struct Run {
    losses: Vec<f32>,
    weights: Vec<f32>,
    optimizer_bytes: usize,
}

/// `steps` steps of `train_on_batch` on the fixture batches, in `T`.
fn train<T: Scalar>(optimizer: Optimizer, steps: usize) -> Result<Run, Error> {
    let blob = blob::<T>();
    let cfg = config(optimizer);
    let bytes = Sequential::<T>::training_bytes(blob.as_slice(), &cfg)?;
    let mut arena = AlignedBytes::zeroed(bytes);
    let mut m = Sequential::<T>::for_training(blob.as_slice(), arena.as_mut_slice(), cfg)?;
    let x = npy(DIR, "x.npy").data;
    let y = npy(DIR, "y.npy").data;
    let conv = |v: &[f32]| v.iter().map(|&a| T::from_f32(a)).collect::<Vec<T>>();
    let (xn, yn) = (BATCH * 5, BATCH * 3);
    let mut losses = Vec::new();
    for k in 0..steps {
        let loss = m.train_on_batch(
            &conv(&x[k * xn..(k + 1) * xn]),
            &conv(&y[k * yn..(k + 1) * yn]),
        )?;
        losses.push(loss.to_f32());
    }
    assert_eq!(m.iterations(), steps as u64);
    let mut weights = Vec::new();
    for l in 0..2 {
        for p in 0..2 {
            weights.extend(m.param(l, p).unwrap().iter().map(|v| v.to_f32()));
        }
    }
    Ok(Run {
        losses,
        weights,
        optimizer_bytes: m.memory_plan().optimizer_bytes,
    })
}

// --------------------------------------------------------------------------------------
// Keras's serialized optimizer config → Optimizer (what the converter will do).
// --------------------------------------------------------------------------------------

fn num(c: &Value, key: &str) -> f32 {
    c[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` missing in {c}")) as f32
}

fn flag(c: &Value, key: &str) -> bool {
    c[key]
        .as_bool()
        .unwrap_or_else(|| panic!("`{key}` missing in {c}"))
}

fn schedule(v: &Value) -> LearningRateSchedule {
    let c = &v["config"];
    match v["class_name"].as_str().unwrap() {
        "ExponentialDecay" => LearningRateSchedule::ExponentialDecay(ExponentialDecay {
            initial_learning_rate: num(c, "initial_learning_rate"),
            decay_steps: num(c, "decay_steps"),
            decay_rate: num(c, "decay_rate"),
            staircase: flag(c, "staircase"),
        }),
        "InverseTimeDecay" => LearningRateSchedule::InverseTimeDecay(InverseTimeDecay {
            initial_learning_rate: num(c, "initial_learning_rate"),
            decay_steps: num(c, "decay_steps"),
            decay_rate: num(c, "decay_rate"),
            staircase: flag(c, "staircase"),
        }),
        "PiecewiseConstantDecay" => {
            let boundaries: Vec<u64> = c["boundaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap())
                .collect();
            let values: Vec<f32> = c["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            LearningRateSchedule::PiecewiseConstantDecay(
                PiecewiseConstantDecay::new(&boundaries, &values).unwrap(),
            )
        }
        "CosineDecay" => LearningRateSchedule::CosineDecay(CosineDecay {
            initial_learning_rate: num(c, "initial_learning_rate"),
            decay_steps: num(c, "decay_steps"),
            alpha: num(c, "alpha"),
            warmup_target: c["warmup_target"].as_f64().map(|v| v as f32),
            warmup_steps: num(c, "warmup_steps"),
        }),
        other => panic!("schedule {other}"),
    }
}

fn from_keras(class: &str, c: &Value) -> Optimizer {
    assert_eq!(c["use_ema"], Value::Bool(false));
    assert!(c["loss_scale_factor"].is_null());
    assert!(c["gradient_accumulation_steps"].is_null());
    // With a schedule, the rule's constant rate must be unused: make it poison.
    let (lr, sched) = match &c["learning_rate"] {
        v @ Value::Object(_) => (f32::NAN, Some(schedule(v))),
        v => (v.as_f64().unwrap() as f32, None),
    };
    let algorithm = match class {
        "SGD" => Algorithm::Sgd(Sgd {
            learning_rate: lr,
            momentum: num(c, "momentum"),
            nesterov: flag(c, "nesterov"),
        }),
        "Adam" => Algorithm::Adam(Adam {
            learning_rate: lr,
            beta_1: num(c, "beta_1"),
            beta_2: num(c, "beta_2"),
            epsilon: num(c, "epsilon"),
            amsgrad: flag(c, "amsgrad"),
        }),
        "AdamW" => Algorithm::AdamW(AdamW {
            learning_rate: lr,
            weight_decay: num(c, "weight_decay"),
            beta_1: num(c, "beta_1"),
            beta_2: num(c, "beta_2"),
            epsilon: num(c, "epsilon"),
            amsgrad: flag(c, "amsgrad"),
        }),
        "Adagrad" => Algorithm::Adagrad(Adagrad {
            learning_rate: lr,
            initial_accumulator_value: num(c, "initial_accumulator_value"),
            epsilon: num(c, "epsilon"),
        }),
        "Adadelta" => Algorithm::Adadelta(Adadelta {
            learning_rate: lr,
            rho: num(c, "rho"),
            epsilon: num(c, "epsilon"),
        }),
        "RMSprop" => Algorithm::RmsProp(RmsProp {
            learning_rate: lr,
            rho: num(c, "rho"),
            momentum: num(c, "momentum"),
            epsilon: num(c, "epsilon"),
            centered: flag(c, "centered"),
        }),
        "Adamax" => Algorithm::Adamax(Adamax {
            learning_rate: lr,
            beta_1: num(c, "beta_1"),
            beta_2: num(c, "beta_2"),
            epsilon: num(c, "epsilon"),
        }),
        "Nadam" => Algorithm::Nadam(Nadam {
            learning_rate: lr,
            beta_1: num(c, "beta_1"),
            beta_2: num(c, "beta_2"),
            epsilon: num(c, "epsilon"),
        }),
        other => panic!("optimizer {other}"),
    };
    assert_eq!(algorithm.keras_name(), class);
    let mut o = Optimizer::new(algorithm);
    if let Some(s) = sched {
        o = o.with_schedule(s);
    }
    if class != "AdamW" {
        if let Some(wd) = c["weight_decay"].as_f64() {
            o = o.with_weight_decay(wd as f32);
        }
    }
    let clip = |key| c[key].as_f64().map(|v| v as f32);
    o.with_clip(
        match (clip("clipnorm"), clip("clipvalue"), clip("global_clipnorm")) {
            (None, None, None) => Clip::None,
            (Some(v), None, None) => Clip::Norm(v),
            (None, Some(v), None) => Clip::Value(v),
            (None, None, Some(v)) => Clip::GlobalNorm(v),
            _ => panic!("Keras allows one clipping option"),
        },
    )
}

struct Case {
    name: String,
    optimizer: Optimizer,
    /// Keras's `optimizer.learning_rate` before each step.
    learning_rates: Vec<f32>,
    /// Keras's optimizer variables, `"path [shape]"`.
    variables: Vec<String>,
}

fn cases() -> (Vec<Case>, usize) {
    let text = std::fs::read_to_string(fixture(DIR, "cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let steps = json["steps"].as_u64().unwrap() as usize;
    let cases = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            optimizer: from_keras(c["class"].as_str().unwrap(), &c["config"]),
            learning_rates: c["learning_rates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect(),
            variables: c["optimizer_variables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
        })
        .collect();
    (cases, steps)
}

fn initial_weights() -> Vec<f32> {
    (0..4)
        .flat_map(|i| npy(DIR, &format!("initial_w{i}.npy")).data)
        .collect()
}

// --------------------------------------------------------------------------------------
// Golden comparisons.
// --------------------------------------------------------------------------------------

#[test]
fn five_steps_match_keras_for_every_optimizer_and_option() {
    let (cases, steps) = cases();
    assert_eq!(steps, 5);
    let w0 = initial_weights();
    // (fraction of the weight tolerance used, relative update error), worst case each.
    let mut worst = ((0.0f32, String::new()), (0.0f32, String::new()));
    for case in &cases {
        let run = train::<f32>(case.optimizer, steps).unwrap();
        let what = &case.name;
        let want_w = npy(DIR, &format!("{what}_weights.npy")).data;
        let want_l = npy(DIR, &format!("{what}_losses.npy")).data;
        assert_close(&format!("{what} losses"), &run.losses, &want_l, 1e-5, 1e-7);
        assert_close(
            &format!("{what} weights"),
            &run.weights,
            &want_w,
            1e-5,
            1e-6,
        );
        // The updates themselves (w₅ − w₀), which for the small default learning rates
        // are far below the weights' magnitude: 1e-3 relative, plus the f32 rounding of
        // weights ~1 (2⁻²³ per step).
        let delta = |w: &[f32]| w.iter().zip(&w0).map(|(a, b)| a - b).collect::<Vec<_>>();
        let (got, want) = (delta(&run.weights), delta(&want_w));
        assert_close(&format!("{what} updates"), &got, &want, 1e-3, 1e-6);
        for ((a, b), (g, d)) in run.weights.iter().zip(&want_w).zip(got.iter().zip(&want)) {
            let used = (a - b).abs() / (1e-5 * b.abs() + 1e-6);
            if used > worst.0 .0 {
                worst.0 = (used, what.clone());
            }
            let rel = (g - d).abs() / d.abs().max(1e-3);
            if rel > worst.1 .0 {
                worst.1 = (rel, what.clone());
            }
        }
        let moved = want.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        assert!(moved > 5e-6, "{what}: Keras moved the weights by {moved}");
    }
    println!(
        "{} cases; weights use at most {:.2} of the tolerance ({}); worst relative update \
         error {:.1e} ({})",
        cases.len(),
        worst.0 .0,
        worst.0 .1,
        worst.1 .0,
        worst.1 .1
    );
    assert_eq!(cases.len(), 36, "every generated case was checked");
}

#[test]
fn schedules_give_keras_learning_rates() {
    let (cases, steps) = cases();
    for case in &cases {
        let ours: Vec<f32> = (0..steps as u64)
            .map(|k| case.optimizer.learning_rate(k))
            .collect();
        assert_close(&case.name, &ours, &case.learning_rates, 1e-6, 0.0);
    }
}

/// `slots()` equals the number of per-variable Keras optimizer variables per model
/// variable, and the scalar variables beyond `iteration` (and `learning_rate` when it is
/// constant) are exactly what [`ScalarState`] holds; the arena reserves exactly that.
#[test]
fn state_matches_keras_variables_and_arena() {
    let (cases, _) = cases();
    for case in &cases {
        let per_param: Vec<&String> = case
            .variables
            .iter()
            .filter(|v| !v.ends_with(" []"))
            .collect();
        assert_eq!(per_param.len() % TENSORS.len(), 0, "{}", case.name);
        let slots = case.optimizer.slots();
        assert_eq!(
            slots,
            per_param.len() / TENSORS.len(),
            "{}: slots vs {:?}",
            case.name,
            case.variables
        );
        let scalars = case
            .variables
            .iter()
            .filter(|v| v.ends_with(" []"))
            .filter(|v| !v.ends_with("/iteration []") && !v.ends_with("/learning_rate []"))
            .count();
        let nadam = matches!(case.optimizer.algorithm, Algorithm::Nadam(_));
        assert_eq!(scalars, usize::from(nadam), "{}", case.name);
        let run = train::<f32>(case.optimizer, 1).unwrap();
        assert_eq!(
            run.optimizer_bytes,
            (slots * PARAMS * 4).div_ceil(16) * 16,
            "{}",
            case.name
        );
    }
}

// --------------------------------------------------------------------------------------
// Fixed point.
// --------------------------------------------------------------------------------------

/// Optimizers dividing by a second-moment estimate `v ≈ g²`, which underflows in Q16.16
/// for |g| < 2⁻⁸ (the documented weak spot): Adam, AdamW, Nadam, RMSprop.
fn second_moment(o: &Optimizer) -> bool {
    matches!(
        o.algorithm,
        Algorithm::Adam(_) | Algorithm::AdamW(_) | Algorithm::Nadam(_) | Algorithm::RmsProp(_)
    )
}

/// Every case runs in `Q16_16` without panicking and with finite losses. After 3 steps, its
/// updates point the same way as f32's wherever f32 moved a weight by more than 2⁻¹⁰ (64
/// Q16.16 steps): all of them for SGD, Adagrad, Adadelta and Adamax (with every schedule,
/// clipping and weight decay); a majority for the second-moment optimizers.
#[test]
fn every_optimizer_trains_in_q16_16() {
    let (cases, _) = cases();
    let w0 = initial_weights();
    let (mut exact, mut majority) = (0, 0);
    for case in &cases {
        let mut o = case.optimizer;
        // An ε below 2⁻¹⁶ is 0 in Q16.16: Adadelta then never moves, and RMSprop divides
        // by a velocity that underflows to 0 for small gradients. Use ε = 2⁻¹⁶ there.
        const Q16_EPS: f32 = 1.0 / 65536.0;
        match &mut o.algorithm {
            Algorithm::Adadelta(a) => a.epsilon = a.epsilon.max(Q16_EPS),
            Algorithm::RmsProp(a) => a.epsilon = a.epsilon.max(Q16_EPS),
            _ => {}
        }
        let f = train::<f32>(o, 3).unwrap();
        let q = train::<Q16_16>(o, 3).unwrap();
        assert!(q.losses.iter().all(|l| l.is_finite()), "{}", case.name);
        let (mut agree, mut total) = (0, 0);
        for ((wf, wq), w) in f.weights.iter().zip(&q.weights).zip(&w0) {
            let (df, dq) = (wf - w, wq - w);
            if df.abs() > 1.0 / 1024.0 {
                total += 1;
                if df.signum() == dq.signum() {
                    agree += 1;
                }
            }
        }
        println!(
            "{}: Q16.16 moves {agree}/{total} weights as f32 does",
            case.name
        );
        if total == 0 {
            continue;
        }
        if second_moment(&o) {
            assert!(2 * agree > total, "{}: Q16.16 direction", case.name);
            majority += 1;
        } else {
            assert_eq!(agree, total, "{}: Q16.16 direction", case.name);
            exact += 1;
        }
    }
    // Only Adadelta's default (lr 0.001: updates ~1e-6) moves no weight by 2⁻¹⁰.
    assert_eq!((exact, majority), (20, 15));
}

// --------------------------------------------------------------------------------------
// Configuration errors and the flat `apply` interface.
// --------------------------------------------------------------------------------------

#[test]
fn invalid_configurations_are_errors() {
    let bad = |o: Optimizer, what: &str| {
        assert!(
            matches!(train::<f32>(o, 1), Err(Error::InvalidConfig(_))),
            "{what}"
        );
    };
    bad(
        Optimizer::sgd(Sgd {
            momentum: 1.5,
            ..Sgd::DEFAULT
        }),
        "SGD momentum > 1",
    );
    bad(
        Optimizer::adam_w(AdamW::DEFAULT).with_weight_decay(0.1),
        "AdamW with two weight decays",
    );
    bad(
        Optimizer::sgd(Sgd::DEFAULT).with_schedule(LearningRateSchedule::CosineDecay(
            CosineDecay::new(0.1, 0.0),
        )),
        "decay_steps 0",
    );
    let mut p = PiecewiseConstantDecay::new(&[1], &[0.1, 0.2]).unwrap();
    p.len = 9;
    bad(
        Optimizer::sgd(Sgd::DEFAULT).with_schedule(LearningRateSchedule::PiecewiseConstantDecay(p)),
        "piecewise over capacity",
    );
    assert!(PiecewiseConstantDecay::new(&[1, 2], &[0.1, 0.2]).is_err());
    assert!(PiecewiseConstantDecay::new(&[], &[0.1]).is_err());
    assert!(PiecewiseConstantDecay::new(&[1; 9], &[0.1; 10]).is_err());
    assert!(PiecewiseConstantDecay::new(&[1; 8], &[0.1; 9]).is_ok());
}

#[test]
fn apply_checks_lengths_and_tensor_boundaries() {
    let o = Optimizer::adam(Adam::DEFAULT).with_clip(Clip::Norm(1.0));
    let mut s = ScalarState::new();
    let mut w = [1.0f32; 6];
    let mut g = [0.5f32; 6];
    let mut state = [0.0f32; 12];
    let r = o.apply(
        0,
        &mut s,
        &mut w,
        &mut g,
        &mut state,
        [4usize, 1].into_iter(),
    );
    assert_eq!(
        r,
        Err(Error::ShapeMismatch {
            expected: 6,
            found: 5
        })
    );
    let r = o.apply(
        0,
        &mut s,
        &mut w,
        &mut g,
        &mut state[..11],
        [6usize].into_iter(),
    );
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
    assert_eq!((w, g), ([1.0; 6], [0.5; 6]), "nothing moved on error");
    // Per-tensor clipnorm: tensor [0.5; 4] has norm 1 (kept), [0.5; 2] norm 0.707 (kept);
    // one tensor of 6 has norm 1.22 and is scaled to norm 1.
    let sgd = Optimizer::sgd(Sgd {
        learning_rate: 1.0,
        ..Sgd::DEFAULT
    })
    .with_clip(Clip::Norm(1.0));
    let mut w = [0.0f32; 6];
    let mut g = [0.5f32; 6];
    sgd.apply(0, &mut s, &mut w, &mut g, &mut [], [4usize, 2].into_iter())
        .unwrap();
    assert_eq!(w, [-0.5; 6]);
    let mut w = [0.0f32; 6];
    let mut g = [0.5f32; 6];
    sgd.apply(0, &mut s, &mut w, &mut g, &mut [], [6usize].into_iter())
        .unwrap();
    let norm = w.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-6, "{norm}");
    // A non-positive threshold is no clipping, as in Keras.
    let off = sgd.with_clip(Clip::Value(0.0));
    let mut w = [0.0f32; 2];
    let mut g = [5.0f32; 2];
    off.apply(3, &mut s, &mut w, &mut g, &mut [], [2usize].into_iter())
        .unwrap();
    assert_eq!(w, [-5.0; 2]);
}

#[test]
fn nadam_keeps_keras_u_product() {
    let o = Optimizer::nadam(Nadam::DEFAULT);
    let mut s = ScalarState::new();
    let mut w = [0.0f32; 1];
    let mut state = [0.0f32; 2];
    let mut expected = 1.0f32;
    for t in 0..4u64 {
        o.apply(
            t,
            &mut s,
            &mut w,
            &mut [0.1],
            &mut state,
            [1usize].into_iter(),
        )
        .unwrap();
        expected *= 0.9 * (1.0 - 0.5 * 0.96f32.powi(t as i32 + 1));
        assert!((s.u_product() - expected).abs() < 1e-7);
    }
    // Iteration 0 starts over, as a freshly built Keras optimizer.
    o.apply(
        0,
        &mut s,
        &mut w,
        &mut [0.1],
        &mut state,
        [1usize].into_iter(),
    )
    .unwrap();
    assert!((s.u_product() - 0.9 * (1.0 - 0.5 * 0.96)).abs() < 1e-7);
}
