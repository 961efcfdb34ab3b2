//! [`ConvGeometry`]: the sizes a 2-D sliding-window kernel needs (convolution, depthwise,
//! pooling), resolved once per call from the layer's options and the input shape. 1-D
//! layers use height 1 (a `(steps, channels)` input is `(1, steps, channels)`).

use crate::layers::{Padding, Window};
use crate::{Error, Result};

/// Resolved geometry of a channels-last 2-D window operation on one sample:
/// input `(in_h, in_w, in_c)`, output `(out_h, out_w, out_c)`, window `k_h × k_w` with
/// strides, dilations, and the padding before the first row and column (the padding after
/// is implied: taps that fall outside the input read zero, or are skipped by pooling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input rows.
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Window rows.
    pub k_h: usize,
    /// Window columns.
    pub k_w: usize,
    /// Row stride.
    pub stride_h: usize,
    /// Column stride.
    pub stride_w: usize,
    /// Row dilation.
    pub dil_h: usize,
    /// Column dilation.
    pub dil_w: usize,
    /// Rows of padding before row 0.
    pub pad_top: usize,
    /// Columns of padding before column 0.
    pub pad_left: usize,
}

impl ConvGeometry {
    /// The geometry of windows `h` × `w` over an `in_h × in_w × in_c` input with
    /// `padding`, producing `out_c` channels. Output sizes and leading padding follow
    /// [`Window::output`] (Keras's rules). [`Error::InvalidShape`] when the window does
    /// not fit (`valid`) or a size overflows.
    ///
    /// ```
    /// use ember_nn::kernels::geometry::ConvGeometry;
    /// use ember_nn::layers::{Padding, Window};
    ///
    /// let w = Window::new(3, 2, 1).unwrap();
    /// let g = ConvGeometry::new(8, 8, 4, w, w, Padding::Same, 16).unwrap();
    /// assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (4, 4, 0, 0));
    /// assert_eq!(g.macs_per_output_channel(4), 4 * 4 * 9 * 4);
    /// ```
    pub fn new(
        in_h: usize,
        in_w: usize,
        in_c: usize,
        h: Window,
        w: Window,
        padding: Padding,
        out_c: usize,
    ) -> Result<Self> {
        if in_c == 0 || out_c == 0 {
            return Err(Error::InvalidShape);
        }
        let (out_h, pad_top) = h.output(in_h, padding)?;
        let (out_w, pad_left) = w.output(in_w, padding)?;
        let g = ConvGeometry {
            in_h,
            in_w,
            in_c,
            out_h,
            out_w,
            out_c,
            k_h: h.size,
            k_w: w.size,
            stride_h: h.stride,
            stride_w: w.stride,
            dil_h: h.dilation,
            dil_w: w.dilation,
            pad_top,
            pad_left,
        };
        // Every buffer length a kernel computes from the geometry must not overflow.
        g.input_len().ok_or(Error::InvalidShape)?;
        g.output_len().ok_or(Error::InvalidShape)?;
        g.k_h
            .checked_mul(g.k_w)
            .and_then(|k| k.checked_mul(in_c))
            .and_then(|k| k.checked_mul(out_c))
            .ok_or(Error::InvalidShape)?;
        Ok(g)
    }

    /// Elements of one input sample, `None` on overflow.
    pub fn input_len(&self) -> Option<usize> {
        self.in_h.checked_mul(self.in_w)?.checked_mul(self.in_c)
    }

    /// Elements of one output sample, `None` on overflow.
    pub fn output_len(&self) -> Option<usize> {
        self.out_h.checked_mul(self.out_w)?.checked_mul(self.out_c)
    }

    /// Input row read by output row `oy` and window row `ky`, `None` when it falls in
    /// the padding.
    #[inline]
    pub fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride_h + ky * self.dil_h)
            .checked_sub(self.pad_top)
            .filter(|&r| r < self.in_h)
    }

    /// Input column read by output column `ox` and window column `kx`, `None` when it
    /// falls in the padding.
    #[inline]
    pub fn in_col(&self, ox: usize, kx: usize) -> Option<usize> {
        (ox * self.stride_w + kx * self.dil_w)
            .checked_sub(self.pad_left)
            .filter(|&c| c < self.in_w)
    }

    /// Multiply-accumulates per sample of a dense (non-grouped) convolution whose every
    /// output reads `taps_c` input channels at each window position, counting padded taps
    /// as Keras/TFLite MAC counts do.
    pub fn macs_per_output_channel(&self, taps_c: usize) -> usize {
        self.out_h
            .saturating_mul(self.out_w)
            .saturating_mul(self.k_h)
            .saturating_mul(self.k_w)
            .saturating_mul(taps_c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns_in_padding_are_none() {
        let k = Window::new(3, 2, 1).unwrap();
        let g = ConvGeometry::new(7, 7, 1, k, k, Padding::Same, 1).unwrap();
        assert_eq!((g.out_h, g.pad_top), (4, 1));
        assert_eq!(g.in_row(0, 0), None);
        assert_eq!(g.in_row(0, 1), Some(0));
        assert_eq!(g.in_row(3, 2), None); // 3·2 + 2 − 1 = 7 ≥ 7
        assert_eq!(g.in_col(3, 1), Some(6));
    }

    #[test]
    fn bad_sizes_are_errors() {
        let k = Window::new(3, 1, 1).unwrap();
        assert_eq!(
            ConvGeometry::new(2, 5, 1, k, k, Padding::Valid, 1),
            Err(Error::InvalidShape)
        );
        assert_eq!(
            ConvGeometry::new(5, 5, 0, k, k, Padding::Valid, 1),
            Err(Error::InvalidShape)
        );
        let one = Window::new(1, 1, 1).unwrap();
        assert_eq!(
            ConvGeometry::new(usize::MAX, 2, 2, one, one, Padding::Valid, 1),
            Err(Error::InvalidShape)
        );
    }
}
