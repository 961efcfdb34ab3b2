//! [`PReLU`]: Keras's `keras.layers.PReLU`.

use serde::{Deserialize, Serialize};

use super::common::check;
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// Parametric relu with a learned slope per element: Keras's
/// `keras.layers.PReLU(alpha_initializer="Zeros", shared_axes=None)`,
/// `y = relu(x) − alpha · relu(−x)`: `x` for `x > 0`, `alpha · x` for `x < 0`.
///
/// One parameter, `alpha`, with the input's shape (batch excluded) except that every
/// axis in `shared_axes` has size 1 (its slope is shared, broadcast along that axis),
/// as Keras builds it. Gradients are `jax.grad`'s: `∂y/∂x` is 1 for `x > 0`, `alpha`
/// for `x < 0` and 0 at `x = 0`; `∂y/∂alpha = −relu(−x)`, summed over the batch and the
/// shared axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PReLU {
    /// `shared_axes` as a bit mask: bit `i` set means Keras axis `i` (counting the batch
    /// as axis 0, so `1..=5`) shares its slope. Bit 0 (the batch) must be clear.
    pub shared_axes: u8,
}

impl PReLU {
    /// The mask for Keras's `shared_axes` list (axes counting the batch dimension).
    /// `None` if an axis is outside `1..=5`.
    pub fn shared_axes_mask(axes: &[i64]) -> Option<u8> {
        let mut m = 0u8;
        for &a in axes {
            if !(1..=MAX_RANK as i64).contains(&a) {
                return None;
            }
            m |= 1 << a;
        }
        Some(m)
    }

    /// Alpha's shape for an input shape (no batch).
    fn alpha_shape(&self, input: Shape) -> Result<Shape> {
        shared_param_shape(
            self.shared_axes,
            input,
            "PReLU.shared_axes must name non-batch axes of the input",
        )
    }

    /// Checks `params` and `x`; returns (alpha, sample shape, alpha shape).
    fn setup<'p, T>(&self, params: &[&'p [T]], x: Shape) -> Result<(&'p [T], Shape, Shape)> {
        check(1, params.len())?;
        let sample = sample_shape(x)?;
        let ashape = self.alpha_shape(sample)?;
        check(ashape.len(), params[0].len())?;
        Ok((params[0], sample, ashape))
    }
}

/// The shape of a per-element parameter whose `shared_axes` (a [`PReLU::shared_axes`]
/// bit mask) have size 1, for an input shape (no batch); `InvalidConfig(what)` when the
/// mask names the batch or an axis the input does not have. Shared with
/// [`super::ParametricSoftplus`].
pub(super) fn shared_param_shape(
    shared_axes: u8,
    input: Shape,
    what: &'static str,
) -> Result<Shape> {
    let r = input.rank();
    if shared_axes & 1 != 0 || (shared_axes >> (r + 1)) != 0 {
        return Err(Error::InvalidConfig(what));
    }
    let mut dims = [0usize; MAX_RANK];
    for (d, out) in dims.iter_mut().enumerate().take(r) {
        *out = if shared_axes & (1 << (d + 1)) != 0 {
            1
        } else {
            input.dim(d)
        };
    }
    Shape::new(&dims[..r])
}

/// Index into a [`shared_param_shape`] parameter of element `i` of one sample, given
/// the sample's dimensions and the parameter's.
pub(super) fn shared_index(i: usize, dims: &[u32], param: &[u32]) -> usize {
    let (mut rest, mut idx, mut stride) = (i, 0usize, 1usize);
    for (&d, &a) in dims.iter().zip(param).rev() {
        let c = rest % d as usize;
        rest /= d as usize;
        if a != 1 {
            idx += c * stride;
        }
        stride *= a as usize;
    }
    idx
}

/// The shape of one sample of a batched input of rank ≥ 2 (`InvalidShape` otherwise).
pub(super) fn sample_shape(x: Shape) -> Result<Shape> {
    if x.rank() < 2 {
        return Err(Error::InvalidShape);
    }
    let mut dims = [0usize; MAX_RANK];
    for (o, &d) in dims.iter_mut().zip(&x.dims()[1..]) {
        *o = d as usize;
    }
    Shape::new(&dims[..x.rank() - 1])
}

impl Layer for PReLU {
    const KERAS_CLASS: &'static str = "PReLU";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.alpha_shape(input)?;
        Ok(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 1: this push cannot fail.
        let _ = shapes.push(self.alpha_shape(input)?);
        Ok(shapes)
    }

    fn macs(&self, input: Shape) -> usize {
        input.len()
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let (alpha, sample, ashape) = self.setup(params, x.shape())?;
        let y = y.data();
        check(x.data().len(), y.len())?;
        let n = sample.len();
        for (xs, ys) in x.data().chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            for (i, (&v, o)) in xs.iter().zip(ys.iter_mut()).enumerate() {
                let a = alpha[shared_index(i, sample.dims(), ashape.dims())];
                // relu(x) − alpha · relu(−x)
                *o = v.max(T::ZERO) + (-a) * (-v).max(T::ZERO);
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
        let (alpha, sample, ashape) = self.setup(params, x.shape())?;
        let len = x.data().len();
        check(len, y.data().len())?;
        check(len, dy.len())?;
        let n = sample.len();
        if let Some(dx) = dx {
            check(len, dx.len())?;
            for (k, ((&v, &d), o)) in x
                .data()
                .iter()
                .zip(dy.iter())
                .zip(dx.iter_mut())
                .enumerate()
            {
                *o = if v > T::ZERO {
                    d
                } else if v < T::ZERO {
                    alpha[shared_index(k % n, sample.dims(), ashape.dims())] * d
                } else {
                    T::ZERO
                };
            }
        }
        if let Some(da) = dparams {
            check(alpha.len(), da.len())?;
            da.iter_mut().for_each(|g| *g = T::ZERO);
            for (k, (&v, &d)) in x.data().iter().zip(dy.iter()).enumerate() {
                if v < T::ZERO {
                    let j = shared_index(k % n, sample.dims(), ashape.dims());
                    // ∂y/∂alpha = −relu(−x) = x here.
                    da[j] = da[j] + v * d;
                }
            }
        }
        Ok(())
    }
}
