//! [`MaxPooling1D`] and [`MaxPooling2D`]: Keras's `keras.layers.MaxPooling1D` and
//! `keras.layers.MaxPooling2D`.

use serde::{Deserialize, Serialize};

use super::{Mode, Pool};
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;

/// Max pooling over steps: Keras's
/// `keras.layers.MaxPooling1D(pool_size=2, strides=None, padding="valid")`, channels last.
///
/// Input `(steps, channels)`, output `(out, channels)` with `out = ⌊(steps − pool_size) /
/// strides⌋ + 1` (`valid`) or `⌈steps / strides⌉` (`same`, padding split with the smaller
/// half before; see [`crate::layers::Window::output`]). Each output is the maximum of the
/// window's inputs; padded positions are never the maximum (XLA pads with `-inf`).
/// Keras's `strides=None` means `strides = pool_size` (the converter resolves it;
/// [`MaxPooling1D::default`] is Keras's default layer). No parameters; 0 MACs.
///
/// **Gradient.** Each output's gradient goes to the *first* maximum of its window, scanning
/// the window in order, and sums where windows overlap. With ties (repeated maxima) only
/// the first tied input receives it — the rule of JAX's gradient of `lax.reduce_window`
/// max, checked against `jax.grad` on tie cases.
///
/// ```
/// use ember_nn::layers::{Context, Layer, MaxPooling1D, Padding};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = MaxPooling1D { pool_size: 2, strides: 2, padding: Padding::Valid };
/// let x = [1.0f32, 3.0, 2.0, 2.0, 5.0]; // (batch 1, steps 5, channels 1)
/// let mut y = [0.0f32; 2];
/// pool.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 5, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [3.0, 2.0]); // max(1, 3), max(2, 2); the fifth step is dropped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MaxPooling1D {
    /// Window length (`pool_size`).
    pub pool_size: u32,
    /// Step between windows (`strides`; Keras's `None` is `pool_size`).
    pub strides: u32,
    /// `padding=` (`Valid` or `Same`; `Causal` is refused with `InvalidConfig`).
    pub padding: Padding,
}

impl Default for MaxPooling1D {
    /// Keras's defaults: `pool_size=2`, `strides=None` (= 2), `padding="valid"`.
    fn default() -> Self {
        MaxPooling1D {
            pool_size: 2,
            strides: 2,
            padding: Padding::Valid,
        }
    }
}

impl EngineLayer for MaxPooling1D {
    const KERAS_CLASS: &'static str = "MaxPooling1D";
    type Engine = Pool;

    fn engine(&self) -> Pool {
        Pool::one_d(self.pool_size, self.strides, self.padding, Mode::Max)
    }
}

/// Max pooling over rows and columns: Keras's
/// `keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")`, channels
/// last.
///
/// Input `(h, w, channels)`, output `(out_h, out_w, channels)`, each axis sized as in
/// [`MaxPooling1D`]; sizes are `[rows, columns]`. Same maximum and gradient rule as
/// [`MaxPooling1D`]: the first maximum in row-major window order (rows outer) takes each
/// output's gradient. No parameters; 0 MACs.
///
/// ```
/// use ember_nn::layers::{Context, Layer, MaxPooling2D, Padding};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = MaxPooling2D::default(); // 2×2, stride 2, valid
/// let x = [1.0f32, 2.0, 0.0, 9.0, // a 2×4 image, 1 channel
///          4.0, 3.0, 7.0, 8.0];
/// let mut y = [0.0f32; 2];
/// pool.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 4, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [4.0, 9.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MaxPooling2D {
    /// Window `[rows, columns]` (`pool_size`).
    pub pool_size: [u32; 2],
    /// Steps between windows `[rows, columns]` (`strides`; Keras's `None` is `pool_size`).
    pub strides: [u32; 2],
    /// `padding=` (`Valid` or `Same`; `Causal` is refused with `InvalidConfig`).
    pub padding: Padding,
}

impl Default for MaxPooling2D {
    /// Keras's defaults: `pool_size=(2, 2)`, `strides=None` (= `(2, 2)`),
    /// `padding="valid"`.
    fn default() -> Self {
        MaxPooling2D {
            pool_size: [2, 2],
            strides: [2, 2],
            padding: Padding::Valid,
        }
    }
}

impl EngineLayer for MaxPooling2D {
    const KERAS_CLASS: &'static str = "MaxPooling2D";
    type Engine = Pool;

    fn engine(&self) -> Pool {
        Pool::two_d(self.pool_size, self.strides, self.padding, Mode::Max)
    }
}
