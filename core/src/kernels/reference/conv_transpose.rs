//! Transposed-convolution kernels (Keras's `Conv1DTranspose`/`Conv2DTranspose`, channels
//! last; 1-D runs as height 1) and their resolved geometry, [`ConvTransposeGeometry`].
//!
//! **Definition.** Every input pixel `x[iy, ix, :]` is scattered into the output through
//! the kernel: for each tap `(ky, kx)` and filter `f`,
//!
//! ```text
//! y[oy, ox, f] += Σ_c x[iy, ix, c] · w[ky, kx, f, c]
//!     with oy = iy·stride_h + ky·dil_h − crop_top,  ox = ix·stride_w + kx·dil_w − crop_left
//! ```
//!
//! contributions whose `oy ∉ [0, out_h)` or `ox ∉ [0, out_w)` are dropped. The kernel is
//! Keras's `(k_h, k_w, filters, in_c)` array, row-major. This is exactly what JAX's
//! `lax.conv_transpose(..., transpose_kernel=True)` computes for Keras: the input dilated
//! by the stride, padded by `(pad_before, pad_after)`, correlated with the spatially
//! flipped kernel; output `o` reads dilated input `o + t·d − pad_before` through flipped
//! tap `t = k − 1 − t'`, i.e. input `i` reaches `o = i·s + t'·d − crop` with
//! `crop = (k − 1)·d − pad_before` (see [`crate::layers::transpose_axis`]).
//!
//! **Accumulation.** [`forward`] computes that scatter in gather form — each output sums
//! the taps that reach it — so every output accumulates in [`Scalar::Acc`] and rounds
//! once, as the Dense kernel does. [`backward_input`] is the plain correlation of `dy`
//! with the kernel over the same index map, and [`backward_params`] sums `x · dy` over
//! the batch and every pixel pair the map connects. No scratch memory.
//!
//! All slices are checked by the caller (the layers); these functions only iterate. They
//! never panic: on a geometry that is not [`ConvTransposeGeometry::is_valid`] they do
//! nothing, and `get` is used where a shorter slice could be passed.

use crate::Scalar;

/// Resolved geometry of a channels-last transposed convolution on one sample: input
/// `(in_h, in_w, in_c)`, output `(out_h, out_w, filters)`, kernel `k_h × k_w` with
/// strides and dilations, and the crop: how many leading rows/columns of the full
/// scatter (`(in − 1)·stride + (k − 1)·dil + 1` long) fall before output 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTransposeGeometry {
    /// Input rows.
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// Output channels (`filters`).
    pub filters: usize,
    /// Kernel rows.
    pub k_h: usize,
    /// Kernel columns.
    pub k_w: usize,
    /// Row stride.
    pub stride_h: usize,
    /// Column stride.
    pub stride_w: usize,
    /// Row dilation.
    pub dil_h: usize,
    /// Column dilation.
    pub dil_w: usize,
    /// Leading rows of the full scatter that are cropped away.
    pub crop_top: usize,
    /// Leading columns of the full scatter that are cropped away.
    pub crop_left: usize,
}

impl ConvTransposeGeometry {
    /// Output row that input row `iy` reaches through kernel row `ky`, `None` when it is
    /// cropped away.
    #[inline]
    pub fn out_row(&self, iy: usize, ky: usize) -> Option<usize> {
        forward_index(iy, ky, self.stride_h, self.dil_h, self.crop_top, self.out_h)
    }

    /// Output column that input column `ix` reaches through kernel column `kx`, `None`
    /// when it is cropped away.
    #[inline]
    pub fn out_col(&self, ix: usize, kx: usize) -> Option<usize> {
        forward_index(
            ix,
            kx,
            self.stride_w,
            self.dil_w,
            self.crop_left,
            self.out_w,
        )
    }

    /// Input row that reaches output row `oy` through kernel row `ky`, if any
    /// (the inverse of [`Self::out_row`]).
    #[inline]
    pub fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        inverse(oy, ky, self.crop_top, self.dil_h, self.stride_h, self.in_h)
    }

    /// Input column that reaches output column `ox` through kernel column `kx`, if any.
    #[inline]
    pub fn in_col(&self, ox: usize, kx: usize) -> Option<usize> {
        inverse(ox, kx, self.crop_left, self.dil_w, self.stride_w, self.in_w)
    }

    /// Elements of one input sample (saturating; the layers check it does not overflow).
    pub fn input_len(&self) -> usize {
        self.in_h
            .saturating_mul(self.in_w)
            .saturating_mul(self.in_c)
    }

    /// Elements of one output sample (saturating).
    pub fn output_len(&self) -> usize {
        self.out_h
            .saturating_mul(self.out_w)
            .saturating_mul(self.filters)
    }

    /// Elements of the kernel, `k_h · k_w · filters · in_c` (saturating).
    pub fn kernel_len(&self) -> usize {
        self.k_h
            .saturating_mul(self.k_w)
            .saturating_mul(self.filters)
            .saturating_mul(self.in_c)
    }

    /// Whether the kernels can run on this geometry: every size, stride and dilation
    /// positive, and no length or index overflows. The kernels do nothing otherwise
    /// (the layers only build valid geometries).
    pub fn is_valid(&self) -> bool {
        let sizes = [
            self.in_h,
            self.in_w,
            self.in_c,
            self.out_h,
            self.out_w,
            self.filters,
            self.k_h,
            self.k_w,
            self.stride_h,
            self.stride_w,
            self.dil_h,
            self.dil_w,
        ];
        // Largest position an index computation reaches along each axis.
        let reach = |n: usize, s: usize, k: usize, d: usize, crop: usize, out: usize| {
            n.checked_mul(s)
                .and_then(|v| v.checked_add(k.checked_mul(d)?))
                .and_then(|v| v.checked_add(crop))
                .and_then(|v| v.checked_add(out))
        };
        sizes.iter().all(|&v| v > 0)
            && self
                .in_h
                .checked_mul(self.in_w)
                .and_then(|v| v.checked_mul(self.in_c))
                .is_some()
            && self
                .out_h
                .checked_mul(self.out_w)
                .and_then(|v| v.checked_mul(self.filters))
                .is_some()
            && self
                .k_h
                .checked_mul(self.k_w)
                .and_then(|v| v.checked_mul(self.filters))
                .and_then(|v| v.checked_mul(self.in_c))
                .is_some()
            && reach(
                self.in_h,
                self.stride_h,
                self.k_h,
                self.dil_h,
                self.crop_top,
                self.out_h,
            )
            .is_some()
            && reach(
                self.in_w,
                self.stride_w,
                self.k_w,
                self.dil_w,
                self.crop_left,
                self.out_w,
            )
            .is_some()
    }

    /// Index of kernel element `(ky, kx, f, 0)`.
    #[inline]
    fn w_at(&self, ky: usize, kx: usize, f: usize) -> usize {
        ((ky * self.k_w + kx) * self.filters + f) * self.in_c
    }
}

/// `i·stride + k·dil − crop` if it is in `[0, n)`.
#[inline]
fn forward_index(
    i: usize,
    k: usize,
    stride: usize,
    dil: usize,
    crop: usize,
    n: usize,
) -> Option<usize> {
    i.checked_mul(stride)?
        .checked_add(k.checked_mul(dil)?)?
        .checked_sub(crop)
        .filter(|&o| o < n)
}

/// `i` with `i·stride + k·dil − crop = o`, if it is a whole input index `< n`.
#[inline]
fn inverse(o: usize, k: usize, crop: usize, dil: usize, stride: usize, n: usize) -> Option<usize> {
    let t = o.checked_add(crop)?.checked_sub(k.checked_mul(dil)?)?;
    if t.checked_rem(stride)? != 0 {
        return None;
    }
    Some(t / stride).filter(|&i| i < n)
}

/// `y = scatter(x, w) + bias` for every sample (see the module docs); `bias` may be empty
/// (`use_bias=False`). `x` holds whole input samples, `y` the matching output samples.
pub fn forward<T: Scalar>(g: &ConvTransposeGeometry, x: &[T], w: &[T], bias: &[T], y: &mut [T]) {
    if !g.is_valid() {
        return;
    }
    let (n_in, n_out) = (g.input_len(), g.output_len());
    for (xs, ys) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        for (o, yo) in ys.iter_mut().enumerate() {
            let f = o % g.filters;
            let ox = (o / g.filters) % g.out_w;
            let oy = o / (g.filters * g.out_w);
            let mut acc = bias.get(f).copied().unwrap_or(T::ZERO).widen();
            for ky in 0..g.k_h {
                let Some(iy) = g.in_row(oy, ky) else {
                    continue;
                };
                for kx in 0..g.k_w {
                    let Some(ix) = g.in_col(ox, kx) else {
                        continue;
                    };
                    let xi = (iy * g.in_w + ix) * g.in_c;
                    let wi = g.w_at(ky, kx, f);
                    let xp = xs.get(xi..xi + g.in_c).unwrap_or(&[]);
                    let wp = w.get(wi..wi + g.in_c).unwrap_or(&[]);
                    for (&a, &b) in xp.iter().zip(wp) {
                        acc = T::mac(acc, a, b);
                    }
                }
            }
            *yo = T::narrow(acc);
        }
    }
}

/// Input gradient, a correlation of `dz` (`∂L/∂` pre-activation output) with the kernel:
/// `dx[iy, ix, c] = Σ_{ky, kx, f} dz[out_row(iy, ky), out_col(ix, kx), f] · w[ky, kx, f, c]`
/// over the taps that are not cropped. Overwrites `dx`.
pub fn backward_input<T: Scalar>(g: &ConvTransposeGeometry, dz: &[T], w: &[T], dx: &mut [T]) {
    if !g.is_valid() {
        return;
    }
    let (n_in, n_out) = (g.input_len(), g.output_len());
    for (dzs, dxs) in dz.chunks_exact(n_out).zip(dx.chunks_exact_mut(n_in)) {
        for (i, dxi) in dxs.iter_mut().enumerate() {
            let c = i % g.in_c;
            let ix = (i / g.in_c) % g.in_w;
            let iy = i / (g.in_c * g.in_w);
            let mut acc = T::ZERO.widen();
            for ky in 0..g.k_h {
                let Some(oy) = g.out_row(iy, ky) else {
                    continue;
                };
                for kx in 0..g.k_w {
                    let Some(ox) = g.out_col(ix, kx) else {
                        continue;
                    };
                    let zi = (oy * g.out_w + ox) * g.filters;
                    let dzp = dzs.get(zi..zi + g.filters).unwrap_or(&[]);
                    // w[ky, kx, f, c] for f = 0, 1, ...: stride in_c.
                    let wcol = w.get(g.w_at(ky, kx, 0) + c..).unwrap_or(&[]);
                    for (&d, &wv) in dzp.iter().zip(wcol.iter().step_by(g.in_c)) {
                        acc = T::mac(acc, d, wv);
                    }
                }
            }
            *dxi = T::narrow(acc);
        }
    }
}

/// Parameter gradients over the whole batch: `dw[ky, kx, f, c] = Σ_samples Σ_{iy, ix}
/// x[iy, ix, c] · dz[out_row(iy, ky), out_col(ix, kx), f]` and `db[f] = Σ dz[.., f]`
/// (`db` may be empty). Overwrites `dw` and `db`.
pub fn backward_params<T: Scalar>(
    g: &ConvTransposeGeometry,
    x: &[T],
    dz: &[T],
    dw: &mut [T],
    db: &mut [T],
) {
    if !g.is_valid() {
        return;
    }
    let (n_in, n_out) = (g.input_len(), g.output_len());
    for (k, dwk) in dw.iter_mut().enumerate() {
        let c = k % g.in_c;
        let f = (k / g.in_c) % g.filters;
        let kx = (k / (g.in_c * g.filters)) % g.k_w;
        let ky = k / (g.in_c * g.filters * g.k_w);
        let mut acc = T::ZERO.widen();
        for (xs, dzs) in x.chunks_exact(n_in).zip(dz.chunks_exact(n_out)) {
            for iy in 0..g.in_h {
                let Some(oy) = g.out_row(iy, ky) else {
                    continue;
                };
                for ix in 0..g.in_w {
                    let Some(ox) = g.out_col(ix, kx) else {
                        continue;
                    };
                    let xv = xs.get((iy * g.in_w + ix) * g.in_c + c);
                    let dv = dzs.get((oy * g.out_w + ox) * g.filters + f);
                    if let (Some(&a), Some(&b)) = (xv, dv) {
                        acc = T::mac(acc, a, b);
                    }
                }
            }
        }
        *dwk = T::narrow(acc);
    }
    for (f, dbf) in db.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for &d in dz.iter().skip(f).step_by(g.filters.max(1)) {
            acc = T::mac(acc, d, T::ONE);
        }
        *dbf = T::narrow(acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(
        n: usize,
        k: usize,
        s: usize,
        d: usize,
        crop: usize,
        out: usize,
    ) -> ConvTransposeGeometry {
        ConvTransposeGeometry {
            in_h: 1,
            in_w: n,
            in_c: 1,
            out_h: 1,
            out_w: out,
            filters: 1,
            k_h: 1,
            k_w: k,
            stride_h: 1,
            stride_w: s,
            dil_h: 1,
            dil_w: d,
            crop_top: 0,
            crop_left: crop,
        }
    }

    #[test]
    fn in_col_inverts_out_col() {
        for (n, k, s, d, crop, out) in [(4, 3, 2, 1, 1, 8), (3, 4, 3, 1, 0, 10), (5, 3, 1, 2, 2, 5)]
        {
            let g = geom(n, k, s, d, crop, out);
            for ix in 0..n {
                for kx in 0..k {
                    if let Some(ox) = g.out_col(ix, kx) {
                        assert_eq!(g.in_col(ox, kx), Some(ix));
                    }
                }
            }
            for ox in 0..out {
                for kx in 0..k {
                    if let Some(ix) = g.in_col(ox, kx) {
                        assert_eq!(g.out_col(ix, kx), Some(ox));
                    }
                }
            }
        }
    }

    #[test]
    fn scatter_by_hand() {
        // x = [1, 2], w = [1, 10, 100], stride 2, no crop, 5 outputs:
        // y = [1, 10, 100 + 2, 20, 200].
        let g = geom(2, 3, 2, 1, 0, 5);
        let mut y = [0.0f32; 5];
        forward(&g, &[1.0, 2.0], &[1.0, 10.0, 100.0], &[], &mut y);
        assert_eq!(y, [1.0, 10.0, 102.0, 20.0, 200.0]);
        let mut dx = [0.0f32; 2];
        backward_input(&g, &[1.0, 0.0, 0.0, 0.0, 1.0], &[1.0, 10.0, 100.0], &mut dx);
        assert_eq!(dx, [1.0, 100.0]);
        let (mut dw, mut db) = ([0.0f32; 3], [0.0f32; 1]);
        backward_params(
            &g,
            &[1.0, 2.0],
            &[1.0, 0.0, 0.0, 0.0, 1.0],
            &mut dw,
            &mut db,
        );
        assert_eq!(dw, [1.0, 0.0, 2.0]);
        assert_eq!(db, [2.0]);
    }

    #[test]
    fn invalid_geometries_do_nothing() {
        let mut bad = geom(2, 3, 2, 1, 0, 5);
        bad.stride_w = 0;
        assert!(!bad.is_valid());
        let mut y = [7.0f32; 5];
        forward(&bad, &[1.0, 2.0], &[1.0; 3], &[], &mut y);
        assert_eq!(y, [7.0; 5]);
        let mut huge = geom(2, 3, 2, 1, 0, 5);
        huge.in_w = usize::MAX;
        assert!(!huge.is_valid());
        let (mut dw, mut db) = ([0.0f32; 3], [0.0f32; 1]);
        backward_params(&huge, &[1.0, 2.0], &[0.0; 5], &mut dw, &mut db);
        let mut dx = [0.0f32; 2];
        backward_input(&huge, &[0.0; 5], &[1.0; 3], &mut dx);
        assert!(geom(2, 3, 2, 1, 0, 5).is_valid());
    }
}
