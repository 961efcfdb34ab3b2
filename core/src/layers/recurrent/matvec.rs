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

    /// Deterministic values in `[-scale, scale)` (64-bit LCG).
    fn values<T: Scalar>(seed: &mut u64, n: usize, scale: f32) -> [T; 512] {
        let mut out = [T::ZERO; 512];
        for v in out.iter_mut().take(n) {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (*seed >> 40) as f32 / (1u64 << 24) as f32;
            *v = T::from_f32((2.0 * u - 1.0) * scale);
        }
        out
    }

    /// `w` (rows × n, row-major) copied into columns `off..off + n` of a wider matrix
    /// with rows `stride` long, the other columns garbage.
    fn embed<T: Scalar>(w: &[T], rows: usize, n: usize, b: Block, out: &mut [T]) {
        out.fill(T::from_f32(7.5));
        for i in 0..rows {
            let at = i * b.stride + b.off;
            out[at..at + n].copy_from_slice(&w[i * n..(i + 1) * n]);
        }
    }

    fn assert_bits<T: Scalar>(what: &str, got: &[T], want: &[T]) {
        let (g, w): (&[u8], &[u8]) = (bytemuck::cast_slice(got), bytemuck::cast_slice(want));
        assert!(g == w, "{what}: optimized {got:?} != strided {want:?}");
    }

    /// The whole-matrix unmasked products (the optimized Dense kernels) equal the strided
    /// reference loops bit for bit: the same matrix as a column block of a wider one
    /// takes the strided path.
    fn whole_matrix_equals_strided<T: Scalar>() {
        let mut seed = 5u64;
        for (rows, n) in [(1, 1), (3, 5), (7, 8), (9, 16), (13, 17), (8, 24), (16, 20)] {
            let w: [T; 512] = values(&mut seed, rows * n, 0.5);
            let v: [T; 512] = values(&mut seed, rows, 1.0);
            let init: [T; 512] = values(&mut seed, n, 0.3);
            let dz: [T; 512] = values(&mut seed, n, 0.2);
            let wide = Block {
                stride: n + 3,
                off: 2,
                n,
            };
            let mut ww = [T::ZERO; 1024];
            embed(&w, rows, n, wide, &mut ww);
            let (w, v, dz) = (&w[..rows * n], &v[..rows], &dz[..n]);
            for init in [Some(&init[..n]), None] {
                let (mut fast, mut slow) = ([T::ZERO; 32], [T::ZERO; 32]);
                forward(v, None, w, Block::all(n), init, &mut fast[..n]);
                forward(v, None, &ww, wide, init, &mut slow[..n]);
                assert_bits("forward", &fast[..n], &slow[..n]);
            }
            let (mut fast, mut slow) = ([T::ZERO; 32], [T::ZERO; 32]);
            backward_input(dz, w, Block::all(n), None, &mut fast[..rows], false);
            backward_input(dz, &ww, wide, None, &mut slow[..rows], false);
            assert_bits("backward_input", &fast[..rows], &slow[..rows]);
        }
    }

    #[test]
    fn whole_matrix_kernels_equal_the_strided_loops_f32() {
        whole_matrix_equals_strided::<f32>();
    }

    #[test]
    fn whole_matrix_kernels_equal_the_strided_loops_q16() {
        whole_matrix_equals_strided::<crate::Q16_16>();
    }
}
