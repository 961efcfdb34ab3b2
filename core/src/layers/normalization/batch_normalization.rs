//! [`BatchNormalization`]: Keras's `keras.layers.BatchNormalization`.

use serde::{Deserialize, Serialize};

use super::moments::{inv_std, Split};
use crate::layers::activations::check;
use crate::layers::{Context, Layer, ParamShapes, TensorMask};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Batch normalization: Keras's `keras.layers.BatchNormalization(axis=-1, momentum=0.99,
/// epsilon=1e-3, center=True, scale=True)`.
///
/// Per feature `c` of the normalized axis,
/// `y = (x − mean_c) · gamma_c / sqrt(var_c + epsilon) + beta_c`, computed as Keras's JAX
/// backend does: `inv = gamma / sqrt(var + epsilon)`, `y = x · inv + (beta − mean · inv)`.
///
/// - **Inference** (`predict`, or a layer that does not train): `mean`, `var` are the
///   moving statistics.
/// - **Training** (a training [`Context`] on a layer that trains — Keras's
///   `training and self.trainable`): `mean`, `var` are the batch's, over every axis but
///   the normalized one, with the biased variance (`jnp.var`). After the forward pass the
///   model calls [`Layer::update_state`], which applies Keras's momentum rule
///   `moving = moving · momentum + batch · (1 − momentum)`.
///
/// Parameters, in Keras's order: `gamma` (if `scale`), `beta` (if `center`), then
/// `moving_mean` and `moving_variance`, each of shape `(features,)`. The last two are
/// non-trainable *state* ([`Layer::state_tensors`] = 2): the optimizer never touches
/// them, and the backward pass gives gradients for `gamma` and `beta` only.
///
/// Fixed point: sums run in `T`'s wide accumulator and are rounded once; a feature whose
/// batch sum of `x` or of squared deviations exceeds `T`'s range (±32768 for Q16.16)
/// saturates.
///
/// ```
/// use ember_nn::layers::{BatchNormalization, Context, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let bn = BatchNormalization { axis: -1, momentum: 0.99, epsilon: 0.0, center: true, scale: true };
/// let (gamma, beta, mean, var) = ([2.0f32], [1.0f32], [3.0f32], [4.0f32]);
/// let x = [5.0f32, 1.0];
/// let mut y = [0.0f32; 2];
/// let s = Shape::new(&[2, 1]).unwrap();
/// bn.forward(
///     &[&gamma, &beta, &mean, &var],
///     TensorView::new(s, &x).unwrap(),
///     TensorViewMut::new(s, &mut y).unwrap(),
///     &Context::default(), // inference: moving statistics
/// ).unwrap();
/// assert_eq!(y, [3.0, -1.0]); // (5 − 3)·2/2 + 1, (1 − 3)·2/2 + 1
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchNormalization {
    /// The normalized (feature) axis, Keras-style: counting the batch as axis 0, negative
    /// from the end (`-1`, the channels of a channels-last tensor). Not the batch axis.
    pub axis: i32,
    /// Moving-statistics momentum (`momentum=`).
    pub momentum: f32,
    /// Added to the variance (`epsilon=`).
    pub epsilon: f32,
    /// Whether there is a `beta` offset (`center=`).
    pub center: bool,
    /// Whether there is a `gamma` scale (`scale=`).
    pub scale: bool,
}

// The f32 fields are finite (the converter checks), so equality is an equivalence.
impl Eq for BatchNormalization {}

impl BatchNormalization {
    /// The feature axis's index in a sample shape of rank `rank` (no batch).
    fn sample_axis(&self, rank: usize) -> Result<usize> {
        let a = self.axis as i64;
        let full = rank as i64 + 1; // with the batch axis
        let resolved = if a < 0 { full + a } else { a };
        if resolved < 1 || resolved >= full {
            return Err(Error::InvalidConfig(
                "BatchNormalization.axis must name a non-batch axis of the input",
            ));
        }
        Ok(resolved as usize - 1)
    }

    fn features(&self, input: Shape) -> Result<usize> {
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0 && self.momentum.is_finite()) {
            return Err(Error::InvalidConfig(
                "BatchNormalization.epsilon and momentum must be finite",
            ));
        }
        Ok(input.dim(self.sample_axis(input.rank())?))
    }

    /// The batched shape `x` (batch first) split around the feature axis.
    fn split(&self, x: Shape) -> Result<Split> {
        if x.rank() < 2 {
            return Err(Error::InvalidShape);
        }
        let axis = self.sample_axis(x.rank() - 1)? + 1;
        let dims = x.dims();
        let outer = dims[..axis].iter().map(|&d| d as usize).product();
        let inner = dims[axis + 1..].iter().map(|&d| d as usize).product();
        Ok(Split {
            outer,
            features: dims[axis] as usize,
            inner,
        })
    }

    /// (gamma, beta, moving mean, moving variance); gamma/beta empty when absent.
    fn unpack<'p, T>(&self, params: &[&'p [T]], f: usize) -> Result<[&'p [T]; 4]> {
        let n = 2 + self.scale as usize + self.center as usize;
        check(n, params.len())?;
        for p in params {
            check(f, p.len())?;
        }
        let mut it = params.iter().copied();
        let gamma = if self.scale { it.next() } else { None };
        let beta = if self.center { it.next() } else { None };
        let (Some(mean), Some(var)) = (it.next(), it.next()) else {
            return Err(Error::ShapeMismatch {
                expected: n,
                found: params.len(),
            });
        };
        Ok([gamma.unwrap_or(&[]), beta.unwrap_or(&[]), mean, var])
    }

    /// The statistics a forward pass in `ctx` uses for feature `c`.
    fn stats<T: Scalar>(
        &self,
        x: &[T],
        s: &Split,
        c: usize,
        p: &[&[T]; 4],
        ctx: &Context,
    ) -> (T, T) {
        if ctx.training {
            s.moments(x, c)
        } else {
            (p[2][c], p[3][c])
        }
    }
}

impl Layer for BatchNormalization {
    const KERAS_CLASS: &'static str = "BatchNormalization";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.features(input)?;
        Ok(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let f = Shape::new(&[self.features(input)?])?;
        let n = 2 + self.scale as usize + self.center as usize;
        let mut shapes = ParamShapes::new();
        for _ in 0..n {
            // n <= 4 = MAX_PARAMS: the pushes cannot fail.
            let _ = shapes.push(f);
        }
        Ok(shapes)
    }

    /// One multiply-add per element (inference).
    fn macs(&self, input: Shape) -> usize {
        input.len()
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        let s = self.split(x.shape())?;
        let p = self.unpack(params, s.features)?;
        check(x.shape().len(), y.shape().len())?;
        let (x, y) = (x.data(), y.data());
        for c in 0..s.features {
            let (mean, var) = self.stats(x, &s, c, &p, ctx);
            let mut inv = inv_std(var, self.epsilon);
            if self.scale {
                inv = inv * p[0][c];
            }
            let mut res = -mean * inv;
            if self.center {
                res = res + p[1][c];
            }
            s.each(c, |i| y[i] = x[i] * inv + res);
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()> {
        let all = TensorMask::first(self.scale as usize + self.center as usize);
        self.backward_masked(params, x, y, dy, dx, dparams, all, ctx)
    }

    /// Any subset of `gamma` and `beta` (their gradients are independent sums).
    fn backward_masked<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        mut dx: Option<&mut [T]>,
        mut dparams: Option<&mut [T]>,
        wanted: TensorMask,
        ctx: &Context,
    ) -> Result<()> {
        let s = self.split(x.shape())?;
        let p = self.unpack(params, s.features)?;
        let len = x.shape().len();
        check(len, y.shape().len())?;
        check(len, dy.len())?;
        if let Some(dx) = dx.as_deref() {
            check(len, dx.len())?;
        }
        let f = s.features;
        let n_tensors = self.scale as usize + self.center as usize;
        if wanted.intersect(TensorMask::first(n_tensors)) != wanted {
            return Err(Error::InvalidConfig(
                "BatchNormalization has no such trainable tensor",
            ));
        }
        // Wanted gradients: gamma's (tensor 0 when `scale`), then beta's.
        let want_gamma = self.scale && wanted.contains(0);
        let want_beta = self.center && wanted.contains(self.scale as usize);
        if let Some(dp) = dparams.as_deref() {
            check(
                wanted.count().checked_mul(f).ok_or(Error::InvalidShape)?,
                dp.len(),
            )?;
        }
        let x = x.data();
        let n = T::from_usize(s.count());
        for c in 0..f {
            let (mean, var) = self.stats(x, &s, c, &p, ctx);
            let inv = inv_std(var, self.epsilon);
            // Σ dy and Σ dy·x̂, x̂ = (x − mean)·inv.
            let (mut sum_dy, mut sum_dy_xhat) = (T::ZERO.widen(), T::ZERO.widen());
            s.each(c, |i| {
                sum_dy = T::mac(sum_dy, dy[i], T::ONE);
                sum_dy_xhat = T::mac(sum_dy_xhat, dy[i], (x[i] - mean) * inv);
            });
            let (sum_dy, sum_dy_xhat) = (T::narrow(sum_dy), T::narrow(sum_dy_xhat));
            if let Some(dp) = dparams.as_deref_mut() {
                let mut at = 0;
                if want_gamma {
                    dp[c] = sum_dy_xhat;
                    at = f;
                }
                if want_beta {
                    dp[at + c] = sum_dy;
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                let g = if self.scale { p[0][c] * inv } else { inv };
                if ctx.training {
                    // The batch statistics depend on x too:
                    // dx = g · (dy − Σdy/N − x̂ · Σ(dy·x̂)/N).
                    let (mean_dy, mean_dy_xhat) = (sum_dy.div(n), sum_dy_xhat.div(n));
                    s.each(c, |i| {
                        let xhat = (x[i] - mean) * inv;
                        dx[i] = g * (dy[i] - mean_dy - xhat * mean_dy_xhat);
                    });
                } else {
                    s.each(c, |i| dx[i] = g * dy[i]);
                }
            }
        }
        Ok(())
    }

    /// `beta`, when `center`.
    fn bias_tensor(&self) -> Option<usize> {
        self.center.then_some(self.scale as usize)
    }

    fn state_tensors(&self) -> usize {
        2
    }

    /// Keras's moving-statistics update after a training forward pass of `x`:
    /// `state` is `moving_mean` then `moving_variance`.
    fn update_state<T: Scalar>(&self, x: TensorView<'_, T>, state: &mut [T]) -> Result<()> {
        let s = self.split(x.shape())?;
        let f = s.features;
        check(2 * f, state.len())?;
        let (m, v) = (T::from_f32(self.momentum), T::from_f32(1.0 - self.momentum));
        let (moving_mean, moving_var) = state.split_at_mut(f);
        for c in 0..f {
            let (mean, var) = s.moments(x.data(), c);
            moving_mean[c] = moving_mean[c] * m + mean * v;
            moving_var[c] = moving_var[c] * m + var * v;
        }
        Ok(())
    }
}
