//! [`ParametricSoftplus`]: Keras 1's `keras.layers.advanced_activations.ParametricSoftplus`.

use serde::{Deserialize, Serialize};

use super::common::check;
use super::prelu::{sample_shape, shared_index, shared_param_shape};
use crate::activation::elementwise::softplus;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Softplus with a learned scale and slope per element:
/// `y = alpha · softplus(beta · x)`, `softplus(z) = log(1 + e^z)`.
///
/// Origin: Keras 1.x's `keras.layers.advanced_activations.ParametricSoftplus(
/// alpha_init=0.2, beta_init=5.0, weights=None, shared_axes=None)` (McFarland et al.,
/// "Inferring Nonlinear Neuronal Computation Based on Physiologically Plausible
/// Inputs"), removed in Keras 2 and absent from Keras 3; it is listed in the users'
/// cheat sheet. Keras 1 computed `K.softplus(betas * x) * alphas`; softplus here is
/// the numerically stable `max(z, 0) + log1p(e^-|z|)` of `jax.nn.softplus`.
///
/// Two parameters, in Keras 1's order: `alphas` (initialised to `alpha_init`) then
/// `betas` (`beta_init`), each with the input's shape (batch excluded) except size 1 on
/// every axis of `shared_axes` (as [`super::PReLU`]; Keras 1.2 counts the batch as axis
/// 0). Gradients, with `z = beta · x` and `s = sigmoid(z)`:
/// `∂y/∂x = alpha · beta · s`, `∂y/∂alpha = softplus(z)`, `∂y/∂beta = alpha · x · s`,
/// the parameter gradients summed over the batch and the shared axes.
///
/// To bring it in from Keras 3, save the model with a custom layer class registered
/// under the name `ParametricSoftplus` (`@keras.saving.register_keras_serializable()`)
/// whose `get_config` has `alpha_init`, `beta_init` and, if used, `shared_axes`, and whose
/// weights are `[alphas, betas]`; the converter maps it here
/// (`tests/fixtures/legacy_activations/generate.py` has such a class).
///
/// ```
/// use ember_nn::layers::{Context, Layer, ParametricSoftplus};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let layer = ParametricSoftplus { shared_axes: 0 };
/// let alphas = [2.0f32, 0.5];
/// let betas = [1.0f32, 3.0];
/// let x = [0.0f32, 0.0];
/// let mut y = [0.0f32; 2];
/// layer.forward(
///     &[&alphas, &betas],
///     TensorView::new(Shape::new(&[1, 2]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// let ln2 = core::f32::consts::LN_2; // softplus(0) = ln 2
/// assert_eq!(y, [2.0 * ln2, 0.5 * ln2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParametricSoftplus {
    /// `shared_axes` as a bit mask: bit `i` set means Keras axis `i` (counting the batch
    /// as axis 0, so `1..=5`) shares its `alpha` and `beta`. Bit 0 must be clear.
    /// [`super::PReLU::shared_axes_mask`] builds it from Keras's list.
    pub shared_axes: u8,
}

impl ParametricSoftplus {
    /// The shape of `alphas` and of `betas` for an input shape (no batch).
    fn param_shape(&self, input: Shape) -> Result<Shape> {
        shared_param_shape(
            self.shared_axes,
            input,
            "ParametricSoftplus.shared_axes must name non-batch axes of the input",
        )
    }

    /// Checks `params` and `x`; returns (alphas, betas, sample shape, parameter shape).
    #[allow(clippy::type_complexity)] // two slices and two shapes
    fn setup<'p, T>(
        &self,
        params: &[&'p [T]],
        x: Shape,
    ) -> Result<(&'p [T], &'p [T], Shape, Shape)> {
        check(2, params.len())?;
        let sample = sample_shape(x)?;
        let pshape = self.param_shape(sample)?;
        check(pshape.len(), params[0].len())?;
        check(pshape.len(), params[1].len())?;
        Ok((params[0], params[1], sample, pshape))
    }
}

impl Layer for ParametricSoftplus {
    const KERAS_CLASS: &'static str = "ParametricSoftplus";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.param_shape(input)?;
        Ok(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let p = self.param_shape(input)?;
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 2: these pushes cannot fail.
        let _ = shapes.push(p);
        let _ = shapes.push(p);
        Ok(shapes)
    }

    fn macs(&self, input: Shape) -> usize {
        input.len().saturating_mul(2)
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let (alpha, beta, sample, pshape) = self.setup(params, x.shape())?;
        let y = y.data();
        check(x.data().len(), y.len())?;
        let n = sample.len();
        for (xs, ys) in x.data().chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            for (i, (&v, o)) in xs.iter().zip(ys.iter_mut()).enumerate() {
                let j = shared_index(i, sample.dims(), pshape.dims());
                *o = softplus(beta[j] * v) * alpha[j];
            }
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
        _ctx: &Context,
    ) -> Result<()> {
        let (alpha, beta, sample, pshape) = self.setup(params, x.shape())?;
        let len = x.data().len();
        check(len, y.data().len())?;
        check(len, dy.len())?;
        let n = sample.len();
        let index = |k: usize| shared_index(k % n, sample.dims(), pshape.dims());
        if let Some(dp) = dparams {
            let m = pshape.len();
            check(2 * m, dp.len())?;
            dp.iter_mut().for_each(|g| *g = T::ZERO);
            let (da, db) = dp.split_at_mut(m);
            for (k, (&v, &d)) in x.data().iter().zip(dy.iter()).enumerate() {
                let j = index(k);
                let z = beta[j] * v;
                // ∂L/∂z = d · alpha · sigmoid(z)
                let dz = d * alpha[j] * z.sigmoid();
                da[j] = da[j] + d * softplus(z);
                db[j] = db[j] + dz * v;
            }
        }
        if let Some(dx) = dx {
            check(len, dx.len())?;
            for (k, ((&v, &d), o)) in x.data().iter().zip(dy.iter()).zip(dx).enumerate() {
                let j = index(k);
                let z = beta[j] * v;
                *o = d * alpha[j] * z.sigmoid() * beta[j];
            }
        }
        Ok(())
    }
}
