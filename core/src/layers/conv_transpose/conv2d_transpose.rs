//! [`Conv2DTranspose`]: Keras's `keras.layers.Conv2DTranspose`.

use serde::{Deserialize, Serialize};

use super::Spec;
use crate::kernels::reference::conv_transpose::ConvTransposeGeometry;
use crate::layers::{Context, Layer, Padding, ParamShapes, TensorMask};
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A 2-D transposed convolution ("deconvolution"), channels last: Keras's
/// `keras.layers.Conv2DTranspose(filters, kernel_size, strides=(1, 1), padding="valid",
/// output_padding=None, dilation_rate=(1, 1), activation=None, use_bias=True)`.
///
/// Input `(h, w, in_c)`, output `(out_h, out_w, filters)` with the lengths of
/// [`super::transpose_axis`] (Keras's `compute_conv_transpose_output_shape`). Every input
/// pixel is scattered through the kernel: `y[i·s + t·d − crop] += x[i] · w[t]` per axis,
/// then `activation(· + bias)`. Parameters, in Keras's order: `kernel` of shape
/// `(k_h, k_w, filters, in_c)` — note the transposed channel order — and, if `use_bias`,
/// `bias` of shape `(filters,)`.
///
/// Refused with [`Error::InvalidConfig`] as Keras refuses them: `output_padding ≥
/// strides`, `strides > 1` together with `dilation_rate > 1`, `padding` `Causal`; and,
/// as for [`super::super::Dense`], an activation that needs its input (`silu`, `gelu`:
/// the converter appends an `Activation` layer instead).
///
/// ```
/// use ember_nn::layers::{Context, Conv2DTranspose, Layer, Padding};
/// use ember_nn::{Activation, Shape, TensorView, TensorViewMut};
///
/// let layer = Conv2DTranspose {
///     filters: 1,
///     kernel_size: [1, 3],
///     strides: [1, 2],
///     padding: Padding::Valid,
///     output_padding: None,
///     dilation_rate: [1, 1],
///     activation: Activation::Linear,
///     use_bias: true,
/// };
/// let input = Shape::new(&[1, 2, 1]).unwrap();
/// assert_eq!(layer.output_shape(input).unwrap().dims(), &[1, 5, 1]);
/// let kernel = [1.0f32, 10.0, 100.0]; // (1, 3, 1, 1)
/// let bias = [0.5f32];
/// let x = [1.0f32, 2.0];
/// let mut y = [0.0f32; 5];
/// layer.forward(
///     &[&kernel, &bias],
///     TensorView::new(Shape::new(&[1, 1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 5, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// // x[0]·w lands at 0..3, x[1]·w at 2..5 (stride 2), plus the bias.
/// assert_eq!(y, [1.5, 10.5, 102.5, 20.5, 200.5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conv2DTranspose {
    /// Output channels (`filters`).
    pub filters: u32,
    /// Kernel rows and columns (`kernel_size`).
    pub kernel_size: [u32; 2],
    /// Row and column strides (`strides`).
    pub strides: [u32; 2],
    /// `padding`: `Valid` or `Same`.
    pub padding: Padding,
    /// `output_padding`: `None` (Keras's default) or extra rows and columns, each
    /// smaller than its stride.
    pub output_padding: Option<[u32; 2]>,
    /// Row and column dilation (`dilation_rate`).
    pub dilation_rate: [u32; 2],
    /// Activation fused into the layer (`activation=`).
    pub activation: Activation,
    /// Whether the layer has a bias (`use_bias=`).
    pub use_bias: bool,
}

impl Conv2DTranspose {
    fn spec(&self) -> Spec {
        Spec {
            filters: self.filters,
            kernel: self.kernel_size,
            strides: self.strides,
            padding: self.padding,
            output_padding: self.output_padding,
            dilation: self.dilation_rate,
            activation: self.activation,
            use_bias: self.use_bias,
        }
    }

    /// The geometry for a per-sample `(h, w, c)` shape.
    fn geometry(&self, input: Shape) -> Result<ConvTransposeGeometry> {
        if input.rank() != 3 {
            return Err(Error::InvalidShape);
        }
        self.spec()
            .geometry(input.dim(0), input.dim(1), input.dim(2))
    }

    /// The geometry and batch size for a batched `(batch, h, w, c)` shape.
    fn batched(&self, x: Shape) -> Result<(ConvTransposeGeometry, usize)> {
        if x.rank() != 4 {
            return Err(Error::InvalidShape);
        }
        let g = self.spec().geometry(x.dim(1), x.dim(2), x.dim(3))?;
        Ok((g, x.dim(0)))
    }
}

impl Layer for Conv2DTranspose {
    const KERAS_CLASS: &'static str = "Conv2DTranspose";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let g = self.geometry(input)?;
        Shape::new(&[g.out_h, g.out_w, g.filters])
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let g = self.geometry(input)?;
        let kernel = Shape::new(&[g.k_h, g.k_w, g.filters, g.in_c])?;
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
