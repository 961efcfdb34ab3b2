//! Helpers shared by the layer golden tests (`tests/tests/golden_*.rs` and friends):
//! reading a fixture's `layers.json` cases, turning a case into the converter's
//! [`KerasLayer`], running one layer forward then backward, and deterministic inputs.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::keras::KerasLayer;
use ember_nn::layers::{Context, LayerConfig};
use ember_nn::{Scalar, Sequential, Shape, TensorView, TensorViewMut, TrainConfig};
use serde_json::Value;

use crate::fixture;

/// The `"cases"` array of the JSON file `file` in `tests/fixtures/<dir>/`.
pub fn read_cases(dir: &str, file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture(dir, file)).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

/// The cases of `tests/fixtures/<dir>/layers.json`.
pub fn layer_cases(dir: &str) -> Vec<Value> {
    read_cases(dir, "layers.json")
}

/// The case called `name` among `cases`; panics with the name when there is none.
pub fn case_named(cases: Vec<Value>, name: &str) -> Value {
    cases
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name}"))
}

/// A JSON array of non-negative integers (a shape) as `usize`s.
pub fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// The layer of a golden case (`class_name` and Keras's `config`, named by
/// `config.name`), trainable, without weights, as the converter reads it.
pub fn keras_layer(case: &Value) -> KerasLayer {
    KerasLayer {
        name: case["config"]["name"].as_str().unwrap().to_string(),
        class_name: case["class_name"].as_str().unwrap().to_string(),
        config: case["config"].clone(),
        trainable: true,
        weights: Vec::new(),
    }
}

/// Outputs of one forward + backward pass: y, dx and the parameter gradients
/// (concatenated in Keras's weight order).
#[derive(Debug, Clone, PartialEq)]
pub struct Pass<T> {
    /// The layer's output.
    pub y: Vec<T>,
    /// Gradient w.r.t. the input.
    pub dx: Vec<T>,
    /// Gradients w.r.t. the parameters, concatenated.
    pub dparams: Vec<T>,
}

/// Forward of `config` on `batch` samples of shape `input`, then backward with
/// `dy = c`, asking for dx (zero-filled first) and the parameter gradients
/// (`Some`, sized by `params`, even when there are none).
pub fn forward_backward<T: Scalar>(
    config: &LayerConfig,
    params: &[&[T]],
    input: Shape,
    batch: usize,
    x: &[T],
    c: &[T],
) -> ember_nn::Result<Pass<T>> {
    let out = config.output_shape(input)?;
    let xs = input.with_batch(batch)?;
    let ys = out.with_batch(batch)?;
    let mut y = vec![T::ZERO; ys.len()];
    config.forward(
        params,
        TensorView::new(xs, x)?,
        TensorViewMut::new(ys, &mut y)?,
        &Context::default(),
    )?;
    let mut dy = c.to_vec();
    let mut dx = vec![T::ZERO; x.len()];
    let mut dparams = vec![T::ZERO; params.iter().map(|p| p.len()).sum()];
    config.backward(
        params,
        TensorView::new(xs, x)?,
        TensorView::new(ys, &y)?,
        &mut dy,
        Some(&mut dx),
        Some(&mut dparams),
        &Context::default(),
    )?;
    Ok(Pass { y, dx, dparams })
}

/// Forward and backward (`dy = c`) of a parameter-free layer (asserted) on `batch`
/// samples of shape `input`; returns (y, dx). dx is filled with `dx_init` before the
/// backward pass (a non-zero value checks that backward overwrites it); no parameter
/// gradients are asked for (`None`).
pub fn forward_backward_weightless<T: Scalar>(
    config: &LayerConfig,
    input: Shape,
    batch: usize,
    x: &[T],
    c: &[T],
    dx_init: T,
) -> ember_nn::Result<(Vec<T>, Vec<T>)> {
    let out = config.output_shape(input)?;
    assert!(config.param_shapes(input)?.is_empty());
    let xs = input.with_batch(batch)?;
    let ys = out.with_batch(batch)?;
    let mut y = vec![T::ZERO; ys.len()];
    config.forward(
        &[],
        TensorView::new(xs, x)?,
        TensorViewMut::new(ys, &mut y)?,
        &Context::default(),
    )?;
    let mut dy = c.to_vec();
    let mut dx = vec![dx_init; x.len()];
    config.backward(
        &[],
        TensorView::new(xs, x)?,
        TensorView::new(ys, &y)?,
        &mut dy,
        Some(&mut dx),
        None,
        &Context::default(),
    )?;
    Ok((y, dx))
}

/// `n` values in `[-1, 1)` from a 64-bit LCG (Knuth's MMIX constants) starting at
/// state `state`: each value is the top 24 bits of the next state.
pub fn lcg_from_state(state: u64, n: usize) -> Vec<f32> {
    let mut s = state;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `n` deterministic values in `[-1, 1)`: [`lcg_from_state`] from the state one LCG
/// step after `seed`.
pub fn lcg_values(n: usize, seed: u64) -> Vec<f32> {
    lcg_from_state(
        seed.wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407),
        n,
    )
}

/// `max |a − e| / (rtol·|e| + atol)`: the worst element as a share of the tolerance.
pub fn worst_share(a: &[f32], e: &[f32], rtol: f32, atol: f32) -> f32 {
    a.iter()
        .zip(e)
        .map(|(a, e)| (a - e).abs() / (rtol * e.abs() + atol))
        .fold(0.0, f32::max)
}

/// `max |a − e| / |e|` over the expected values with `|e| ≥ floor`.
pub fn worst_rel(a: &[f32], e: &[f32], floor: f32) -> f32 {
    a.iter()
        .zip(e)
        .filter(|(_, e)| e.abs() >= floor)
        .map(|(a, e)| (a - e).abs() / e.abs())
        .fold(0.0, f32::max)
}

/// `max |a − e|`.
pub fn worst_abs(a: &[f32], e: &[f32]) -> f32 {
    a.iter()
        .zip(e)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

/// Borrows each parameter tensor as a slice, the form `LayerConfig` takes.
pub fn refs<T>(params: &[Vec<T>]) -> Vec<&[T]> {
    params.iter().map(Vec::as_slice).collect()
}

/// `Σ c ⊙ layer(x)` (summed in f64 so that finite differences are not dominated by the
/// summation's rounding) of `config`'s forward on `batch` samples of shape `input`: the
/// objective whose gradients the golden files hold.
pub fn weighted_output_sum(
    config: &LayerConfig,
    params: &[&[f32]],
    input: Shape,
    batch: usize,
    x: &[f32],
    c: &[f32],
) -> f64 {
    let out = config.output_shape(input).unwrap();
    let mut y = vec![0.0f32; batch * out.len()];
    config
        .forward(
            params,
            TensorView::new(input.with_batch(batch).unwrap(), x).unwrap(),
            TensorViewMut::new(out.with_batch(batch).unwrap(), &mut y).unwrap(),
            &Context::default(),
        )
        .unwrap();
    y.iter().zip(c).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Settings of [`check_finite_differences`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiniteDiff {
    /// The central-difference step.
    pub h: f32,
    /// Each gradient must satisfy `|analytic − numeric| ≤ tol + tol·|numeric|`.
    pub tol: f32,
    /// Checks every `x_stride`-th input element (1: all of them); every parameter
    /// element is checked.
    pub x_stride: usize,
}

/// Central finite differences of [`weighted_output_sum`] against the analytic dx and
/// parameter gradients of [`forward_backward`]. The elements are perturbed in place and
/// restored; failures name `what`, the tensor and the element.
#[allow(clippy::too_many_arguments)]
pub fn check_finite_differences(
    what: &str,
    config: &LayerConfig,
    input: Shape,
    batch: usize,
    params: &mut [Vec<f32>],
    x: &mut [f32],
    c: &[f32],
    fd: FiniteDiff,
) {
    let FiniteDiff { h, tol, x_stride } = fd;
    let p = forward_backward(config, &refs(params), input, batch, x, c).unwrap();
    let check = |what: String, analytic: f32, up: f64, down: f64| {
        let numeric = ((up - down) / (2.0 * h as f64)) as f32;
        assert!(
            (analytic - numeric).abs() <= tol + tol * numeric.abs(),
            "{what}: analytic {analytic}, numeric {numeric}"
        );
    };
    for i in (0..x.len()).step_by(x_stride) {
        let v = x[i];
        x[i] = v + h;
        let up = weighted_output_sum(config, &refs(params), input, batch, x, c);
        x[i] = v - h;
        let down = weighted_output_sum(config, &refs(params), input, batch, x, c);
        x[i] = v;
        check(format!("{what} dx[{i}]"), p.dx[i], up, down);
    }
    let mut offset = 0;
    for k in 0..params.len() {
        for i in 0..params[k].len() {
            let v = params[k][i];
            params[k][i] = v + h;
            let up = weighted_output_sum(config, &refs(params), input, batch, x, c);
            params[k][i] = v - h;
            let down = weighted_output_sum(config, &refs(params), input, batch, x, c);
            params[k][i] = v;
            check(
                format!("{what} dparam{k}[{i}]"),
                p.dparams[offset + i],
                up,
                down,
            );
        }
        offset += params[k].len();
    }
}

/// What [`train_f32`] leaves: the loss of every step and the parameters after the last
/// one, per layer, per tensor (Keras's weight order).
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// `train_on_batch`'s loss at each step.
    pub losses: Vec<f32>,
    /// `params[layer][tensor]` after training.
    pub params: Vec<Vec<Vec<f32>>>,
}

/// Builds an f32 [`Sequential`] for training from `blob` with `config` and runs
/// `steps` `train_on_batch` calls on consecutive equal slices of `xs` and `ys`.
pub fn train_f32(
    blob: &[u8],
    config: TrainConfig,
    steps: usize,
    xs: &[f32],
    ys: &[f32],
) -> Trained {
    let needed = Sequential::<f32>::training_bytes(blob, &config).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::for_training(blob, arena.as_mut_slice(), config).unwrap();
    let (xn, yn) = (xs.len() / steps, ys.len() / steps);
    let losses = (0..steps)
        .map(|k| {
            m.train_on_batch(&xs[k * xn..(k + 1) * xn], &ys[k * yn..(k + 1) * yn])
                .unwrap()
        })
        .collect();
    let params = (0..m.graph().layers().len())
        .map(|l| {
            (0..m.graph().layers()[l].params.len())
                .map(|p| m.param(l, p).unwrap().to_vec())
                .collect()
        })
        .collect();
    Trained { losses, params }
}

/// For the log: `"rel R abs A"` with R = [`worst_rel`] over `|e| ≥ 1e-3` and
/// A = [`worst_abs`].
pub fn worst_summary(a: &[f32], e: &[f32]) -> String {
    format!(
        "rel {:.1e} abs {:.1e}",
        worst_rel(a, e, 1e-3),
        worst_abs(a, e)
    )
}
