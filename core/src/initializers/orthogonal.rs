//! Keras's `keras.initializers.Orthogonal(gain=1.0)`: the Q factor of a Gaussian matrix,
//! computed in caller-provided `f32` scratch.
//!
//! Keras flattens the shape to a matrix of `rows = shape[0]·…·shape[-2]` by
//! `cols = shape[-1]`, draws a standard normal matrix `A` of shape `(m, n) = (max(rows,
//! cols), min(rows, cols))`, takes the reduced QR factorization `A = Q·R`, multiplies
//! column `j` of `Q` by `sign(R[j, j])` (so the factorization is the unique one whose `R`
//! has a positive diagonal, whatever sign convention the QR routine used), transposes `Q`
//! if `rows < cols`, and multiplies by `gain`. The result has orthonormal columns (tall)
//! or rows (wide), scaled by `gain`.
//!
//! Ember does the same with Householder reflections in `f32` ([`orthogonalize`]). Given
//! the same `A`, the result equals Keras's up to `f32` rounding (tested against Keras
//! outputs); the `A` itself comes from [`Rng`], not from JAX's generator.

use crate::random::Rng;
use crate::{Error, Result, Scalar, Shape};

/// `(rows, cols)` of the matrix a shape is flattened to: all dimensions but the last, by
/// the last. [`Error::InvalidConfig`] below rank 2 (Keras raises `ValueError`).
pub fn matrix_dims(shape: &Shape) -> Result<(usize, usize)> {
    if shape.rank() < 2 {
        return Err(Error::InvalidConfig(
            "Orthogonal needs a weight of rank 2 or more",
        ));
    }
    let cols = shape.last();
    Ok((shape.len() / cols, cols))
}

/// `f32` scratch elements [`orthogonalize`] needs for `shape`: with `m = max(rows, cols)`
/// and `n = min(rows, cols)`, `m·n` for the matrix, `2n` for the diagonal of `R` and the
/// reflector coefficients, and `m` for one column of `Q`. 0 below rank 2.
pub fn scratch_len(shape: &Shape) -> usize {
    match matrix_dims(shape) {
        Ok((rows, cols)) => {
            let (m, n) = (rows.max(cols), rows.min(cols));
            (m.saturating_mul(n))
                .saturating_add(n.saturating_mul(2))
                .saturating_add(m)
        }
        Err(_) => 0,
    }
}

/// Draws Keras's Gaussian matrix from `rng` into the scratch and orthogonalizes it into
/// `out` (see [`orthogonalize`] for the errors).
pub fn fill<T: Scalar>(
    shape: &Shape,
    gain: f32,
    rng: &mut Rng,
    scratch: &mut [f32],
    out: &mut [T],
) -> Result<()> {
    let (rows, cols) = matrix_dims(shape)?;
    check_sizes(shape, scratch, out)?;
    for a in scratch[..rows * cols].iter_mut() {
        *a = rng.normal();
    }
    orthogonalize(shape, gain, scratch, out)
}

fn check_sizes<T>(shape: &Shape, scratch: &[f32], out: &[T]) -> Result<()> {
    if out.len() != shape.len() {
        return Err(Error::ShapeMismatch {
            expected: shape.len(),
            found: out.len(),
        });
    }
    let needed = scratch_len(shape);
    if scratch.len() < needed {
        return Err(Error::ArenaTooSmall {
            needed: needed.saturating_mul(4),
            available: scratch.len().saturating_mul(4),
        });
    }
    Ok(())
}

/// The deterministic half of `Orthogonal`: on entry `scratch[..m·n]` holds the matrix `A`
/// of shape `(m, n) = (max(rows, cols), min(rows, cols))`, row-major (Keras's `a`);
/// `out` receives `gain · Q·diag(sign(diag R))`, transposed when `rows < cols`, in the
/// layout of `shape`. The scratch is overwritten.
///
/// Errors: [`Error::InvalidConfig`] below rank 2, [`Error::ShapeMismatch`] if
/// `out.len() != shape.len()`, [`Error::ArenaTooSmall`] (in bytes, 4 per `f32`) if
/// `scratch` is shorter than [`scratch_len`].
///
/// As in Keras, a zero on `R`'s diagonal (a rank-deficient `A`, probability 0) gives a
/// zero column, since `sign(0) = 0`.
///
/// ```
/// use ember_nn::initializers::orthogonal::{orthogonalize, scratch_len};
/// use ember_nn::Shape;
/// let shape = Shape::new(&[2, 2]).unwrap();
/// let mut scratch = [0.0f32; 10]; // 2·2 + 2·2 + 2
/// assert_eq!(scratch_len(&shape), 10);
/// scratch[..4].copy_from_slice(&[0.0, -2.0, 3.0, 0.0]);
/// let mut out = [0.0f32; 4];
/// orthogonalize(&shape, 1.0, &mut scratch, &mut out).unwrap();
/// assert_eq!(out, [0.0, -1.0, 1.0, 0.0]);
/// ```
pub fn orthogonalize<T: Scalar>(
    shape: &Shape,
    gain: f32,
    scratch: &mut [f32],
    out: &mut [T],
) -> Result<()> {
    let (rows, cols) = matrix_dims(shape)?;
    check_sizes(shape, scratch, out)?;
    let (m, n) = (rows.max(cols), rows.min(cols));
    let (a, rest) = scratch.split_at_mut(m * n);
    let (r_diag, rest) = rest.split_at_mut(n);
    let (beta, rest) = rest.split_at_mut(n);
    let column = &mut rest[..m];

    householder_qr(a, m, n, r_diag, beta);

    for j in 0..n {
        // Column j of Q = H_0 · H_1 · … · H_{n−1} · e_j.
        column.fill(0.0);
        column[j] = 1.0;
        for k in (0..n).rev() {
            reflect(a, n, k, beta[k], column);
        }
        let factor = sign(r_diag[j]) * gain;
        for (i, &q) in column.iter().enumerate() {
            let index = if rows >= cols {
                i * cols + j
            } else {
                j * cols + i
            };
            out[index] = T::from_f32(q * factor);
        }
    }
    Ok(())
}

/// Keras's `ops.sign`: −1, 0 or 1.
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Householder QR of the row-major `m × n` matrix `a` (`m ≥ n`), in place: reflector `k`
/// is `H_k = I − β_k v_k v_kᵀ` with `v_k` stored in column `k`, rows `k..m`; `R`'s
/// diagonal goes to `r_diag` (its strict upper triangle is left in `a` and not needed).
fn householder_qr(a: &mut [f32], m: usize, n: usize, r_diag: &mut [f32], beta: &mut [f32]) {
    for k in 0..n {
        let x0 = a[k * n + k];
        let mut norm2 = 0.0f32;
        for i in k..m {
            let x = a[i * n + k];
            norm2 += x * x;
        }
        let alpha = libm::sqrtf(norm2);
        if alpha == 0.0 {
            // Nothing to annihilate: H_k = I and R[k, k] = 0.
            r_diag[k] = 0.0;
            beta[k] = 0.0;
            continue;
        }
        // Reflect x onto −sign(x0)·‖x‖·e_0, so v_0 = x0 + sign(x0)·‖x‖ has no cancellation
        // and vᵀv = 2‖x‖(‖x‖ + |x0|).
        let r = if x0 >= 0.0 { -alpha } else { alpha };
        a[k * n + k] = x0 - r;
        let b = 1.0 / (alpha * (alpha + x0.abs()));
        r_diag[k] = r;
        beta[k] = b;
        for j in k + 1..n {
            let mut dot = 0.0f32;
            for i in k..m {
                dot += a[i * n + k] * a[i * n + j];
            }
            let s = b * dot;
            for i in k..m {
                a[i * n + j] -= s * a[i * n + k];
            }
        }
    }
}

/// `x ← H_k x` for a vector `x` of length `m`.
fn reflect(a: &[f32], n: usize, k: usize, beta: f32, x: &mut [f32]) {
    if beta == 0.0 {
        return;
    }
    let mut dot = 0.0f32;
    for (i, xi) in x.iter().enumerate().skip(k) {
        dot += a[i * n + k] * xi;
    }
    let s = beta * dot;
    for (i, xi) in x.iter_mut().enumerate().skip(k) {
        *xi -= s * a[i * n + k];
    }
}
