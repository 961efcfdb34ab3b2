//! [`GlobalMaxPooling1D`], [`GlobalMaxPooling2D`], [`GlobalAveragePooling1D`] and
//! [`GlobalAveragePooling2D`]: Keras's `keras.layers.Global{Max,Average}Pooling{1,2}D`.

use serde::{Deserialize, Serialize};

use super::{batched_len, check, no_params, split_batch};
use crate::kernels::reference::pooling as kernel;
use crate::layers::engine::{Engine, EngineLayer};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// A global reduction over the `spatial` leading axes of a channels-last sample.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    spatial: usize,
    keepdims: bool,
    max: bool,
}

impl Global {
    /// `(positions, channels)` of a sample `(steps, c)` or `(h, w, c)`.
    fn dims(&self, sample: Shape) -> Result<(usize, usize)> {
        if sample.rank() != self.spatial + 1 {
            return Err(Error::InvalidShape);
        }
        // Shape guarantees the product fits.
        let positions = sample.dims()[..self.spatial]
            .iter()
            .map(|&d| d as usize)
            .product();
        Ok((positions, sample.last()))
    }
}

impl Engine for Global {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let (_, c) = self.dims(input)?;
        match (self.keepdims, self.spatial) {
            (false, _) => Shape::new(&[c]),
            (true, 1) => Shape::new(&[1, c]),
            (true, _) => Shape::new(&[1, 1, c]),
        }
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        no_params(params)?;
        let (batch, sample) = split_batch(x.shape())?;
        let (p, c) = self.dims(sample)?;
        check(batched_len(batch, c)?, y.data().len())?;
        if self.max {
            kernel::global_max_forward(p, c, x.data(), y.data());
        } else {
            kernel::global_avg_forward(p, c, x.data(), y.data());
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
    ) -> Result<()> {
        no_params(params)?;
        let (batch, sample) = split_batch(x.shape())?;
        let (p, c) = self.dims(sample)?;
        let n_out = batched_len(batch, c)?;
        check(n_out, y.data().len())?;
        check(n_out, dy.len())?;
        if let Some(dx) = dx {
            check(x.data().len(), dx.len())?;
            if self.max {
                kernel::global_max_backward(p, c, x.data(), dy, dx);
            } else {
                kernel::global_avg_backward(p, c, dy, dx);
            }
        }
        Ok(())
    }
}

/// Maximum over all steps: Keras's
/// `keras.layers.GlobalMaxPooling1D(keepdims=False)`, channels last.
///
/// Input `(steps, channels)`, output `(channels,)`, or `(1, channels)` with `keepdims`.
/// Keras computes `ops.max` over the steps axis, a reduction (not a window), so its
/// gradient follows JAX's rule for `max`: **ties share** the gradient equally —
/// `dx[p, c] = dy[c] / (number of steps equal to the maximum)` at the maxima, 0 elsewhere
/// (unlike [`super::MaxPooling1D`], whose first maximum takes all). No parameters; 0 MACs.
///
/// ```
/// use ember_nn::layers::{Context, GlobalMaxPooling1D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = GlobalMaxPooling1D { keepdims: false };
/// let x = [1.0f32, 5.0, // step 0: channels 0 and 1
///          3.0, 5.0,
///          2.0, 4.0];
/// let (xs, ys) = (Shape::new(&[1, 3, 2]).unwrap(), Shape::new(&[1, 2]).unwrap());
/// let mut y = [0.0f32; 2];
/// pool.forward(&[], TensorView::new(xs, &x).unwrap(),
///     TensorViewMut::new(ys, &mut y).unwrap(), &Context::default()).unwrap();
/// assert_eq!(y, [3.0, 5.0]);
/// let mut dy = [1.0f32, 1.0];
/// let mut dx = [0.0f32; 6];
/// pool.backward(&[], TensorView::new(xs, &x).unwrap(), TensorView::new(ys, &y).unwrap(),
///     &mut dy, Some(&mut dx), None, &Context::default()).unwrap();
/// assert_eq!(dx, [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]); // the tied 5s share channel 1's gradient
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalMaxPooling1D {
    /// Keep the reduced axis with length 1 (`keepdims=`, default `false`).
    pub keepdims: bool,
}

/// Maximum over all rows and columns: Keras's
/// `keras.layers.GlobalMaxPooling2D(keepdims=False)`, channels last.
///
/// Input `(h, w, channels)`, output `(channels,)`, or `(1, 1, channels)` with `keepdims`.
/// Tied maxima share the gradient equally, as in [`GlobalMaxPooling1D`]. No parameters;
/// 0 MACs.
///
/// ```
/// use ember_nn::layers::{Context, GlobalMaxPooling2D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = GlobalMaxPooling2D { keepdims: true };
/// let x = [1.0f32, -2.0, 7.0, 0.5]; // a 2×2 image, 1 channel
/// let out = pool.output_shape(Shape::new(&[2, 2, 1]).unwrap()).unwrap();
/// assert_eq!(out.dims(), &[1, 1, 1]);
/// let mut y = [0.0f32; 1];
/// pool.forward(&[], TensorView::new(Shape::new(&[1, 2, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 1, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default()).unwrap();
/// assert_eq!(y, [7.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalMaxPooling2D {
    /// Keep the reduced axes with length 1 (`keepdims=`, default `false`).
    pub keepdims: bool,
}

/// Mean over all steps: Keras's
/// `keras.layers.GlobalAveragePooling1D(keepdims=False)`, channels last.
///
/// Input `(steps, channels)`, output `(channels,)`, or `(1, channels)` with `keepdims`:
/// `y[c] = Σ_p x[p, c] / steps`; gradient `dx[p, c] = dy[c] / steps`. Keras's optional
/// call-time `mask` (steps excluded from the mean) is not supported: Ember has no masks
/// yet, so the layer always averages every step. No parameters; 0 MACs.
///
/// ```
/// use ember_nn::layers::{Context, GlobalAveragePooling1D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = GlobalAveragePooling1D { keepdims: false };
/// let x = [1.0f32, 10.0, 2.0, 20.0, 6.0, 30.0]; // 3 steps, 2 channels
/// let mut y = [0.0f32; 2];
/// pool.forward(&[], TensorView::new(Shape::new(&[1, 3, 2]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default()).unwrap();
/// assert_eq!(y, [3.0, 20.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalAveragePooling1D {
    /// Keep the reduced axis with length 1 (`keepdims=`, default `false`).
    pub keepdims: bool,
}

/// Mean over all rows and columns: Keras's
/// `keras.layers.GlobalAveragePooling2D(keepdims=False)`, channels last.
///
/// Input `(h, w, channels)`, output `(channels,)`, or `(1, 1, channels)` with `keepdims`:
/// `y[c] = Σ x[·, ·, c] / (h·w)`; gradient `dy[c] / (h·w)` everywhere. No parameters;
/// 0 MACs. In `Q16_16` the sum saturates at ±32768 (and `h·w` above 32767 is not
/// representable), as every fixed-point sum does.
///
/// ```
/// use ember_nn::layers::{Context, GlobalAveragePooling2D, Layer};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let pool = GlobalAveragePooling2D::default();
/// let x = [1.0f32, 2.0, 3.0, 6.0]; // a 2×2 image, 1 channel
/// let mut y = [0.0f32; 1];
/// pool.forward(&[], TensorView::new(Shape::new(&[1, 2, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default()).unwrap();
/// assert_eq!(y, [3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GlobalAveragePooling2D {
    /// Keep the reduced axes with length 1 (`keepdims=`, default `false`).
    pub keepdims: bool,
}

impl EngineLayer for GlobalMaxPooling1D {
    const KERAS_CLASS: &'static str = "GlobalMaxPooling1D";
    type Engine = Global;

    fn engine(&self) -> Global {
        Global {
            spatial: 1,
            keepdims: self.keepdims,
            max: true,
        }
    }
}

impl EngineLayer for GlobalMaxPooling2D {
    const KERAS_CLASS: &'static str = "GlobalMaxPooling2D";
    type Engine = Global;

    fn engine(&self) -> Global {
        Global {
            spatial: 2,
            keepdims: self.keepdims,
            max: true,
        }
    }
}

impl EngineLayer for GlobalAveragePooling1D {
    const KERAS_CLASS: &'static str = "GlobalAveragePooling1D";
    type Engine = Global;

    fn engine(&self) -> Global {
        Global {
            spatial: 1,
            keepdims: self.keepdims,
            max: false,
        }
    }
}

impl EngineLayer for GlobalAveragePooling2D {
    const KERAS_CLASS: &'static str = "GlobalAveragePooling2D";
    type Engine = Global;

    fn engine(&self) -> Global {
        Global {
            spatial: 2,
            keepdims: self.keepdims,
            max: false,
        }
    }
}
