//! Channel-blocked twins of [`crate::kernels::reference::depthwise`]: same functions,
//! same signatures, same results bit for bit (for `f32` as well as for [`crate::Q16_16`]).
//!
//! # Design
//! The reference loops over one output element at a time and tests every tap for the
//! padding. Here:
//! - **Channels innermost, in blocks.** Channels-last tensors keep a pixel's channels
//!   contiguous, and so does Keras's kernel layout `(k_h, k_w, in_c, dm)` for a tap. A
//!   block of `N` adjacent output channels (`N` = 8, 4, 2, 1 for 32-bit accumulators;
//!   4, 2, 1 for `Q16_16`'s `i64`) keeps `N` accumulators in registers and reads `N`
//!   contiguous weights (and, for `depth_multiplier = 1`, `N` contiguous inputs) per tap.
//!   `Q16_16` uses 4 lanes here, not [`super::dense`]'s 2: each tap costs address
//!   arithmetic that more lanes amortize (host, DS-CNN layer: 181 µs with 2 lanes, 100 µs
//!   with 4). Not yet measured under QEMU, where Dense found 4 `i64` accumulators spill.
//! - **Padding checks hoisted.** The taps of an output row or column that fall inside the
//!   input form one range `lo..hi`, computed once per row / pixel (`tap_range`); the
//!   inner loops run over it without tests.
//!
//! Each output element still sums exactly the reference's terms in the reference's
//! order (bias, then taps row-major for `forward`; taps, then `m` for `backward_input`;
//! samples, rows, columns for `backward_params`), so results are bit-identical.
//!
//! Lengths are checked exactly as in the reference (same errors).

use crate::kernels::geometry::ConvGeometry;
use crate::kernels::reference::depthwise::{batch_lengths, check_bias, out_pos};
use crate::{Result, Scalar};

/// Widest block of channels computed together (see the module documentation).
#[inline(always)]
pub(crate) fn max_block<T: Scalar>() -> usize {
    if core::mem::size_of::<T::Acc>() <= 4 {
        8
    } else {
        4
    }
}

/// A computation over a block of `N` adjacent channels starting at `i0`.
pub(crate) trait Block {
    /// Computes channels `i0..i0 + N`.
    fn run<const N: usize>(&mut self, i0: usize);
}

/// Runs `op` on blocks covering channels `0..n`, largest first: `N` = `max` (8 or 4),
/// then 4, 2, 1. Each `N` is a constant, so each block size gets its own
/// loop with its accumulators in registers.
#[inline(always)]
pub(crate) fn for_blocks<O: Block>(n: usize, max: usize, op: &mut O) {
    let mut i0 = 0usize;
    if max >= 8 {
        while n - i0 >= 8 {
            op.run::<8>(i0);
            i0 += 8;
        }
    }
    if max >= 4 {
        while n - i0 >= 4 {
            op.run::<4>(i0);
            i0 += 4;
        }
    }
    while n - i0 >= 2 {
        op.run::<2>(i0);
        i0 += 2;
    }
    if i0 < n {
        op.run::<1>(i0);
    }
}

/// The taps `lo..hi` of a window at output `o` (`stride`, `dil`, leading `pad`, `k`
/// taps) that read inside an input of length `len`: `0 ≤ o·stride + t·dil − pad < len`.
#[inline]
pub(crate) fn tap_range(
    o: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    len: usize,
    k: usize,
) -> (usize, usize) {
    let start = o * stride;
    // First tap with start + t·dil ≥ pad.
    let lo = pad.saturating_sub(start).div_ceil(dil).min(k);
    // First tap with start + t·dil ≥ pad + len.
    let hi = (pad + len).saturating_sub(start).div_ceil(dil).min(k);
    (lo, hi.max(lo))
}

/// The values `xr[(i0 + l) / dm]`, `l < N`: the inputs of output channels `i0..i0 + N`.
#[inline(always)]
pub(crate) fn inputs_of<T: Scalar, const N: usize>(xr: &[T], i0: usize, dm: usize) -> [T; N] {
    if dm == 1 {
        if let Some(b) = xr.get(i0..).and_then(|r| r.first_chunk::<N>()) {
            return *b;
        }
    }
    core::array::from_fn(|l| xr.get((i0 + l) / dm).copied().unwrap_or(T::ZERO))
}

/// `b[off..off + N]` as an array (zeros if out of bounds, which checked lengths exclude).
#[inline(always)]
pub(crate) fn block_at<T: Scalar, const N: usize>(b: &[T], off: usize) -> [T; N] {
    b.get(off..)
        .and_then(|r| r.first_chunk::<N>())
        .copied()
        .unwrap_or([T::ZERO; N])
}

/// `acc[l] = mac(acc[l], a[l], b[l])` for every lane.
#[inline(always)]
pub(crate) fn mac_lanes<T: Scalar, const N: usize>(acc: &mut [T::Acc; N], a: &[T; N], b: &[T; N]) {
    for l in 0..N {
        acc[l] = T::mac(acc[l], a[l], b[l]);
    }
}

/// Narrows `acc` into `out[off..off + N]` (if in bounds).
#[inline(always)]
pub(crate) fn store<T: Scalar, const N: usize>(out: &mut [T], off: usize, acc: &[T::Acc; N]) {
    if let Some(o) = out.get_mut(off..).and_then(|s| s.first_chunk_mut::<N>()) {
        for l in 0..N {
            o[l] = T::narrow(acc[l]);
        }
    }
}

/// One output pixel of [`forward`]: its input sample, valid tap ranges and output row.
struct ForwardPixel<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    xs: &'a [T],
    w: &'a [T],
    bias: &'a [T],
    yp: &'a mut [T],
    oy: usize,
    ox: usize,
    ky: (usize, usize),
    kx: (usize, usize),
}

impl<T: Scalar> Block for ForwardPixel<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, i0: usize) {
        let g = self.g;
        let mut acc: [T::Acc; N] = if self.bias.is_empty() {
            [T::ZERO.widen(); N]
        } else {
            block_at::<T, N>(self.bias, i0).map(T::widen)
        };
        for ky in self.ky.0..self.ky.1 {
            let row = self.oy * g.stride_h + ky * g.dil_h - g.pad_top;
            for kx in self.kx.0..self.kx.1 {
                let col = self.ox * g.stride_w + kx * g.dil_w - g.pad_left;
                let xr = self.xs.get((row * g.in_w + col) * g.in_c..).unwrap_or(&[]);
                let xv = inputs_of::<T, N>(xr, i0, self.dm);
                let wv = block_at::<T, N>(self.w, (ky * g.k_w + kx) * g.out_c + i0);
                mac_lanes::<T, N>(&mut acc, &xv, &wv);
            }
        }
        store::<T, N>(self.yp, i0, &acc);
    }
}

/// Same as [`crate::kernels::reference::depthwise::forward`], bit for bit.
pub fn forward<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    x: &[T],
    w: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let (_, in_len, out_len) = batch_lengths(g, dm, x.len(), y.len(), w.len())?;
    check_bias(g, bias.len())?;
    let max = max_block::<T>();
    for (xs, ys) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
        for (oy, yrow) in ys.chunks_exact_mut(g.out_w * g.out_c).enumerate() {
            let ky = tap_range(oy, g.stride_h, g.dil_h, g.pad_top, g.in_h, g.k_h);
            for (ox, yp) in yrow.chunks_exact_mut(g.out_c).enumerate() {
                let kx = tap_range(ox, g.stride_w, g.dil_w, g.pad_left, g.in_w, g.k_w);
                let mut op = ForwardPixel {
                    g,
                    dm,
                    xs,
                    w,
                    bias,
                    yp,
                    oy,
                    ox,
                    ky,
                    kx,
                };
                for_blocks(g.out_c, max, &mut op);
            }
        }
    }
    Ok(())
}

/// One input pixel of [`backward_input`].
struct InputPixel<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    dys: &'a [T],
    w: &'a [T],
    dxp: &'a mut [T],
    iy: usize,
    ix: usize,
}

impl<T: Scalar> Block for InputPixel<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, c0: usize) {
        let (g, dm) = (self.g, self.dm);
        let mut acc = [T::ZERO.widen(); N];
        for ky in 0..g.k_h {
            let Some(oy) = out_pos(self.iy, ky, g.stride_h, g.dil_h, g.pad_top, g.out_h) else {
                continue;
            };
            for kx in 0..g.k_w {
                let Some(ox) = out_pos(self.ix, kx, g.stride_w, g.dil_w, g.pad_left, g.out_w)
                else {
                    continue;
                };
                let dyr = self.dys.get((oy * g.out_w + ox) * g.out_c..).unwrap_or(&[]);
                let wr = self.w.get((ky * g.k_w + kx) * g.out_c..).unwrap_or(&[]);
                if dm == 1 {
                    let d = block_at::<T, N>(dyr, c0);
                    let wv = block_at::<T, N>(wr, c0);
                    mac_lanes::<T, N>(&mut acc, &d, &wv);
                } else {
                    for m in 0..dm {
                        let d: [T; N] = core::array::from_fn(|l| {
                            dyr.get((c0 + l) * dm + m).copied().unwrap_or(T::ZERO)
                        });
                        let wv: [T; N] = core::array::from_fn(|l| {
                            wr.get((c0 + l) * dm + m).copied().unwrap_or(T::ZERO)
                        });
                        mac_lanes::<T, N>(&mut acc, &d, &wv);
                    }
                }
            }
        }
        store::<T, N>(self.dxp, c0, &acc);
    }
}

/// Same as [`crate::kernels::reference::depthwise::backward_input`], bit for bit.
pub fn backward_input<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    dy: &[T],
    w: &[T],
    dx: &mut [T],
) -> Result<()> {
    let (_, in_len, out_len) = batch_lengths(g, dm, dx.len(), dy.len(), w.len())?;
    let max = max_block::<T>();
    for (dys, dxs) in dy.chunks_exact(out_len).zip(dx.chunks_exact_mut(in_len)) {
        for (iy, dxrow) in dxs.chunks_exact_mut(g.in_w * g.in_c).enumerate() {
            for (ix, dxp) in dxrow.chunks_exact_mut(g.in_c).enumerate() {
                let mut op = InputPixel {
                    g,
                    dm,
                    dys,
                    w,
                    dxp,
                    iy,
                    ix,
                };
                for_blocks(g.in_c, max, &mut op);
            }
        }
    }
    Ok(())
}

/// One tap of [`backward_params`]: `dw[ky][kx][i0..i0 + N]` over the whole batch.
struct TapGrad<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    x: &'a [T],
    dy: &'a [T],
    dwk: &'a mut [T],
    in_len: usize,
    out_len: usize,
    ky: usize,
    kx: usize,
}

impl<T: Scalar> Block for TapGrad<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, i0: usize) {
        let g = self.g;
        let mut acc = [T::ZERO.widen(); N];
        // Outputs whose tap (ky, kx) is inside the input: a range of rows and columns.
        let (oy_lo, oy_hi) = out_range(self.ky, g.stride_h, g.dil_h, g.pad_top, g.in_h, g.out_h);
        let (ox_lo, ox_hi) = out_range(self.kx, g.stride_w, g.dil_w, g.pad_left, g.in_w, g.out_w);
        for (xs, dys) in self
            .x
            .chunks_exact(self.in_len)
            .zip(self.dy.chunks_exact(self.out_len))
        {
            for oy in oy_lo..oy_hi {
                let row = oy * g.stride_h + self.ky * g.dil_h - g.pad_top;
                for ox in ox_lo..ox_hi {
                    let col = ox * g.stride_w + self.kx * g.dil_w - g.pad_left;
                    let xr = xs.get((row * g.in_w + col) * g.in_c..).unwrap_or(&[]);
                    let xv = inputs_of::<T, N>(xr, i0, self.dm);
                    let d = block_at::<T, N>(dys, (oy * g.out_w + ox) * g.out_c + i0);
                    mac_lanes::<T, N>(&mut acc, &xv, &d);
                }
            }
        }
        store::<T, N>(self.dwk, i0, &acc);
    }
}

/// The outputs `lo..hi` (of `out`) whose tap `k` reads inside an input of length `len`:
/// `0 ≤ o·stride + k·dil − pad < len`.
#[inline]
pub(crate) fn out_range(
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    len: usize,
    out: usize,
) -> (usize, usize) {
    let off = k * dil;
    let lo = pad.saturating_sub(off).div_ceil(stride).min(out);
    let hi = (pad + len).saturating_sub(off).div_ceil(stride).min(out);
    (lo, hi.max(lo))
}

/// `db[i0..i0 + N]`: sums of the gradient's channels over every pixel of the batch.
struct BiasGrad<'a, T> {
    dy: &'a [T],
    db: &'a mut [T],
    c: usize,
}

impl<T: Scalar> Block for BiasGrad<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, i0: usize) {
        let mut acc = [T::ZERO.widen(); N];
        for row in self.dy.chunks_exact(self.c) {
            // The reference's mac(acc, dy, 1).
            let d = block_at::<T, N>(row, i0);
            mac_lanes::<T, N>(&mut acc, &d, &[T::ONE; N]);
        }
        store::<T, N>(self.db, i0, &acc);
    }
}

/// Sums the channels of `dy` (rows of `c`) into `db` (`c` long), in blocks; same result as
/// the reference's `db` loop.
pub(crate) fn bias_grad<T: Scalar>(dy: &[T], db: &mut [T], c: usize) {
    let n = db.len();
    for_blocks(n, max_block::<T>(), &mut BiasGrad { dy, db, c });
}

/// Same as [`crate::kernels::reference::depthwise::backward_params`], bit for bit.
pub fn backward_params<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let (_, in_len, out_len) = batch_lengths(g, dm, x.len(), dy.len(), dw.len())?;
    check_bias(g, db.len())?;
    let max = max_block::<T>();
    for (k, dwk) in dw.chunks_exact_mut(g.out_c).enumerate() {
        let mut op = TapGrad {
            g,
            dm,
            x,
            dy,
            dwk,
            in_len,
            out_len,
            ky: k / g.k_w,
            kx: k % g.k_w,
        };
        for_blocks(g.out_c, max, &mut op);
    }
    bias_grad(dy, db, g.out_c);
    Ok(())
}
