//! The three products a recurrent step needs, on a *column block* of a row-major weight
//! matrix `W[rows][stride]` (a gate's columns `off..off + n` of Keras's fused
//! `kernel`/`recurrent_kernel`), with an optional per-row dropout mask on the vector:
//!
//! - [`forward`]: `out[j] = init[j] + Σ_i (v[i]·m[i]) · W[i][off + j]`;
//! - [`backward_input`]: `dv[i] (+)= m[i] · Σ_j dz[j] · W[i][off + j]`;
//! - [`outer_add`]: `dW[i][off + j] += (v[i]·m[i]) · dz[j]`.
//!
//! Sums accumulate in `T::Acc` (exact for fixed point) and round once. The whole-matrix,
//! unmasked cases (every step of a layer without dropout) go to the register-blocked
//! Dense kernels of [`crate::kernels::optimized::dense`], which give the same sums.
//! Lengths are the caller's to check: the recurrent layers check every buffer once per
//! call, and these loops stop at the shortest slice instead of panicking.

use crate::kernels::optimized::dense as kernel;
use crate::Scalar;

/// One column block of a row-major matrix: columns `off..off + n` of rows `stride` long.
#[derive(Debug, Clone, Copy)]
pub(super) struct Block {
    pub(super) stride: usize,
    pub(super) off: usize,
    pub(super) n: usize,
}

impl Block {
    /// The whole matrix, `n` columns.
    pub(super) fn all(n: usize) -> Self {
        Block {
            stride: n,
            off: 0,
            n,
        }
    }

    /// Gate `g` of `gates` blocks of `units` columns.
    pub(super) fn gate(g: usize, units: usize, gates: usize) -> Self {
        Block {
            stride: units * gates,
            off: g * units,
            n: units,
        }
    }

    fn is_all(&self) -> bool {
        self.off == 0 && self.n == self.stride
    }

    /// Row `i`'s slice of the block.
    #[inline(always)]
    fn row<'w, T>(&self, w: &'w [T], i: usize) -> &'w [T] {
        let at = i * self.stride + self.off;
        w.get(at..at + self.n).unwrap_or(&[])
    }
}

/// `out = init + (v ⊙ m) · W[:, block]` (`init` zero when `None`).
pub(super) fn forward<T: Scalar>(
    v: &[T],
    mask: Option<&[T]>,
    w: &[T],
    b: Block,
    init: Option<&[T]>,
    out: &mut [T],
) {
    if let (None, true, Some(init)) = (mask, b.is_all(), init) {
        kernel::forward(v, w, init, out, v.len(), b.n);
        return;
    }
    if let (None, true, None) = (mask, b.is_all(), init) {
        kernel::forward(v, w, &[], out, v.len(), b.n);
        return;
    }
    for (j, o) in out.iter_mut().enumerate().take(b.n) {
        let start = init.and_then(|s| s.get(j)).copied().unwrap_or(T::ZERO);
        let mut acc = start.widen();
        for (i, &vi) in v.iter().enumerate() {
            let vi = match mask {
                Some(m) => vi * m.get(i).copied().unwrap_or(T::ZERO),
                None => vi,
            };
            let wij = w.get(i * b.stride + b.off + j).copied().unwrap_or(T::ZERO);
            acc = T::mac(acc, vi, wij);
        }
        *o = T::narrow(acc);
    }
}

/// `dv[i] = m[i]·Σ_j dz[j]·W[i][block j]`, added to `dv` when `add`.
pub(super) fn backward_input<T: Scalar>(
    dz: &[T],
    w: &[T],
    b: Block,
    mask: Option<&[T]>,
    dv: &mut [T],
    add: bool,
) {
    if let (None, true, false) = (mask, b.is_all(), add) {
        kernel::backward_input(dz, w, dv, dv.len(), b.n);
        return;
    }
    for (i, d) in dv.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for (&g, &wij) in dz.iter().zip(b.row(w, i)) {
            acc = T::mac(acc, g, wij);
        }
        let mut s = T::narrow(acc);
        if let Some(m) = mask {
            s = s * m.get(i).copied().unwrap_or(T::ZERO);
        }
        *d = if add { *d + s } else { s };
    }
}

/// `dW[i][block j] += (v[i]·m[i])·dz[j]`.
pub(super) fn outer_add<T: Scalar>(v: &[T], mask: Option<&[T]>, dz: &[T], dw: &mut [T], b: Block) {
    for (i, &vi) in v.iter().enumerate() {
        let vi = match mask {
            Some(m) => vi * m.get(i).copied().unwrap_or(T::ZERO),
            None => vi,
        };
        let at = i * b.stride + b.off;
        let Some(row) = dw.get_mut(at..at + b.n) else {
            return;
        };
        for (d, &g) in row.iter_mut().zip(dz) {
            *d = T::narrow(T::mac(d.widen(), vi, g));
        }
    }
}

/// `acc[j] += dz[j]` (a bias gradient).
pub(super) fn add_to<T: Scalar>(acc: &mut [T], dz: &[T]) {
    for (a, &d) in acc.iter_mut().zip(dz) {
        *a = *a + d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // W (2 rows, 3 columns) = [[1, 2, 3], [4, 5, 6]].
    const W: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

    #[test]
    fn forward_on_blocks_and_masks() {
        let mut out = [0.0f32; 3];
        forward(
            &[1.0, 2.0],
            None,
            &W,
            Block::all(3),
            Some(&[1.0, 1.0, 1.0]),
            &mut out,
        );
        assert_eq!(out, [10.0, 13.0, 16.0]);
        let mut out = [0.0f32; 1];
        let b = Block {
            stride: 3,
            off: 1,
            n: 1,
        };
        forward(&[1.0, 2.0], Some(&[2.0, 0.0]), &W, b, None, &mut out);
        assert_eq!(out, [4.0]); // (1·2)·2 + (2·0)·5
    }

    #[test]
    fn backward_input_and_outer_product() {
        let mut dv = [1.0f32, 1.0];
        let b = Block {
            stride: 3,
            off: 1,
            n: 2,
        };
        backward_input(&[1.0, -1.0], &W, b, Some(&[1.0, 2.0]), &mut dv, true);
        assert_eq!(dv, [0.0, -1.0]); // 1 + (2 − 3), 1 + 2·(5 − 6)
        let mut dw = [0.0f32; 6];
        outer_add(&[1.0, 2.0], None, &[3.0, 4.0], &mut dw, b);
        assert_eq!(dw, [0.0, 3.0, 4.0, 0.0, 6.0, 8.0]);
    }
}
