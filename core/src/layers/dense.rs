//! [`Dense`]: Keras's `keras.layers.Dense`.

use serde::{Deserialize, Serialize};

use super::masked::{bias_gradient, check_mask};
use super::{Context, Layer, ParamShapes, TensorMask};
use crate::kernels::optimized::dense as kernel;
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A fully connected layer, `y = activation(x · kernel + bias)`: Keras's
/// `keras.layers.Dense(units, activation=None, use_bias=True)`.
///
/// Like Keras it acts on the last axis: an input of shape `(..., in)` gives `(..., units)`.
/// Parameters, in Keras's order: `kernel` of shape `(in, units)` (row-major, as Keras
/// stores it) and, if `use_bias`, `bias` of shape `(units,)`.
///
/// An activation that [`Activation::needs_input`] (`silu`, `gelu`) is refused with
/// [`Error::InvalidConfig`]: the converter lowers `Dense(activation="gelu")` to
/// `Dense(linear)` followed by an [`super::ActivationLayer`].
///
/// ```
/// use ember_nn::layers::{Context, Dense, Layer};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let dense = Dense { units: 2, activation: Activation::Relu, use_bias: true };
/// let kernel = [1.0f32, -1.0, 2.0, 0.5]; // (in=2, units=2)
/// let bias = [0.5f32, -3.0];
/// let x = [1.0f32, 2.0];
/// let mut y = [0.0f32; 2];
/// dense.forward(
///     &[&kernel, &bias],
///     TensorView::new(Shape::new(&[1, 2]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [5.5, 0.0]); // relu([1 + 4 + 0.5, -1 + 1 - 3])
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dense {
    /// Output features (`units`).
    pub units: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl Dense {
    fn dims(&self, input: Shape) -> Result<(usize, usize)> {
        if self.units == 0 {
            return Err(Error::InvalidConfig("Dense.units must be positive"));
        }
        if self.activation.needs_input() {
            // The fused activation's backward would need the pre-activation, which Dense
            // does not keep: use Dense(linear) + an Activation layer instead.
            return Err(Error::InvalidConfig(
                "Dense.activation needs its input to train (silu, gelu): use a separate Activation layer",
            ));
        }
        if input.rank() == 0 {
            return Err(Error::InvalidShape);
        }
        Ok((input.last(), self.units as usize))
    }

    /// Checks the parameter slices against the input width; returns (kernel, bias).
    fn split_params<'p, T>(&self, params: &[&'p [T]], n_in: usize) -> Result<(&'p [T], &'p [T])> {
        let n_out = self.units as usize;
        let expected = if self.use_bias { 2 } else { 1 };
        if params.len() != expected {
            return Err(Error::ShapeMismatch {
                expected,
                found: params.len(),
            });
        }
        let w = params[0];
        check(n_in * n_out, w.len())?;
        let b: &[T] = if self.use_bias { params[1] } else { &[] };
        if self.use_bias {
            check(n_out, b.len())?;
        }
        Ok((w, b))
    }
}

fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

impl Layer for Dense {
    const KERAS_CLASS: &'static str = "Dense";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let (_, n_out) = self.dims(input)?;
        input.with_last(n_out)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let (n_in, n_out) = self.dims(input)?;
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 2: these pushes cannot fail.
        let _ = shapes.push(Shape::new(&[n_in, n_out])?);
        if self.use_bias {
            let _ = shapes.push(Shape::new(&[n_out])?);
        }
        Ok(shapes)
    }

    fn macs(&self, input: Shape) -> usize {
        match self.dims(input) {
            Ok((n_in, n_out)) => input.len() / n_in.max(1) * n_in * n_out,
            Err(_) => 0,
        }
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let (n_in, n_out) = self.dims(x.shape())?;
        let (w, b) = self.split_params(params, n_in)?;
        let rows = x.shape().len() / n_in;
        check(rows * n_out, y.shape().len())?;
        let y = y.data();
        kernel::forward(x.data(), w, b, y, n_in, n_out);
        self.activation.forward(y, n_out);
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
        let all = TensorMask::first(1 + self.use_bias as usize);
        self.backward_masked(params, x, y, dy, dx, dparams, all, ctx)
    }

    fn backward_masked<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
        _ctx: &Context,
    ) -> Result<()> {
        let (n_in, n_out) = self.dims(x.shape())?;
        let (w, b) = self.split_params(params, n_in)?;
        let rows = x.shape().len() / n_in;
        check(rows * n_out, y.shape().len())?;
        check(rows * n_out, dy.len())?;
        let lens = [w.len(), b.len()];
        let n_tensors = 1 + self.use_bias as usize;
        let (kernel_grad, bias_grad) = check_mask(
            &lens[..n_tensors],
            self.bias_tensor(),
            wanted,
            dparams.as_deref().map(<[T]>::len),
        )?;
        // dy := ∂L/∂z (pre-activation), in place.
        self.activation.backward(&[], y.data(), dy, n_out)?;
        if let Some(dp) = dparams {
            let (dw, db) = dp.split_at_mut(if kernel_grad { w.len() } else { 0 });
            if kernel_grad {
                kernel::backward_params(x.data(), dy, dw, db, n_in, n_out);
            } else if bias_grad {
                bias_gradient(dy, db)?;
            }
        }
        if let Some(dx) = dx {
            check(rows * n_in, dx.len())?;
            kernel::backward_input(dy, w, dx, n_in, n_out);
        }
        Ok(())
    }

    fn bias_tensor(&self) -> Option<usize> {
        self.use_bias.then_some(1)
    }
}
