//! Fully connected layer kernels: `y = x · W + b` over `rows` rows, Keras's kernel layout
//! `W[in][out]` (row-major, `(in, out)`).
//!
//! All slices are checked by the caller ([`crate::layers::Dense`]); these functions only
//! iterate, with `chunks_exact`/`zip` so the inner loops carry no bounds checks.

use crate::Scalar;

/// `y[r, j] = b[j] + Σ_i x[r, i] · w[i, j]` for every row `r`; `bias` may be empty
/// (`use_bias=False`). Accumulates in [`Scalar::Acc`] and rounds once per output.
pub fn forward<T: Scalar>(x: &[T], w: &[T], bias: &[T], y: &mut [T], n_in: usize, n_out: usize) {
    if n_in == 0 || n_out == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        for (j, yj) in yr.iter_mut().enumerate() {
            let mut acc = bias.get(j).copied().unwrap_or(T::ZERO).widen();
            // Column j of W: elements j, j + n_out, j + 2·n_out, ...
            for (&xi, &wij) in xr
                .iter()
                .zip(w.get(j..).unwrap_or(&[]).iter().step_by(n_out))
            {
                acc = T::mac(acc, xi, wij);
            }
            *yj = T::narrow(acc);
        }
    }
}

/// Parameter gradients: `dw[i, j] = Σ_r x[r, i] · dz[r, j]`, `db[j] = Σ_r dz[r, j]`
/// (`db` may be empty). Overwrites `dw` and `db`.
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
    for (i, dwr) in dw.chunks_exact_mut(n_out).enumerate() {
        for (j, dwij) in dwr.iter_mut().enumerate() {
            let mut acc = T::ZERO.widen();
            let xcol = x.iter().skip(i).step_by(n_in);
            let dzcol = dz.iter().skip(j).step_by(n_out);
            for (&xi, &dzj) in xcol.zip(dzcol) {
                acc = T::mac(acc, xi, dzj);
            }
            *dwij = T::narrow(acc);
        }
    }
    for (j, dbj) in db.iter_mut().enumerate() {
        let mut acc = T::ZERO.widen();
        for &dzj in dz.iter().skip(j).step_by(n_out) {
            acc = T::mac(acc, dzj, T::ONE);
        }
        *dbj = T::narrow(acc);
    }
}

/// Input gradient: `dx[r, i] = Σ_j dz[r, j] · w[i, j]`.
pub fn backward_input<T: Scalar>(dz: &[T], w: &[T], dx: &mut [T], n_in: usize, n_out: usize) {
    if n_in == 0 || n_out == 0 {
        return;
    }
    for (dzr, dxr) in dz.chunks_exact(n_out).zip(dx.chunks_exact_mut(n_in)) {
        for (dxi, wr) in dxr.iter_mut().zip(w.chunks_exact(n_out)) {
            let mut acc = T::ZERO.widen();
            for (&d, &wij) in dzr.iter().zip(wr) {
                acc = T::mac(acc, d, wij);
            }
            *dxi = T::narrow(acc);
        }
    }
}
