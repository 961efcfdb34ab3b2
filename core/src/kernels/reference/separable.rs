//! Depthwise-separable convolution kernels (Keras's `SeparableConv1D`/`SeparableConv2D`):
//! a depthwise convolution without bias ([`super::depthwise`]) followed by a 1×1
//! (pointwise) convolution with bias, which is a Dense layer over the channel axis.
//!
//! # Notation
//! `g` is the geometry of the depthwise step (`g.out_c = in_c · dm` intermediate
//! channels, `C` below); `filters` (`F`) is the number of output channels. Per sample `n`
//! and output pixel `p = (oy, ox)`:
//!
//! - `z[n][p][i] = narrow(Σ_ky Σ_kx x[n][row][col][i / dm] · dw[ky][kx][i])`, the
//!   depthwise output, rounded to `T` as Keras rounds its intermediate `float32` tensor;
//! - `y[n][p][j] = narrow(b[j] + Σ_i z[n][p][i] · pw[i][j])`.
//!
//! Backward, with `g = ∂L/∂(pre-activation)` (`dy` here) and
//! `dz[n][p][i] = narrow(Σ_j dy[n][p][j] · pw[i][j])` (again a rounded intermediate):
//!
//! - `db[j] = Σ_n Σ_p dy[n][p][j]`;
//! - `dpw[i][j] = Σ_n Σ_p z[n][p][i] · dy[n][p][j]`;
//! - `ddw[ky][kx][i] = Σ_n Σ_p x[n][row][col][i / dm] · dz[n][p][i]` (taps not in the padding);
//! - `dx[n][iy][ix][c] = Σ_ky Σ_kx Σ_m dz[n][oy][ox][c·dm + m] · dw[ky][kx][c·dm + m]`.
//!
//! # No intermediate tensor
//! The layer interface gives no scratch memory, so `z` and `dz` are never stored: this
//! reference recomputes each value where it is used ([`depthwise_at`], [`pointwise_grad_at`]),
//! which is slow but plainly correct. Every gradient element is still one sum in the
//! order written above, accumulated in [`Scalar::Acc`] and rounded once. The optimized
//! twin computes the same values in the same order with fewer recomputations.

use super::depthwise::{batch_lengths, check, out_pos};
use crate::kernels::geometry::ConvGeometry;
use crate::{Error, Result, Scalar};

/// Checks the slices of a separable convolution over a batch; returns
/// `(batch, input_len, pixels)` (`pixels = out_h · out_w`).
pub(crate) fn separable_lengths(
    g: &ConvGeometry,
    dm: usize,
    filters: usize,
    x_len: usize,
    y_len: usize,
    dw_len: usize,
    pw_len: usize,
) -> Result<(usize, usize, usize)> {
    if filters == 0 {
        return Err(Error::InvalidShape);
    }
    let in_len = g.input_len().ok_or(Error::InvalidShape)?;
    let pixels = g.out_h.checked_mul(g.out_w).ok_or(Error::InvalidShape)?;
    let y_per_sample = pixels.checked_mul(filters).ok_or(Error::InvalidShape)?;
    if in_len == 0 || x_len % in_len != 0 {
        return Err(Error::ShapeMismatch {
            expected: in_len.max(1),
            found: x_len,
        });
    }
    let batch = x_len / in_len;
    check(
        batch.checked_mul(y_per_sample).ok_or(Error::InvalidShape)?,
        y_len,
    )?;
    // The depthwise step's own checks (dm, kernel length), with its output size.
    let z_len = batch
        .checked_mul(g.output_len().ok_or(Error::InvalidShape)?)
        .ok_or(Error::InvalidShape)?;
    batch_lengths(g, dm, x_len, z_len, dw_len)?;
    check(
        g.out_c.checked_mul(filters).ok_or(Error::InvalidShape)?,
        pw_len,
    )?;
    Ok((batch, in_len, pixels))
}

/// `z[p][i]` of one sample `xs`: the depthwise output at pixel `(oy, ox)`, channel `i`,
/// rounded to `T`.
pub fn depthwise_at<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    xs: &[T],
    dw: &[T],
    oy: usize,
    ox: usize,
    i: usize,
) -> T {
    let c = i / dm;
    let mut acc = T::ZERO.widen();
    for ky in 0..g.k_h {
        let Some(row) = g.in_row(oy, ky) else {
            continue;
        };
        for kx in 0..g.k_w {
            let Some(col) = g.in_col(ox, kx) else {
                continue;
            };
            let xv = xs.get((row * g.in_w + col) * g.in_c + c).copied();
            let wv = dw.get((ky * g.k_w + kx) * g.out_c + i).copied();
            acc = T::mac(acc, xv.unwrap_or(T::ZERO), wv.unwrap_or(T::ZERO));
        }
    }
    T::narrow(acc)
}

/// `dz[p][i] = Σ_j dyp[j] · pw[i][j]` for one pixel's gradient row `dyp` (`filters` long),
/// rounded to `T`.
pub fn pointwise_grad_at<T: Scalar>(dyp: &[T], pw: &[T], filters: usize, i: usize) -> T {
    let mut acc = T::ZERO.widen();
    let row = pw.get(i * filters..(i + 1) * filters).unwrap_or(&[]);
    for (&d, &p) in dyp.iter().zip(row) {
        acc = T::mac(acc, d, p);
    }
    T::narrow(acc)
}

/// `y[n][p][j] = b[j] + Σ_i z[n][p][i] · pw[i][j]` for a batch (`bias` may be empty).
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
    let (batch, in_len, pixels) =
        separable_lengths(g, dm, filters, x.len(), y.len(), dw.len(), pw.len())?;
    if !bias.is_empty() {
        check(filters, bias.len())?;
    }
    for n in 0..batch {
        let xs = &x[n * in_len..(n + 1) * in_len];
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let p = n * pixels + oy * g.out_w + ox;
                for j in 0..filters {
                    let mut acc = bias.get(j).copied().unwrap_or(T::ZERO).widen();
                    for i in 0..g.out_c {
                        let z = depthwise_at(g, dm, xs, dw, oy, ox, i);
                        acc = T::mac(acc, z, pw[i * filters + j]);
                    }
                    y[p * filters + j] = T::narrow(acc);
                }
            }
        }
    }
    Ok(())
}

/// Parameter gradients of a batch, `dy` being `∂L/∂(pre-activation)`: `ddw` (the
/// depthwise kernel's, `k_h·k_w·C`), `dpw` (`C·F`) and `db` (`F`, or empty), as in the
/// module documentation. Overwrites them.
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
    let (batch, in_len, pixels) =
        separable_lengths(g, dm, filters, x.len(), dy.len(), dw.len(), pw.len())?;
    check(dw.len(), ddw.len())?;
    check(pw.len(), dpw.len())?;
    if !db.is_empty() {
        check(filters, db.len())?;
    }
    let dy_at = |n: usize, oy: usize, ox: usize| {
        let p = n * pixels + oy * g.out_w + ox;
        &dy[p * filters..(p + 1) * filters]
    };
    // Pointwise kernel: dpw[i][j] = Σ_n Σ_p z[n][p][i] · dy[n][p][j].
    for i in 0..g.out_c {
        for j in 0..filters {
            let mut acc = T::ZERO.widen();
            for n in 0..batch {
                let xs = &x[n * in_len..(n + 1) * in_len];
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let z = depthwise_at(g, dm, xs, dw, oy, ox, i);
                        acc = T::mac(acc, z, dy_at(n, oy, ox)[j]);
                    }
                }
            }
            dpw[i * filters + j] = T::narrow(acc);
        }
    }
    // Bias: db[j] = Σ_n Σ_p dy[n][p][j].
    for (j, dbj) in db.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for d in dy.iter().skip(j).step_by(filters) {
            acc = T::mac(acc, *d, T::ONE);
        }
        *dbj = T::narrow(acc);
    }
    // Depthwise kernel: ddw[ky][kx][i] = Σ_n Σ_p x[n][row][col][i / dm] · dz[n][p][i].
    for ky in 0..g.k_h {
        for kx in 0..g.k_w {
            for i in 0..g.out_c {
                let c = i / dm;
                let mut acc = T::ZERO.widen();
                for n in 0..batch {
                    for oy in 0..g.out_h {
                        let Some(row) = g.in_row(oy, ky) else {
                            continue;
                        };
                        for ox in 0..g.out_w {
                            let Some(col) = g.in_col(ox, kx) else {
                                continue;
                            };
                            let xv = x[n * in_len + (row * g.in_w + col) * g.in_c + c];
                            let dz = pointwise_grad_at(dy_at(n, oy, ox), pw, filters, i);
                            acc = T::mac(acc, xv, dz);
                        }
                    }
                }
                ddw[(ky * g.k_w + kx) * g.out_c + i] = T::narrow(acc);
            }
        }
    }
    Ok(())
}

/// Input gradient of a batch, `dy` being `∂L/∂(pre-activation)`:
/// `dx[n][iy][ix][c] = Σ_ky Σ_kx Σ_m dz[n][oy][ox][c·dm + m] · dw[ky][kx][c·dm + m]`.
/// Overwrites `dx`.
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
    let (batch, in_len, pixels) =
        separable_lengths(g, dm, filters, dx.len(), dy.len(), dw.len(), pw.len())?;
    for n in 0..batch {
        for iy in 0..g.in_h {
            for ix in 0..g.in_w {
                for c in 0..g.in_c {
                    let mut acc = T::ZERO.widen();
                    for ky in 0..g.k_h {
                        let Some(oy) = out_pos(iy, ky, g.stride_h, g.dil_h, g.pad_top, g.out_h)
                        else {
                            continue;
                        };
                        for kx in 0..g.k_w {
                            let Some(ox) =
                                out_pos(ix, kx, g.stride_w, g.dil_w, g.pad_left, g.out_w)
                            else {
                                continue;
                            };
                            let p = n * pixels + oy * g.out_w + ox;
                            let dyp = &dy[p * filters..(p + 1) * filters];
                            for m in 0..dm {
                                let i = c * dm + m;
                                let dz = pointwise_grad_at(dyp, pw, filters, i);
                                acc = T::mac(acc, dz, dw[(ky * g.k_w + kx) * g.out_c + i]);
                            }
                        }
                    }
                    dx[n * in_len + (iy * g.in_w + ix) * g.in_c + c] = T::narrow(acc);
                }
            }
        }
    }
    Ok(())
}
