//! Every loss against Keras 3: value and `jax.grad` w.r.t. `y_pred` for each loss,
//! configuration (`from_logits`, `label_smoothing`, Huber's `delta`, hinge label kinds),
//! reduction, with and without sample weights, rank 2 and rank 3 (golden values from
//! `tests/fixtures/losses/generate.py`); central finite differences in f32; a Q16.16 smoke
//! test; and `train_on_batch_weighted` against Keras's `train_on_batch(x, y, sample_weight)`.

use std::collections::BTreeMap;

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_nn::loss::{Loss, Reduction};
use ember_nn::{Error, Optimizer, Scalar, Sequential, Sgd, TrainConfig, Trainable, Q16_16};
use ember_tests::{assert_close, blob, fixture};
use serde_json::Value;

/// Value and gradient tolerance against Keras (f32 both sides).
const RTOL: f32 = 1e-6;
const ATOL: f32 = 1e-7;

fn doc() -> Value {
    let text = std::fs::read_to_string(fixture("losses", "cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The Ember loss for a fixture's `loss` name and `config`.
fn loss_of(name: &str, cfg: &Value, reduction: Reduction) -> Loss {
    let from_logits = cfg["from_logits"].as_bool().unwrap_or(false);
    let label_smoothing = cfg["label_smoothing"].as_f64().unwrap_or(0.0) as f32;
    let loss = match name {
        "mse" => Loss::mean_squared_error(),
        "mae" => Loss::mean_absolute_error(),
        "mape" => Loss::mean_absolute_percentage_error(),
        "msle" => Loss::mean_squared_logarithmic_error(),
        "rmse" => Loss::root_mean_squared_error(),
        "huber" => Loss::Huber {
            delta: cfg["delta"].as_f64().unwrap() as f32,
            reduction,
        },
        "log_cosh" => Loss::log_cosh(),
        "hinge" => Loss::hinge(),
        "squared_hinge" => Loss::squared_hinge(),
        "categorical_hinge" => Loss::categorical_hinge(),
        "binary_crossentropy" => Loss::BinaryCrossentropy {
            from_logits,
            label_smoothing,
            reduction,
        },
        "categorical_crossentropy" => Loss::CategoricalCrossentropy {
            from_logits,
            label_smoothing,
            reduction,
        },
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy {
            from_logits,
            reduction,
        },
        "kl_divergence" => Loss::kl_divergence(),
        "poisson" => Loss::poisson(),
        other => panic!("unknown loss {other}"),
    };
    loss.with_reduction(reduction)
}

/// Largest `|a − e| / (RTOL·|e| + ATOL)` (≤ 1 passes).
fn ratio(actual: &[f32], expected: &[f32]) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs() / (RTOL * e.abs() + ATOL))
        .fold(0.0, f32::max)
}

#[test]
fn every_loss_matches_keras_value_and_gradient() {
    let doc = doc();
    let mut worst: BTreeMap<String, f32> = BTreeMap::new();
    let mut reductions = std::collections::BTreeSet::new();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["loss"].as_str().unwrap();
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let last = *shape.last().unwrap();
        let y_true = floats(&case["y_true"]);
        let y_pred = floats(&case["y_pred"]);
        let weights = floats(&case["sample_weight"]);
        for r in case["results"].as_array().unwrap() {
            let red_name = r["reduction"].as_str().unwrap();
            let reduction = Reduction::from_keras_name(red_name).unwrap();
            reductions.insert(red_name.to_string());
            let loss = loss_of(name, &case["config"], reduction);
            let w = r["weighted"].as_bool().unwrap().then_some(&weights[..]);
            let what = format!(
                "{loss:?} shape {shape:?} weighted {}",
                r["weighted"].as_bool().unwrap()
            );
            let mut grad = vec![0.0f32; y_pred.len()];
            let value = loss
                .value_and_grad(&y_pred, &y_true, w, &mut grad, last)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let want_value = r["value"].as_f64().unwrap() as f32;
            let want_grad = floats(&r["grad"]);
            assert_close(
                &format!("{what} value"),
                &[value],
                &[want_value],
                RTOL,
                ATOL,
            );
            assert_close(&format!("{what} grad"), &grad, &want_grad, RTOL, ATOL);
            let key = format!("{name} {}", case["config"]);
            let q = ratio(&[value], &[want_value]).max(ratio(&grad, &want_grad));
            let e = worst.entry(key).or_insert(0.0);
            *e = e.max(q);
            checked += 1;
        }
    }
    println!("worst |error| / (1e-6·|keras| + 1e-7) per loss configuration:");
    for (k, v) in &worst {
        println!("  {k}: {v:.3}");
    }
    let names: std::collections::BTreeSet<_> =
        worst.keys().map(|k| k.split(' ').next().unwrap()).collect();
    assert_eq!(names.len(), 15, "losses covered: {names:?}");
    assert_eq!(reductions.len(), 4);
    assert_eq!(checked, 224);
}

// ---------------------------------------------------------------------------------------
// Finite differences (f32) and Q16.16
// ---------------------------------------------------------------------------------------

/// Deterministic values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (self.next() + 1.0) * 0.5 * (hi - lo)
    }
    fn sign(&mut self) -> f32 {
        if self.next() < 0.0 {
            -1.0
        } else {
            1.0
        }
    }
}

const ROWS: usize = 3;
const LAST: usize = 4;

/// Every configuration the finite-difference and Q16.16 checks run.
fn all_losses() -> Vec<Loss> {
    let r = Reduction::SumOverBatchSize;
    let mut v = vec![
        Loss::mean_squared_error(),
        Loss::mean_absolute_error(),
        Loss::mean_absolute_percentage_error(),
        Loss::mean_squared_logarithmic_error(),
        Loss::root_mean_squared_error(),
        Loss::huber(),
        Loss::Huber {
            delta: 0.5,
            reduction: r,
        },
        Loss::log_cosh(),
        Loss::hinge(),
        Loss::squared_hinge(),
        Loss::categorical_hinge(),
        Loss::kl_divergence(),
        Loss::poisson(),
    ];
    for from_logits in [false, true] {
        for label_smoothing in [0.0, 0.1] {
            v.push(Loss::BinaryCrossentropy {
                from_logits,
                label_smoothing,
                reduction: r,
            });
            v.push(Loss::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
                reduction: r,
            });
        }
        v.push(Loss::SparseCategoricalCrossentropy {
            from_logits,
            reduction: r,
        });
    }
    v
}

/// Well-scaled inputs `(y_pred, y_true)` in each loss's valid range, at least 0.05 away
/// from every kink and clip bound, so central differences are meaningful.
fn smooth_inputs(loss: Loss, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut g = Lcg(seed);
    let n = ROWS * LAST;
    let one_hot = |g: &mut Lcg| {
        let mut t = vec![0.0f32; n];
        for r in 0..ROWS {
            let k = ((g.next() + 1.0) * 0.5 * LAST as f32) as usize % LAST;
            t[r * LAST + k] = 1.0;
        }
        t
    };
    match loss {
        Loss::MeanSquaredError { .. }
        | Loss::MeanAbsoluteError { .. }
        | Loss::MeanAbsolutePercentageError { .. }
        | Loss::RootMeanSquaredError { .. }
        | Loss::Huber { .. }
        | Loss::LogCosh { .. } => {
            let delta = match loss {
                Loss::Huber { delta, .. } => delta,
                _ => f32::INFINITY,
            };
            let t: Vec<f32> = (0..n).map(|_| g.sign() * g.range(0.5, 2.0)).collect();
            let p = t
                .iter()
                .map(|&t| loop {
                    let e = g.sign() * g.range(0.1, 1.5);
                    if (e.abs() - delta).abs() > 0.05 {
                        break t + e;
                    }
                })
                .collect();
            (p, t)
        }
        Loss::MeanSquaredLogarithmicError { .. } | Loss::Poisson { .. } => (
            (0..n).map(|_| g.range(0.2, 2.2)).collect(),
            (0..n).map(|_| g.range(0.0, 2.0)).collect(),
        ),
        Loss::Hinge { .. } | Loss::SquaredHinge { .. } => {
            let t: Vec<f32> = (0..n).map(|_| g.sign()).collect();
            let p = t
                .iter()
                .map(|&t| loop {
                    let p = g.range(-2.0, 2.0);
                    if (1.0 - t * p).abs() > 0.05 {
                        break p;
                    }
                })
                .collect();
            (p, t)
        }
        Loss::CategoricalHinge { .. } => {
            let t = one_hot(&mut g);
            let mut p = vec![0.0f32; n];
            for (pr, tr) in p.chunks_mut(LAST).zip(t.chunks(LAST)) {
                loop {
                    pr.iter_mut().for_each(|v| *v = g.range(-1.0, 1.0));
                    let mut z: Vec<f32> = pr.iter().zip(tr).map(|(p, t)| (1.0 - t) * p).collect();
                    let pos: f32 = pr.iter().zip(tr).map(|(p, t)| p * t).sum();
                    z.sort_by(|a, b| b.partial_cmp(a).unwrap());
                    if z[0] - z[1] > 0.05 && (z[0] - pos + 1.0).abs() > 0.05 {
                        break;
                    }
                }
            }
            (p, t)
        }
        Loss::BinaryCrossentropy { from_logits, .. } => {
            let t = (0..n)
                .map(|_| if g.next() < 0.0 { 0.0 } else { 1.0 })
                .collect();
            let p = if from_logits {
                (0..n).map(|_| g.range(-3.0, 3.0)).collect()
            } else {
                (0..n).map(|_| g.range(0.1, 0.9)).collect()
            };
            (p, t)
        }
        Loss::CategoricalCrossentropy { from_logits, .. } => {
            let t = one_hot(&mut g);
            let p = if from_logits {
                (0..n).map(|_| g.range(-3.0, 3.0)).collect()
            } else {
                (0..n).map(|_| g.range(0.2, 1.2)).collect()
            };
            (p, t)
        }
        Loss::SparseCategoricalCrossentropy { from_logits, .. } => {
            let t = one_hot(&mut g)
                .chunks(LAST)
                .map(|r| r.iter().position(|&v| v == 1.0).unwrap() as f32)
                .collect();
            let p = if from_logits {
                (0..n).map(|_| g.range(-3.0, 3.0)).collect()
            } else {
                (0..n).map(|_| g.range(0.2, 1.2)).collect()
            };
            (p, t)
        }
        Loss::KLDivergence { .. } => {
            let mut t: Vec<f32> = (0..n).map(|_| g.range(0.1, 1.0)).collect();
            for r in t.chunks_mut(LAST) {
                let s: f32 = r.iter().sum();
                r.iter_mut().for_each(|v| *v /= s);
            }
            (t.iter().map(|_| g.range(0.1, 0.9)).collect(), t)
        }
        other => panic!("no inputs for {other:?}"),
    }
}

fn value<T: Scalar>(loss: Loss, p: &[T], t: &[T], w: Option<&[T]>, grad: &mut [T]) -> T {
    loss.value_and_grad(p, t, w, grad, LAST).unwrap()
}

#[test]
fn every_loss_matches_finite_differences() {
    let weights = [0.5f32, 1.5, 1.0];
    for (k, base) in all_losses().into_iter().enumerate() {
        for (reduction, w) in [
            (Reduction::SumOverBatchSize, None),
            (Reduction::Sum, Some(&weights[..])),
            (Reduction::MeanWithSampleWeight, Some(&weights[..])),
        ] {
            let loss = base.with_reduction(reduction);
            let (p, t) = smooth_inputs(loss, 11 + k as u64);
            let mut g = vec![0.0f32; p.len()];
            let mut scratch = g.clone();
            value(loss, &p, &t, w, &mut g);
            let h = 1e-3f32;
            for i in 0..p.len() {
                let mut q = p.clone();
                q[i] = p[i] + h;
                let up = value(loss, &q, &t, w, &mut scratch);
                q[i] = p[i] - h;
                let down = value(loss, &q, &t, w, &mut scratch);
                let numeric = (up - down) / (2.0 * h);
                assert!(
                    (g[i] - numeric).abs() <= 2e-3 + 2e-3 * numeric.abs(),
                    "{loss:?} dp[{i}]: analytic {}, numeric {numeric}",
                    g[i]
                );
            }
        }
    }
}

#[test]
fn q16_16_is_close_to_f32_for_well_scaled_inputs() {
    let weights = [0.5f32, 1.5, 1.0];
    let q = |v: &[f32]| v.iter().map(|&x| Q16_16::from_f32(x)).collect::<Vec<_>>();
    let (mut worst_v, mut worst_g) = (0.0f32, 0.0f32);
    for (k, loss) in all_losses().into_iter().enumerate() {
        let (p, t) = smooth_inputs(loss, 101 + k as u64);
        let mut gf = vec![0.0f32; p.len()];
        let vf = value(loss, &p, &t, Some(&weights), &mut gf);
        let mut gq = vec![Q16_16::ZERO; p.len()];
        let vq = value(loss, &q(&p), &q(&t), Some(&q(&weights)), &mut gq).to_f32();
        let gq: Vec<f32> = gq.iter().map(|v| v.to_f32()).collect();
        // Q16.16 has a resolution of 1.5e-5; logs and divisions round at each step.
        assert_close(&format!("{loss:?} Q16.16 value"), &[vq], &[vf], 2e-3, 2e-4);
        assert_close(&format!("{loss:?} Q16.16 grad"), &gq, &gf, 1e-2, 2e-4);
        worst_v = worst_v.max((vq - vf).abs() / vf.abs().max(1e-3));
        worst_g = gq
            .iter()
            .zip(&gf)
            .map(|(a, b)| (a - b).abs())
            .fold(worst_g, f32::max);
    }
    println!("Q16.16 vs f32: worst relative value error {worst_v:.2e}, worst gradient error {worst_g:.2e}");
}

// ---------------------------------------------------------------------------------------
// Training: train_on_batch_weighted vs Keras's train_on_batch(x, y, sample_weight)
// ---------------------------------------------------------------------------------------

#[test]
fn weighted_and_sparse_training_matches_keras() {
    let doc = doc();
    let cases = doc["training"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let reduction = Reduction::from_keras_name(case["reduction"].as_str().unwrap()).unwrap();
        let loss = loss_of(case["loss"].as_str().unwrap(), &case["config"], reduction);
        let sgd = &case["sgd"];
        let config = TrainConfig {
            batch_size: case["batch_size"].as_u64().unwrap() as usize,
            optimizer: Optimizer::sgd(Sgd {
                learning_rate: sgd["learning_rate"].as_f64().unwrap() as f32,
                momentum: sgd["momentum"].as_f64().unwrap_or(0.0) as f32,
                ..Sgd::DEFAULT
            }),
            loss,
            trainable: Trainable::All,
        };
        let blob = blob(case["model"].as_str().unwrap(), DTypeChoice::F32);
        let bytes = Sequential::<f32>::training_bytes(blob.as_slice(), &config).unwrap();
        let mut arena = AlignedBytes::zeroed(bytes);
        let mut m =
            Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
        let steps = case["steps"].as_u64().unwrap() as usize;
        let (xs, ys) = (floats(&case["x"]), floats(&case["y"]));
        let ws = case["sample_weight"]
            .as_array()
            .map(|_| floats(&case["sample_weight"]));
        let (xn, yn) = (xs.len() / steps, ys.len() / steps);
        let b = config.batch_size;
        let mut losses = Vec::new();
        for s in 0..steps {
            let w = ws.as_ref().map(|w| &w[s * b..(s + 1) * b]);
            let x = &xs[s * xn..(s + 1) * xn];
            let y = &ys[s * yn..(s + 1) * yn];
            losses.push(m.train_on_batch_weighted(x, y, w).unwrap());
        }
        assert_close(
            &format!("{name} losses"),
            &losses,
            &floats(&case["losses"]),
            1e-5,
            1e-7,
        );
        let mut i = 0;
        for l in 0..m.graph().layers().len() {
            for p in 0..m.graph().layers()[l].params.len() {
                let want = floats(&case["weights"][i]);
                assert_close(
                    &format!("{name} w{i}"),
                    m.param(l, p).unwrap(),
                    &want,
                    1e-5,
                    1e-6,
                );
                i += 1;
            }
        }
        assert_eq!(i, case["weights"].as_array().unwrap().len());
    }
}

#[test]
fn train_on_batch_checks_target_and_weight_lengths() {
    let config = TrainConfig {
        batch_size: 6,
        optimizer: Optimizer::sgd(Sgd::DEFAULT),
        loss: Loss::sparse_categorical_crossentropy(),
        trainable: Trainable::All,
    };
    let blob = blob("dense_relu_softmax", DTypeChoice::F32);
    let bytes = Sequential::<f32>::training_bytes(blob.as_slice(), &config).unwrap();
    let mut arena = AlignedBytes::zeroed(bytes);
    let mut m =
        Sequential::<f32>::for_training(blob.as_slice(), arena.as_mut_slice(), config).unwrap();
    let x = [0.1f32; 2 * 8];
    // Sparse: one class index per sample, not one-hot rows.
    assert_eq!(
        m.train_on_batch(&x, &[0.0; 8]),
        Err(Error::ShapeMismatch {
            expected: 2,
            found: 8
        })
    );
    assert_eq!(
        m.train_on_batch_weighted(&x, &[0.0, 3.0], Some(&[1.0])),
        Err(Error::ShapeMismatch {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        m.train_on_batch(&x, &[0.0, 4.0]),
        Err(Error::LabelOutOfRange {
            index: 1,
            classes: 4
        })
    );
    assert!(m.train_on_batch(&x, &[0.0, 3.0]).unwrap() > 0.0);
}
