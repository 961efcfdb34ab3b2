//! Tensor views: a [`Shape`] over a caller-provided slice. Views never own memory.

use crate::{Error, Result, Scalar, Shape};

/// A read-only tensor: a shape and a slice holding exactly `shape.len()` elements in
/// row-major (channels-last) order.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a, T> {
    shape: Shape,
    data: &'a [T],
}

impl<'a, T: Scalar> TensorView<'a, T> {
    /// A view of `data` as `shape`; fails unless `data.len() == shape.len()`.
    ///
    /// ```
    /// use ember_nn::{Shape, TensorView};
    /// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let t = TensorView::new(Shape::new(&[2, 3]).unwrap(), &data).unwrap();
    /// assert_eq!(t.row(1), &[4.0, 5.0, 6.0]);
    /// assert!(TensorView::new(Shape::new(&[4]).unwrap(), &data).is_err());
    /// ```
    pub fn new(shape: Shape, data: &'a [T]) -> Result<Self> {
        check_len(shape, data.len())?;
        Ok(TensorView { shape, data })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The elements.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Row `i` of the tensor seen as a matrix of rows of length `shape.last()` (empty when
    /// out of range).
    pub fn row(&self, i: usize) -> &'a [T] {
        let n = self.shape.last();
        self.data.get(i * n..(i + 1) * n).unwrap_or(&[])
    }
}

/// A mutable tensor view.
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    shape: Shape,
    data: &'a mut [T],
}

impl<'a, T: Scalar> TensorViewMut<'a, T> {
    /// A mutable view of `data` as `shape`; fails unless `data.len() == shape.len()`.
    pub fn new(shape: Shape, data: &'a mut [T]) -> Result<Self> {
        check_len(shape, data.len())?;
        Ok(TensorViewMut { shape, data })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The elements.
    pub fn data(&mut self) -> &mut [T] {
        self.data
    }

    /// A read-only view of the same memory.
    pub fn as_view(&self) -> TensorView<'_, T> {
        TensorView {
            shape: self.shape,
            data: self.data,
        }
    }
}

fn check_len(shape: Shape, len: usize) -> Result<()> {
    if shape.len() != len {
        return Err(Error::ShapeMismatch {
            expected: shape.len(),
            found: len,
        });
    }
    Ok(())
}
