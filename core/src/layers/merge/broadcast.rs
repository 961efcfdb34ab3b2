//! Keras's broadcasting rule for the elementwise merges
//! (`Merge._compute_elemwise_op_output_shape` and `Merge.call`'s reshape).
//!
//! Per-sample shapes of different ranks are aligned on their last axes: Keras expands
//! the shorter inputs with size-1 axes right after the batch axis until every rank
//! matches. Aligned dims must then be equal or 1; the output takes the larger. The batch
//! is never broadcast (Keras refuses different batch sizes).

use super::MAX_MERGE_INPUTS;
use crate::{Error, Result, Shape, MAX_RANK};

/// A multi-index over a batched shape (`MAX_RANK` dims, the first `rank` used).
pub(super) type Index = [usize; MAX_RANK];

/// The output shape of broadcasting per-sample `inputs` together (Keras's rule).
pub(super) fn output_shape(inputs: &[Shape]) -> Result<Shape> {
    let rank = inputs
        .iter()
        .map(Shape::rank)
        .max()
        .ok_or(Error::InvalidShape)?;
    let mut out = [1usize; MAX_RANK];
    for s in inputs {
        let pad = rank - s.rank();
        for (k, &d) in s.dims().iter().enumerate() {
            let o = &mut out[pad + k];
            let d = d as usize;
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(Error::InvalidConfig(
                    "merge inputs have incompatible shapes (dims must be equal or 1)",
                ));
            }
        }
    }
    Shape::new(&out[..rank])
}

/// Where each input's elements sit relative to the batched output: per input, the
/// element stride along every output axis (0 where the input is broadcast).
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    /// Batched output rank.
    pub rank: usize,
    /// Batched output dims.
    pub out: Index,
    /// Row-major strides of the output.
    pub out_strides: Index,
    /// `strides[i][k]`: step in input `i` per unit of output axis `k` (0: broadcast).
    pub strides: [Index; MAX_MERGE_INPUTS],
    /// Every input has the output's shape: element `q` of each input meets element `q`
    /// of the output.
    pub same: bool,
}

impl Geometry {
    /// The geometry of per-sample `inputs` broadcast to `output` (from
    /// [`output_shape`]) on `batch` samples.
    pub fn new(inputs: &[Shape], output: Shape, batch: usize) -> Result<Self> {
        let batched = output.with_batch(batch)?;
        let rank = batched.rank();
        let mut out = [1usize; MAX_RANK];
        for (o, &d) in out.iter_mut().zip(batched.dims()) {
            *o = d as usize;
        }
        let mut geo = Geometry {
            rank,
            out,
            out_strides: row_major(&out, rank),
            strides: [[0; MAX_RANK]; MAX_MERGE_INPUTS],
            same: inputs.iter().all(|&s| s == output),
        };
        for (s, strides) in inputs.iter().zip(geo.strides.iter_mut()) {
            // The input's dims, padded with 1s after the batch axis to the output's rank.
            let mut dims = [1usize; MAX_RANK];
            dims[0] = batch;
            let pad = (rank - 1)
                .checked_sub(s.rank())
                .ok_or(Error::InvalidShape)?;
            for (k, &d) in s.dims().iter().enumerate() {
                dims[1 + pad + k] = d as usize;
            }
            let natural = row_major(&dims, rank);
            for (k, st) in strides.iter_mut().enumerate().take(rank) {
                *st = if dims[k] == out[k] { natural[k] } else { 0 };
            }
        }
        Ok(geo)
    }

    /// Offset in input `i` of the output element at multi-index `q`.
    #[inline]
    pub fn offset(&self, i: usize, q: &Index) -> usize {
        dot(&self.strides[i], q, self.rank)
    }

    /// Offset in the output of multi-index `q`.
    #[inline]
    pub fn out_offset(&self, q: &Index) -> usize {
        dot(&self.out_strides, q, self.rank)
    }

    /// Input `i`'s dims (the output's, 1 where `i` is broadcast).
    pub fn input_dims(&self, i: usize) -> Index {
        let mut d = [1usize; MAX_RANK];
        for (k, dk) in d.iter_mut().enumerate().take(self.rank) {
            if self.strides[i][k] != 0 {
                *dk = self.out[k];
            }
        }
        d
    }

    /// Calls `f` with each output multi-index that input `i`'s element at multi-index
    /// `p` (over [`Geometry::input_dims`]) meets: `p` on its own axes, everything along
    /// the broadcast ones.
    pub fn for_each_meeting(&self, i: usize, p: &Index, f: impl FnMut(&Index)) {
        let dims = self.input_dims(i);
        let mut lo = [0usize; MAX_RANK];
        let mut count = [1usize; MAX_RANK];
        for k in 0..self.rank {
            if dims[k] == self.out[k] {
                lo[k] = p[k];
            } else {
                count[k] = self.out[k];
            }
        }
        for_each_index(self.rank, &lo, &count, f);
    }
}

fn dot(a: &Index, b: &Index, rank: usize) -> usize {
    a[..rank].iter().zip(&b[..rank]).map(|(x, y)| x * y).sum()
}

/// Row-major strides of `dims[..rank]`.
fn row_major(dims: &Index, rank: usize) -> Index {
    let mut s = [0usize; MAX_RANK];
    let mut step = 1;
    for k in (0..rank).rev() {
        s[k] = step;
        step *= dims[k];
    }
    s
}

/// Calls `f` with every multi-index `q` with `lo[k] ≤ q[k] < lo[k] + count[k]` for
/// `k < rank`, in row-major order (last axis fastest). Every count must be ≥ 1.
pub(super) fn for_each_index(rank: usize, lo: &Index, count: &Index, mut f: impl FnMut(&Index)) {
    let mut q = *lo;
    loop {
        f(&q);
        let mut k = rank;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            q[k] += 1;
            if q[k] < lo[k] + count[k] {
                break;
            }
            q[k] = lo[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: &[usize]) -> Shape {
        Shape::new(d).unwrap()
    }

    #[test]
    fn keras_shape_rule() {
        assert_eq!(output_shape(&[s(&[4, 3]), s(&[1, 3])]).unwrap(), s(&[4, 3]));
        assert_eq!(output_shape(&[s(&[3, 4]), s(&[4])]).unwrap(), s(&[3, 4]));
        assert_eq!(output_shape(&[s(&[5, 1]), s(&[1, 4])]).unwrap(), s(&[5, 4]));
        assert!(output_shape(&[s(&[3]), s(&[4])]).is_err());
        assert!(output_shape(&[]).is_err());
    }

    #[test]
    fn meeting_positions_of_a_broadcast_input() {
        let g = Geometry::new(&[s(&[2, 3]), s(&[3])], s(&[2, 3]), 1).unwrap();
        assert_eq!(&g.strides[1][..3], &[3, 0, 1]);
        let mut seen = [0usize; 2];
        let mut n = 0;
        g.for_each_meeting(1, &[0, 0, 2, 0, 0], |q| {
            seen[n] = g.out_offset(q);
            n += 1;
        });
        assert_eq!(seen, [2, 5]);
    }
}
