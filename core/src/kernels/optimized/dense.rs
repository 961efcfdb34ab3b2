//! Register-blocked twins of [`crate::kernels::reference::dense`]: same functions, same
//! signatures, same results bit for bit (for `f32` as well as for [`crate::Q16_16`]).
//!
//! # Design
//! The reference computes one output at a time; for `forward` that walks a column of
//! the row-major kernel `W[in][out]` with stride `out` and loads `x[i]` once per
//! multiply-accumulate. Here the outputs are computed in **blocks of `N` adjacent
//! columns** (`N` = 8, 4, 2, 1; 8 only when the accumulator is 32 bits wide, as for
//! `f32`: 8 accumulators and 8 weights fit the 32 single-precision registers of a
//! Cortex-M4F, while `Q16_16`'s `i64` accumulators take two core registers each). For
//! each input `i` one `x[i]` load feeds `N` MACs and `W[i][j0..j0 + N]` is read
//! contiguously. Each output still sums its terms in the reference's order
//! (`i = 0, 1, …, in − 1`, starting from the bias), so `f32` results are bit-identical
//! to the reference, not merely close.
//!
//! `backward_params` is the same panel product with the roles swapped (rows of `dz`
//! instead of rows of `W`, a column of `x` instead of a row), and `db` uses it with a
//! constant 1 (the reference's `mac(acc, dz, 1)`). `backward_input` is already a
//! contiguous dot product per output; it computes 4 (or 2) outputs at once so each
//! `dz[j]` load feeds several MACs, again without changing any output's order.
//!
//! # Lengths
//! The layer checks every length, and the fast paths assume the consistent lengths it
//! guarantees. Any other combination (e.g. a kernel shorter than `in · out`) falls back
//! to the reference, so odd lengths truncate exactly as the reference does and never
//! panic. No `unsafe`: inner loops are `zip`s over slices and fixed-size array chunks,
//! which LLVM compiles without bounds checks.

use crate::kernels::reference::dense as reference;
use crate::Scalar;

/// Whether an accumulator fits one 32-bit register (then blocks of 8 outputs are used).
#[inline(always)]
fn narrow_acc<T: Scalar>() -> bool {
    core::mem::size_of::<T::Acc>() <= 4
}

/// `acc[k] += a[t] · b[t][j0 + k]` for `t = 0, 1, …` in order, where `b[t]` is the `t`-th
/// `stride`-long row of `b`. Stops at the shorter of `a` and the rows of `b`.
#[inline(always)]
fn panel<'a, T: Scalar, const N: usize>(
    a: impl Iterator<Item = &'a T>,
    b: &[T],
    stride: usize,
    j0: usize,
    mut acc: [T::Acc; N],
) -> [T::Acc; N] {
    for (&at, row) in a.zip(b.chunks_exact(stride)) {
        if let Some(bt) = row.get(j0..).and_then(|r| r.first_chunk::<N>()) {
            for (c, &bk) in acc.iter_mut().zip(bt) {
                *c = T::mac(*c, at, bk);
            }
        }
    }
    acc
}

/// Narrows `acc` into `out[j0..j0 + N]`.
#[inline(always)]
fn store<T: Scalar, const N: usize>(out: &mut [T], j0: usize, acc: [T::Acc; N]) {
    if let Some(o) = out.get_mut(j0..).and_then(|s| s.first_chunk_mut::<N>()) {
        for (o, a) in o.iter_mut().zip(acc) {
            *o = T::narrow(a);
        }
    }
}

/// Runs `body` for the blocks `j0..j0 + N` covering `0..n`, with `N` = 8 (only if
/// `wide`), 4, 2, 1 (a `const`, so each block size is compiled separately).
macro_rules! for_blocks {
    ($n:expr, $wide:expr, |$j0:ident, $blk:ident| $body:expr) => {{
        let n = $n;
        let mut $j0 = 0usize;
        if $wide {
            while n - $j0 >= 8 {
                const $blk: usize = 8;
                $body;
                $j0 += 8;
            }
        }
        while n - $j0 >= 4 {
            const $blk: usize = 4;
            $body;
            $j0 += 4;
        }
        if n - $j0 >= 2 {
            const $blk: usize = 2;
            $body;
            $j0 += 2;
        }
        if $j0 < n {
            const $blk: usize = 1;
            $body;
        }
    }};
}

/// `y[r, j] = b[j] + Σ_i x[r, i] · w[i, j]` for every row `r`; `bias` may be empty
/// (`use_bias=False`). Accumulates in [`Scalar::Acc`] and rounds once per output.
/// Same result as [`reference::forward`].
pub fn forward<T: Scalar>(x: &[T], w: &[T], bias: &[T], y: &mut [T], n_in: usize, n_out: usize) {
    if n_in == 0 || n_out == 0 {
        return;
    }
    let Some(w) = n_in.checked_mul(n_out).and_then(|n| w.get(..n)) else {
        return reference::forward(x, w, bias, y, n_in, n_out);
    };
    for (xr, yr) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        for_blocks!(n_out, narrow_acc::<T>(), |j0, N| {
            let mut acc = [T::ZERO.widen(); N];
            for (k, a) in acc.iter_mut().enumerate() {
                *a = bias.get(j0 + k).copied().unwrap_or(T::ZERO).widen();
            }
            store(yr, j0, panel::<T, N>(xr.iter(), w, n_out, j0, acc));
        });
    }
}

/// Parameter gradients: `dw[i, j] = Σ_r x[r, i] · dz[r, j]`, `db[j] = Σ_r dz[r, j]`
/// (`db` may be empty). Overwrites `dw` and `db`. Same result as
/// [`reference::backward_params`].
pub fn backward_params<T: Scalar>(
    x: &[T],
    dz: &[T],
    dw: &mut [T],
    db: &mut [T],
    n_in: usize,
    n_out: usize,
) {
    if n_in == 0 || n_out == 0 {
        return;
    }
    // Fast path: whole rows of x and dz, as many of each, and no dw/db entries outside
    // (in, out), so every output sums over exactly the same `rows` terms as the reference.
    let rows = x.len() / n_in;
    let consistent = x.len() % n_in == 0
        && rows.checked_mul(n_out) == Some(dz.len())
        && dw.len() / n_out <= n_in
        && db.len() <= n_out;
    if !consistent {
        return reference::backward_params(x, dz, dw, db, n_in, n_out);
    }
    let wide = narrow_acc::<T>();
    for (i, dwr) in dw.chunks_exact_mut(n_out).enumerate() {
        let xcol = x.get(i..).unwrap_or(&[]);
        for_blocks!(n_out, wide, |j0, N| {
            let acc = [T::ZERO.widen(); N];
            store(
                dwr,
                j0,
                panel::<T, N>(xcol.iter().step_by(n_in), dz, n_out, j0, acc),
            );
        });
    }
    // db[j] = Σ_r mac(·, dz[r, j], 1), as the reference (only whole blocks inside db).
    let one = T::ONE;
    let ones = core::iter::repeat_n(&one, rows);
    for_blocks!(db.len(), wide, |j0, N| {
        let acc = [T::ZERO.widen(); N];
        store(db, j0, panel::<T, N>(ones.clone(), dz, n_out, j0, acc));
    });
}

/// Input gradient: `dx[r, i] = Σ_j dz[r, j] · w[i, j]`. Same result as
/// [`reference::backward_input`].
pub fn backward_input<T: Scalar>(dz: &[T], w: &[T], dx: &mut [T], n_in: usize, n_out: usize) {
    if n_in == 0 || n_out == 0 {
        return;
    }
    // Rows i of W that exist (the reference stops at the shorter of dx's row and W).
    let n_i = n_in.min(w.len() / n_out);
    let w = w.get(..n_i * n_out).unwrap_or(&[]);
    // Blocks of 4 rows of W (2 for 64-bit accumulators): one dz[j] load feeds 4 MACs.
    let four = if narrow_acc::<T>() {
        n_out.checked_mul(4)
    } else {
        None
    };
    let two = n_out.checked_mul(2);
    for (dzr, dxr) in dz.chunks_exact(n_out).zip(dx.chunks_exact_mut(n_in)) {
        let mut w_rest = w;
        let mut dx_rest = dxr.get_mut(..n_i).unwrap_or(&mut []);
        if let Some(s4) = four {
            let mut wb = w_rest.chunks_exact(s4);
            let mut ob = dx_rest.chunks_exact_mut(4);
            for (wq, oq) in (&mut wb).zip(&mut ob) {
                let mut rows = wq.chunks_exact(n_out);
                let (Some(w0), Some(w1), Some(w2), Some(w3)) =
                    (rows.next(), rows.next(), rows.next(), rows.next())
                else {
                    continue;
                };
                let mut a = [T::ZERO.widen(); 4];
                for ((((&d, &p0), &p1), &p2), &p3) in dzr.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
                    a[0] = T::mac(a[0], d, p0);
                    a[1] = T::mac(a[1], d, p1);
                    a[2] = T::mac(a[2], d, p2);
                    a[3] = T::mac(a[3], d, p3);
                }
                for (o, a) in oq.iter_mut().zip(a) {
                    *o = T::narrow(a);
                }
            }
            w_rest = wb.remainder();
            dx_rest = ob.into_remainder();
        }
        if let Some(s2) = two {
            let mut wb = w_rest.chunks_exact(s2);
            let mut ob = dx_rest.chunks_exact_mut(2);
            for (wp, op) in (&mut wb).zip(&mut ob) {
                let Some((w0, w1)) = wp.split_at_checked(n_out) else {
                    continue;
                };
                let mut a = [T::ZERO.widen(); 2];
                for ((&d, &p0), &p1) in dzr.iter().zip(w0).zip(w1) {
                    a[0] = T::mac(a[0], d, p0);
                    a[1] = T::mac(a[1], d, p1);
                }
                for (o, a) in op.iter_mut().zip(a) {
                    *o = T::narrow(a);
                }
            }
            w_rest = wb.remainder();
            dx_rest = ob.into_remainder();
        }
        for (o, wr) in dx_rest.iter_mut().zip(w_rest.chunks_exact(n_out)) {
            let mut a = T::ZERO.widen();
            for (&d, &p) in dzr.iter().zip(wr) {
                a = T::mac(a, d, p);
            }
            *o = T::narrow(a);
        }
    }
}
