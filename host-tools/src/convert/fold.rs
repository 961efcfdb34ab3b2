//! `--fold-batchnorm`: folding an inference-mode `BatchNormalization` into the linear
//! layer before it.
//!
//! With `s_c = gamma_c / sqrt(moving_variance_c + epsilon)`, the normalization of output
//! channel `c` of a layer `z = x·W + b` is `y_c = (z_c − mean_c)·s_c + beta_c`, which is
//! again linear: kernel `W'[…, c] = W[…, c]·s_c` and bias
//! `b'_c = (b_c − mean_c)·s_c + beta_c`. The fold applies when the `BatchNormalization`
//! normalizes the last (channel) axis and directly follows a `Dense` or a convolution
//! whose fused activation is linear (an activation between them makes it non-linear).
//! The arithmetic runs in f64, then rounds once to f32. Pairs that do not qualify are left
//! as they are.

use ember_nn::layers::{BatchNormalization, LayerConfig};
use ember_nn::{Activation, Shape};

use super::Lowered;
use crate::Result;

/// Where a foldable layer keeps its output-channel weights: `(kernel index, bias index)`,
/// the output channel of kernel element `i` being `i % channels`. `None` for layers the
/// fold does not apply to. Adding a layer here is all a new foldable class needs.
fn foldable(config: &LayerConfig) -> Option<(usize, usize)> {
    match config {
        LayerConfig::Dense(d) if d.activation == Activation::Linear => Some((0, 1)),
        // Kernels (…, filters): the output channel is the last axis.
        LayerConfig::Conv1D(c) if c.activation == Activation::Linear => Some((0, 1)),
        LayerConfig::Conv2D(c) if c.activation == Activation::Linear => Some((0, 1)),
        _ => None,
    }
}

/// Marks the layer's bias as present (the fold always produces a bias).
fn with_bias(config: &mut LayerConfig) {
    match config {
        LayerConfig::Dense(d) => d.use_bias = true,
        LayerConfig::Conv1D(c) => c.use_bias = true,
        LayerConfig::Conv2D(c) => c.use_bias = true,
        _ => {}
    }
}

/// Folds every qualifying (layer, BatchNormalization) pair of `lowered`/`params` in place,
/// removing the BatchNormalization layers it folds. `input` is the model's input shape.
pub(super) fn fold_batchnorm(
    input: Shape,
    lowered: &mut Vec<Lowered<'_>>,
    params: &mut Vec<Vec<Vec<f32>>>,
) -> Result<()> {
    let mut shape = input;
    let mut k = 0;
    while k < lowered.len() {
        let out = lowered[k].config.output_shape(shape)?;
        if let (Some(next), Some((w_at, b_at))) = (lowered.get(k + 1), foldable(&lowered[k].config))
        {
            if let LayerConfig::BatchNormalization(bn) = next.config {
                if normalizes_last_axis(&bn, out) {
                    let bn_params = params.remove(k + 1);
                    lowered.remove(k + 1);
                    fold_pair(&bn, &bn_params, &mut params[k], w_at, b_at, out.last());
                    with_bias(&mut lowered[k].config);
                }
            }
        }
        shape = lowered[k].config.output_shape(shape)?;
        k += 1;
    }
    Ok(())
}

fn normalizes_last_axis(bn: &BatchNormalization, out: Shape) -> bool {
    let rank = out.rank() as i32;
    bn.axis == -1 || bn.axis == rank
}

/// `layer` holds the kernel at `w_at` and, when present, the bias at `b_at`.
fn fold_pair(
    bn: &BatchNormalization,
    bn_params: &[Vec<f32>],
    layer: &mut Vec<Vec<f32>>,
    w_at: usize,
    b_at: usize,
    channels: usize,
) {
    let mut it = bn_params.iter();
    let ones = vec![1.0f32; channels];
    let zeros = vec![0.0f32; channels];
    let gamma = if bn.scale { it.next() } else { None }.unwrap_or(&ones);
    let beta = if bn.center { it.next() } else { None }.unwrap_or(&zeros);
    let (mean, var) = (it.next().unwrap_or(&zeros), it.next().unwrap_or(&ones));
    let scale: Vec<f64> = (0..channels)
        .map(|c| gamma[c] as f64 / (var[c] as f64 + bn.epsilon as f64).sqrt())
        .collect();
    for (i, w) in layer[w_at].iter_mut().enumerate() {
        *w = (*w as f64 * scale[i % channels]) as f32;
    }
    if layer.len() <= b_at {
        layer.push(vec![0.0; channels]);
    }
    for (c, b) in layer[b_at].iter_mut().enumerate() {
        *b = ((*b as f64 - mean[c] as f64) * scale[c] + beta[c] as f64) as f32;
    }
}
