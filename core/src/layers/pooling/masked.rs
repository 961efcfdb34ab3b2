//! `GlobalAveragePooling1D` with a mask: Keras's masked mean over the steps, where the
//! mask comes from `Embedding(mask_zero=True)` (a step is kept when its token id is not
//! 0). The mask is never stored: it is read from the token ids themselves.

use crate::{Error, Result, Scalar, TensorView};

/// Checks shapes: `x` is `(batch, steps, channels)`, `ids` holds `batch·steps` token ids,
/// `out` `batch·channels` values; returns `(batch, steps, channels)`.
fn dims<T: Scalar>(x: &TensorView<'_, T>, ids: &[T], out: usize) -> Result<(usize, usize, usize)> {
    let s = x.shape();
    if s.rank() != 3 {
        return Err(Error::InvalidShape);
    }
    let (b, t, c) = (s.dim(0), s.dim(1), s.dim(2));
    if ids.len() != b * t {
        return Err(Error::ShapeMismatch {
            expected: b * t,
            found: ids.len(),
        });
    }
    if out != b * c {
        return Err(Error::ShapeMismatch {
            expected: b * c,
            found: out,
        });
    }
    Ok((b, t, c))
}

/// Forward: `y[b, c] = Σ_t m[b,t]·x[b,t,c] / Σ_t m[b,t]` with `m = (ids ≠ 0)` (Keras:
/// `sum(where(mask, x, 0)) / sum(mask)`; a sample whose every step is masked gives
/// `0 / 0`, NaN in f32, as in Keras).
pub fn masked_average_1d<T: Scalar>(x: TensorView<'_, T>, ids: &[T], y: &mut [T]) -> Result<()> {
    let (b, t, c) = dims(&x, ids, y.len())?;
    let xs = x.data();
    for s in 0..b {
        let row = &mut y[s * c..(s + 1) * c];
        row.fill(T::ZERO);
        let mut kept = 0usize;
        for step in 0..t {
            if ids[s * t + step] == T::ZERO {
                continue;
            }
            kept += 1;
            let at = (s * t + step) * c;
            for (o, &v) in row.iter_mut().zip(&xs[at..at + c]) {
                *o = *o + v;
            }
        }
        let n = T::from_usize(kept);
        for o in row.iter_mut() {
            *o = o.div(n);
        }
    }
    Ok(())
}

/// Backward: `dx[b,t,c] = m[b,t]·dy[b,c] / Σ_t m[b,t]`.
pub fn masked_average_1d_backward<T: Scalar>(
    x: TensorView<'_, T>,
    ids: &[T],
    dy: &[T],
    dx: &mut [T],
) -> Result<()> {
    let (b, t, c) = dims(&x, ids, dy.len())?;
    if dx.len() != x.data().len() {
        return Err(Error::ShapeMismatch {
            expected: x.data().len(),
            found: dx.len(),
        });
    }
    for s in 0..b {
        let kept = (0..t).filter(|&step| ids[s * t + step] != T::ZERO).count();
        let n = T::from_usize(kept);
        for step in 0..t {
            let at = (s * t + step) * c;
            let row = &mut dx[at..at + c];
            if ids[s * t + step] == T::ZERO {
                row.fill(T::ZERO);
            } else {
                for (d, &g) in row.iter_mut().zip(&dy[s * c..(s + 1) * c]) {
                    *d = g.div(n);
                }
            }
        }
    }
    Ok(())
}
