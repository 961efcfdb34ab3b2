//! Depthwise and depthwise-separable convolutions: Keras's `DepthwiseConv1D`,
//! `DepthwiseConv2D`, `SeparableConv1D`, `SeparableConv2D` (channels-last).
//!
//! The four layers share one implementation, [`Spec`]: the resolved 2-D hyperparameters
//! (a 1-D layer is a 2-D one of height 1: a `(steps, channels)` sample is read as
//! `(1, steps, channels)`), run on [`crate::kernels::optimized::depthwise`] and
//! [`crate::kernels::optimized::separable`].

mod depthwise_conv1d;
mod depthwise_conv2d;
mod separable_conv1d;
mod separable_conv2d;

pub use depthwise_conv1d::DepthwiseConv1D;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use separable_conv1d::SeparableConv1D;
pub use separable_conv2d::SeparableConv2D;

use super::engine::Engine;
use super::{Padding, ParamShapes, Window};
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::optimized::{depthwise as dw_kernel, separable as sep_kernel};
use crate::kernels::reference::depthwise::check;
use crate::{Activation, Error, Result, Scalar, Shape, TensorView, TensorViewMut};

use crate::kernels::optimized::separable::MAX_SEPARABLE_CHANNELS;

/// The hyperparameters of any of the four layers, as a 2-D window (height 1 for 1-D).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// `(k_h, k_w)`.
    pub kernel: [u32; 2],
    /// `(stride_h, stride_w)`.
    pub strides: [u32; 2],
    /// `(dil_h, dil_w)`.
    pub dilation: [u32; 2],
    pub padding: Padding,
    pub depth_multiplier: u32,
    pub activation: Activation,
    pub use_bias: bool,
    /// `Some(filters)` for a separable convolution.
    pub filters: Option<u32>,
    /// `true` for the 1-D layers (input `(steps, channels)`).
    pub one_d: bool,
}

impl Spec {
    /// The geometry for one input sample shape (batch excluded); checks the options.
    fn geometry(&self, input: Shape) -> Result<ConvGeometry> {
        if self.depth_multiplier == 0 || self.filters == Some(0) {
            return Err(Error::InvalidConfig(
                "depth_multiplier and filters must be positive",
            ));
        }
        if self.padding == Padding::Causal {
            // Keras 3 accepts only "valid" and "same" for depthwise and separable layers.
            return Err(Error::InvalidConfig(
                "depthwise/separable padding must be valid or same",
            ));
        }
        if self.activation.needs_input() {
            return Err(Error::InvalidConfig(
                "fused activation needs its input to train (silu, gelu): use a separate Activation layer",
            ));
        }
        let (h, w, c) = match (self.one_d, input.dims()) {
            (true, &[w, c]) => (1, w as usize, c as usize),
            (false, &[h, w, c]) => (h as usize, w as usize, c as usize),
            _ => return Err(Error::InvalidShape),
        };
        let out_c = c
            .checked_mul(self.depth_multiplier as usize)
            .ok_or(Error::InvalidShape)?;
        if self.filters.is_some() && out_c > MAX_SEPARABLE_CHANNELS {
            return Err(Error::InvalidConfig(
                "SeparableConv: in_channels * depth_multiplier exceeds MAX_SEPARABLE_CHANNELS",
            ));
        }
        let win = |i: usize| {
            Window::new(
                self.kernel[i] as usize,
                self.strides[i] as usize,
                self.dilation[i] as usize,
            )
        };
        ConvGeometry::new(h, w, c, win(0)?, win(1)?, self.padding, out_c)
    }

    /// Output channels: `filters`, or `in_c · depth_multiplier`.
    fn out_channels(&self, g: &ConvGeometry) -> usize {
        self.filters.map_or(g.out_c, |f| f as usize)
    }

    /// The geometry of a batched input and its sample count; checks `y` (or `dy`) length.
    fn batch_geometry(&self, x: Shape, y_len: usize) -> Result<(ConvGeometry, usize)> {
        let dims = x.dims();
        let (&batch, sample) = dims.split_first().ok_or(Error::InvalidShape)?;
        let sample: heapless::Vec<usize, { crate::MAX_RANK }> =
            sample.iter().map(|&d| d as usize).collect();
        let g = self.geometry(Shape::new(&sample)?)?;
        let per = g
            .out_h
            .checked_mul(g.out_w)
            .and_then(|p| p.checked_mul(self.out_channels(&g)))
            .ok_or(Error::InvalidShape)?;
        check(
            (batch as usize)
                .checked_mul(per)
                .ok_or(Error::InvalidShape)?,
            y_len,
        )?;
        Ok((g, batch as usize))
    }

    /// Splits `params` into (depthwise kernel, pointwise kernel or empty, bias or empty).
    fn split<'p, T>(&self, params: &[&'p [T]]) -> Result<(&'p [T], &'p [T], &'p [T])> {
        let expected = 1 + usize::from(self.filters.is_some()) + usize::from(self.use_bias);
        check(expected, params.len())?;
        let pw: &[T] = if self.filters.is_some() {
            params[1]
        } else {
            &[]
        };
        let b: &[T] = if self.use_bias {
            params[expected - 1]
        } else {
            &[]
        };
        Ok((params[0], pw, b))
    }
}

impl Engine for Spec {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let g = self.geometry(input)?;
        let oc = self.out_channels(&g);
        if self.one_d {
            Shape::new(&[g.out_w, oc])
        } else {
            Shape::new(&[g.out_h, g.out_w, oc])
        }
    }

    /// Keras's weight shapes: `(k_h, k_w, in_c, dm)` (1-D: `(k, in_c, dm)`), then for a
    /// separable layer `(1, 1, in_c·dm, filters)` (1-D: `(1, in_c·dm, filters)`), then
    /// the bias.
    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        let g = self.geometry(input)?;
        let dm = self.depth_multiplier as usize;
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 3: these pushes cannot fail.
        let _ = shapes.push(if self.one_d {
            Shape::new(&[g.k_w, g.in_c, dm])?
        } else {
            Shape::new(&[g.k_h, g.k_w, g.in_c, dm])?
        });
        if let Some(f) = self.filters {
            let _ = shapes.push(if self.one_d {
                Shape::new(&[1, g.out_c, f as usize])?
            } else {
                Shape::new(&[1, 1, g.out_c, f as usize])?
            });
        }
        if self.use_bias {
            let _ = shapes.push(Shape::new(&[self.out_channels(&g)])?);
        }
        Ok(shapes)
    }

    /// Depthwise taps (padding included, as Keras/TFLite count) plus the pointwise product.
    fn macs(&self, input: Shape) -> usize {
        let Ok(g) = self.geometry(input) else {
            return 0;
        };
        let depthwise = g.macs_per_output_channel(1).saturating_mul(g.out_c);
        let pointwise = self.filters.map_or(0, |f| {
            g.out_h
                .saturating_mul(g.out_w)
                .saturating_mul(g.out_c)
                .saturating_mul(f as usize)
        });
        depthwise.saturating_add(pointwise)
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        let (g, _) = self.batch_geometry(x.shape(), y.shape().len())?;
        let (dw, pw, b) = self.split(params)?;
        let dm = self.depth_multiplier as usize;
        let y = y.data();
        match self.filters {
            None => dw_kernel::forward(&g, dm, x.data(), dw, b, y)?,
            Some(f) => sep_kernel::forward(&g, dm, f as usize, x.data(), dw, pw, b, y)?,
        }
        self.activation.forward(y, self.out_channels(&g));
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
    ) -> Result<()> {
        let (g, _) = self.batch_geometry(x.shape(), y.shape().len())?;
        check(y.shape().len(), dy.len())?;
        let (dw, pw, b) = self.split(params)?;
        let dm = self.depth_multiplier as usize;
        // dy := ∂L/∂(pre-activation), in place.
        self.activation
            .backward(&[], y.data(), dy, self.out_channels(&g))?;
        if let Some(dp) = dparams {
            check(dw.len() + pw.len() + b.len(), dp.len())?;
            let (ddw, rest) = dp.split_at_mut(dw.len());
            let (dpw, db) = rest.split_at_mut(pw.len());
            match self.filters {
                None => dw_kernel::backward_params(&g, dm, x.data(), dy, ddw, db)?,
                Some(f) => sep_kernel::backward_params(
                    &g,
                    dm,
                    f as usize,
                    x.data(),
                    dw,
                    pw,
                    dy,
                    ddw,
                    dpw,
                    db,
                )?,
            }
        }
        if let Some(dx) = dx {
            check(x.shape().len(), dx.len())?;
            match self.filters {
                None => dw_kernel::backward_input(&g, dm, dy, dw, dx)?,
                Some(f) => sep_kernel::backward_input(&g, dm, f as usize, dy, dw, pw, dx)?,
            }
        }
        Ok(())
    }
}
