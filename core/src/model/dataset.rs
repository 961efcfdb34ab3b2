//! [`Dataset`]: where `fit` and `evaluate` read samples from, one at a time, into the
//! caller's batch buffers.

use crate::{Error, Result, Scalar};

/// A source of `(x, y)` samples for [`super::fit()`] and [`super::evaluate()`]. Keras: the
/// `x`/`y` arrays (or a `PyDataset`) passed to `model.fit`.
///
/// Samples are addressed by index, so `fit` can visit them in order or in a shuffled
/// order; a source that computes or streams its samples (from a sensor log in flash, a
/// generator function, ...) implements [`Dataset::sample`] however it likes. Nothing is
/// allocated: `sample` writes into slices of the caller's batch buffers.
pub trait Dataset<T: Scalar> {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Elements of one sample's `x` (the model's input shape, flattened).
    fn x_len(&self) -> usize;

    /// Elements of one sample's `y` (the model's output shape flattened, or 1 for the
    /// sparse categorical cross-entropy's class index).
    fn y_len(&self) -> usize;

    /// Writes sample `i` (`i < len()`) into `x` (`x_len()` elements) and `y` (`y_len()`
    /// elements).
    fn sample(&self, i: usize, x: &mut [T], y: &mut [T]) -> Result<()>;
}

/// A dataset of samples stored back to back in two slices (typically `static` arrays in
/// flash). Keras: `model.fit(x, y)` with NumPy arrays.
///
/// ```
/// use ember_nn::model::{Dataset, SliceDataset};
/// // Three samples of 2 inputs and 1 target.
/// let x = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
/// let y = [1.0f32, 0.0, 1.0];
/// let data = SliceDataset::new(&x, &y, 2, 1).unwrap();
/// assert_eq!(data.len(), 3);
/// let (mut xs, mut ys) = ([0.0f32; 2], [0.0f32; 1]);
/// data.sample(2, &mut xs, &mut ys).unwrap();
/// assert_eq!((xs, ys), ([4.0, 5.0], [1.0]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SliceDataset<'d, T> {
    x: &'d [T],
    y: &'d [T],
    x_len: usize,
    y_len: usize,
}

impl<'d, T: Scalar> SliceDataset<'d, T> {
    /// `x` holds samples of `x_len` elements, `y` as many samples of `y_len` elements.
    /// [`Error::ShapeMismatch`] when the lengths do not agree, [`Error::InvalidShape`]
    /// for a zero sample length.
    pub fn new(x: &'d [T], y: &'d [T], x_len: usize, y_len: usize) -> Result<Self> {
        if x_len == 0 || y_len == 0 {
            return Err(Error::InvalidShape);
        }
        if x.len() % x_len != 0 {
            return Err(Error::ShapeMismatch {
                expected: x_len,
                found: x.len(),
            });
        }
        let n = x.len() / x_len;
        if y.len() != n * y_len {
            return Err(Error::ShapeMismatch {
                expected: n * y_len,
                found: y.len(),
            });
        }
        Ok(SliceDataset { x, y, x_len, y_len })
    }
}

impl<T: Scalar> Dataset<T> for SliceDataset<'_, T> {
    fn len(&self) -> usize {
        self.x.len() / self.x_len
    }

    fn x_len(&self) -> usize {
        self.x_len
    }

    fn y_len(&self) -> usize {
        self.y_len
    }

    fn sample(&self, i: usize, x: &mut [T], y: &mut [T]) -> Result<()> {
        if i >= self.len() {
            return Err(Error::ShapeMismatch {
                expected: self.len(),
                found: i,
            });
        }
        if x.len() != self.x_len || y.len() != self.y_len {
            return Err(Error::ShapeMismatch {
                expected: self.x_len + self.y_len,
                found: x.len() + y.len(),
            });
        }
        let xs = &self.x[i * self.x_len..(i + 1) * self.x_len];
        let ys = &self.y[i * self.y_len..(i + 1) * self.y_len];
        x.copy_from_slice(xs);
        y.copy_from_slice(ys);
        Ok(())
    }
}
