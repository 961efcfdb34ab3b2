//! Register-blocked twins of [`crate::kernels::reference::conv`]: same functions, same
//! signatures, same results bit for bit (for `f32` as well as for [`crate::Q16_16`]).
//!
//! # Design
//! The reference computes one output at a time and, for every multiply-accumulate,
//! re-checks whether the tap is in the padding and reads the kernel with a stride of
//! `out_c`. Here:
//!
//! - **Padding checks are hoisted**: for each output row (column) the window rows
//!   (columns) that land inside the input form one contiguous range, computed once
//!   (`taps`); the inner loops run over that range without tests. The skipped taps are
//!   exactly the ones the reference skips, in the same order.
//! - **Output channels are blocked**: `forward` computes `N` adjacent output channels of
//!   one pixel together (`N` = 8, 4, 2, 1 for `f32`; 2, 1 for `Q16_16`'s 64-bit
//!   accumulator, as in [`super::dense`]). One input load feeds `N` MACs into `N`
//!   accumulators held in registers, and the kernel row `w[ky][kx][ci][f0..f0 + N]` is
//!   read contiguously. `backward_params` blocks the same way over `dw`'s last axis (one
//!   `x` load, `N` contiguous `dz` values); `backward_input` computes `N` adjacent input
//!   channels of one pixel together (one `dz` load feeds `N` kernel rows).
//!
//! Each output still sums its terms in the reference's order (see its module
//! documentation), only several outputs are computed side by side, so `f32` results are
//! bit-identical to the reference. Lengths are checked up front by the same
//! [`ConvDims::new`] as the reference, with the same errors.
//!
//! The block width is a `const` generic; the lanes are written as `for k in 0..N` loops
//! over fixed-size arrays, which the optimizer unrolls at `opt-level = 3`.

use core::ops::Range;

use crate::kernels::geometry::ConvGeometry;
use crate::kernels::reference::conv::{source, ConvDims};
use crate::{Result, Scalar};

/// Widest block of outputs computed together (as in [`super::dense`]).
#[inline(always)]
fn max_block<T: Scalar>() -> usize {
    if core::mem::size_of::<T::Acc>() <= 4 {
        8
    } else {
        2
    }
}

/// Indices `j` in `0..count` with `pad ≤ offset + j · step < input + pad`: the window taps
/// (or output positions) whose padded coordinate falls inside the input. A contiguous
/// range, since the coordinate increases with `j`.
#[inline]
fn taps(offset: usize, step: usize, pad: usize, input: usize, count: usize) -> Range<usize> {
    let lo = pad.saturating_sub(offset).div_ceil(step);
    let hi = (input + pad).saturating_sub(offset).div_ceil(step);
    let hi = hi.min(count);
    lo.min(hi)..hi
}

/// Calls `body(j0, n)` on consecutive blocks `j0..j0 + n` covering `0..len`, `n` = `max`
/// (8 or 2), then 4 (if `max` is 8), 2, 1, largest first.
#[inline(always)]
fn blocks(len: usize, max: usize, mut body: impl FnMut(usize, usize)) {
    let mut j0 = 0;
    for n in [8, 4, 2, 1] {
        if n > max {
            continue;
        }
        while len - j0 >= n {
            body(j0, n);
            j0 += n;
            if n == 4 {
                break; // at most one block of 4 (a second would have been an 8)
            }
        }
    }
}

/// `acc[k] = mac(acc[k], a, b[k])` for every lane.
#[inline(always)]
fn mac_lanes<T: Scalar, const N: usize>(acc: &mut [T::Acc; N], a: T, b: &[T]) {
    if let Some(b) = b.first_chunk::<N>() {
        for k in 0..N {
            acc[k] = T::mac(acc[k], a, b[k]);
        }
    }
}

/// Narrows the lanes into `out[..N]` (if it is that long).
#[inline(always)]
fn store<T: Scalar, const N: usize>(acc: &[T::Acc; N], out: &mut [T]) {
    if let Some(o) = out.first_chunk_mut::<N>() {
        for k in 0..N {
            o[k] = T::narrow(acc[k]);
        }
    }
}

/// Same result as [`crate::kernels::reference::conv::forward`].
pub fn forward<T: Scalar>(
    g: &ConvGeometry,
    groups: usize,
    x: &[T],
    w: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let d = ConvDims::new(g, groups, x.len(), w.len(), bias.len(), y.len())?;
    let tap_len = d.cin_g * g.out_c;
    for (xs, ys) in x.chunks_exact(d.in_len).zip(y.chunks_exact_mut(d.out_len)) {
        for oy in 0..g.out_h {
            let rows = taps(oy * g.stride_h, g.dil_h, g.pad_top, g.in_h, g.k_h);
            for ox in 0..g.out_w {
                let cols = taps(ox * g.stride_w, g.dil_w, g.pad_left, g.in_w, g.k_w);
                let yp = &mut ys[(oy * g.out_w + ox) * g.out_c..][..g.out_c];
                let px = Pixel {
                    g,
                    d: &d,
                    xs,
                    w,
                    rows: rows.clone(),
                    cols: cols.clone(),
                    oy,
                    ox,
                    tap_len,
                };
                for grp in 0..groups {
                    blocks(d.cout_g, max_block::<T>(), |j0, n| {
                        let f0 = grp * d.cout_g + j0;
                        match n {
                            8 => px.forward_block::<8>(grp, f0, bias, yp),
                            4 => px.forward_block::<4>(grp, f0, bias, yp),
                            2 => px.forward_block::<2>(grp, f0, bias, yp),
                            _ => px.forward_block::<1>(grp, f0, bias, yp),
                        }
                    });
                }
            }
        }
    }
    Ok(())
}

/// One output pixel of `forward`: the sample, the in-bounds tap ranges and the sizes.
struct Pixel<'a, T> {
    g: &'a ConvGeometry,
    d: &'a ConvDims,
    xs: &'a [T],
    w: &'a [T],
    rows: Range<usize>,
    cols: Range<usize>,
    oy: usize,
    ox: usize,
    tap_len: usize,
}

impl<T: Scalar> Pixel<'_, T> {
    /// Output channels `f0..f0 + N` (all in group `grp`) of this pixel.
    #[inline(always)]
    fn forward_block<const N: usize>(&self, grp: usize, f0: usize, bias: &[T], yp: &mut [T]) {
        let (g, d) = (self.g, self.d);
        let mut acc: [T::Acc; N] =
            core::array::from_fn(|k| bias.get(f0 + k).copied().unwrap_or(T::ZERO).widen());
        for ky in self.rows.clone() {
            let iy = self.oy * g.stride_h + ky * g.dil_h - g.pad_top;
            for kx in self.cols.clone() {
                let ix = self.ox * g.stride_w + kx * g.dil_w - g.pad_left;
                let x0 = (iy * g.in_w + ix) * g.in_c + grp * d.cin_g;
                let xrow = &self.xs[x0..x0 + d.cin_g];
                let wtap = &self.w[(ky * g.k_w + kx) * self.tap_len..][..self.tap_len];
                for (&xv, wr) in xrow.iter().zip(wtap.chunks_exact(g.out_c)) {
                    mac_lanes::<T, N>(&mut acc, xv, &wr[f0..]);
                }
            }
        }
        store::<T, N>(&acc, &mut yp[f0..]);
    }
}

/// Same result as [`crate::kernels::reference::conv::backward_input`].
pub fn backward_input<T: Scalar>(
    g: &ConvGeometry,
    groups: usize,
    dz: &[T],
    w: &[T],
    dx: &mut [T],
) -> Result<()> {
    let d = ConvDims::new(g, groups, dx.len(), w.len(), 0, dz.len())?;
    for (dzs, dxs) in dz
        .chunks_exact(d.out_len)
        .zip(dx.chunks_exact_mut(d.in_len))
    {
        for iy in 0..g.in_h {
            for ix in 0..g.in_w {
                let dxp = &mut dxs[(iy * g.in_w + ix) * g.in_c..][..g.in_c];
                let px = InputPixel {
                    g,
                    d: &d,
                    dzs,
                    w,
                    pos_y: iy + g.pad_top,
                    pos_x: ix + g.pad_left,
                };
                for grp in 0..groups {
                    blocks(d.cin_g, max_block::<T>(), |j0, n| match n {
                        8 => px.block::<8>(grp, j0, dxp),
                        4 => px.block::<4>(grp, j0, dxp),
                        2 => px.block::<2>(grp, j0, dxp),
                        _ => px.block::<1>(grp, j0, dxp),
                    });
                }
            }
        }
    }
    Ok(())
}

/// One input pixel of `backward_input` (its padded coordinates).
struct InputPixel<'a, T> {
    g: &'a ConvGeometry,
    d: &'a ConvDims,
    dzs: &'a [T],
    w: &'a [T],
    pos_y: usize,
    pos_x: usize,
}

impl<T: Scalar> InputPixel<'_, T> {
    /// Input channels `grp·cin_g + ci0 .. + N` of this pixel.
    #[inline(always)]
    fn block<const N: usize>(&self, grp: usize, ci0: usize, dxp: &mut [T]) {
        let (g, d) = (self.g, self.d);
        let fs = grp * d.cout_g..(grp + 1) * d.cout_g;
        let mut acc: [T::Acc; N] = [T::ZERO.widen(); N];
        for ky in 0..g.k_h {
            let Some(oy) = source(self.pos_y, ky, g.dil_h, g.stride_h, g.out_h) else {
                continue;
            };
            for kx in 0..g.k_w {
                let Some(ox) = source(self.pos_x, kx, g.dil_w, g.stride_w, g.out_w) else {
                    continue;
                };
                let zrow = &self.dzs[(oy * g.out_w + ox) * g.out_c..][fs.clone()];
                let n = zrow.len();
                let w0 = ((ky * g.k_w + kx) * d.cin_g + ci0) * g.out_c + fs.start;
                // Every row exactly `n` long, so the loop below needs no bounds checks.
                let wrows: [&[T]; N] = core::array::from_fn(|k| &self.w[w0 + k * g.out_c..][..n]);
                for j in 0..n {
                    let z = zrow[j];
                    for k in 0..N {
                        acc[k] = T::mac(acc[k], z, wrows[k][j]);
                    }
                }
            }
        }
        store::<T, N>(&acc, &mut dxp[grp * d.cin_g + ci0..]);
    }
}

/// Same result as [`crate::kernels::reference::conv::backward_params`].
pub fn backward_params<T: Scalar>(
    g: &ConvGeometry,
    groups: usize,
    x: &[T],
    dz: &[T],
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let d = ConvDims::new(g, groups, x.len(), dw.len(), db.len(), dz.len())?;
    let max = max_block::<T>();
    for ky in 0..g.k_h {
        let out_rows = taps(ky * g.dil_h, g.stride_h, g.pad_top, g.in_h, g.out_h);
        for kx in 0..g.k_w {
            let out_cols = taps(kx * g.dil_w, g.stride_w, g.pad_left, g.in_w, g.out_w);
            let tap = Tap {
                g,
                d: &d,
                x,
                dz,
                ky,
                kx,
                out_rows: out_rows.clone(),
                out_cols: out_cols.clone(),
            };
            for ci in 0..d.cin_g {
                let dwr = &mut dw[((ky * g.k_w + kx) * d.cin_g + ci) * g.out_c..][..g.out_c];
                for grp in 0..groups {
                    let c = grp * d.cin_g + ci;
                    blocks(d.cout_g, max, |j0, n| {
                        let f0 = grp * d.cout_g + j0;
                        match n {
                            8 => tap.block::<8>(c, f0, dwr),
                            4 => tap.block::<4>(c, f0, dwr),
                            2 => tap.block::<2>(c, f0, dwr),
                            _ => tap.block::<1>(c, f0, dwr),
                        }
                    });
                }
            }
        }
    }
    // db[f] = Σ mac(·, dz, 1) in the reference; mac(·, 1, dz) is the same product.
    blocks(db.len(), max, |f0, n| match n {
        8 => bias_block::<T, 8>(dz, g.out_c, f0, db),
        4 => bias_block::<T, 4>(dz, g.out_c, f0, db),
        2 => bias_block::<T, 2>(dz, g.out_c, f0, db),
        _ => bias_block::<T, 1>(dz, g.out_c, f0, db),
    });
    Ok(())
}

/// One window tap `(ky, kx)` of `backward_params`, with the output positions whose
/// tap lands inside the input.
struct Tap<'a, T> {
    g: &'a ConvGeometry,
    d: &'a ConvDims,
    x: &'a [T],
    dz: &'a [T],
    ky: usize,
    kx: usize,
    out_rows: Range<usize>,
    out_cols: Range<usize>,
}

impl<T: Scalar> Tap<'_, T> {
    /// `dw[ky, kx, ci, f0..f0 + N]`, reading input channel `c`.
    #[inline(always)]
    fn block<const N: usize>(&self, c: usize, f0: usize, dwr: &mut [T]) {
        let (g, d) = (self.g, self.d);
        let mut acc: [T::Acc; N] = [T::ZERO.widen(); N];
        for (xs, zs) in self
            .x
            .chunks_exact(d.in_len)
            .zip(self.dz.chunks_exact(d.out_len))
        {
            for oy in self.out_rows.clone() {
                let iy = oy * g.stride_h + self.ky * g.dil_h - g.pad_top;
                let xrow = &xs[iy * g.in_w * g.in_c..][..g.in_w * g.in_c];
                let zrow = &zs[oy * g.out_w * g.out_c..][..g.out_w * g.out_c];
                for ox in self.out_cols.clone() {
                    let ix = ox * g.stride_w + self.kx * g.dil_w - g.pad_left;
                    mac_lanes::<T, N>(&mut acc, xrow[ix * g.in_c + c], &zrow[ox * g.out_c + f0..]);
                }
            }
        }
        store::<T, N>(&acc, &mut dwr[f0..]);
    }
}

/// `db[f0..f0 + N] = Σ_rows dz[row, f0..f0 + N]`.
#[inline(always)]
fn bias_block<T: Scalar, const N: usize>(dz: &[T], out_c: usize, f0: usize, db: &mut [T]) {
    let mut acc: [T::Acc; N] = [T::ZERO.widen(); N];
    for row in dz.chunks_exact(out_c) {
        mac_lanes::<T, N>(&mut acc, T::ONE, &row[f0..]);
    }
    store::<T, N>(&acc, &mut db[f0..]);
}
