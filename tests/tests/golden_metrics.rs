//! Streaming metrics against Keras 3: every case of `tests/fixtures/metrics/cases.json`
//! (written by `tests/fixtures/metrics/generate.py`) feeds three batches to a
//! `keras.metrics.*` object and records `result()` after each; Ember replays the same
//! batches in `f32` and, where the data is exactly representable, in `Q16_16`.

use std::collections::BTreeMap;

use ember_nn::metrics::{
    Accuracy, AnyMetric, Auc, AucCurve, AucSummationMethod, BinaryAccuracy, CategoricalAccuracy,
    MeanAbsoluteError, MeanSquaredError, Metric, Precision, Recall, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
};
use ember_nn::{Error, Scalar, Shape, TensorView, Q16_16};
use ember_tests::{assert_close, fixture};
use serde_json::Value;

/// Absolute tolerance against Keras's `result()` (results are O(1)).
const ATOL: f32 = 1e-6;

/// The ten Keras classes the fixtures must cover.
const CLASSES: [&str; 10] = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Precision",
    "Recall",
    "AUC",
];

struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

struct Batch {
    y_true: Tensor,
    y_pred: Tensor,
    sample_weight: Option<Vec<f32>>,
}

struct Case {
    name: String,
    class: String,
    config: Value,
    q16_exact: bool,
    batches: Vec<Batch>,
    results: Vec<f32>,
    /// Keras's final `(true_positives, false_positives, true_negatives, false_negatives)`
    /// vectors, for some AUC cases.
    confusion: Option<[Vec<f32>; 4]>,
}

fn number(v: &Value) -> f32 {
    match v {
        Value::Number(n) => n.as_f64().unwrap() as f32,
        Value::String(s) if s == "nan" => f32::NAN,
        Value::String(s) if s == "inf" => f32::INFINITY,
        Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
        other => panic!("not a number: {other}"),
    }
}

fn numbers(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(number).collect()
}

fn tensor(v: &Value) -> Tensor {
    Tensor {
        shape: v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        data: numbers(&v["data"]),
    }
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture("metrics", "cases.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            class: c["class"].as_str().unwrap().to_string(),
            config: c["config"].clone(),
            q16_exact: c["q16_exact"].as_bool().unwrap(),
            batches: c["batches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| Batch {
                    y_true: tensor(&b["y_true"]),
                    y_pred: tensor(&b["y_pred"]),
                    sample_weight: (!b["sample_weight"].is_null())
                        .then(|| numbers(&b["sample_weight"])),
                })
                .collect(),
            results: numbers(&c["results"]),
            confusion: c
                .get("confusion")
                .map(|m| ["tp", "fp", "tn", "fn"].map(|k| numbers(&m[k]))),
        })
        .collect()
}

fn opt_f32(config: &Value, key: &str) -> Option<f32> {
    config.get(key).and_then(Value::as_f64).map(|x| x as f32)
}

fn opt_usize(config: &Value, key: &str) -> Option<usize> {
    config.get(key).and_then(Value::as_u64).map(|x| x as usize)
}

/// The Ember metric equivalent to `keras.metrics.<class>(**config)`.
fn build<const N: usize>(class: &str, config: &Value) -> AnyMetric<N> {
    match class {
        "Accuracy" => AnyMetric::Accuracy(Accuracy::new()),
        "BinaryAccuracy" => AnyMetric::BinaryAccuracy(
            opt_f32(config, "threshold").map_or_else(BinaryAccuracy::default, BinaryAccuracy::new),
        ),
        "CategoricalAccuracy" => AnyMetric::CategoricalAccuracy(CategoricalAccuracy::new()),
        "SparseCategoricalAccuracy" => {
            AnyMetric::SparseCategoricalAccuracy(SparseCategoricalAccuracy::new())
        }
        "TopKCategoricalAccuracy" => AnyMetric::TopKCategoricalAccuracy(
            opt_usize(config, "k").map_or_else(TopKCategoricalAccuracy::default, |k| {
                TopKCategoricalAccuracy::new(k)
            }),
        ),
        "MeanSquaredError" => AnyMetric::MeanSquaredError(MeanSquaredError::new()),
        "MeanAbsoluteError" => AnyMetric::MeanAbsoluteError(MeanAbsoluteError::new()),
        "Precision" => AnyMetric::Precision(
            Precision::new(
                opt_f32(config, "thresholds"),
                opt_usize(config, "top_k"),
                opt_usize(config, "class_id"),
            )
            .unwrap(),
        ),
        "Recall" => AnyMetric::Recall(
            Recall::new(
                opt_f32(config, "thresholds"),
                opt_usize(config, "top_k"),
                opt_usize(config, "class_id"),
            )
            .unwrap(),
        ),
        "AUC" => {
            assert_eq!(opt_usize(config, "num_thresholds").unwrap_or(200), N);
            let curve = match config.get("curve").and_then(Value::as_str) {
                None | Some("ROC") => AucCurve::Roc,
                Some("PR") => AucCurve::Pr,
                Some("PRGAIN") => AucCurve::PrGain,
                Some(other) => panic!("curve {other}"),
            };
            let summation = match config.get("summation_method").and_then(Value::as_str) {
                None | Some("interpolation") => AucSummationMethod::Interpolation,
                Some("minoring") => AucSummationMethod::Minoring,
                Some("majoring") => AucSummationMethod::Majoring,
                Some(other) => panic!("summation_method {other}"),
            };
            let from_logits = config
                .get("from_logits")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            AnyMetric::Auc(Auc::new(curve, summation, from_logits))
        }
        other => panic!("metric class {other}"),
    }
}

fn convert<T: Scalar>(data: &[f32]) -> Vec<T> {
    data.iter().map(|&x| T::from_f32(x)).collect()
}

/// Feeds one batch (converted to `T`) to a metric.
fn feed<T: Scalar, M: Metric>(metric: &mut M, batch: &Batch) -> ember_nn::Result<()> {
    let t: Vec<T> = convert(&batch.y_true.data);
    let p: Vec<T> = convert(&batch.y_pred.data);
    let w: Option<Vec<T>> = batch.sample_weight.as_deref().map(convert);
    let y_true = TensorView::new(Shape::new(&batch.y_true.shape)?, &t)?;
    let y_pred = TensorView::new(Shape::new(&batch.y_pred.shape)?, &p)?;
    metric.update_state(y_true, y_pred, w.as_deref())
}

/// `result()` after each batch, then after `reset_state()` and the first batch again.
fn replay<T: Scalar, const N: usize>(case: &Case) -> (Vec<f32>, f32) {
    let mut metric = build::<N>(&case.class, &case.config);
    let mut results = Vec::new();
    for batch in &case.batches {
        feed::<T, _>(&mut metric, batch).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        results.push(metric.result());
    }
    metric.reset_state();
    assert_eq!(metric.result(), 0.0, "{}: result after reset", case.name);
    feed::<T, _>(&mut metric, &case.batches[0]).unwrap();
    (results, metric.result())
}

fn replay_any<T: Scalar>(case: &Case) -> (Vec<f32>, f32) {
    match opt_usize(&case.config, "num_thresholds").unwrap_or(200) {
        200 => replay::<T, 200>(case),
        7 => replay::<T, 7>(case),
        2 => replay::<T, 2>(case),
        n => panic!("{}: add num_thresholds {n} to replay_any", case.name),
    }
}

/// Checks one case in `f32` (and `Q16_16` when exact); returns the worst |Ember − Keras|.
fn check(case: &Case) -> f32 {
    assert_eq!(case.batches.len(), 3, "{}", case.name);
    let (got, after_reset) = replay_any::<f32>(case);
    assert_close(&case.name, &got, &case.results, 0.0, ATOL);
    assert_eq!(after_reset, got[0], "{}: reset then batch 1", case.name);
    if case.q16_exact {
        for b in &case.batches {
            for x in b.y_true.data.iter().chain(&b.y_pred.data) {
                assert_eq!(
                    Q16_16::from_f32(*x).to_f32(),
                    *x,
                    "{}: not Q16-exact",
                    case.name
                );
            }
        }
        let (q, q_reset) = replay_any::<Q16_16>(case);
        // Inputs are converted to f32 exactly, so fixed point gives the same bits.
        assert_eq!(q, got, "{}: Q16_16 differs from f32", case.name);
        assert_eq!(q_reset, after_reset, "{}", case.name);
        assert_close(
            &format!("{} (Q16_16)", case.name),
            &q,
            &case.results,
            0.0,
            ATOL,
        );
    }
    got.iter()
        .zip(&case.results)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_case_matches_keras() {
    let cases = cases();
    let mut worst: BTreeMap<&str, (f32, String)> = BTreeMap::new();
    for case in &cases {
        let err = check(case);
        let entry = worst.entry(&case.class).or_insert((0.0, String::new()));
        if err >= entry.0 {
            *entry = (err, case.name.clone());
        }
    }
    for (class, (err, name)) in &worst {
        println!("{class:>26}: worst |Ember - Keras| = {err:.3e} ({name})");
    }
    assert_eq!(worst.len(), CLASSES.len());
}

/// Replays an AUC case and compares Ember's four confusion vectors with Keras's.
fn check_confusion<const N: usize>(case: &Case, expected: &[Vec<f32>; 4]) {
    let AnyMetric::Auc(mut auc) = build::<N>(&case.class, &case.config) else {
        panic!("{}: confusion vectors are for AUC", case.name);
    };
    for batch in &case.batches {
        feed::<f32, _>(&mut auc, batch).unwrap();
    }
    let mut got: [Vec<f32>; 4] = Default::default();
    for i in 0..N {
        let (tp, fp, tn, fn_) = auc.confusion_at(i).unwrap();
        for (v, x) in got.iter_mut().zip([tp, fp, tn, fn_]) {
            v.push(x);
        }
    }
    assert_eq!(auc.confusion_at(N), None);
    // With dyadic weights every sum is exact in f32: the buckets must agree exactly.
    let exact = case
        .batches
        .iter()
        .flat_map(|b| b.sample_weight.iter().flatten())
        .all(|&w| Q16_16::from_f32(w).to_f32() == w);
    for (name, (g, e)) in ["tp", "fp", "tn", "fn"]
        .iter()
        .zip(got.iter().zip(expected))
    {
        let what = format!("{} {name}", case.name);
        if exact {
            assert_eq!(g, e, "{what}");
        } else {
            assert_close(&what, g, e, 1e-6, 1e-5);
        }
    }
}

#[test]
fn auc_confusion_vectors_match_keras() {
    let mut checked = 0;
    for case in cases() {
        let Some(expected) = &case.confusion else {
            continue;
        };
        match expected[0].len() {
            200 => check_confusion::<200>(&case, expected),
            7 => check_confusion::<7>(&case, expected),
            n => panic!("{}: {n} thresholds", case.name),
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} cases carry confusion vectors");
}

#[test]
fn fixtures_cover_every_metric() {
    let cases = cases();
    for class in CLASSES {
        let of: Vec<&Case> = cases.iter().filter(|c| c.class == class).collect();
        assert!(!of.is_empty(), "{class}: no case");
        assert!(of.iter().any(|c| c.q16_exact), "{class}: no Q16_16 case");
        let batches = || of.iter().flat_map(|c| &c.batches);
        assert!(
            batches().any(|b| b.sample_weight.is_some()),
            "{class}: no weighted batch"
        );
        assert!(
            batches().any(|b| b.sample_weight.is_none()),
            "{class}: no unweighted batch"
        );
        // The results move: a metric stuck at one value would not test much.
        let mut values: Vec<f32> = of.iter().flat_map(|c| c.results.clone()).collect();
        values.sort_by(f32::total_cmp);
        values.dedup();
        assert!(values.len() >= 3, "{class}: results {values:?}");
    }
}

/// A training loop's view: a generic function over the number type that updates a
/// compile-time list of metrics with static dispatch.
fn update_all<T: Scalar, const K: usize>(
    metrics: &mut [AnyMetric; K],
    y_true: TensorView<'_, T>,
    y_pred: TensorView<'_, T>,
) -> [f32; K] {
    let mut out = [0.0; K];
    for (m, o) in metrics.iter_mut().zip(out.iter_mut()) {
        m.update_state(y_true, y_pred, None).unwrap();
        *o = m.result();
    }
    out
}

#[test]
fn generic_metric_list() {
    let shape = Shape::new(&[4, 1]).unwrap();
    let t = [0.0f32, 0.0, 1.0, 1.0];
    let p = [0.0f32, 0.5, 0.25, 0.75];
    let mut list = [
        AnyMetric::BinaryAccuracy(BinaryAccuracy::default()),
        AnyMetric::Precision(Precision::default()),
        AnyMetric::Recall(Recall::default()),
        AnyMetric::Auc(Auc::default()),
        AnyMetric::MeanSquaredError(MeanSquaredError::new()),
    ];
    let names: Vec<&str> = list.iter().map(Metric::name).collect();
    assert_eq!(
        names,
        [
            "binary_accuracy",
            "precision",
            "recall",
            "auc",
            "mean_squared_error"
        ]
    );
    let f = update_all(
        &mut list,
        TensorView::new(shape, &t).unwrap(),
        TensorView::new(shape, &p).unwrap(),
    );
    // Keras: binary_accuracy 0.75, precision 1.0, recall 0.5, auc 0.75,
    // mse (0 + 0.25 + 0.5625 + 0.0625) / 4.
    assert_eq!(f[..3], [0.75, 1.0, 0.5]);
    assert!((f[3] - 0.75).abs() < 1e-6, "{}", f[3]);
    assert_eq!(f[4], 0.21875);
    let mut fixed = list;
    fixed.iter_mut().for_each(Metric::reset_state);
    let tq = t.map(Q16_16::from_f32);
    let pq = p.map(Q16_16::from_f32);
    let q = update_all(
        &mut fixed,
        TensorView::new(shape, &tq).unwrap(),
        TensorView::new(shape, &pq).unwrap(),
    );
    assert_eq!(q, f);
}

#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let shape = Shape::new(&[2, 3]).unwrap();
    let data = [0.0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
    let v = TensorView::new(shape, &data).unwrap();
    let col = [1.0f32, 0.0];
    let labels = TensorView::new(Shape::new(&[2, 1]).unwrap(), &col).unwrap();
    let short = TensorView::new(Shape::new(&[3]).unwrap(), &data[..3]).unwrap();
    let scalar = TensorView::new(Shape::new(&[]).unwrap(), &data[..1]).unwrap();
    let mut all: Vec<AnyMetric<7>> = CLASSES
        .iter()
        .map(|c| build::<7>(c, &serde_json::json!({"num_thresholds": 7})))
        .collect();
    for m in &mut all {
        let sparse = matches!(m, AnyMetric::SparseCategoricalAccuracy(_));
        let y_true = if sparse { labels } else { v };
        m.update_state(y_true, v, None).unwrap();
        let before = *m;
        let name = m.name();
        assert_eq!(
            m.update_state(y_true, v, Some(&[1.0])),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 1
            }),
            "{name}"
        );
        assert!(m.update_state(short, v, None).is_err(), "{name}");
        assert!(m.update_state(scalar, scalar, None).is_err(), "{name}");
        assert_eq!(*m, before, "{name}: state changed by a failed update");
    }
}
