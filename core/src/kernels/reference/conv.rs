//! Convolution kernels (Keras's `Conv1D`/`Conv2D`, channels-last, grouped): plain loops,
//! one output element at a time. They are the correctness oracle of
//! [`crate::kernels::optimized::conv`].
//!
//! # Layouts (one sample; a batch is samples back to back)
//! - input `x[iy][ix][c]`, shape `(in_h, in_w, in_c)`;
//! - output `y[oy][ox][f]`, shape `(out_h, out_w, out_c)`;
//! - kernel `w[ky][kx][ci][f]`, shape `(k_h, k_w, in_c / groups, out_c)` — Keras's layout;
//! - bias `b[f]` (empty slice: `use_bias=False`).
//!
//! # Groups
//! Channels split into `groups` consecutive blocks: output channel `f` belongs to group
//! `f / (out_c / groups)` and reads only that group's input channels
//! `grp · cin_g .. (grp + 1) · cin_g` (`cin_g = in_c / groups`), indexed `ci` in the kernel.
//!
//! # Geometry
//! Output position `oy` and window row `ky` read input row
//! `iy = oy · stride_h + ky · dil_h − pad_top` ([`ConvGeometry::in_row`]); a tap that falls
//! in the padding is **skipped** (it would add zero). Columns likewise.
//!
//! # Accumulation order (the twin reproduces it bit for bit)
//! - `forward`: from the bias, over `ky`, then `kx`, then `ci`, ascending.
//! - `backward_input`: from zero, over `ky`, `kx`, then the group's output channels `f`.
//! - `backward_params`: from zero, over samples, then `oy`, then `ox`.
//!
//! Every function first checks all lengths against the geometry ([`ConvDims::new`]) and
//! returns [`Error::ShapeMismatch`] / [`Error::InvalidShape`] instead of panicking; after
//! that check every index below is in bounds.

use crate::kernels::geometry::ConvGeometry;
use crate::{Error, Result, Scalar};

/// Sizes of a grouped convolution, checked against the geometry and the buffer lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvDims {
    /// Samples in the batch.
    pub batch: usize,
    /// Elements of one input sample, `in_h · in_w · in_c`.
    pub in_len: usize,
    /// Elements of one output sample, `out_h · out_w · out_c`.
    pub out_len: usize,
    /// Input channels per group, `in_c / groups`.
    pub cin_g: usize,
    /// Output channels per group, `out_c / groups`.
    pub cout_g: usize,
    /// Kernel elements, `k_h · k_w · cin_g · out_c`.
    pub w_len: usize,
}

fn mismatch(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch { expected, found })
    }
}

impl ConvDims {
    /// Checks a geometry and `groups` against the lengths of an input batch `x_len`,
    /// kernel `w_len`, bias `b_len` (0 or `out_c`) and output batch `y_len`.
    ///
    /// [`Error::InvalidShape`] if a size is zero, a channel count is not divisible by
    /// `groups`, or an index the kernels compute could overflow;
    /// [`Error::ShapeMismatch`] if a length does not match.
    pub fn new(
        g: &ConvGeometry,
        groups: usize,
        x_len: usize,
        w_len: usize,
        b_len: usize,
        y_len: usize,
    ) -> Result<Self> {
        let sizes = [
            g.in_h, g.in_w, g.in_c, g.out_h, g.out_w, g.out_c, g.k_h, g.k_w, g.stride_h,
            g.stride_w, g.dil_h, g.dil_w, groups,
        ];
        if sizes.contains(&0) || g.in_c % groups != 0 || g.out_c % groups != 0 {
            return Err(Error::InvalidShape);
        }
        // The largest padded coordinate a tap reaches, and the padded input extent, must
        // not overflow: `oy·stride + ky·dil` and `iy + pad` are then safe everywhere.
        let reach = |out: usize, s: usize, k: usize, d: usize| {
            (out - 1)
                .checked_mul(s)?
                .checked_add((k - 1).checked_mul(d)?)
        };
        reach(g.out_h, g.stride_h, g.k_h, g.dil_h).ok_or(Error::InvalidShape)?;
        reach(g.out_w, g.stride_w, g.k_w, g.dil_w).ok_or(Error::InvalidShape)?;
        g.in_h.checked_add(g.pad_top).ok_or(Error::InvalidShape)?;
        g.in_w.checked_add(g.pad_left).ok_or(Error::InvalidShape)?;
        let in_len = g.input_len().ok_or(Error::InvalidShape)?;
        let out_len = g.output_len().ok_or(Error::InvalidShape)?;
        let cin_g = g.in_c / groups;
        let cout_g = g.out_c / groups;
        let expected_w = g
            .k_h
            .checked_mul(g.k_w)
            .and_then(|v| v.checked_mul(cin_g))
            .and_then(|v| v.checked_mul(g.out_c))
            .ok_or(Error::InvalidShape)?;
        mismatch(expected_w, w_len)?;
        if b_len != 0 {
            mismatch(g.out_c, b_len)?;
        }
        if x_len % in_len != 0 {
            return Err(Error::ShapeMismatch {
                expected: (x_len / in_len + 1) * in_len,
                found: x_len,
            });
        }
        let batch = x_len / in_len;
        mismatch(
            batch.checked_mul(out_len).ok_or(Error::InvalidShape)?,
            y_len,
        )?;
        Ok(ConvDims {
            batch,
            in_len,
            out_len,
            cin_g,
            cout_g,
            w_len,
        })
    }
}

/// Forward pass: `y[oy, ox, f] = b[f] + Σ_{ky, kx, ci} x[iy, ix, grp·cin_g + ci] ·
/// w[ky, kx, ci, f]` over the taps inside the input, for every sample; `bias` may be
/// empty (`use_bias=False`). Accumulates in [`Scalar::Acc`] and rounds once per output.
pub fn forward<T: Scalar>(
    g: &ConvGeometry,
    groups: usize,
    x: &[T],
    w: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let d = ConvDims::new(g, groups, x.len(), w.len(), bias.len(), y.len())?;
    for (xs, ys) in x.chunks_exact(d.in_len).zip(y.chunks_exact_mut(d.out_len)) {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for f in 0..g.out_c {
                    let grp = f / d.cout_g;
                    let mut acc = bias.get(f).copied().unwrap_or(T::ZERO).widen();
                    for ky in 0..g.k_h {
                        let Some(iy) = g.in_row(oy, ky) else { continue };
                        for kx in 0..g.k_w {
                            let Some(ix) = g.in_col(ox, kx) else { continue };
                            let x0 = (iy * g.in_w + ix) * g.in_c + grp * d.cin_g;
                            let w0 = (ky * g.k_w + kx) * d.cin_g * g.out_c + f;
                            for ci in 0..d.cin_g {
                                acc = T::mac(acc, xs[x0 + ci], w[w0 + ci * g.out_c]);
                            }
                        }
                    }
                    ys[(oy * g.out_w + ox) * g.out_c + f] = T::narrow(acc);
                }
            }
        }
    }
    Ok(())
}

/// The output index `o` whose window tap at offset `k·dil` reads padded position
/// `pos = i + pad` along one axis, if any: `o · stride + k · dil = pos`, `o < out`.
#[inline]
pub(crate) fn source(pos: usize, k: usize, dil: usize, stride: usize, out: usize) -> Option<usize> {
    let t = pos.checked_sub(k * dil)?;
    (t % stride == 0 && t / stride < out).then_some(t / stride)
}

/// Input gradient: `dx[iy, ix, c] = Σ_{ky, kx, f ∈ group(c)} dz[oy, ox, f] ·
/// w[ky, kx, c − grp·cin_g, f]` over the outputs `(oy, ox)` whose tap `(ky, kx)` read
/// `(iy, ix)`. Overwrites `dx` (positions no window reads get 0).
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
                for c in 0..g.in_c {
                    let (grp, ci) = (c / d.cin_g, c % d.cin_g);
                    let mut acc = T::ZERO.widen();
                    for ky in 0..g.k_h {
                        let pos_y = iy + g.pad_top;
                        let Some(oy) = source(pos_y, ky, g.dil_h, g.stride_h, g.out_h) else {
                            continue;
                        };
                        for kx in 0..g.k_w {
                            let pos_x = ix + g.pad_left;
                            let Some(ox) = source(pos_x, kx, g.dil_w, g.stride_w, g.out_w) else {
                                continue;
                            };
                            let z0 = (oy * g.out_w + ox) * g.out_c;
                            let w0 = ((ky * g.k_w + kx) * d.cin_g + ci) * g.out_c;
                            for f in grp * d.cout_g..(grp + 1) * d.cout_g {
                                acc = T::mac(acc, dzs[z0 + f], w[w0 + f]);
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

/// Parameter gradients over the batch: `dw[ky, kx, ci, f] = Σ_{s, oy, ox}
/// x[s, iy, ix, grp·cin_g + ci] · dz[s, oy, ox, f]` (taps inside the input) and
/// `db[f] = Σ_{s, oy, ox} dz[s, oy, ox, f]`; `db` may be empty (`use_bias=False`).
/// Overwrites `dw` and `db`.
pub fn backward_params<T: Scalar>(
    g: &ConvGeometry,
    groups: usize,
    x: &[T],
    dz: &[T],
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let d = ConvDims::new(g, groups, x.len(), dw.len(), db.len(), dz.len())?;
    for ky in 0..g.k_h {
        for kx in 0..g.k_w {
            for ci in 0..d.cin_g {
                for f in 0..g.out_c {
                    let c = (f / d.cout_g) * d.cin_g + ci;
                    let mut acc = T::ZERO.widen();
                    for s in 0..d.batch {
                        let (xs, zs) = (s * d.in_len, s * d.out_len);
                        for oy in 0..g.out_h {
                            let Some(iy) = g.in_row(oy, ky) else { continue };
                            for ox in 0..g.out_w {
                                let Some(ix) = g.in_col(ox, kx) else { continue };
                                let xv = x[xs + (iy * g.in_w + ix) * g.in_c + c];
                                let zv = dz[zs + (oy * g.out_w + ox) * g.out_c + f];
                                acc = T::mac(acc, xv, zv);
                            }
                        }
                    }
                    dw[((ky * g.k_w + kx) * d.cin_g + ci) * g.out_c + f] = T::narrow(acc);
                }
            }
        }
    }
    for (f, dbf) in db.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for row in dz.chunks_exact(g.out_c) {
            acc = T::mac(acc, row[f], T::ONE);
        }
        *dbf = T::narrow(acc);
    }
    Ok(())
}
