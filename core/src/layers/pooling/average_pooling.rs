//! [`AveragePooling1D`] and [`AveragePooling2D`]: Keras's `keras.layers.AveragePooling1D`
//! and `keras.layers.AveragePooling2D`.

use serde::{Deserialize, Serialize};

use super::{Mode, Pool};
use crate::layers::engine::EngineLayer;
use crate::layers::Padding;

/// Average pooling over steps: Keras's
/// `keras.layers.AveragePooling1D(pool_size, strides=None, padding="valid")`, channels
/// last (Keras has no default `pool_size`; `strides=None` means `pool_size`, resolved by
/// the converter).
///
/// Input `(steps, channels)`, output `(out, channels)`, sized as in
/// [`super::MaxPooling1D`]. Each output is the sum of the window's inputs divided by the
/// number of **valid** (non-padded) inputs in it: `pool_size` everywhere with `valid`
/// padding, fewer in `same`-padded border windows — as Keras 3 computes it (the JAX
/// backend divides by a window count obtained by pooling a tensor of ones). The gradient
/// is the transpose: `dx[i] = Σ dy[o] / count[o]` over the windows `o` reading `i`.
/// No parameters; 0 MACs.
///
/// ```
/// use ember_nn::layers::{AveragePooling1D, Context, Layer, Padding};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// // Pool 3, stride 2, "same" on 4 steps: 2 outputs, padding 0 before and 1 after.
/// let pool = AveragePooling1D { pool_size: 3, strides: 2, padding: Padding::Same };
/// let x = [1.0f32, 2.0, 3.0, 7.0];
/// let mut y = [0.0f32; 2];
/// pool.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 4, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [2.0, 5.0]); // (1 + 2 + 3) / 3, (3 + 7) / 2: the pad is not counted
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AveragePooling1D {
    /// Window length (`pool_size`).
    pub pool_size: u32,
    /// Step between windows (`strides`; Keras's `None` is `pool_size`).
    pub strides: u32,
    /// `padding=` (`Valid` or `Same`; `Causal` is refused with `InvalidConfig`).
    pub padding: Padding,
}

impl EngineLayer for AveragePooling1D {
    const KERAS_CLASS: &'static str = "AveragePooling1D";
    type Engine = Pool;

    fn engine(&self) -> Pool {
        Pool::one_d(self.pool_size, self.strides, self.padding, Mode::Average)
    }
}

/// Average pooling over rows and columns: Keras's
/// `keras.layers.AveragePooling2D(pool_size, strides=None, padding="valid")`, channels
/// last.
///
/// Input `(h, w, channels)`, output `(out_h, out_w, channels)`; sizes are
/// `[rows, columns]`. Each output divides its window's sum by the number of valid
/// (non-padded) inputs, `rows_in × cols_in` of the window, as [`AveragePooling1D`].
/// No parameters; 0 MACs.
///
/// ```
/// use ember_nn::layers::{AveragePooling2D, Context, Layer, Padding};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = AveragePooling2D { pool_size: [2, 2], strides: [2, 2], padding: Padding::Valid };
/// let x = [1.0f32, 2.0, 0.0, 9.0, // a 2×4 image, 1 channel
///          4.0, 3.0, 7.0, 8.0];
/// let mut y = [0.0f32; 2];
/// pool.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 4, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [2.5, 6.0]); // (1 + 2 + 4 + 3) / 4, (0 + 9 + 7 + 8) / 4
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AveragePooling2D {
    /// Window `[rows, columns]` (`pool_size`).
    pub pool_size: [u32; 2],
    /// Steps between windows `[rows, columns]` (`strides`; Keras's `None` is `pool_size`).
    pub strides: [u32; 2],
    /// `padding=` (`Valid` or `Same`; `Causal` is refused with `InvalidConfig`).
    pub padding: Padding,
}

impl EngineLayer for AveragePooling2D {
    const KERAS_CLASS: &'static str = "AveragePooling2D";
    type Engine = Pool;

    fn engine(&self) -> Pool {
        Pool::two_d(self.pool_size, self.strides, self.padding, Mode::Average)
    }
}
