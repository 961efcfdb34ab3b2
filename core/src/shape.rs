//! [`Shape`]: dimensions of a tensor, channels-last as in Keras.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Largest rank a [`Shape`] holds (batch included).
pub const MAX_RANK: usize = 5;

/// The dimensions of a tensor, outermost first and channels last, as in Keras.
///
/// A `Shape` is a small `Copy` value (no heap). Shapes stored in a blob exclude the batch
/// dimension; the model prepends it at run time.
///
/// ```
/// use ember_nn::Shape;
/// let s = Shape::new(&[3, 4]).unwrap();
/// assert_eq!(s.rank(), 2);
/// assert_eq!(s.len(), 12);
/// assert_eq!(s.last(), 4);
/// assert_eq!(s.with_batch(2).unwrap().dims(), &[2, 3, 4]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    dims: [u32; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A shape from its dimensions. Fails on rank > [`MAX_RANK`], a zero dimension, or an
    /// element count that overflows `u32`.
    pub fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_RANK {
            return Err(Error::InvalidShape);
        }
        let mut out = [0u32; MAX_RANK];
        let mut count: u32 = 1;
        for (o, &d) in out.iter_mut().zip(dims) {
            let d = u32::try_from(d).map_err(|_| Error::InvalidShape)?;
            if d == 0 {
                return Err(Error::InvalidShape);
            }
            count = count.checked_mul(d).ok_or(Error::InvalidShape)?;
            *o = d;
        }
        Ok(Shape {
            dims: out,
            rank: dims.len() as u8,
        })
    }

    /// Checks a shape decoded from untrusted bytes: rank, no zero dims, no overflow.
    pub fn validate(&self) -> Result<()> {
        let rank = self.rank as usize;
        if rank > MAX_RANK {
            return Err(Error::InvalidShape);
        }
        let mut count: u32 = 1;
        for (i, &d) in self.dims.iter().enumerate() {
            if i < rank {
                if d == 0 {
                    return Err(Error::InvalidShape);
                }
                count = count.checked_mul(d).ok_or(Error::InvalidShape)?;
            } else if d != 0 {
                return Err(Error::InvalidShape);
            }
        }
        Ok(())
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The dimensions.
    pub fn dims(&self) -> &[u32] {
        &self.dims[..self.rank()]
    }

    /// Dimension `i` (0 when out of range).
    pub fn dim(&self, i: usize) -> usize {
        if i < self.rank() {
            self.dims[i] as usize
        } else {
            0
        }
    }

    /// Number of elements (1 for a scalar shape).
    pub fn len(&self) -> usize {
        self.dims().iter().map(|&d| d as usize).product()
    }

    /// `true` only for a rank-0 shape with one element… never, since shapes have no zero
    /// dims; provided for API symmetry with slices.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last (channel/feature) dimension; 1 for a scalar.
    pub fn last(&self) -> usize {
        match self.rank() {
            0 => 1,
            r => self.dims[r - 1] as usize,
        }
    }

    /// The same shape with its last dimension replaced (as Dense does).
    pub fn with_last(&self, last: usize) -> Result<Self> {
        let mut dims = [0usize; MAX_RANK];
        let r = self.rank().max(1);
        for (o, &d) in dims.iter_mut().zip(self.dims()) {
            *o = d as usize;
        }
        dims[r - 1] = last;
        Shape::new(&dims[..r])
    }

    /// This shape with a leading batch dimension.
    pub fn with_batch(&self, batch: usize) -> Result<Self> {
        let mut dims = [0usize; MAX_RANK];
        if self.rank() + 1 > MAX_RANK {
            return Err(Error::InvalidShape);
        }
        dims[0] = batch;
        for (o, &d) in dims[1..].iter_mut().zip(self.dims()) {
            *o = d as usize;
        }
        Shape::new(&dims[..self.rank() + 1])
    }
}

impl core::fmt::Debug for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.dims()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(Shape::new(&[1, 2, 3, 4, 5, 6]), Err(Error::InvalidShape));
        assert_eq!(Shape::new(&[3, 0]), Err(Error::InvalidShape));
        assert_eq!(Shape::new(&[1 << 20, 1 << 20]), Err(Error::InvalidShape));
        assert_eq!(
            Shape::new(&[5; 5]).unwrap().with_batch(1),
            Err(Error::InvalidShape)
        );
    }

    #[test]
    fn with_last_replaces_channels() {
        let s = Shape::new(&[3, 4]).unwrap().with_last(7).unwrap();
        assert_eq!(s.dims(), &[3, 7]);
        assert_eq!(s.len(), 21);
    }
}
