//! Faster twins of [`crate::kernels::reference::separable`]: same functions, same
//! signatures, same results bit for bit (for `f32` as well as for [`crate::Q16_16`]).
//!
//! # The intermediate tensor
//! A separable convolution is a depthwise convolution whose `C = in_c · dm` channels
//! feed a pointwise (Dense) product. The layer interface gives no scratch memory, so:
//!
//! - `forward` computes, **per output pixel**, the pixel's `C` depthwise values into a
//!   stack array of [`MAX_SEPARABLE_CHANNELS`] elements (the depthwise twin's channel
//!   blocks with no bias), then runs [`super::dense::forward`] on that one row. Nothing is
//!   recomputed; the stack holds `4 · MAX_SEPARABLE_CHANNELS` bytes. A larger `C` is
//!   refused ([`Error::InvalidConfig`]; the layers check it when the model loads).
//! - `backward_params` and `backward_input` need no buffer at all: every gradient
//!   element is one sum over the batch (as in the reference), and the intermediate values
//!   a sum needs (`z`, `dz`) are recomputed where used, blocked so that one recomputed
//!   value feeds several accumulators and several recomputations run side by side:
//!   `dpw` recomputes `z[n][p][i]` once per block of output filters; `ddw` computes a
//!   block of channels' `dz[n][p][·]` together, once per block of 16 taps; `dx`
//!   recomputes `dz` once per tap that reads the input pixel — about `k_h·k_w` times a
//!   pointwise product, the price of storing nothing. Measured on the host
//!   (SeparableConv2D(64, 3×3, same) on 25×5×64, f32): forward 70 µs, backward 2.6 ms
//!   (reference: 13.6 ms and 15.6 ms). Training is exact and heap-free, but slow; a
//!   scratch region in the planner would remove the recomputation.

use super::dense;
use super::depthwise::{block_at, for_blocks, mac_lanes, max_block, store, tap_range, Block};
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::reference::depthwise::{check, out_pos};
use crate::kernels::reference::separable::{depthwise_at, pointwise_grad_at, separable_lengths};
use crate::{Error, Result, Scalar};

/// Most depthwise channels (`in_c · depth_multiplier`) a separable convolution may have:
/// [`forward`] keeps one pixel's depthwise output in a stack array this long.
pub const MAX_SEPARABLE_CHANNELS: usize = 512;

/// The depthwise values of one output pixel (no bias), channels `i0..i0 + N`.
struct DepthwisePixel<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    xs: &'a [T],
    dw: &'a [T],
    z: &'a mut [T],
    oy: usize,
    ox: usize,
    ky: (usize, usize),
    kx: (usize, usize),
}

impl<T: Scalar> Block for DepthwisePixel<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, i0: usize) {
        let g = self.g;
        let mut acc = [T::ZERO.widen(); N];
        for ky in self.ky.0..self.ky.1 {
            let row = self.oy * g.stride_h + ky * g.dil_h - g.pad_top;
            for kx in self.kx.0..self.kx.1 {
                let col = self.ox * g.stride_w + kx * g.dil_w - g.pad_left;
                let xr = self.xs.get((row * g.in_w + col) * g.in_c..).unwrap_or(&[]);
                let xv = super::depthwise::inputs_of::<T, N>(xr, i0, self.dm);
                let wv = block_at::<T, N>(self.dw, (ky * g.k_w + kx) * g.out_c + i0);
                mac_lanes::<T, N>(&mut acc, &xv, &wv);
            }
        }
        store::<T, N>(self.z, i0, &acc);
    }
}

/// Same as [`crate::kernels::reference::separable::forward`], bit for bit;
/// [`Error::InvalidConfig`] if `g.out_c` exceeds [`MAX_SEPARABLE_CHANNELS`].
#[allow(clippy::too_many_arguments)] // the separable convolution's buffers
pub fn forward<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    filters: usize,
    x: &[T],
    dw: &[T],
    pw: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let (_, in_len, _) = separable_lengths(g, dm, filters, x.len(), y.len(), dw.len(), pw.len())?;
    if !bias.is_empty() {
        check(filters, bias.len())?;
    }
    if g.out_c > MAX_SEPARABLE_CHANNELS {
        return Err(Error::InvalidConfig(
            "SeparableConv: in_channels * depth_multiplier exceeds MAX_SEPARABLE_CHANNELS",
        ));
    }
    let mut buf = [T::ZERO; MAX_SEPARABLE_CHANNELS];
    let z = &mut buf[..g.out_c];
    let max = max_block::<T>();
    let y_row = g.out_w * filters;
    for (xs, ys) in x
        .chunks_exact(in_len)
        .zip(y.chunks_exact_mut(g.out_h * y_row))
    {
        for (oy, yrow) in ys.chunks_exact_mut(y_row).enumerate() {
            let ky = tap_range(oy, g.stride_h, g.dil_h, g.pad_top, g.in_h, g.k_h);
            for (ox, yp) in yrow.chunks_exact_mut(filters).enumerate() {
                let kx = tap_range(ox, g.stride_w, g.dil_w, g.pad_left, g.in_w, g.k_w);
                let mut op = DepthwisePixel {
                    g,
                    dm,
                    xs,
                    dw,
                    z: &mut *z,
                    oy,
                    ox,
                    ky,
                    kx,
                };
                for_blocks(g.out_c, max, &mut op);
                dense::forward(z, pw, bias, yp, g.out_c, filters);
            }
        }
    }
    Ok(())
}

/// `dpw[i][j0..j0 + N]`: `Σ_n Σ_p z[n][p][i] · dy[n][p][j]`, `z` recomputed once per pixel.
struct PointwiseGrad<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    filters: usize,
    x: &'a [T],
    dw: &'a [T],
    dy: &'a [T],
    dpw_i: &'a mut [T],
    in_len: usize,
    i: usize,
}

impl<T: Scalar> Block for PointwiseGrad<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, j0: usize) {
        let g = self.g;
        let f = self.filters;
        let mut acc = [T::ZERO.widen(); N];
        let mut dyp = self.dy.chunks_exact(f);
        for xs in self.x.chunks_exact(self.in_len) {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let z = depthwise_at(g, self.dm, xs, self.dw, oy, ox, self.i);
                    let d = block_at::<T, N>(dyp.next().unwrap_or(&[]), j0);
                    mac_lanes::<T, N>(&mut acc, &[z; N], &d);
                }
            }
        }
        store::<T, N>(self.dpw_i, j0, &acc);
    }
}

/// Taps per recomputation of `dz` in the depthwise kernel's gradient.
const TAP_BLOCK: usize = 16;

/// `ddw[k][i0..i0 + N]` for every tap `k`: `Σ_n Σ_p x[n][row_k][col_k][i / dm] ·
/// dz[n][p][i]`, `dz` recomputed once per pixel and block of [`TAP_BLOCK`] taps.
struct DepthwiseKernelGrad<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    filters: usize,
    x: &'a [T],
    pw: &'a [T],
    dy: &'a [T],
    ddw: &'a mut [T],
    in_len: usize,
}

impl<T: Scalar> Block for DepthwiseKernelGrad<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, i0: usize) {
        let g = self.g;
        let taps = g.k_h * g.k_w;
        let mut k0 = 0;
        while k0 < taps {
            let nk = TAP_BLOCK.min(taps - k0);
            let mut acc = [[T::ZERO.widen(); N]; TAP_BLOCK];
            let mut dyp = self.dy.chunks_exact(self.filters);
            for xs in self.x.chunks_exact(self.in_len) {
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let d = dyp.next().unwrap_or(&[]);
                        let dz = pointwise_grads::<T, N>(d, self.pw, self.filters, i0, 1);
                        for (t, a) in acc.iter_mut().enumerate().take(nk) {
                            let (ky, kx) = ((k0 + t) / g.k_w, (k0 + t) % g.k_w);
                            let (Some(row), Some(col)) = (g.in_row(oy, ky), g.in_col(ox, kx))
                            else {
                                continue;
                            };
                            let xr = xs.get((row * g.in_w + col) * g.in_c..).unwrap_or(&[]);
                            let xv = super::depthwise::inputs_of::<T, N>(xr, i0, self.dm);
                            mac_lanes::<T, N>(a, &xv, &dz);
                        }
                    }
                }
            }
            for (t, a) in acc.iter().enumerate().take(nk) {
                store::<T, N>(self.ddw, (k0 + t) * g.out_c + i0, a);
            }
            k0 += nk;
        }
    }
}

/// Same as [`crate::kernels::reference::separable::backward_params`], bit for bit.
#[allow(clippy::too_many_arguments)] // the separable convolution's buffers
pub fn backward_params<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    filters: usize,
    x: &[T],
    dw: &[T],
    pw: &[T],
    dy: &[T],
    ddw: &mut [T],
    dpw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let (_, in_len, _) = separable_lengths(g, dm, filters, x.len(), dy.len(), dw.len(), pw.len())?;
    check(dw.len(), ddw.len())?;
    check(pw.len(), dpw.len())?;
    if !db.is_empty() {
        check(filters, db.len())?;
    }
    let max = max_block::<T>();
    for (i, dpw_i) in dpw.chunks_exact_mut(filters).enumerate() {
        let mut op = PointwiseGrad {
            g,
            dm,
            filters,
            x,
            dw,
            dy,
            dpw_i,
            in_len,
            i,
        };
        for_blocks(filters, max, &mut op);
    }
    super::depthwise::bias_grad(dy, db, filters);
    // ddw[k][i] = Σ_n Σ_p x[n][row_k][col_k][i / dm] · dz[n][p][i]: channels in blocks
    // of N, taps in blocks of TAP_BLOCK.
    let mut op = DepthwiseKernelGrad {
        g,
        dm,
        filters,
        x,
        pw,
        dy,
        ddw,
        in_len,
    };
    for_blocks(g.out_c, max, &mut op);
    Ok(())
}

/// `dz[i0 + l·step]` for the lanes `l < N`: `narrow(Σ_j dyp[j] · pw[i][j])` for each
/// channel `i`, the same sums as [`pointwise_grad_at`] (each in `j` order) computed side
/// by side, so the `N` dependency chains overlap.
#[inline(always)]
fn pointwise_grads<T: Scalar, const N: usize>(
    dyp: &[T],
    pw: &[T],
    filters: usize,
    i0: usize,
    step: usize,
) -> [T; N] {
    let rows: [&[T]; N] = core::array::from_fn(|l| {
        let i = i0 + l * step;
        pw.get(i * filters..(i + 1) * filters).unwrap_or(&[])
    });
    if rows.iter().any(|r| r.len() != filters) || dyp.len() != filters {
        // Lengths the callers exclude; keep the reference's result anyway.
        return core::array::from_fn(|l| pointwise_grad_at(dyp, pw, filters, i0 + l * step));
    }
    let mut acc = [T::ZERO.widen(); N];
    for (j, &d) in dyp.iter().enumerate() {
        for l in 0..N {
            acc[l] = T::mac(acc[l], d, rows[l][j]);
        }
    }
    acc.map(T::narrow)
}

/// One input pixel of [`backward_input`], channels `c0..c0 + N`.
struct InputPixel<'a, T> {
    g: &'a ConvGeometry,
    dm: usize,
    filters: usize,
    dys: &'a [T],
    dw: &'a [T],
    pw: &'a [T],
    dxp: &'a mut [T],
    iy: usize,
    ix: usize,
}

impl<T: Scalar> Block for InputPixel<'_, T> {
    #[inline(always)]
    fn run<const N: usize>(&mut self, c0: usize) {
        let (g, dm, f) = (self.g, self.dm, self.filters);
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
                let p = oy * g.out_w + ox;
                let dyp = self.dys.get(p * f..(p + 1) * f).unwrap_or(&[]);
                let wr = self.dw.get((ky * g.k_w + kx) * g.out_c..).unwrap_or(&[]);
                for m in 0..dm {
                    let dz = pointwise_grads::<T, N>(dyp, self.pw, f, c0 * dm + m, dm);
                    let wv: [T; N] = core::array::from_fn(|l| {
                        wr.get((c0 + l) * dm + m).copied().unwrap_or(T::ZERO)
                    });
                    mac_lanes::<T, N>(&mut acc, &dz, &wv);
                }
            }
        }
        store::<T, N>(self.dxp, c0, &acc);
    }
}

/// Same as [`crate::kernels::reference::separable::backward_input`], bit for bit.
#[allow(clippy::too_many_arguments)] // the separable convolution's buffers
pub fn backward_input<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    filters: usize,
    dy: &[T],
    dw: &[T],
    pw: &[T],
    dx: &mut [T],
) -> Result<()> {
    let (_, in_len, pixels) =
        separable_lengths(g, dm, filters, dx.len(), dy.len(), dw.len(), pw.len())?;
    let max = max_block::<T>();
    for (dys, dxs) in dy
        .chunks_exact(pixels * filters)
        .zip(dx.chunks_exact_mut(in_len))
    {
        for (iy, dxrow) in dxs.chunks_exact_mut(g.in_w * g.in_c).enumerate() {
            for (ix, dxp) in dxrow.chunks_exact_mut(g.in_c).enumerate() {
                let mut op = InputPixel {
                    g,
                    dm,
                    filters,
                    dys,
                    dw,
                    pw,
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
