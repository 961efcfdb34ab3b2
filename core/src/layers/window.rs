//! Sliding-window geometry shared by the convolution and pooling layers: Keras's
//! `padding` modes and the output length and leading padding they give along one axis.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Keras's `padding=` option of convolution and pooling layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Padding {
    /// `"valid"`: no padding; windows that do not fit are dropped.
    Valid,
    /// `"same"`: `ceil(input / stride)` outputs; the padding needed is split with the
    /// smaller half **before** (TensorFlow/XLA's rule, which Keras follows): a stride-2,
    /// size-3 window on 8 inputs pads 0 before and 1 after.
    Same,
    /// `"causal"` (`Conv1D` only): all `(size − 1)·dilation` padding before, so output `t`
    /// sees only inputs `≤ t`.
    Causal,
}

/// A window along one spatial axis: its size, stride and dilation (all ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Taps (`kernel_size` or `pool_size`).
    pub size: usize,
    /// Step between windows (`strides`).
    pub stride: usize,
    /// Step between taps (`dilation_rate`; 1 for pooling).
    pub dilation: usize,
}

impl Window {
    /// A window with the given size, stride and dilation; [`Error::InvalidConfig`] if
    /// any is 0.
    pub fn new(size: usize, stride: usize, dilation: usize) -> Result<Self> {
        if size == 0 || stride == 0 || dilation == 0 {
            return Err(Error::InvalidConfig(
                "window size, stride and dilation must be positive",
            ));
        }
        Ok(Window {
            size,
            stride,
            dilation,
        })
    }

    /// Input positions one window spans: `(size − 1)·dilation + 1`.
    pub fn span(&self) -> Result<usize> {
        (self.size - 1)
            .checked_mul(self.dilation)
            .and_then(|s| s.checked_add(1))
            .ok_or(Error::InvalidShape)
    }

    /// Output length and padding before the first input, for `input` positions, as Keras
    /// computes them (`keras.src.ops.operation_utils.compute_conv_output_shape`, and XLA's
    /// `SAME` split for the padding):
    ///
    /// - `Valid`: `⌊(input − span) / stride⌋ + 1`, no padding; [`Error::InvalidShape`]
    ///   when the window is longer than the input (Keras gives a 0-sized output there).
    /// - `Same`: `⌈input / stride⌉`; total padding
    ///   `max((out − 1)·stride + span − input, 0)`, of which `⌊total / 2⌋` comes before.
    /// - `Causal`: `⌈input / stride⌉`, `span − 1` before.
    ///
    /// ```
    /// use ember_nn::layers::{Padding, Window};
    ///
    /// let w = Window::new(3, 2, 1).unwrap();
    /// assert_eq!(w.output(8, Padding::Same).unwrap(), (4, 0)); // pads 0 before, 1 after
    /// assert_eq!(w.output(7, Padding::Same).unwrap(), (4, 1)); // pads 1 and 1
    /// assert_eq!(w.output(8, Padding::Valid).unwrap(), (3, 0));
    /// assert_eq!(Window::new(3, 1, 2).unwrap().output(5, Padding::Causal).unwrap(), (5, 4));
    /// ```
    pub fn output(&self, input: usize, padding: Padding) -> Result<(usize, usize)> {
        let span = self.span()?;
        if input == 0 {
            return Err(Error::InvalidShape);
        }
        match padding {
            Padding::Valid => {
                if span > input {
                    return Err(Error::InvalidShape);
                }
                Ok(((input - span) / self.stride + 1, 0))
            }
            Padding::Same => {
                let out = input.div_ceil(self.stride);
                let needed = (out - 1)
                    .checked_mul(self.stride)
                    .and_then(|v| v.checked_add(span))
                    .ok_or(Error::InvalidShape)?;
                Ok((out, needed.saturating_sub(input) / 2))
            }
            Padding::Causal => Ok((input.div_ceil(self.stride), span - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_splits_like_xla() {
        // Even input, stride 2, odd kernel: 0 before, 1 after.
        let w = Window::new(3, 2, 1).unwrap();
        assert_eq!(w.output(32, Padding::Same).unwrap(), (16, 0));
        // Even kernel, stride 1: total k − 1 = 3, 1 before, 2 after.
        let w = Window::new(4, 1, 1).unwrap();
        assert_eq!(w.output(10, Padding::Same).unwrap(), (10, 1));
        // Dilation 2 with same: span 5, total 4, 2 before.
        let w = Window::new(3, 1, 2).unwrap();
        assert_eq!(w.output(9, Padding::Same).unwrap(), (9, 2));
        // Stride larger than the window: no padding needed.
        let w = Window::new(1, 3, 1).unwrap();
        assert_eq!(w.output(7, Padding::Same).unwrap(), (3, 0));
    }

    #[test]
    fn valid_and_causal() {
        let w = Window::new(3, 1, 2).unwrap();
        assert_eq!(w.output(9, Padding::Valid).unwrap(), (5, 0));
        assert_eq!(w.output(4, Padding::Valid), Err(Error::InvalidShape));
        assert_eq!(w.output(9, Padding::Causal).unwrap(), (9, 4));
        let w = Window::new(2, 2, 1).unwrap();
        assert_eq!(w.output(5, Padding::Valid).unwrap(), (2, 0));
        assert_eq!(w.output(0, Padding::Same), Err(Error::InvalidShape));
        assert!(Window::new(0, 1, 1).is_err());
        assert_eq!(
            Window::new(usize::MAX, 1, 2).unwrap().span(),
            Err(Error::InvalidShape)
        );
    }
}
