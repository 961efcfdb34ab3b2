//! Initializers and the seeded RNG against Keras 3.
//!
//! What is compared with Keras, and how:
//! - **Exactly (from `tests/fixtures/initializers/initializers.json`, written by Keras):**
//!   `compute_fans` for rank 0–5 shapes and explicit fan axes; the distribution and its
//!   parameters each initializer passes to `keras.random.*` (limits, standard deviations,
//!   `rtol 1e-6`); name lookup with constructor defaults; `Identity`; `Orthogonal`'s output
//!   *for the Gaussian matrix Keras drew* (`atol 2e-6`).
//! - **Distributionally:** Ember's `Rng` (xoshiro128++) cannot reproduce JAX's Threefry
//!   stream, so random values are never bitwise Keras's. Large fills are checked for mean,
//!   variance and shape (Kolmogorov–Smirnov) against the exact distribution, with bounds
//!   derived from the sample size (see [`check_moments`] and [`ks_statistic`]).

use std::f64::consts::PI;
use std::path::PathBuf;

use ember_nn::initializers::{
    compute_fans, orthogonal, Distribution, FanAxes, FanMode, Initializer, Sampling,
    VarianceScaling, TRUNCATED_NORMAL_STDDEV,
};
use ember_nn::random::Rng;
use ember_nn::{Error, Scalar, Shape, Q16_16};
use ember_tests::assert_close;
use serde_json::Value;

// ------------------------------------------------------------------------------------
// Helpers

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("initializers")
        .join("initializers.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect()
}

fn pair(v: &Value) -> (usize, usize) {
    let d = dims(v);
    (d[0], d[1])
}

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

fn fill<T: Scalar>(init: Initializer, d: &[usize], seed: u64) -> Vec<T> {
    let s = shape(d);
    let mut out = vec![T::ZERO; s.len()];
    let mut scratch = vec![0.0f32; init.scratch_len(&s)];
    init.fill(&s, &mut out, &mut Rng::from_seed(seed), &mut scratch)
        .unwrap();
    out
}

/// `erf` by its Maclaurin series in f64 (absolute error < 1e-9 for |x| ≤ 4.5; beyond,
/// |1 − erf| < 2e-10).
fn erf(x: f64) -> f64 {
    if x.abs() > 4.5 {
        return x.signum();
    }
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 {
            break;
        }
    }
    2.0 / PI.sqrt() * sum
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / 2f64.sqrt()))
}

fn normal_pdf(x: f64) -> f64 {
    (-x * x / 2.0).exp() / (2.0 * PI).sqrt()
}

/// Mass of a standard normal in (−2, 2).
fn z2() -> f64 {
    erf(2f64.sqrt())
}

/// Variance and fourth moment of a standard normal truncated to (−2, 2):
/// `E z² = 1 − 2·2·φ(2)/Z`, `E z⁴ = 3 − 2(2³ + 3·2)·φ(2)/Z`.
fn truncated_moments() -> (f64, f64) {
    let (phi, z) = (normal_pdf(2.0), z2());
    (1.0 - 4.0 * phi / z, 3.0 - 28.0 * phi / z)
}

/// Checks the sample mean and variance of `xs` against a distribution with mean `mu`,
/// variance `var` and fourth central moment `m4`. Bounds: 5 standard errors, i.e.
/// `|mean − mu| ≤ 5·√(var/N)` and `|s² − var| ≤ 5·√((m4 − var²)/N)` (the asymptotic
/// standard errors of the sample mean and variance). Returns the deviations in units of
/// standard errors.
fn check_moments(what: &str, xs: &[f32], mu: f64, var: f64, m4: f64) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let s2 = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se_mean = (var / n).sqrt();
    let se_var = ((m4 - var * var) / n).sqrt();
    let (dm, dv) = ((mean - mu) / se_mean, (s2 - var) / se_var);
    assert!(
        dm.abs() <= 5.0,
        "{what}: mean {mean} vs {mu} ({dm:.2} standard errors of {se_mean:.2e})"
    );
    assert!(
        dv.abs() <= 5.0,
        "{what}: variance {s2} vs {var} ({dv:.2} standard errors of {se_var:.2e})"
    );
    (dm, dv)
}

/// Kolmogorov–Smirnov statistic `D = sup |F_N − F|` of `xs` against the CDF `cdf`.
fn ks_statistic(xs: &[f32], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut v: Vec<f64> = xs.iter().map(|&x| x as f64).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in v.iter().enumerate() {
        let f = cdf(x);
        d = d.max((i + 1) as f64 / n - f).max(f - i as f64 / n);
    }
    d
}

/// KS critical value for significance `1e-6`: `√(ln(2/α) / (2N))` (Dvoretzky–Kiefer–
/// Wolfowitz–Massart). For N = 200 000 it is 0.0060.
fn ks_critical(n: usize) -> f64 {
    ((2.0f64 / 1e-6).ln() / (2.0 * n as f64)).sqrt()
}

const N_STAT: usize = 200_000;

/// Keras's literal `0.87962566103423978`, to f64 precision.
const KERAS_TRUNCATED_STDDEV: f64 = 0.879_625_661_034_239_8;

// ------------------------------------------------------------------------------------
// The generator

#[test]
fn uniform_and_its_grid() {
    let mut r = Rng::from_seed(5);
    let xs: Vec<f32> = (0..N_STAT).map(|_| r.uniform()).collect();
    assert!(xs.iter().all(|&u| (0.0..1.0).contains(&u)));
    // 24-bit grid: 2^24·u is an integer.
    assert!(xs.iter().all(|&u| (u * 16_777_216.0).fract() == 0.0));
    check_moments("uniform", &xs, 0.5, 1.0 / 12.0, 1.0 / 80.0);
    let d = ks_statistic(&xs, |x| x.clamp(0.0, 1.0));
    assert!(d < ks_critical(xs.len()), "uniform KS {d}");
}

#[test]
fn standard_normal_distribution() {
    let mut r = Rng::from_seed(6);
    let xs: Vec<f32> = (0..N_STAT).map(|_| r.normal()).collect();
    let (dm, dv) = check_moments("normal", &xs, 0.0, 1.0, 3.0);
    let d = ks_statistic(&xs, normal_cdf);
    eprintln!("normal: mean {dm:.2} se, var {dv:.2} se, KS {d:.5}");
    assert!(d < ks_critical(xs.len()), "normal KS {d}");
    // Both halves of each Box–Muller pair are normal: check the odd draws alone.
    let odd: Vec<f32> = xs.iter().skip(1).step_by(2).copied().collect();
    let d = ks_statistic(&odd, normal_cdf);
    assert!(d < ks_critical(odd.len()), "odd normals KS {d}");
    // ...and uncorrelated with their partner: |corr| ≤ 5/√(N/2).
    let corr = xs.chunks(2).map(|p| p[0] as f64 * p[1] as f64).sum::<f64>() / (N_STAT / 2) as f64;
    assert!(
        corr.abs() < 5.0 / ((N_STAT / 2) as f64).sqrt(),
        "pair corr {corr}"
    );
}

#[test]
fn truncated_normal_is_cut_at_two_and_has_keras_stddev() {
    // Keras divides VarianceScaling's stddev by 0.87962566103423978: the standard
    // deviation of a standard normal truncated to (−2, 2).
    let (var, m4) = truncated_moments();
    assert!(
        (var.sqrt() - KERAS_TRUNCATED_STDDEV).abs() < 1e-9,
        "{}",
        var.sqrt()
    );
    assert_eq!(TRUNCATED_NORMAL_STDDEV, KERAS_TRUNCATED_STDDEV as f32);

    let mut r = Rng::from_seed(7);
    let xs: Vec<f32> = (0..N_STAT).map(|_| r.truncated_normal()).collect();
    assert!(xs.iter().all(|z| z.abs() < 2.0));
    let max = xs.iter().fold(0.0f32, |m, z| m.max(z.abs()));
    assert!(max > 1.99, "the tails near ±2 are drawn: max |z| = {max}");
    let (dm, dv) = check_moments("truncated normal", &xs, 0.0, var, m4);
    let z = z2();
    let cdf = |x: f64| ((normal_cdf(x.clamp(-2.0, 2.0)) - normal_cdf(-2.0)) / z).clamp(0.0, 1.0);
    let d = ks_statistic(&xs, cdf);
    eprintln!("truncated normal: mean {dm:.2} se, var {dv:.2} se, KS {d:.5}");
    assert!(d < ks_critical(xs.len()), "truncated normal KS {d}");
}

#[test]
fn determinism_same_seed_same_bits_different_seed_different_values() {
    for init in [
        Initializer::GlorotUniform,
        Initializer::HeNormal,
        Initializer::RandomNormal {
            mean: 0.0,
            stddev: 1.0,
        },
        Initializer::Orthogonal { gain: 1.0 },
    ] {
        let bits = |seed| -> Vec<u32> {
            let w = fill::<f32>(init, &[12, 7], seed);
            w.iter().map(|x| x.to_bits()).collect()
        };
        let (a, b, c) = (bits(9), bits(9), bits(10));
        assert_eq!(a, b, "{init:?}: same seed");
        let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
        assert!(
            same <= 1,
            "{init:?}: seeds 9 and 10 share {same} of 84 values"
        );
    }
    // A fill continues the stream: two fills from one Rng differ.
    let s = shape(&[4, 4]);
    let mut rng = Rng::from_seed(1);
    let (mut x, mut y) = ([0.0f32; 16], [0.0f32; 16]);
    let init = Initializer::GlorotNormal;
    init.fill(&s, &mut x, &mut rng, &mut []).unwrap();
    init.fill(&s, &mut y, &mut rng, &mut []).unwrap();
    assert_ne!(x, y);
    // Deterministic initializers draw nothing.
    let mut rng = Rng::from_seed(1);
    let init = Initializer::Ones;
    init.fill(&s, &mut x, &mut rng, &mut []).unwrap();
    assert_eq!(rng, Rng::from_seed(1));
}

// ------------------------------------------------------------------------------------
// Fans and parameters against Keras

#[test]
fn fans_match_keras_compute_fans() {
    let fx = fixture();
    let cases = fx["fans"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for case in cases {
        let d = dims(&case["shape"]);
        let expected = pair(&case["fans"]);
        assert_eq!(compute_fans(&shape(&d)), expected, "shape {d:?}");
    }
    for case in fx["fans_axes"].as_array().unwrap() {
        let d = dims(&case["shape"]);
        let axes = |k: &str| -> Vec<i32> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_i64().unwrap() as i32)
                .collect()
        };
        let fan_axes = FanAxes::new(&axes("input_axes"), &axes("output_axes")).unwrap();
        assert_eq!(fan_axes.fans(&shape(&d)), Ok(pair(&case["fans"])));
        let vs =
            VarianceScaling::new(2.0, FanMode::FanAvg, Distribution::Uniform).with_axes(fan_axes);
        let got = vs.sampling(&shape(&d)).unwrap();
        assert_sampling(
            &format!("axes {d:?}"),
            got,
            &case["sampling_2.0_fan_avg_uniform"],
        );
    }
}

fn initializer_named(name: &str) -> Initializer {
    let vs = |scale, mode, distribution| {
        Initializer::VarianceScaling(VarianceScaling::new(scale, mode, distribution))
    };
    match name {
        "glorot_uniform" => Initializer::GlorotUniform,
        "glorot_normal" => Initializer::GlorotNormal,
        "he_uniform" => Initializer::HeUniform,
        "he_normal" => Initializer::HeNormal,
        "lecun_uniform" => Initializer::LecunUniform,
        "lecun_normal" => Initializer::LecunNormal,
        "variance_scaling_default" => Initializer::VarianceScaling(VarianceScaling::default()),
        "variance_scaling_0.3_fan_out_untruncated" => {
            vs(0.3, FanMode::FanOut, Distribution::UntruncatedNormal)
        }
        "variance_scaling_2.5_fan_avg_normal" => vs(
            2.5,
            FanMode::FanAvg,
            Distribution::from_name("normal").unwrap(),
        ),
        "variance_scaling_0.7_fan_avg_uniform" => vs(0.7, FanMode::FanAvg, Distribution::Uniform),
        "random_uniform_default" => Initializer::from_name("RandomUniform").unwrap(),
        "random_uniform_-0.2_0.7" => Initializer::RandomUniform {
            minval: -0.2,
            maxval: 0.7,
        },
        "random_normal_default" => Initializer::from_name("RandomNormal").unwrap(),
        "random_normal_1_2" => Initializer::RandomNormal {
            mean: 1.0,
            stddev: 2.0,
        },
        "truncated_normal_default" => Initializer::from_name("TruncatedNormal").unwrap(),
        "truncated_normal_0.5_0.1" => Initializer::TruncatedNormal {
            mean: 0.5,
            stddev: 0.1,
        },
        other => panic!("unknown fixture initializer {other}"),
    }
}

/// Largest relative parameter difference seen, for the report.
fn assert_sampling(what: &str, got: Sampling, expected: &Value) -> f32 {
    let p = |k: &str| expected[k].as_f64().unwrap() as f32;
    let (kind, a, b, ea, eb) = match got {
        Sampling::Uniform { minval, maxval } => {
            ("uniform", minval, maxval, p("minval"), p("maxval"))
        }
        Sampling::Normal { mean, stddev } => ("normal", mean, stddev, p("mean"), p("stddev")),
        Sampling::TruncatedNormal { mean, stddev } => {
            ("truncated_normal", mean, stddev, p("mean"), p("stddev"))
        }
    };
    assert_eq!(
        kind,
        expected["kind"].as_str().unwrap(),
        "{what}: distribution"
    );
    assert_close(what, &[a, b], &[ea, eb], 1e-6, 0.0);
    let rel = |x: f32, e: f32| {
        if e == 0.0 {
            (x - e).abs()
        } else {
            ((x - e) / e).abs()
        }
    };
    rel(a, ea).max(rel(b, eb))
}

#[test]
fn distribution_parameters_match_keras() {
    let fx = fixture();
    let cases = fx["sampling"].as_array().unwrap();
    assert_eq!(cases.len(), 16 * 9);
    let mut worst = 0.0f32;
    for case in cases {
        let name = case["initializer"].as_str().unwrap();
        let d = dims(&case["shape"]);
        let got = initializer_named(name)
            .sampling(&shape(&d))
            .unwrap()
            .unwrap();
        worst = worst.max(assert_sampling(&format!("{name} {d:?}"), got, case));
    }
    eprintln!("worst relative parameter difference vs Keras: {worst:e}");
}

#[test]
fn uniform_limits_follow_the_formula_and_are_never_exceeded() {
    // limit = √(3·scale/n): Glorot n = (fan_in + fan_out)/2, He and LeCun n = fan_in.
    // (initializer, scale, whether n averages the fans)
    let cases = [
        (Initializer::GlorotUniform, 1.0, true),
        (Initializer::HeUniform, 2.0, false),
        (Initializer::LecunUniform, 1.0, false),
    ];
    for (init, scale, fan_avg) in cases {
        for d in [&[64usize, 32][..], &[3, 3, 8, 16], &[5, 4, 6]] {
            let (fi, fo) = compute_fans(&shape(d));
            let n = if fan_avg {
                (fi + fo) as f64 / 2.0
            } else {
                fi as f64
            };
            let limit = (3.0 * scale / n).sqrt();
            let Some(Sampling::Uniform { minval, maxval }) = init.sampling(&shape(d)).unwrap()
            else {
                panic!("{init:?} is uniform")
            };
            assert_close(
                "limit",
                &[minval, maxval],
                &[-limit as f32, limit as f32],
                1e-6,
                0.0,
            );
            let mut w = Vec::new();
            for seed in 0..20 {
                w.extend(fill::<f32>(init, d, seed));
            }
            assert!(
                w.iter().all(|&x| x >= minval && x < maxval),
                "{init:?} {d:?}: value outside [-{limit}, {limit})"
            );
            let max = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(
                max > 0.99 * limit as f32,
                "{init:?} {d:?}: max {max} of {limit}"
            );
            // Uniform on ±L: variance L²/3, fourth moment L⁴/5.
            let l2 = limit * limit;
            check_moments(&format!("{init:?} {d:?}"), &w, 0.0, l2 / 3.0, l2 * l2 / 5.0);
        }
    }
}

#[test]
fn normal_initializers_have_keras_variance() {
    // Truncated VarianceScaling: variance exactly scale/n after truncation.
    let (tvar, tm4) = truncated_moments();
    let d = [50usize, 40]; // fan_in 50, fan_out 40
    for (k, (init, var_target)) in [
        (Initializer::GlorotNormal, 2.0 / 90.0),
        (Initializer::HeNormal, 2.0 / 50.0),
        (Initializer::LecunNormal, 1.0 / 50.0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut w = Vec::new();
        for seed in 100 * k as u64..100 * (k as u64 + 1) {
            w.extend(fill::<f32>(init, &d, seed));
        }
        let Some(Sampling::TruncatedNormal { stddev, .. }) = init.sampling(&shape(&d)).unwrap()
        else {
            panic!("{init:?} is a truncated normal")
        };
        let s2 = (stddev as f64).powi(2);
        // The formula: stddev before truncation = √(scale/n) / 0.8796…
        assert!((s2 * tvar / var_target - 1.0).abs() < 1e-6);
        let (dm, dv) = check_moments(&format!("{init:?}"), &w, 0.0, s2 * tvar, s2 * s2 * tm4);
        eprintln!(
            "{init:?}: mean {dm:.2} se, var {dv:.2} se (N = {})",
            w.len()
        );
        let bound = 2.0 * stddev;
        assert!(
            w.iter().all(|x| x.abs() <= bound),
            "{init:?} beyond 2 stddev"
        );
    }
    // Untruncated: plain normal with stddev √(scale/n).
    let init = Initializer::VarianceScaling(VarianceScaling::new(
        3.0,
        FanMode::FanOut,
        Distribution::UntruncatedNormal,
    ));
    let w: Vec<f32> = (0..50).flat_map(|s| fill::<f32>(init, &d, s)).collect();
    let var = 3.0 / 40.0;
    check_moments("untruncated", &w, 0.0, var, 3.0 * var * var);
    let sd = var.sqrt();
    let d = ks_statistic(&w, |x| normal_cdf(x / sd));
    assert!(d < ks_critical(w.len()), "untruncated KS {d}");

    // RandomNormal(mean, stddev) and RandomUniform(minval, maxval) with their parameters.
    let init = Initializer::RandomNormal {
        mean: 1.5,
        stddev: 0.25,
    };
    let w: Vec<f32> = fill(init, &[N_STAT], 3);
    check_moments("RandomNormal", &w, 1.5, 0.0625, 3.0 * 0.0625 * 0.0625);
    let init = Initializer::RandomUniform {
        minval: -0.2,
        maxval: 0.7,
    };
    let w: Vec<f32> = fill(init, &[N_STAT], 3);
    assert!(w.iter().all(|&x| (-0.2..0.7).contains(&x)));
    let (h, c) = (0.45f64, 0.25f64); // half-width and centre
    check_moments("RandomUniform", &w, c, h * h / 3.0, h.powi(4) / 5.0);
}

#[test]
fn truncated_normal_never_beyond_two_stddev() {
    for (mean, stddev) in [(0.0f32, 0.05f32), (0.5, 0.1), (-3.0, 2.0)] {
        let init = Initializer::TruncatedNormal { mean, stddev };
        let w: Vec<f32> = fill(init, &[N_STAT], 11);
        // Rounding is monotonic, so the f32 bounds computed the same way hold exactly.
        let (lo, hi) = (-2.0 * stddev + mean, 2.0 * stddev + mean);
        assert!(
            w.iter().all(|&x| x >= lo && x <= hi),
            "TruncatedNormal({mean}, {stddev})"
        );
        let near = w.iter().filter(|&&x| x > mean + 1.98 * stddev).count();
        assert!(near > 0, "values close to the cut are drawn");
        let (var, m4) = truncated_moments();
        let s2 = (stddev * stddev) as f64;
        check_moments("TruncatedNormal", &w, mean as f64, s2 * var, s2 * s2 * m4);
    }
}

// ------------------------------------------------------------------------------------
// Deterministic initializers

#[test]
fn zeros_ones_constant_are_exact() {
    assert_eq!(fill::<f32>(Initializer::Zeros, &[3, 4], 0), vec![0.0; 12]);
    assert_eq!(fill::<f32>(Initializer::Ones, &[3, 4], 0), vec![1.0; 12]);
    let c = Initializer::Constant { value: -0.3 };
    assert_eq!(fill::<f32>(c, &[2, 2, 2], 0), vec![-0.3; 8]);
    assert_eq!(fill::<Q16_16>(c, &[5], 0), vec![Q16_16::from_f32(-0.3); 5]);
    assert_eq!(
        fill::<Q16_16>(Initializer::Ones, &[2], 0),
        vec![Q16_16::ONE; 2]
    );
}

#[test]
fn identity_matches_keras() {
    let fx = fixture();
    for case in fx["identity"].as_array().unwrap() {
        let d = dims(&case["shape"]);
        let gain = case["gain"].as_f64().unwrap() as f32;
        let expected = floats(&case["value"]);
        let init = Initializer::Identity { gain };
        assert_eq!(fill::<f32>(init, &d, 0), expected, "Identity {d:?}");
        let q: Vec<Q16_16> = expected.iter().map(|&x| Q16_16::from_f32(x)).collect();
        assert_eq!(fill::<Q16_16>(init, &d, 0), q);
    }
}

// ------------------------------------------------------------------------------------
// Orthogonal

#[test]
fn orthogonal_matches_keras_for_the_same_gaussian_matrix() {
    let fx = fixture();
    let mut worst = 0.0f32;
    for case in fx["orthogonal"].as_array().unwrap() {
        let d = dims(&case["shape"]);
        let s = shape(&d);
        let gain = case["gain"].as_f64().unwrap() as f32;
        let a = floats(&case["a"]);
        let a_shape = dims(&case["a_shape"]);
        let (rows, cols) = orthogonal::matrix_dims(&s).unwrap();
        assert_eq!(
            a_shape,
            [rows.max(cols), rows.min(cols)],
            "Keras's flat shape"
        );
        let mut scratch = vec![0.0f32; orthogonal::scratch_len(&s)];
        scratch[..a.len()].copy_from_slice(&a);
        let mut out = vec![0.0f32; s.len()];
        orthogonal::orthogonalize(&s, gain, &mut scratch, &mut out).unwrap();
        let expected = floats(&case["value"]);
        assert_close(&format!("Orthogonal {d:?}"), &out, &expected, 0.0, 2e-6);
        for (o, e) in out.iter().zip(&expected) {
            worst = worst.max((o - e).abs());
        }
    }
    eprintln!("Orthogonal vs Keras (same Gaussian matrix): worst |diff| {worst:e}");
}

/// The Gram matrix of the smaller side: `WᵀW` (cols × cols) for a tall `W`, `WWᵀ` for a
/// wide one; must be `gain²·I`.
fn gram_error(w: &[f32], rows: usize, cols: usize, gain: f32) -> f64 {
    let g2 = (gain as f64).powi(2);
    let tall = rows >= cols;
    let (small, big) = if tall { (cols, rows) } else { (rows, cols) };
    // Element i of column p (tall) or row p (wide).
    let at = |p: usize, i: usize| {
        (if tall {
            w[i * cols + p]
        } else {
            w[p * cols + i]
        }) as f64
    };
    let mut worst: f64 = 0.0;
    for p in 0..small {
        for q in 0..small {
            let dot: f64 = (0..big).map(|i| at(p, i) * at(q, i)).sum();
            let target = if p == q { g2 } else { 0.0 };
            worst = worst.max((dot - target).abs());
        }
    }
    worst / g2
}

#[test]
fn orthogonal_fill_is_orthogonal_tall_wide_and_conv() {
    let mut worst: f64 = 0.0;
    for (d, gain) in [
        (&[64usize, 16][..], 1.0f32),
        (&[16, 64], 1.0),
        (&[32, 32], 2.0),
        (&[3, 3, 8, 16], 0.5),
        (&[2, 3, 100], 1.3),
        (&[200, 3], 1.0),
    ] {
        let s = shape(d);
        let (rows, cols) = orthogonal::matrix_dims(&s).unwrap();
        for seed in 0..3 {
            let w: Vec<f32> = fill(Initializer::Orthogonal { gain }, d, seed);
            let e = gram_error(&w, rows, cols, gain);
            assert!(
                e < 1e-4,
                "{d:?} gain {gain}: Gram off by {e} (relative to gain²)"
            );
            worst = worst.max(e);
        }
    }
    eprintln!("orthogonality: worst |Gram − gain²I| / gain² = {worst:e}");
}

#[test]
fn orthogonal_is_distributed_as_haar() {
    // Keras's sign correction makes Q Haar-distributed: every entry of a 4×4 orthogonal
    // matrix has mean 0 and variance 1/4 (no sign bias on the diagonal, which the
    // uncorrected Householder Q would have).
    let mut diag = Vec::new();
    for seed in 0..5000 {
        let w: Vec<f32> = fill(Initializer::Orthogonal { gain: 1.0 }, &[4, 4], seed);
        diag.extend([w[0], w[5], w[10], w[15]]);
    }
    // A uniform unit vector in R⁴ has E x² = 1/4 and E x⁴ = 3/(4·6) = 1/8.
    check_moments("orthogonal diagonal", &diag, 0.0, 0.25, 0.125);
}

// ------------------------------------------------------------------------------------
// Q16.16, errors, names, defaults

#[test]
fn q16_16_fill_is_the_rounded_f32_fill() {
    for (init, d) in [
        (Initializer::GlorotUniform, &[16usize, 8][..]),
        (Initializer::HeNormal, &[3, 3, 4, 8]),
        (
            Initializer::TruncatedNormal {
                mean: 0.1,
                stddev: 0.3,
            },
            &[100],
        ),
        (Initializer::Orthogonal { gain: 1.0 }, &[10, 6]),
        (Initializer::Identity { gain: 0.7 }, &[3, 4]),
    ] {
        let f: Vec<f32> = fill(init, d, 21);
        let q: Vec<Q16_16> = fill(init, d, 21);
        let rounded: Vec<Q16_16> = f.iter().map(|&x| Q16_16::from_f32(x)).collect();
        assert_eq!(q, rounded, "{init:?}");
        assert!(q.iter().any(|&x| x != Q16_16::ZERO));
        for (a, b) in q.iter().zip(&f) {
            assert!((a.to_f32() - b).abs() <= 0.5 / 65536.0);
        }
    }
}

#[test]
fn errors_instead_of_panics() {
    let mut rng = Rng::from_seed(0);
    let s = shape(&[4, 3]);
    let mut out = [0.0f32; 11];
    assert_eq!(
        Initializer::GlorotUniform.fill(&s, &mut out, &mut rng, &mut []),
        Err(Error::ShapeMismatch {
            expected: 12,
            found: 11
        })
    );
    let mut out = [0.0f32; 12];
    // Orthogonal (4, 3): m = 4, n = 3 → 4·3 + 2·3 + 4 = 22 f32s = 88 bytes.
    let orth = Initializer::Orthogonal { gain: 1.0 };
    assert_eq!(orth.scratch_len(&s), 22);
    assert_eq!(Initializer::HeNormal.scratch_len(&s), 0);
    let mut scratch = [0.0f32; 21];
    assert_eq!(
        orth.fill(&s, &mut out, &mut rng, &mut scratch),
        Err(Error::ArenaTooSmall {
            needed: 88,
            available: 84
        })
    );
    let mut scratch = [0.0f32; 22];
    assert_eq!(orth.fill(&s, &mut out, &mut rng, &mut scratch), Ok(()));
    assert!(matches!(
        orth.fill(&shape(&[5]), &mut [0.0f32; 5], &mut rng, &mut scratch),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        Initializer::Identity { gain: 1.0 }.fill(
            &shape(&[2, 2, 2]),
            &mut [0.0f32; 8],
            &mut rng,
            &mut []
        ),
        Err(Error::InvalidConfig(_))
    ));
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let vs = Initializer::VarianceScaling(VarianceScaling::new(
            scale,
            FanMode::FanIn,
            Distribution::Uniform,
        ));
        assert!(matches!(
            vs.fill(&s, &mut out, &mut rng, &mut []),
            Err(Error::InvalidConfig(_))
        ));
    }
    assert!(FanAxes::new(&[5], &[0]).is_err());
    assert!(FanAxes::new(&[0, 1, 2, 3, 4, 0], &[0]).is_err());
    let axes = FanAxes::new(&[2], &[0]).unwrap(); // axis 2 of a rank-2 shape
    assert!(matches!(
        VarianceScaling::default().with_axes(axes).sampling(&s),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn names_match_keras() {
    let fx = fixture();
    let names = fx["names"].as_array().unwrap();
    assert!(names.len() >= 40);
    for n in names {
        let name = n["name"].as_str().unwrap();
        let class = n["class"].as_str().unwrap();
        let got = Initializer::from_name(name);
        let cfg = &n["config"];
        let p = |k: &str| cfg[k].as_f64().unwrap() as f32;
        let expected = match class {
            "Initializer" | "STFT" => None,
            "Zeros" => Some(Initializer::Zeros),
            "Ones" => Some(Initializer::Ones),
            "Constant" => Some(Initializer::Constant { value: p("value") }),
            "RandomUniform" => Some(Initializer::RandomUniform {
                minval: p("minval"),
                maxval: p("maxval"),
            }),
            "RandomNormal" => Some(Initializer::RandomNormal {
                mean: p("mean"),
                stddev: p("stddev"),
            }),
            "TruncatedNormal" => Some(Initializer::TruncatedNormal {
                mean: p("mean"),
                stddev: p("stddev"),
            }),
            "VarianceScaling" => Some(Initializer::VarianceScaling(VarianceScaling::new(
                p("scale"),
                FanMode::from_name(cfg["mode"].as_str().unwrap()).unwrap(),
                Distribution::from_name(cfg["distribution"].as_str().unwrap()).unwrap(),
            ))),
            "GlorotUniform" => Some(Initializer::GlorotUniform),
            "GlorotNormal" => Some(Initializer::GlorotNormal),
            "HeUniform" => Some(Initializer::HeUniform),
            "HeNormal" => Some(Initializer::HeNormal),
            "LecunUniform" => Some(Initializer::LecunUniform),
            "LecunNormal" => Some(Initializer::LecunNormal),
            "Orthogonal" => Some(Initializer::Orthogonal { gain: p("gain") }),
            "Identity" => Some(Initializer::Identity { gain: 1.0 }),
            other => panic!("class {other} not covered"),
        };
        assert_eq!(got, expected, "{name}");
    }
    assert_eq!(Initializer::from_name("GLOROT_UNIFORM"), None); // case-sensitive
}

#[test]
fn layer_defaults_match_keras() {
    let fx = fixture();
    for layer in ["Dense", "Conv2D"] {
        let d = &fx["layer_defaults"][layer];
        assert_eq!(
            Initializer::from_name(d["kernel"].as_str().unwrap()),
            Some(Initializer::KERNEL_DEFAULT)
        );
        assert_eq!(
            Initializer::from_name(d["bias"].as_str().unwrap()),
            Some(Initializer::BIAS_DEFAULT)
        );
    }
}
