//! [`Conv1DTranspose`]: Keras's `keras.layers.Conv1DTranspose`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::kernels::reference::conv_transpose::ConvTransposeGeometry;
use crate::layers::{Context, Layer, Padding, ParamShapes, TensorMask};
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A 1-D transposed convolution, channels last: Keras's
/// `keras.layers.Conv1DTranspose(filters, kernel_size, strides=1, padding="valid",
/// output_padding=None, dilation_rate=1, activation=None, use_bias=True)`.
///
/// Input `(steps, in_c)`, output `(out_steps, filters)` with the length of
/// [`super::transpose_axis`]. Parameters, in Keras's order: `kernel` of shape
/// `(kernel_size, filters, in_c)` and, if `use_bias`, `bias` of shape `(filters,)`.
/// Computed as [`super::Conv2DTranspose`] with height 1; the same options are refused.
///
/// ```
/// use ember_nn::layers::{Context, Conv1DTranspose, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// // Stride 2, "same": 2 steps → 4; kernel 3 → crop 0 (pad_len 3: 2 before, 1 after).
/// let layer = Conv1DTranspose {
///     filters: 1,
///     kernel_size: 3,
///     strides: 2,
///     padding: Padding::Same,
///     output_padding: None,
///     dilation_rate: 1,
///     activation: Activation::Relu,
///     use_bias: false,
/// };
/// let kernel = [1.0f32, 10.0, 100.0]; // (3, 1, 1)
/// let x = [1.0f32, -2.0];
/// let mut y = [0.0f32; 4];
/// layer.forward(
///     &[&kernel],
///     TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 4, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// // Scatter [1, 10, 100 − 2, −20, −200], first 4 kept, then relu.
/// assert_eq!(y, [1.0, 10.0, 98.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conv1DTranspose {
    /// Output channels (`filters`).
    pub filters: u32,
    /// Kernel length (`kernel_size`).
    pub kernel_size: u32,
    /// Stride (`strides`).
    pub strides: u32,
    /// `padding`: `Valid` or `Same`.
    pub padding: Padding,
    /// `output_padding`: `None` (Keras's default) or extra steps, smaller than the stride.
    pub output_padding: Option<u32>,
    /// Dilation (`dilation_rate`).
    pub dilation_rate: u32,
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl Conv1DTranspose {
    fn spec(&self) -> Spec {
        Spec {
            filters: self.filters,
            kernel: [1, self.kernel_size],
            strides: [1, self.strides],
            padding: self.padding,
            output_padding: self.output_padding.map(|p| [0, p]),
            dilation: [1, self.dilation_rate],
            activation: self.activation,
            use_bias: self.use_bias,
        }
    }

    /// The geometry for a per-sample `(steps, c)` shape.
    fn geometry(&self, input: Shape) -> Result<ConvTransposeGeometry> {
        if input.rank() != 2 {
            return Err(Error::InvalidShape);
        }
        self.spec().geometry(1, input.dim(0), input.dim(1))
    }

    /// The geometry and batch size for a batched `(batch, steps, c)` shape.
    fn batched(&self, x: Shape) -> Result<(ConvTransposeGeometry, usize)> {
        if x.rank() != 3 {
            return Err(Error::InvalidShape);
        }
        let g = self.spec().geometry(1, x.dim(1), x.dim(2))?;
        Ok((g, x.dim(0)))
    }
}

impl Layer for Conv1DTranspose {
    const KERAS_CLASS: &'static str = "Conv1DTranspose";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let g = self.geometry(input)?;
        Shape::new(&[g.out_w, g.filters])
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let g = self.geometry(input)?;
        let kernel = Shape::new(&[g.k_w, g.filters, g.in_c])?;
        self.spec().param_shapes(&g, kernel)
    }

    fn macs(&self, input: Shape) -> usize {
        self.geometry(input).map_or(0, |g| Spec::macs(&g))
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let (g, batch) = self.batched(x.shape())?;
        self.spec().forward(&g, params, x.data(), batch, y.data())
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
        let (g, batch) = self.batched(x.shape())?;
        let spec = self.spec();
        let all = spec.all();
        spec.backward(&g, params, x.data(), batch, y.data(), dy, dx, dparams, all)
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
        let (g, batch) = self.batched(x.shape())?;
        self.spec().backward(
            &g,
            params,
            x.data(),
            batch,
            y.data(),
            dy,
            dx,
            dparams,
            wanted,
        )
    }

    fn bias_tensor(&self) -> Option<usize> {
        self.use_bias.then_some(1)
    }
}
