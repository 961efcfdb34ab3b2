//! [`ZeroPadding1D`] and [`ZeroPadding2D`]: Keras's `keras.layers.ZeroPadding1D` and
//! `keras.layers.ZeroPadding2D`.

use serde::{Deserialize, Serialize};

use super::Border;
use crate::layers::engine::EngineLayer;

/// Zero rows before and after the steps of a `(steps, c)` sample: Keras's
/// `keras.layers.ZeroPadding1D(padding=1)`, `padding = (before, after)`; output
/// `(before + steps + after, c)`. The backward pass crops the gradient back.
///
/// ```
/// use ember_nn::layers::{Context, Layer, ZeroPadding1D};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pad = ZeroPadding1D { padding: [1, 2] };
/// let x = [1.0f32, 2.0];
/// let mut y = [9.0f32; 5];
/// pad.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 5, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [0.0, 1.0, 2.0, 0.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ZeroPadding1D {
    /// Steps of zeros before and after (`padding=`; Keras's int `p` is `(p, p)`).
    pub padding: [u32; 2],
}

/// Zero rows and columns around a `(h, w, c)` sample: Keras's
/// `keras.layers.ZeroPadding2D(padding=(1, 1))`,
/// `padding = ((top, bottom), (left, right))`; output
/// `(top + h + bottom, left + w + right, c)`. The backward pass crops the gradient back.
///
/// ```
/// use ember_nn::layers::{Layer, ZeroPadding2D};
/// use ember_nn::Shape;
///
/// let pad = ZeroPadding2D { padding: [[1, 0], [2, 3]] };
/// let out = pad.output_shape(Shape::new(&[4, 4, 3]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[5, 9, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ZeroPadding2D {
    /// `((top, bottom), (left, right))` (`padding=`; Keras's int `p` is
    /// `((p, p), (p, p))` and `(a, b)` is `((a, a), (b, b))`).
    pub padding: [[u32; 2]; 2],
}

impl EngineLayer for ZeroPadding1D {
    const KERAS_CLASS: &'static str = "ZeroPadding1D";
    type Engine = Border;

    fn engine(&self) -> Border {
        Border::pad(2, [[0, 0], self.padding])
    }
}

impl EngineLayer for ZeroPadding2D {
    const KERAS_CLASS: &'static str = "ZeroPadding2D";
    type Engine = Border;

    fn engine(&self) -> Border {
        Border::pad(3, self.padding)
    }
}
