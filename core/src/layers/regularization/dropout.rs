//! [`Dropout`]: Keras's `keras.layers.Dropout`.

use serde::{Deserialize, Serialize};

use super::{map, map_grad, noise_rng, unit_interval};
use crate::layers::reshaping::no_params;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Result, Scalar, Shape, TensorView, TensorViewMut};

/// Randomly zeroes inputs in training: Keras's
/// `keras.layers.Dropout(rate, noise_shape=None, seed=None)`.
///
/// In training each element is kept with probability `1 − rate` and scaled by
/// `1 / (1 − rate)`, else set to 0 (Keras, JAX backend:
/// `select(bernoulli(1 − rate), x / (1 − rate), 0)`, so the expected output is `x`);
/// `rate = 0` is the identity and `rate = 1` gives zeros. In inference it is the identity.
/// The backward pass regenerates the mask from the [`Context`] (nothing is stored):
/// `dx = dy / (1 − rate)` where kept, 0 elsewhere.
///
/// `noise_shape` (a mask shared along some axes) is not implemented: the converter
/// refuses it by name. `rate` outside `[0, 1]` is [`crate::Error::InvalidConfig`], as in
/// Keras. No parameters.
///
/// ```
/// use ember_nn::layers::{Context, Dropout, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let d = Dropout { rate: 0.5, seed: None };
/// let s = Shape::new(&[1, 1000]).unwrap();
/// let x = [1.0f32; 1000];
/// let mut y = [0.0f32; 1000];
/// d.forward(&[], TensorView::new(s, &x).unwrap(), TensorViewMut::new(s, &mut y).unwrap(),
///     &Context::training(7)).unwrap();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// // Inference: identity.
/// d.forward(&[], TensorView::new(s, &x).unwrap(), TensorViewMut::new(s, &mut y).unwrap(),
///     &Context::default()).unwrap();
/// assert_eq!(y, x);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dropout {
    /// Fraction of the inputs to drop (`rate=`), in `[0, 1]`.
    pub rate: f32,
    /// Keras's `seed=`: mixed into the model's per-step seed when given.
    pub seed: Option<u64>,
}

// `rate` is checked to lie in [0, 1] at load (`output_shape`), so equality is reflexive.
impl Eq for Dropout {}

impl Dropout {
    fn validate(&self) -> Result<()> {
        unit_interval(self.rate, "Dropout.rate must be in [0, 1]")
    }

    /// Whether the layer changes anything in `ctx`.
    fn active(&self, ctx: &Context) -> bool {
        ctx.training && self.rate > 0.0
    }
}

impl Layer for Dropout {
    const KERAS_CLASS: &'static str = "Dropout";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.validate()?;
        Ok(input)
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
        Ok(ParamShapes::new())
    }

    fn macs(&self, _input: Shape) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        if !self.active(ctx) {
            return map(x, y.data(), |v| v);
        }
        if self.rate >= 1.0 {
            return map(x, y.data(), |_| T::ZERO);
        }
        let keep_f = 1.0 - self.rate;
        let keep = T::from_f32(keep_f);
        let mut rng = noise_rng(ctx, self.seed);
        map(x, y.data(), |v| {
            if rng.uniform() < keep_f {
                v.div(keep)
            } else {
                T::ZERO
            }
        })
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        self.validate()?;
        if !self.active(ctx) {
            return map_grad(x, y, dy, dx, |d| d);
        }
        if self.rate >= 1.0 {
            return map_grad(x, y, dy, dx, |_| T::ZERO);
        }
        let keep_f = 1.0 - self.rate;
        let keep = T::from_f32(keep_f);
        let mut rng = noise_rng(ctx, self.seed);
        map_grad(x, y, dy, dx, |d| {
            if rng.uniform() < keep_f {
                d.div(keep)
            } else {
                T::ZERO
            }
        })
    }
}
