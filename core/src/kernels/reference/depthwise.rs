//! Depthwise convolution kernels (Keras's `DepthwiseConv1D`/`DepthwiseConv2D`): every
//! input channel is convolved with its own `depth_multiplier` filters. Channels-last.
//!
//! # Layout and notation
//! One sample's input is `x[iy][ix][c]` (`in_h × in_w × in_c`), its output
//! `y[oy][ox][i]` (`out_h × out_w × out_c`) with `out_c = in_c · dm`; output channel
//! `i = c·dm + m` is input channel `c` convolved with filter `m` (JAX's grouped
//! convolution with `feature_group_count = in_c` orders them so, and Keras's bias follows).
//! The kernel is Keras's `(k_h, k_w, in_c, dm)` row-major array, so the weight of output
//! channel `i` at tap `(ky, kx)` is `w[(ky·k_w + kx)·out_c + i]`. Tap `(ky, kx)` of output
//! `(oy, ox)` reads input row `oy·stride_h + ky·dil_h − pad_top` and column
//! `ox·stride_w + kx·dil_w − pad_left` ([`ConvGeometry::in_row`], [`ConvGeometry::in_col`]);
//! taps in the padding read zero, i.e. are skipped.
//!
//! # Accumulation order (the contract the optimized twin keeps)
//! - `forward`: `y = bias` (or 0), then taps in `ky`, then `kx` order.
//! - `backward_input`: `dx[iy][ix][c] = Σ_ky Σ_kx Σ_m dy[oy][ox][c·dm + m] · w[ky][kx][c][m]`
//!   over the taps that read `(iy, ix)`, in that loop order.
//! - `backward_params`: `dw[ky][kx][i] = Σ_n Σ_oy Σ_ox x[n][row][col][c] · dy[n][oy][ox][i]`
//!   over samples, then rows, then columns whose tap is not in the padding;
//!   `db[i] = Σ_n Σ_oy Σ_ox dy[n][oy][ox][i]`.
//!
//! Every sum starts from [`Scalar::widen`] and is rounded once ([`Scalar::narrow`]).
//! All functions check their slice lengths ([`Error::ShapeMismatch`]) and run a whole
//! batch (`x.len() / input_len` samples).

use crate::kernels::geometry::ConvGeometry;
use crate::{Error, Result, Scalar};

/// Checks `len == expected`.
pub(crate) fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// Checks the geometry against the depth multiplier and the slices of a batch; returns
/// `(batch, input_len, output_len)`.
pub(crate) fn batch_lengths(
    g: &ConvGeometry,
    dm: usize,
    x_len: usize,
    y_len: usize,
    w_len: usize,
) -> Result<(usize, usize, usize)> {
    if dm == 0 || g.in_c.checked_mul(dm) != Some(g.out_c) {
        return Err(Error::InvalidConfig(
            "depthwise geometry: out_c must be in_c · depth_multiplier",
        ));
    }
    let in_len = g.input_len().ok_or(Error::InvalidShape)?;
    let out_len = g.output_len().ok_or(Error::InvalidShape)?;
    if in_len == 0 || out_len == 0 {
        return Err(Error::InvalidShape);
    }
    // A geometry built by hand (its fields are public) must still keep every index
    // computation in range: positive steps, and the farthest tap position
    // `(out − 1)·stride + (k − 1)·dil + pad + in` representable.
    let axis = |out: usize, stride: usize, k: usize, dil: usize, pad: usize, len: usize| {
        if stride == 0 || dil == 0 {
            return None;
        }
        (out - 1)
            .checked_mul(stride)?
            .checked_add(k.saturating_sub(1).checked_mul(dil)?)?
            .checked_add(pad)?
            .checked_add(len)
    };
    if axis(g.out_h, g.stride_h, g.k_h, g.dil_h, g.pad_top, g.in_h).is_none()
        || axis(g.out_w, g.stride_w, g.k_w, g.dil_w, g.pad_left, g.in_w).is_none()
    {
        return Err(Error::InvalidShape);
    }
    if x_len % in_len != 0 {
        return Err(Error::ShapeMismatch {
            expected: x_len.next_multiple_of(in_len),
            found: x_len,
        });
    }
    let batch = x_len / in_len;
    check(
        batch.checked_mul(out_len).ok_or(Error::InvalidShape)?,
        y_len,
    )?;
    let taps = g.k_h.checked_mul(g.k_w).ok_or(Error::InvalidShape)?;
    check(taps.checked_mul(g.out_c).ok_or(Error::InvalidShape)?, w_len)?;
    Ok((batch, in_len, out_len))
}

/// Checks a bias slice: empty (`use_bias=False`) or `out_c` long.
pub(crate) fn check_bias(g: &ConvGeometry, bias_len: usize) -> Result<()> {
    if bias_len != 0 {
        check(g.out_c, bias_len)?;
    }
    Ok(())
}

/// `y[n][oy][ox][i] = bias[i] + Σ_ky Σ_kx x[n][row][col][i / dm] · w[ky][kx][i]` for a
/// batch; `bias` may be empty (`use_bias=False`). Taps in the padding are skipped.
pub fn forward<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    x: &[T],
    w: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let (batch, in_len, out_len) = batch_lengths(g, dm, x.len(), y.len(), w.len())?;
    check_bias(g, bias.len())?;
    for n in 0..batch {
        let xs = &x[n * in_len..(n + 1) * in_len];
        let ys = &mut y[n * out_len..(n + 1) * out_len];
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for i in 0..g.out_c {
                    let c = i / dm;
                    let mut acc = bias.get(i).copied().unwrap_or(T::ZERO).widen();
                    for ky in 0..g.k_h {
                        let Some(row) = g.in_row(oy, ky) else {
                            continue;
                        };
                        for kx in 0..g.k_w {
                            let Some(col) = g.in_col(ox, kx) else {
                                continue;
                            };
                            let xv = xs[(row * g.in_w + col) * g.in_c + c];
                            let wv = w[(ky * g.k_w + kx) * g.out_c + i];
                            acc = T::mac(acc, xv, wv);
                        }
                    }
                    ys[(oy * g.out_w + ox) * g.out_c + i] = T::narrow(acc);
                }
            }
        }
    }
    Ok(())
}

/// The output position that tap `k` (with `stride`, `dil`, leading `pad`) reads input
/// position `pos` from, if any: `o` with `o·stride + k·dil − pad = pos`, `o < out`.
#[inline]
pub(crate) fn out_pos(
    pos: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
    out: usize,
) -> Option<usize> {
    let t = (pos + pad).checked_sub(k * dil)?;
    if stride != 1 && t % stride != 0 {
        return None;
    }
    Some(t / stride).filter(|&o| o < out)
}

/// Input gradient of a batch:
/// `dx[n][iy][ix][c] = Σ_ky Σ_kx Σ_m dy[n][oy][ox][c·dm + m] · w[ky][kx][c·dm + m]` over
/// the taps `(ky, kx)` whose output `(oy, ox)` reads `(iy, ix)`. Overwrites `dx`.
pub fn backward_input<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    dy: &[T],
    w: &[T],
    dx: &mut [T],
) -> Result<()> {
    let (batch, in_len, out_len) = batch_lengths(g, dm, dx.len(), dy.len(), w.len())?;
    for n in 0..batch {
        let dys = &dy[n * out_len..(n + 1) * out_len];
        let dxs = &mut dx[n * in_len..(n + 1) * in_len];
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
                            for m in 0..dm {
                                let i = c * dm + m;
                                let d = dys[(oy * g.out_w + ox) * g.out_c + i];
                                let wv = w[(ky * g.k_w + kx) * g.out_c + i];
                                acc = T::mac(acc, d, wv);
                            }
                        }
                    }
                    dxs[(iy * g.in_w + ix) * g.in_c + c] = T::narrow(acc);
                }
            }
        }
    }
    Ok(())
}

/// Parameter gradients of a batch: `dw[ky][kx][i] = Σ_n Σ_oy Σ_ox x[n][row][col][i / dm] ·
/// dy[n][oy][ox][i]` over the outputs whose tap `(ky, kx)` is not in the padding, and
/// `db[i] = Σ_n Σ_oy Σ_ox dy[n][oy][ox][i]` (`db` may be empty). Overwrites `dw`, `db`.
pub fn backward_params<T: Scalar>(
    g: &ConvGeometry,
    dm: usize,
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let (batch, in_len, out_len) = batch_lengths(g, dm, x.len(), dy.len(), dw.len())?;
    check_bias(g, db.len())?;
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
                            let d = dy[n * out_len + (oy * g.out_w + ox) * g.out_c + i];
                            acc = T::mac(acc, xv, d);
                        }
                    }
                }
                dw[(ky * g.k_w + kx) * g.out_c + i] = T::narrow(acc);
            }
        }
    }
    for (i, dbi) in db.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for d in dy.iter().skip(i).step_by(g.out_c) {
            acc = T::mac(acc, *d, T::ONE);
        }
        *dbi = T::narrow(acc);
    }
    Ok(())
}
