//! The spatial resizing layers, channels last: Keras's `ZeroPadding1D`/`ZeroPadding2D`,
//! `Cropping1D`/`Cropping2D` and `UpSampling1D`/`UpSampling2D`
//! (`keras/src/layers/reshaping/`). None has parameters.
//!
//! Every one works on a `(h, w, c)` sample; the 1-D layers use `h = 1` (a `(steps, c)`
//! sample is `(1, steps, c)` in memory). Padding and cropping are the same operation,
//! a shifted copy ([`shift`]): `dst[y, x] = src[y − top, x − left]`, zero where that
//! falls outside `src`. Padding shifts by `+pad`, cropping by `−crop`, and each one's
//! backward pass is the other's forward pass (the adjoint of a shifted copy is the
//! opposite shift).

mod cropping;
mod up_sampling;
mod zero_padding;

pub use cropping::{Cropping1D, Cropping2D};
pub use up_sampling::{bilinear_taps, Interpolation, UpSampling1D, UpSampling2D};
pub use zero_padding::{ZeroPadding1D, ZeroPadding2D};

use crate::layers::engine::Engine;
use crate::layers::ParamShapes;
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// `Err(ShapeMismatch)` unless `expected == found`.
fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// `(h, w, c)` of a per-sample shape of rank `rank` (2: `(steps, c)` as `(1, steps, c)`;
/// 3: `(h, w, c)`), [`Error::InvalidShape`] for any other rank.
fn hwc(input: Shape, rank: usize) -> Result<(usize, usize, usize)> {
    match (rank, input.rank()) {
        (2, 2) => Ok((1, input.dim(0), input.dim(1))),
        (3, 3) => Ok((input.dim(0), input.dim(1), input.dim(2))),
        _ => Err(Error::InvalidShape),
    }
}

/// The per-sample shape (`rank` 2 or 3) for `(h, w, c)`.
fn shape_of(rank: usize, (h, w, c): (usize, usize, usize)) -> Result<Shape> {
    if rank == 2 {
        Shape::new(&[w, c])
    } else {
        Shape::new(&[h, w, c])
    }
}

/// The batch size and `(h, w, c)` of a batched shape whose samples have rank `rank`.
fn batched(x: Shape, rank: usize) -> Result<(usize, (usize, usize, usize))> {
    if x.rank() != rank + 1 {
        return Err(Error::InvalidShape);
    }
    let d = |i| x.dim(i);
    let s = if rank == 2 {
        (1, d(1), d(2))
    } else {
        (d(1), d(2), d(3))
    };
    Ok((d(0), s))
}

/// `src + a − b` along one axis, [`Error::InvalidShape`] when it is not positive or
/// overflows.
fn resized(src: usize, a: u32, b: u32) -> Result<usize> {
    src.checked_add(a as usize)
        .and_then(|v| v.checked_sub(b as usize))
        .filter(|&v| v > 0 && v <= u32::MAX as usize)
        .ok_or(Error::InvalidShape)
}

/// Shifted copy of every sample: `dst[y, x, :] = src[y − top, x − left, :]` where that is
/// inside `src` (`src_hw`), zero elsewhere; `dst_hw` is the destination's `(h, w)`.
/// `src` and `dst` hold the same number of samples of `c` channels (checked).
fn shift<T: Scalar>(
    src: &[T],
    src_hw: (usize, usize),
    dst: &mut [T],
    dst_hw: (usize, usize),
    c: usize,
    (top, left): (isize, isize),
) -> Result<()> {
    let n_src = elems(src_hw.0, src_hw.1, c)?;
    let n_dst = elems(dst_hw.0, dst_hw.1, c)?;
    if n_src == 0 || n_dst == 0 {
        return Err(Error::InvalidShape);
    }
    check(src.len() / n_src * n_dst, dst.len())?;
    check(src.len() / n_src * n_src, src.len())?;
    for (s, d) in src.chunks_exact(n_src).zip(dst.chunks_exact_mut(n_dst)) {
        for (y, row) in d.chunks_exact_mut(dst_hw.1 * c).enumerate() {
            let sy = (y as isize - top) as usize; // wraps to huge when negative
            for (x, px) in row.chunks_exact_mut(c).enumerate() {
                let sx = (x as isize - left) as usize;
                if sy < src_hw.0 && sx < src_hw.1 {
                    let at = (sy * src_hw.1 + sx) * c;
                    px.copy_from_slice(&s[at..at + c]);
                } else {
                    px.fill(T::ZERO);
                }
            }
        }
    }
    Ok(())
}

/// The geometry of a shifted copy: the output's `(h, w)` and the forward offset
/// `(top, left)` of [`shift`].
struct Shift {
    out_hw: (usize, usize),
    offset: (isize, isize),
}

/// Elements of an `(h, w, c)` sample, [`Error::InvalidShape`] past `u32` (as [`Shape`]).
fn elems(h: usize, w: usize, c: usize) -> Result<usize> {
    h.checked_mul(w)
        .and_then(|v| v.checked_mul(c))
        .filter(|&v| v <= u32::MAX as usize)
        .ok_or(Error::InvalidShape)
}

/// The engine of a padding (`sign = 1`) or cropping (`sign = −1`) layer on samples of
/// rank `rank`: `sides = [[top, bottom], [left, right]]` rows and columns added or
/// dropped.
#[derive(Debug, Clone, Copy)]
pub struct Border {
    rank: usize,
    sides: [[u32; 2]; 2],
    sign: isize,
}

impl Border {
    /// Zero padding by `sides`.
    fn pad(rank: usize, sides: [[u32; 2]; 2]) -> Self {
        Border {
            rank,
            sides,
            sign: 1,
        }
    }

    /// Cropping by `sides`.
    fn crop(rank: usize, sides: [[u32; 2]; 2]) -> Self {
        Border {
            rank,
            sides,
            sign: -1,
        }
    }

    /// `src + n` (padding) or `src − n` (cropping) along one axis, checked by
    /// `resized`.
    fn resize(&self, src: usize, n: u32) -> Result<usize> {
        if self.sign > 0 {
            resized(src, n, 0)
        } else {
            resized(src, 0, n)
        }
    }

    /// The output `(h, w, c)` for an `(h, w, c)` sample.
    fn out_hwc(&self, (h, w, c): (usize, usize, usize)) -> Result<(usize, usize, usize)> {
        let [[t, b], [l, r]] = self.sides;
        Ok((
            self.resize(self.resize(h, t)?, b)?,
            self.resize(self.resize(w, l)?, r)?,
            c,
        ))
    }

    /// The output `(h, w)` and the forward shift on an `(h, w, c)` sample.
    fn geometry(&self, input: (usize, usize, usize)) -> Result<Shift> {
        let (oh, ow, _) = self.out_hwc(input)?;
        Ok(Shift {
            out_hw: (oh, ow),
            offset: offsets(self.sides[0][0], self.sides[1][0], self.sign)?,
        })
    }
}

impl Engine for Border {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        shape_of(self.rank, self.out_hwc(hwc(input, self.rank)?)?)
    }

    /// None, once the input shape is checked.
    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.output_shape(input)?;
        Ok(ParamShapes::new())
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        check(0, params.len())?;
        let (_, (h, w, c)) = batched(x.shape(), self.rank)?;
        let g = self.geometry((h, w, c))?;
        shift(x.data(), (h, w), y.data(), g.out_hw, c, g.offset)
    }

    /// The opposite shift of `dy` into `dx`.
    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
    ) -> Result<()> {
        check(0, params.len())?;
        let (batch, (h, w, c)) = batched(x.shape(), self.rank)?;
        let g = self.geometry((h, w, c))?;
        let n_out = elems(g.out_hw.0, g.out_hw.1, c)?;
        check(
            batch.checked_mul(n_out).ok_or(Error::InvalidShape)?,
            y.data().len(),
        )?;
        check(y.data().len(), dy.len())?;
        if let Some(dx) = dx {
            check(x.data().len(), dx.len())?;
            let (t, l) = g.offset;
            shift(dy, g.out_hw, dx, (h, w), c, (-t, -l))?;
        }
        Ok(())
    }
}

/// Offsets as `isize`, [`Error::InvalidShape`] if one does not fit.
fn offsets(top: u32, left: u32, sign: isize) -> Result<(isize, isize)> {
    let t = isize::try_from(top).map_err(|_| Error::InvalidShape)?;
    let l = isize::try_from(left).map_err(|_| Error::InvalidShape)?;
    Ok((sign * t, sign * l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_pads_and_crops() {
        // (1, 3, 1) → pad 1 before, 2 after → (1, 6, 1).
        let x = [1.0f32, 2.0, 3.0];
        let mut y = [9.0f32; 6];
        shift(&x, (1, 3), &mut y, (1, 6), 1, (0, 1)).unwrap();
        assert_eq!(y, [0.0, 1.0, 2.0, 3.0, 0.0, 0.0]);
        // The adjoint: crop 1 before, 2 after.
        let mut back = [0.0f32; 3];
        shift(&y, (1, 6), &mut back, (1, 3), 1, (0, -1)).unwrap();
        assert_eq!(back, x);
        assert!(shift(&x, (1, 3), &mut y[..5], (1, 6), 1, (0, 1)).is_err());
    }
}
