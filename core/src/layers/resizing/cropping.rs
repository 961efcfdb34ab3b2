//! [`Cropping1D`] and [`Cropping2D`]: Keras's `keras.layers.Cropping1D` and
//! `keras.layers.Cropping2D`.

use serde::{Deserialize, Serialize};

use super::Border;
use crate::layers::engine::EngineLayer;

/// Drops steps at both ends of a `(steps, c)` sample: Keras's
/// `keras.layers.Cropping1D(cropping=(1, 1))`, `cropping = (before, after)`; output
/// `(steps − before − after, c)`, which must be positive ([`crate::Error::InvalidShape`]
/// otherwise, as Keras raises). The backward pass pads the gradient back with zeros.
///
/// ```
/// use ember_nn::layers::{Context, Cropping1D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let crop = Cropping1D { cropping: [1, 2] };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0];
/// let mut y = [0.0f32; 2];
/// crop.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 5, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [2.0, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cropping1D {
    /// Steps dropped before and after (`cropping=`; Keras's int `p` is `(p, p)`).
    pub cropping: [u32; 2],
}

/// Drops rows and columns at the borders of a `(h, w, c)` sample: Keras's
/// `keras.layers.Cropping2D(cropping=((0, 0), (0, 0)))`,
/// `cropping = ((top, bottom), (left, right))`; output
/// `(h − top − bottom, w − left − right, c)`, each positive. The backward pass pads the
/// gradient back with zeros.
///
/// ```
/// use ember_nn::layers::{Cropping2D, Layer};
/// use ember_nn::Shape;
///
/// let crop = Cropping2D { cropping: [[1, 0], [2, 1]] };
/// let out = crop.output_shape(Shape::new(&[4, 5, 3]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[3, 2, 3]);
/// assert!(crop.output_shape(Shape::new(&[4, 3, 3]).unwrap()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cropping2D {
    /// `((top, bottom), (left, right))` (`cropping=`; Keras's int `p` is
    /// `((p, p), (p, p))` and `(a, b)` is `((a, a), (b, b))`).
    pub cropping: [[u32; 2]; 2],
}

impl EngineLayer for Cropping1D {
    const KERAS_CLASS: &'static str = "Cropping1D";
    type Engine = Border;

    fn engine(&self) -> Border {
        Border::crop(2, [[0, 0], self.cropping])
    }
}

impl EngineLayer for Cropping2D {
    const KERAS_CLASS: &'static str = "Cropping2D";
    type Engine = Border;

    fn engine(&self) -> Border {
        Border::crop(3, self.cropping)
    }
}
