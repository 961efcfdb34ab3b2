//! The transposed convolutions: Keras's `Conv1DTranspose` and `Conv2DTranspose`
//! (`keras/src/layers/convolutional/base_conv_transpose.py`), channels last.
//!
//! Both run the same 2-D kernel ([`crate::kernels::reference::conv_transpose`]); the 1-D
//! layer is the 2-D one with height 1 (its `(steps, channels)` input is
//! `(1, steps, channels)` and its `(k, filters, in_c)` kernel is `(1, k, filters, in_c)`
//! in memory). The geometry along one axis is [`transpose_axis`]'s.

mod conv1d_transpose;
mod conv2d_transpose;

pub use conv1d_transpose::Conv1DTranspose;
pub use conv2d_transpose::Conv2DTranspose;

use super::masked::{bias_gradient, check_mask};
use super::{Padding, ParamShapes, TensorMask, Window};
use crate::kernels::reference::conv_transpose::{self as kernel, ConvTransposeGeometry};
use crate::{Activation, Error, Result, Scalar, Shape};

/// Output length and leading crop of a transposed convolution along one axis, as Keras 3
/// with the JAX backend computes them: `input` positions, window `w` (kernel size,
/// stride, dilation), `padding` (`Valid` or `Same`) and `output_padding` (`None` =
/// Keras's `None`).
///
/// # Geometry
///
/// With `span = (kernel − 1)·dilation + 1`, Keras's output length
/// (`compute_conv_transpose_output_shape`) is
///
/// | padding | `output_padding` | output length |
/// |---|---|---|
/// | `valid` | `None` | `(in − 1)·stride + max(span, stride)` |
/// | `valid` | `p` | `(in − 1)·stride + span + p` |
/// | `same` | `None` | `in · stride` |
/// | `same` | `p` | `(in − 1)·stride + span mod 2 + p` |
///
/// and the JAX backend (`compute_conv_transpose_padding_args_for_jax`) pads the
/// stride-dilated input by `pad_before` (`span − 1` for `valid`; for `same`,
/// `min(⌈pad_len / 2⌉, span − 1)` with `pad_len = stride + span − 2`, or
/// `span + span mod 2 − 2 + p` when `output_padding = p` is given) before correlating
/// with the flipped kernel. Seen as a scatter of each input through the kernel, that is
/// the full scatter (`(in − 1)·stride + span` long) with its first
/// `crop = span − 1 − pad_before` positions dropped, and as many positions kept as the
/// output length (positions past the scatter receive only the bias).
///
/// [`Error::InvalidConfig`] for `Causal` padding or `output_padding ≥ stride` (Keras
/// refuses both); [`Error::InvalidShape`] for a zero input, a zero-length output or an
/// overflow.
///
/// ```
/// use ember_nn::layers::{transpose_axis, Padding, Window};
///
/// let w = Window::new(3, 2, 1).unwrap();
/// assert_eq!(transpose_axis(4, w, Padding::Valid, None).unwrap(), (9, 0));
/// assert_eq!(transpose_axis(4, w, Padding::Same, None).unwrap(), (8, 0));
/// assert_eq!(transpose_axis(4, w, Padding::Same, Some(0)).unwrap(), (7, 1));
/// assert_eq!(transpose_axis(4, w, Padding::Valid, Some(1)).unwrap(), (10, 0));
/// ```
pub fn transpose_axis(
    input: usize,
    w: Window,
    padding: Padding,
    output_padding: Option<usize>,
) -> Result<(usize, usize)> {
    let span = w.span()?;
    let s = w.stride;
    if output_padding.is_some_and(|p| p >= s) {
        return Err(Error::InvalidConfig(
            "output_padding must be smaller than strides",
        ));
    }
    if input == 0 {
        return Err(Error::InvalidShape);
    }
    let scatter = (input - 1).checked_mul(s).ok_or(Error::InvalidShape)?;
    let (out, pad_before) = match padding {
        Padding::Valid => {
            let p = output_padding.unwrap_or(span.max(s) - span);
            (
                scatter.checked_add(span).and_then(|v| v.checked_add(p)),
                span - 1,
            )
        }
        Padding::Same => {
            let (out, pad_len) = match output_padding {
                None => (input.checked_mul(s), s + span - 2),
                Some(p) => (scatter.checked_add(span % 2 + p), span + span % 2 - 2 + p),
            };
            (out, (pad_len / 2 + pad_len % 2).min(span - 1))
        }
        Padding::Causal => {
            return Err(Error::InvalidConfig(
                "transposed convolutions take padding valid or same",
            ))
        }
    };
    match out {
        Some(out) if out > 0 => Ok((out, span - 1 - pad_before)),
        _ => Err(Error::InvalidShape),
    }
}

/// The options of a transposed convolution in 2-D form (1-D as height 1).
#[derive(Debug, Clone, Copy)]
struct Spec {
    filters: u32,
    kernel: [u32; 2],
    strides: [u32; 2],
    padding: Padding,
    output_padding: Option<[u32; 2]>,
    dilation: [u32; 2],
    activation: Activation,
    use_bias: bool,
}

fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

impl Spec {
    /// The geometry for one `(in_h, in_w, in_c)` sample, after checking the options as
    /// Keras's constructor does.
    fn geometry(&self, in_h: usize, in_w: usize, in_c: usize) -> Result<ConvTransposeGeometry> {
        if self.filters == 0 {
            return Err(Error::InvalidConfig("filters must be positive"));
        }
        if self.activation.needs_input() {
            return Err(Error::InvalidConfig(
                "a fused activation that needs its input to train (silu, gelu): use a separate Activation layer",
            ));
        }
        let (s, d) = (self.strides, self.dilation);
        if s.iter().any(|&v| v > 1) && d.iter().any(|&v| v > 1) {
            return Err(Error::InvalidConfig(
                "strides > 1 together with dilation_rate > 1",
            ));
        }
        if in_c == 0 {
            return Err(Error::InvalidShape);
        }
        let axis = |i: usize, n: usize| {
            let w = Window::new(
                self.kernel[i] as usize,
                self.strides[i] as usize,
                self.dilation[i] as usize,
            )?;
            let op = self.output_padding.map(|p| p[i] as usize);
            Ok::<_, Error>((w, transpose_axis(n, w, self.padding, op)?))
        };
        let (wh, (out_h, crop_top)) = axis(0, in_h)?;
        let (ww, (out_w, crop_left)) = axis(1, in_w)?;
        let g = ConvTransposeGeometry {
            in_h,
            in_w,
            in_c,
            out_h,
            out_w,
            filters: self.filters as usize,
            k_h: wh.size,
            k_w: ww.size,
            stride_h: wh.stride,
            stride_w: ww.stride,
            dil_h: wh.dilation,
            dil_w: ww.dilation,
            crop_top,
            crop_left,
        };
        // Every length the kernels compute must not overflow (indices stay below them).
        let mul = |a: usize, b: usize| a.checked_mul(b).ok_or(Error::InvalidShape);
        mul(mul(in_h, in_w)?, in_c)?;
        mul(mul(out_h, out_w)?, g.filters)?;
        mul(mul(mul(g.k_h, g.k_w)?, g.filters)?, in_c)?;
        // The scatter's reach: (in − 1)·stride + (k − 1)·dil.
        mul(in_h, wh.stride)?
            .checked_add(wh.span()?)
            .ok_or(Error::InvalidShape)?;
        mul(in_w, ww.stride)?
            .checked_add(ww.span()?)
            .ok_or(Error::InvalidShape)?;
        Ok(g)
    }

    fn param_shapes(&self, g: &ConvTransposeGeometry, kernel: Shape) -> Result<ParamShapes> {
        let mut shapes = ParamShapes::new();
        // Capacity is MAX_PARAMS >= 2: these pushes cannot fail.
        let _ = shapes.push(kernel);
        if self.use_bias {
            let _ = shapes.push(Shape::new(&[g.filters])?);
        }
        Ok(shapes)
    }

    /// Checks the parameter slices; returns (kernel, bias).
    fn split_params<'p, T>(
        &self,
        g: &ConvTransposeGeometry,
        params: &[&'p [T]],
    ) -> Result<(&'p [T], &'p [T])> {
        let expected = if self.use_bias { 2 } else { 1 };
        check(expected, params.len())?;
        check(g.kernel_len(), params[0].len())?;
        if self.use_bias {
            check(g.filters, params[1].len())?;
            Ok((params[0], params[1]))
        } else {
            Ok((params[0], &[]))
        }
    }

    fn macs(g: &ConvTransposeGeometry) -> usize {
        // Every input pixel meets every tap, cropped or not.
        g.in_h
            .saturating_mul(g.in_w)
            .saturating_mul(g.k_h)
            .saturating_mul(g.k_w)
            .saturating_mul(g.in_c)
            .saturating_mul(g.filters)
    }

    /// Batch size of `x`/`y`, after checking their lengths against the geometry.
    fn batch(
        g: &ConvTransposeGeometry,
        x_len: usize,
        y_len: usize,
        x_batch: usize,
    ) -> Result<usize> {
        let n_in = g.input_len();
        check(x_batch.checked_mul(n_in).ok_or(Error::InvalidShape)?, x_len)?;
        check(
            x_batch
                .checked_mul(g.output_len())
                .ok_or(Error::InvalidShape)?,
            y_len,
        )?;
        Ok(x_batch)
    }

    fn forward<T: Scalar>(
        &self,
        g: &ConvTransposeGeometry,
        params: &[&[T]],
        x: &[T],
        batch: usize,
        y: &mut [T],
    ) -> Result<()> {
        let (w, b) = self.split_params(g, params)?;
        Self::batch(g, x.len(), y.len(), batch)?;
        kernel::forward(g, x, w, b, y);
        self.activation.forward(y, g.filters);
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
        g: &ConvTransposeGeometry,
        params: &[&[T]],
        x: &[T],
        batch: usize,
        y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        wanted: TensorMask,
    ) -> Result<()> {
        let (w, b) = self.split_params(g, params)?;
        Self::batch(g, x.len(), y.len(), batch)?;
        check(y.len(), dy.len())?;
        let lens = [w.len(), b.len()];
        let (kernel_grad, bias_grad) = check_mask(
            &lens[..1 + self.use_bias as usize],
            self.bias(),
            wanted,
            dparams.as_deref().map(<[T]>::len),
        )?;
        // dy := ∂L/∂z (pre-activation), in place.
        self.activation.backward(&[], y, dy, g.filters)?;
        if let Some(dp) = dparams {
            let (dw, db) = dp.split_at_mut(if kernel_grad { w.len() } else { 0 });
            if kernel_grad {
                kernel::backward_params(g, x, dy, dw, db);
            } else if bias_grad {
                bias_gradient(dy, db)?;
            }
        }
        if let Some(dx) = dx {
            check(x.len(), dx.len())?;
            kernel::backward_input(g, dy, w, dx);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras's output lengths, from `compute_conv_transpose_output_shape`.
    #[test]
    fn output_lengths_follow_keras() {
        let w = |k, s, d| Window::new(k, s, d).unwrap();
        // valid, output_padding None: (in − 1)·s + max(span, s).
        assert_eq!(
            transpose_axis(3, w(2, 3, 1), Padding::Valid, None).unwrap(),
            (9, 0)
        );
        assert_eq!(
            transpose_axis(4, w(3, 1, 2), Padding::Valid, None).unwrap(),
            (8, 0)
        );
        // same, None: in·s; crop = span − 1 − min(⌈(s + span − 2)/2⌉, span − 1).
        assert_eq!(
            transpose_axis(3, w(4, 2, 1), Padding::Same, None).unwrap(),
            (6, 1)
        );
        assert_eq!(
            transpose_axis(3, w(1, 2, 1), Padding::Same, None).unwrap(),
            (6, 0)
        );
        assert_eq!(
            transpose_axis(5, w(3, 1, 2), Padding::Same, None).unwrap(),
            (5, 2)
        );
        // same, output_padding 1, k 4: (3 − 1)·2 + 0 + 1 = 5; pad_len 3, before 2, crop 1.
        assert_eq!(
            transpose_axis(3, w(4, 2, 1), Padding::Same, Some(1)).unwrap(),
            (5, 1)
        );
        // A zero-length output (Keras gives shape 0) and bad options are errors.
        assert_eq!(
            transpose_axis(1, w(2, 2, 1), Padding::Same, Some(0)),
            Err(Error::InvalidShape)
        );
        assert!(transpose_axis(3, w(3, 2, 1), Padding::Valid, Some(2)).is_err());
        assert!(transpose_axis(3, w(3, 2, 1), Padding::Causal, None).is_err());
        assert_eq!(
            transpose_axis(0, w(3, 2, 1), Padding::Same, None),
            Err(Error::InvalidShape)
        );
        assert_eq!(
            transpose_axis(usize::MAX, w(3, 2, 1), Padding::Same, None),
            Err(Error::InvalidShape)
        );
    }
}
