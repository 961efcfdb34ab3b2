//! Register-blocked twins of [`crate::kernels::reference::dense`]: same functions, same
//! signatures, same results bit for bit (for `f32` as well as for [`crate::Q16_16`]).
//!
//! # Design
//! The reference computes one output at a time; for `forward` that walks a column of the
//! row-major kernel `W[in][out]` with stride `out` and loads `x[i]` once per
//! multiply-accumulate. Here the outputs are computed in **blocks of `N` adjacent
//! columns**, `N` = 8, 4, 2, 1 (largest first). For each input `i`, one `x[i]` load
//! feeds `N` MACs into `N` accumulators held in registers, and `W[i][j0..j0 + N]` is
//! read contiguously. Each output still sums its terms in the reference's order
//! (`i = 0, 1, …, in − 1`, starting from the bias), so `f32` results are bit-identical
//! to the reference, not merely close.
//!
//! Block width: 8 when the accumulator is 32 bits (`f32`: 8 accumulators and 8 weights
//! fit the 32 single-precision registers of a Cortex-M4F), 2 for 64-bit accumulators
//! (`Q16_16`'s `i64` takes two of Armv7-M's 13 usable core registers; 4 spills and was
//! measured slower under QEMU and on x86-64).
//!
//! `backward_params` is the same panel product with the roles swapped (rows of `dz`
//! instead of rows of `W`, a column of `x` instead of a row of it); `db` sums blocks of
//! `dz` columns the same way. `backward_input` is already a contiguous dot product per
//! output; it computes 4 (`f32`) or 2 outputs at once so one `dz[j]` load feeds several
//! MACs, again without changing any output's order.
//!
//! The per-lane statements are written out by a macro (trait `Unrolled`) rather than left to
//! LLVM's loop unroller, which is disabled at `opt-level = "s"`/`"z"` on Cortex-M: without
//! it the accumulators would live in memory.
//!
//! # Lengths
//! The layer checks every length, and the fast paths assume the consistent lengths it
//! guarantees. Any other combination (e.g. a kernel shorter than `in · out`) falls back
//! to the reference, so odd lengths truncate exactly as the reference does, and nothing
//! panics. No `unsafe`: inner loops iterate `chunks_exact`/`zip` and fixed-size array
//! chunks whose bounds checks LLVM hoists out of the loops.

use crate::kernels::reference::dense as reference;
use crate::Scalar;

/// Widest block of outputs computed together (see the module documentation).
#[inline(always)]
fn max_block<T: Scalar>() -> usize {
    if core::mem::size_of::<T::Acc>() <= 4 {
        8
    } else {
        2
    }
}

/// Marker for a block of `N` lanes; [`Unrolled`] is implemented for `N` = 1, 2, 4, 8.
struct Lanes<const N: usize>;

/// Per-lane operations on `N` accumulators, written out lane by lane.
trait Unrolled<const N: usize> {
    /// `[f(0), f(1), …, f(N − 1)]`.
    fn init<T: Scalar>(f: impl Fn(usize) -> T::Acc) -> [T::Acc; N];
    /// `acc[k] = mac(acc[k], a, b[k])` for every lane.
    fn mac<T: Scalar>(acc: &mut [T::Acc; N], a: T, b: &[T; N]);
    /// `out[k] = narrow(acc[k])` for every lane.
    fn narrow<T: Scalar>(acc: &[T::Acc; N], out: &mut [T; N]);
}

macro_rules! unrolled {
    ($n:literal: $($k:literal)+) => {
        impl Unrolled<$n> for Lanes<$n> {
            #[inline(always)]
            fn init<T: Scalar>(f: impl Fn(usize) -> T::Acc) -> [T::Acc; $n] {
                [$(f($k)),+]
            }
            #[inline(always)]
            fn mac<T: Scalar>(acc: &mut [T::Acc; $n], a: T, b: &[T; $n]) {
                $(acc[$k] = T::mac(acc[$k], a, b[$k]);)+
            }
            #[inline(always)]
            fn narrow<T: Scalar>(acc: &[T::Acc; $n], out: &mut [T; $n]) {
                $(out[$k] = T::narrow(acc[$k]);)+
            }
        }
    };
}

unrolled!(1: 0);
unrolled!(2: 0 1);
unrolled!(4: 0 1 2 3);
unrolled!(8: 0 1 2 3 4 5 6 7);

/// `b[off..off + N]` as an array, if it is in bounds.
#[inline(always)]
fn block_at<T, const N: usize>(b: &[T], off: usize) -> Option<&[T; N]> {
    b.get(off..).and_then(|r| r.first_chunk::<N>())
}

/// Narrows `acc` into `out[off..off + N]` (if in bounds).
#[inline(always)]
fn store<T: Scalar, const N: usize>(out: &mut [T], off: usize, acc: &[T::Acc; N])
where
    Lanes<N>: Unrolled<N>,
{
    if let Some(o) = out.get_mut(off..).and_then(|s| s.first_chunk_mut::<N>()) {
        Lanes::<N>::narrow::<T>(acc, o);
    }
}

/// The panel product at the heart of `forward` and `backward_params`:
/// `acc[k] += a[t·sa + ia] · b[t·sb + jb + k]` for `t = 0, 1, …` in this order, over the
/// whole rows (`sa` resp. `sb` long) of `a` and `b` (the shorter decides).
#[inline(always)]
fn panel<T: Scalar, const N: usize>(
    a: &[T],
    sa: usize,
    ia: usize,
    b: &[T],
    sb: usize,
    jb: usize,
    acc: &mut [T::Acc; N],
) where
    Lanes<N>: Unrolled<N>,
{
    for (ar, br) in a.chunks_exact(sa).zip(b.chunks_exact(sb)) {
        if let (Some(&at), Some(bt)) = (ar.get(ia), block_at::<T, N>(br, jb)) {
            Lanes::<N>::mac(acc, at, bt);
        }
    }
}

/// Runs `body` for the blocks `j0..j0 + N` covering `0..n`, largest first: `N` = `max`
/// (8 or 2), then 4 (if `max` is 8), 2, 1. `N` is a `const`, so every block size gets
/// its own loop with its accumulators in registers.
macro_rules! for_blocks {
    ($n:expr, $max:expr, |$j0:ident, $blk:ident| $body:expr) => {{
        let n: usize = $n;
        let max: usize = $max;
        let mut $j0 = 0usize;
        if max >= 8 {
            while n - $j0 >= 8 {
                const $blk: usize = 8;
                $body;
                $j0 += 8;
            }
            if n - $j0 >= 4 {
                const $blk: usize = 4;
                $body;
                $j0 += 4;
            }
        }
        while n - $j0 >= 2 {
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
        for_blocks!(n_out, max_block::<T>(), |j0, N| {
            let mut acc =
                Lanes::<N>::init::<T>(|k| bias.get(j0 + k).copied().unwrap_or(T::ZERO).widen());
            panel::<T, N>(xr, 1, 0, w, n_out, j0, &mut acc);
            store::<T, N>(yr, j0, &acc);
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
    let max = max_block::<T>();
    for (i, dwr) in dw.chunks_exact_mut(n_out).enumerate() {
        for_blocks!(n_out, max, |j0, N| {
            let mut acc = Lanes::<N>::init::<T>(|_| T::ZERO.widen());
            panel::<T, N>(x, n_in, i, dz, n_out, j0, &mut acc);
            store::<T, N>(dwr, j0, &acc);
        });
    }
    // The reference's db[j] = Σ_r mac(·, dz[r, j], 1); mac(·, 1, dz[r, j]) is the same
    // (multiplication commutes exactly, in f32 as in the i64 accumulator).
    for_blocks!(db.len(), max, |j0, N| {
        let mut acc = Lanes::<N>::init::<T>(|_| T::ZERO.widen());
        for row in dz.chunks_exact(n_out) {
            if let Some(d) = block_at::<T, N>(row, j0) {
                Lanes::<N>::mac(&mut acc, T::ONE, d);
            }
        }
        store::<T, N>(db, j0, &acc);
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
    // Blocks of 4 rows of W (`f32`), then 2, then 1: one dz[j] load feeds 4 MACs.
    let four = if max_block::<T>() >= 4 {
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
                let mut acc = Lanes::<4>::init::<T>(|_| T::ZERO.widen());
                for ((((&d, &p0), &p1), &p2), &p3) in dzr.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
                    Lanes::<4>::mac(&mut acc, d, &[p0, p1, p2, p3]);
                }
                store::<T, 4>(oq, 0, &acc);
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
                let mut acc = Lanes::<2>::init::<T>(|_| T::ZERO.widen());
                for ((&d, &p0), &p1) in dzr.iter().zip(w0).zip(w1) {
                    Lanes::<2>::mac(&mut acc, d, &[p0, p1]);
                }
                store::<T, 2>(op, 0, &acc);
            }
            w_rest = wb.remainder();
            dx_rest = ob.into_remainder();
        }
        for (o, wr) in dx_rest.iter_mut().zip(w_rest.chunks_exact(n_out)) {
            let mut acc = T::ZERO.widen();
            for (&d, &p) in dzr.iter().zip(wr) {
                acc = T::mac(acc, d, p);
            }
            *o = T::narrow(acc);
        }
    }
}
