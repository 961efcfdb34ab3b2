//! [`RepeatVector`]: Keras's `keras.layers.RepeatVector`.

use serde::{Deserialize, Serialize};

use super::{check, no_params, sample_shape};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Repeats each sample's vector `n` times: Keras's `keras.layers.RepeatVector(n)`,
/// `(features,)` → `(n, features)` with `y[i, :] = x` for every `i`.
///
/// Like Keras (`InputSpec(ndim=2)`), the input must be one vector per sample: any other
/// rank is [`Error::InvalidShape`]; `n = 0` is [`Error::InvalidConfig`]. The backward
/// pass sums the gradient over the `n` copies. No parameters.
///
/// ```
/// use ember_nn::layers::{Layer, RepeatVector};
/// use ember_nn::Shape;
/// let out = RepeatVector { n: 3 }.output_shape(Shape::new(&[32]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[3, 32]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RepeatVector {
    /// Repetition factor (`n=`), positive.
    pub n: u32,
}

impl RepeatVector {
    /// `(n, features)` after checking the configuration and the input.
    fn dims(&self, input: Shape) -> Result<(usize, usize)> {
        if self.n == 0 {
            return Err(Error::InvalidConfig("RepeatVector.n must be positive"));
        }
        if input.rank() != 1 {
            return Err(Error::InvalidShape);
        }
        Ok((self.n as usize, input.dim(0)))
    }
}

impl Layer for RepeatVector {
    const KERAS_CLASS: &'static str = "RepeatVector";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let (n, f) = self.dims(input)?;
        Shape::new(&[n, f])
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
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let (n, f) = self.dims(sample_shape(x.shape())?)?;
        let xd = x.data();
        check(xd.len() * n, y.data().len())?;
        for (xr, yr) in xd.chunks_exact(f).zip(y.data().chunks_exact_mut(n * f)) {
            for copy in yr.chunks_exact_mut(f) {
                copy.copy_from_slice(xr);
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
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        no_params(params)?;
        let (n, f) = self.dims(sample_shape(x.shape())?)?;
        let m = x.data().len();
        check(m * n, y.data().len())?;
        check(m * n, dy.len())?;
        if let Some(dx) = dx {
            check(m, dx.len())?;
            for (dxr, dyr) in dx.chunks_exact_mut(f).zip(dy.chunks_exact(n * f)) {
                dxr.copy_from_slice(&dyr[..f]);
                for copy in dyr.chunks_exact(f).skip(1) {
                    for (a, &b) in dxr.iter_mut().zip(copy) {
                        *a = *a + b;
                    }
                }
            }
        }
        Ok(())
    }
}
