//! The convolution layers: [`Conv1D`] and [`Conv2D`] (Keras's `keras.layers.Conv1D` and
//! `keras.layers.Conv2D`, channels-last, grouped). `Conv1D` is a `Conv2D` of height 1:
//! both resolve their options and the input shape to a [`ConvGeometry`] and share the
//! forward and backward passes below, which run the
//! [`crate::kernels::optimized::conv`] kernels and the fused activation.

mod conv1d;
mod conv2d;

pub use conv1d::Conv1D;
pub use conv2d::Conv2D;

use super::masked::{bias_gradient, check_mask};
use super::{Padding, ParamShapes, TensorMask, Window};
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::optimized::conv as kernel;
use crate::{Activation, Error, Result, Scalar, Shape};

/// A convolution's options with the input shape resolved: everything the passes need.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    g: ConvGeometry,
    groups: usize,
    activation: Activation,
    use_bias: bool,
}

/// Checks the options Keras checks in `BaseConv.__init__` (and refuses activations
/// whose backward pass needs the pre-activation). Sizes are `[height, width]`.
fn check_options(
    filters: u32,
    groups: u32,
    strides: [u32; 2],
    dilation: [u32; 2],
    activation: Activation,
) -> Result<()> {
    if filters == 0 {
        return Err(Error::InvalidConfig("Conv.filters must be positive"));
    }
    if groups == 0 {
        return Err(Error::InvalidConfig("Conv.groups must be positive"));
    }
    if filters % groups != 0 {
        return Err(Error::InvalidConfig(
            "Conv.filters must be divisible by Conv.groups",
        ));
    }
    if strides.iter().any(|&s| s > 1) && dilation.iter().any(|&d| d > 1) {
        // Keras: "`strides > 1` not supported in conjunction with `dilation_rate > 1`".
        return Err(Error::InvalidConfig(
            "Conv.strides > 1 together with Conv.dilation_rate > 1 (Keras refuses it)",
        ));
    }
    if activation.needs_input() {
        return Err(Error::InvalidConfig(
            "Conv.activation needs its input to train (silu, gelu): use a separate Activation layer",
        ));
    }
    Ok(())
}

/// `(height, width, channels)` windows and options → the resolved geometry.
#[allow(clippy::too_many_arguments)] // one argument per Keras option
fn resolve(
    (in_h, in_w, in_c): (usize, usize, usize),
    filters: u32,
    kernel: [u32; 2],
    strides: [u32; 2],
    padding: Padding,
    dilation: [u32; 2],
    groups: u32,
    activation: Activation,
    use_bias: bool,
) -> Result<Resolved> {
    check_options(filters, groups, strides, dilation, activation)?;
    let win = |i: usize| {
        Window::new(
            kernel[i] as usize,
            strides[i] as usize,
            dilation[i] as usize,
        )
    };
    let (wh, ww) = (win(0)?, win(1)?);
    let groups = groups as usize;
    if in_c % groups != 0 {
        // Keras: "The number of input channels must be evenly divisible by the number
        // of groups".
        return Err(Error::InvalidShape);
    }
    let g = ConvGeometry::new(in_h, in_w, in_c, wh, ww, padding, filters as usize)?;
    Ok(Resolved {
        g,
        groups,
        activation,
        use_bias,
    })
}

/// The sample shape of a batched shape (drops the leading batch dimension).
fn sample_shape(batched: Shape) -> Result<Shape> {
    let dims = batched.dims();
    if dims.is_empty() {
        return Err(Error::InvalidShape);
    }
    let mut d = [0usize; crate::MAX_RANK];
    for (o, &v) in d.iter_mut().zip(&dims[1..]) {
        *o = v as usize;
    }
    Shape::new(&d[..dims.len() - 1])
}

fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

impl Resolved {
    fn cin_g(&self) -> usize {
        self.g.in_c / self.groups
    }

    /// Kernel shape `kernel_dims + (in_c / groups, filters)` and bias `(filters,)`.
    fn param_shapes(&self, kernel_dims: &[usize]) -> Result<ParamShapes> {
        let mut dims = [0usize; crate::MAX_RANK];
        let n = kernel_dims.len();
        dims[..n].copy_from_slice(kernel_dims);
        dims[n] = self.cin_g();
        dims[n + 1] = self.g.out_c;
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 2: these pushes cannot fail.
        let _ = shapes.push(Shape::new(&dims[..n + 2])?);
        if self.use_bias {
            let _ = shapes.push(Shape::new(&[self.g.out_c])?);
        }
        Ok(shapes)
    }

    fn macs(&self) -> usize {
        self.g
            .macs_per_output_channel(self.cin_g())
            .saturating_mul(self.g.out_c)
    }

    /// Checks the parameter slices; returns (kernel, bias), bias empty without one.
    fn split_params<'p, T>(&self, params: &[&'p [T]]) -> Result<(&'p [T], &'p [T])> {
        let expected = if self.use_bias { 2 } else { 1 };
        check(expected, params.len())?;
        let b: &[T] = if self.use_bias { params[1] } else { &[] };
        if self.use_bias {
            check(self.g.out_c, b.len())?;
        }
        Ok((params[0], b))
    }

    fn forward<T: Scalar>(&self, params: &[&[T]], x: &[T], y: &mut [T]) -> Result<()> {
        let (w, b) = self.split_params(params)?;
        kernel::forward(&self.g, self.groups, x, w, b, y)?;
        self.activation.forward(y, self.g.out_c);
        Ok(())
    }

    /// Every trainable tensor.
    fn all(&self) -> TensorMask {
        TensorMask::first(1 + self.use_bias as usize)
    }

    /// The bias's index.
    fn bias(&self) -> Option<usize> {
        self.use_bias.then_some(1)
    }

    /// Backward pass computing the gradients of the tensors in `wanted` (see
    /// [`crate::layers::Layer::backward_masked`]).
    #[allow(clippy::too_many_arguments)] // mirrors Layer::backward_masked
    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: &[T],
        y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
    ) -> Result<()> {
        let (w, b) = self.split_params(params)?;
        check(y.len(), dy.len())?;
        let lens = [w.len(), b.len()];
        let (kernel_grad, bias_grad) = check_mask(
            &lens[..1 + self.use_bias as usize],
            self.bias(),
            wanted,
            dparams.as_deref().map(<[T]>::len),
        )?;
        // dy := ∂L/∂z (pre-activation), in place.
        self.activation.backward(&[], y, dy, self.g.out_c)?;
        if let Some(dp) = dparams {
            let (dw, db) = dp.split_at_mut(if kernel_grad { w.len() } else { 0 });
            if kernel_grad {
                kernel::backward_params(&self.g, self.groups, x, dy, dw, db)?;
            } else if bias_grad {
                bias_gradient(dy, db)?;
            }
        }
        if let Some(dx) = dx {
            check(x.len(), dx.len())?;
            kernel::backward_input(&self.g, self.groups, dy, w, dx)?;
        }
        Ok(())
    }
}
