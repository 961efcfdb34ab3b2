//! [`Walk`]: the element offsets of strided row-major loops, by counting (no division per
//! element), shared by the reductions and the broadcasting ops.

use crate::MAX_RANK;

/// Visits every index of a box of up to [`MAX_RANK`] dimensions in row-major order and
/// yields, for each, the offsets `Σ index[d] · strides[k][d]` into `N` tensors.
#[derive(Debug, Clone, Copy)]
pub(super) struct Walk<const N: usize> {
    dims: [usize; MAX_RANK],
    strides: [[usize; MAX_RANK]; N],
    rank: usize,
    index: [usize; MAX_RANK],
    offsets: [usize; N],
    left: usize,
}

impl<const N: usize> Walk<N> {
    /// A walk over `dims[..rank]` (each ≥ 1) with the given per-tensor strides.
    pub(super) fn new(
        dims: [usize; MAX_RANK],
        strides: [[usize; MAX_RANK]; N],
        rank: usize,
    ) -> Self {
        let rank = rank.min(MAX_RANK);
        let left = dims[..rank].iter().product();
        Walk {
            dims,
            strides,
            rank,
            index: [0; MAX_RANK],
            offsets: [0; N],
            left,
        }
    }
}

impl<const N: usize> Iterator for Walk<N> {
    type Item = [usize; N];

    fn next(&mut self) -> Option<[usize; N]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let current = self.offsets;
        // Odometer step: bump the last dimension, carry into the ones before it.
        for d in (0..self.rank).rev() {
            self.index[d] += 1;
            for (o, s) in self.offsets.iter_mut().zip(&self.strides) {
                *o += s[d];
            }
            if self.index[d] < self.dims[d] {
                break;
            }
            for (o, s) in self.offsets.iter_mut().zip(&self.strides) {
                *o -= s[d] * self.dims[d];
            }
            self.index[d] = 0;
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_row_major_with_strides() {
        // A 2×3 box over a transposed 3×2 tensor (strides 1, 2) and a broadcast row (0, 1).
        let mut dims = [1; MAX_RANK];
        dims[..2].copy_from_slice(&[2, 3]);
        let mut s = [[0; MAX_RANK]; 2];
        s[0][..2].copy_from_slice(&[1, 2]);
        s[1][..2].copy_from_slice(&[0, 1]);
        let got: [[usize; 2]; 6] = {
            let mut it = Walk::new(dims, s, 2);
            core::array::from_fn(|_| it.next().unwrap())
        };
        assert_eq!(got, [[0, 0], [2, 1], [4, 2], [1, 0], [3, 1], [5, 2]]);
        assert_eq!(Walk::new(dims, s, 2).count(), 6);
        assert_eq!(Walk::new(dims, s, 0).count(), 1); // rank 0: one element
    }
}
