//! [`UpSampling1D`] and [`UpSampling2D`]: Keras's `keras.layers.UpSampling1D` and
//! `keras.layers.UpSampling2D`.
//!
//! `nearest` repeats each input `size` times along each axis (Keras's `ops.repeat`); its
//! backward pass sums the gradient over each block. `bilinear` is what Keras 3's JAX
//! backend computes, `jax.image.resize(x, (h·s_h, w·s_w), "bilinear", antialias=False)`:
//! separable triangle-kernel interpolation with half-pixel centres, output `o` sampling
//! input position `p = (o + ½)/s − ½`, weights `1 − |p − i|` on the two inputs around
//! it, renormalised over the inputs that exist — so at the borders (`p < 0` or
//! `p > n − 1`) the output copies the edge input. With an integer factor `p` is the
//! rational `(2o + 1 − s) / 2s`; [`bilinear_taps`] evaluates it exactly. Its backward
//! pass is the transposed interpolation (each input gathers the outputs it fed, with the
//! same weights).

use serde::{Deserialize, Serialize};

use super::{batched, check, elems, hwc, shape_of};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Keras's `interpolation=` option of [`UpSampling2D`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Interpolation {
    /// `"nearest"`: repeat each pixel.
    Nearest,
    /// `"bilinear"`: JAX's bilinear resize (half-pixel centres, no antialiasing).
    Bilinear,
}

/// Repeats each step `size` times: Keras's `keras.layers.UpSampling1D(size=2)`,
/// `(steps, c)` → `(steps · size, c)`. The backward pass sums each block of `size`
/// gradients.
///
/// ```
/// use ember_nn::layers::{Context, Layer, UpSampling1D};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let up = UpSampling1D { size: 3 };
/// let x = [1.0f32, 2.0];
/// let mut y = [0.0f32; 6];
/// up.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 6, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UpSampling1D {
    /// Repetition factor (`size=`), positive.
    pub size: u32,
}

/// Scales a `(h, w, c)` sample by integer factors: Keras's
/// `keras.layers.UpSampling2D(size=(2, 2), interpolation="nearest")`, output
/// `(h · size_h, w · size_w, c)`, by repetition (`Nearest`) or JAX's bilinear resize
/// (`Bilinear`: `jax.image.resize(x, (h·s_h, w·s_w), "bilinear", antialias=False)`, as
/// Keras 3's JAX backend computes it; weights in [`bilinear_taps`]). Each one's backward
/// pass is its transpose: block sums for `Nearest`, each input gathering the outputs it
/// fed with the same weights for `Bilinear`.
///
/// ```
/// use ember_nn::layers::{Context, Interpolation, Layer, UpSampling2D};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// // Bilinear ×2 of a row [0, 4]: positions −¼, ¼, ¾, 1¼ → [0, 1, 3, 4] (edges clamp).
/// let up = UpSampling2D { size: [1, 2], interpolation: Interpolation::Bilinear };
/// let x = [0.0f32, 4.0];
/// let mut y = [0.0f32; 4];
/// up.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 1, 2, 1]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 1, 4, 1]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [0.0, 1.0, 3.0, 4.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UpSampling2D {
    /// Row and column factors (`size=`), positive.
    pub size: [u32; 2],
    /// `interpolation=`.
    pub interpolation: Interpolation,
}

/// The two inputs bilinear output `o` reads along an axis of `n` inputs scaled by
/// `size`, with their weights: input position `p = (2o + 1 − size) / (2·size)`,
/// `i = ⌊p⌋`, weights `1 − (p − i)` on `i` and `p − i` on `i + 1`; an input outside
/// `[0, n)` is dropped and the other weight renormalised to 1 (JAX's normalisation).
/// `size = 0` or `n = 0` reads nothing (zero weights).
pub fn bilinear_taps<T: Scalar>(o: usize, n: usize, size: usize) -> [(usize, T); 2] {
    let (Some(den), Some(num)) = (
        size.checked_mul(2),
        o.checked_mul(2).and_then(|v| v.checked_add(1)),
    ) else {
        return [(0, T::ZERO), (0, T::ZERO)];
    };
    if n == 0 || size == 0 {
        return [(0, T::ZERO), (0, T::ZERO)];
    }
    if num < size {
        // p < 0: only input 0 exists.
        return [(0, T::ONE), (0, T::ZERO)];
    }
    let num = num - size;
    let (i, r) = (num / den, num % den);
    if i + 1 >= n {
        // p ≥ n − 1: only input n − 1 exists (or p hits it exactly).
        return [(n - 1, T::ONE), (n - 1, T::ZERO)];
    }
    let d = T::from_usize(den);
    [
        (i, T::from_usize(den - r).div(d)),
        (i + 1, T::from_usize(r).div(d)),
    ]
}

/// Weight with which bilinear output `o` reads input `i` (0 if it does not).
fn bilinear_weight<T: Scalar>(o: usize, i: usize, n: usize, size: usize) -> T {
    let [(a, wa), (b, wb)] = bilinear_taps::<T>(o, n, size);
    let mut w = T::ZERO;
    if a == i {
        w = w + wa;
    }
    if b == i && b != a {
        w = w + wb;
    }
    w
}

/// Resolved geometry: input `(h, w, c)`, factors.
#[derive(Clone, Copy)]
struct Up {
    h: usize,
    w: usize,
    c: usize,
    sh: usize,
    sw: usize,
}

impl Up {
    fn new(size: [u32; 2], (h, w, c): (usize, usize, usize)) -> Result<Self> {
        if size[0] == 0 || size[1] == 0 {
            return Err(Error::InvalidConfig("UpSampling size must be positive"));
        }
        let u = Up {
            h,
            w,
            c,
            sh: size[0] as usize,
            sw: size[1] as usize,
        };
        elems(h, w, c)?;
        elems(u.oh()?, u.ow()?, c)?;
        Ok(u)
    }
    fn oh(&self) -> Result<usize> {
        self.h.checked_mul(self.sh).ok_or(Error::InvalidShape)
    }
    fn ow(&self) -> Result<usize> {
        self.w.checked_mul(self.sw).ok_or(Error::InvalidShape)
    }
}

fn forward<T: Scalar>(
    size: [u32; 2],
    interpolation: Interpolation,
    rank: usize,
    params: &[&[T]],
    x: TensorView<'_, T>,
    y: &mut [T],
) -> Result<()> {
    check(0, params.len())?;
    let (batch, s) = batched(x.shape(), rank)?;
    let u = Up::new(size, s)?;
    let (oh, ow, c) = (u.oh()?, u.ow()?, u.c);
    let (n_in, n_out) = (u.h * u.w * c, oh * ow * c);
    check(batch * n_in, x.data().len())?;
    check(batch * n_out, y.len())?;
    for (xs, ys) in x.data().chunks_exact(n_in).zip(y.chunks_exact_mut(n_out)) {
        for (oy, row) in ys.chunks_exact_mut(ow * c).enumerate() {
            for (ox, px) in row.chunks_exact_mut(c).enumerate() {
                match interpolation {
                    Interpolation::Nearest => {
                        let at = ((oy / u.sh) * u.w + ox / u.sw) * c;
                        px.copy_from_slice(&xs[at..at + c]);
                    }
                    Interpolation::Bilinear => {
                        let ty = bilinear_taps::<T>(oy, u.h, u.sh);
                        let tx = bilinear_taps::<T>(ox, u.w, u.sw);
                        for (ch, v) in px.iter_mut().enumerate() {
                            let mut acc = T::ZERO.widen();
                            for &(iy, wy) in &ty {
                                for &(ix, wx) in &tx {
                                    acc = T::mac(acc, wy * wx, xs[(iy * u.w + ix) * c + ch]);
                                }
                            }
                            *v = T::narrow(acc);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Outputs along one axis that read input `i` (a superset: bilinear taps reach at most
/// one factor beyond the input's own block).
fn reach(i: usize, size: usize, out: usize) -> core::ops::Range<usize> {
    (i * size).saturating_sub(size)..((i + 2) * size).min(out)
}

#[allow(clippy::too_many_arguments)] // mirrors Layer::backward
fn backward<T: Scalar>(
    size: [u32; 2],
    interpolation: Interpolation,
    rank: usize,
    params: &[&[T]],
    x: TensorView<'_, T>,
    y: TensorView<'_, T>,
    dy: &[T],
    dx: Option<&mut [T]>,
) -> Result<()> {
    check(0, params.len())?;
    let (batch, s) = batched(x.shape(), rank)?;
    let u = Up::new(size, s)?;
    let (oh, ow, c) = (u.oh()?, u.ow()?, u.c);
    let (n_in, n_out) = (u.h * u.w * c, oh * ow * c);
    check(batch * n_in, x.data().len())?;
    check(batch * n_out, y.data().len())?;
    check(batch * n_out, dy.len())?;
    let Some(dx) = dx else {
        return Ok(());
    };
    check(batch * n_in, dx.len())?;
    for (dys, dxs) in dy.chunks_exact(n_out).zip(dx.chunks_exact_mut(n_in)) {
        for (k, d) in dxs.iter_mut().enumerate() {
            let (ch, ix, iy) = (k % c, (k / c) % u.w, k / (c * u.w));
            let mut acc = T::ZERO.widen();
            match interpolation {
                Interpolation::Nearest => {
                    for oy in iy * u.sh..(iy + 1) * u.sh {
                        for ox in ix * u.sw..(ix + 1) * u.sw {
                            acc = T::mac(acc, dys[(oy * ow + ox) * c + ch], T::ONE);
                        }
                    }
                }
                Interpolation::Bilinear => {
                    for oy in reach(iy, u.sh, oh) {
                        let wy = bilinear_weight::<T>(oy, iy, u.h, u.sh);
                        if wy == T::ZERO {
                            continue;
                        }
                        for ox in reach(ix, u.sw, ow) {
                            let wx = bilinear_weight::<T>(ox, ix, u.w, u.sw);
                            if wx != T::ZERO {
                                acc = T::mac(acc, wy * wx, dys[(oy * ow + ox) * c + ch]);
                            }
                        }
                    }
                }
            }
            *d = T::narrow(acc);
        }
    }
    Ok(())
}

impl Layer for UpSampling1D {
    const KERAS_CLASS: &'static str = "UpSampling1D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let u = Up::new([1, self.size], hwc(input, 2)?)?;
        shape_of(2, (1, u.ow()?, u.c))
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.output_shape(input)?;
        Ok(ParamShapes::new())
    }

    fn macs(&self, _input: Shape) -> usize {
        0
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        forward(
            [1, self.size],
            Interpolation::Nearest,
            2,
            params,
            x,
            y.data(),
        )
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        backward(
            [1, self.size],
            Interpolation::Nearest,
            2,
            params,
            x,
            y,
            dy,
            dx,
        )
    }
}

impl Layer for UpSampling2D {
    const KERAS_CLASS: &'static str = "UpSampling2D";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let u = Up::new(self.size, hwc(input, 3)?)?;
        shape_of(3, (u.oh()?, u.ow()?, u.c))
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.output_shape(input)?;
        Ok(ParamShapes::new())
    }

    fn macs(&self, input: Shape) -> usize {
        // Bilinear: four weighted taps per output element; nearest copies.
        match (self.interpolation, self.output_shape(input)) {
            (Interpolation::Bilinear, Ok(s)) => 4 * s.len(),
            _ => 0,
        }
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        forward(self.size, self.interpolation, 3, params, x, y.data())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        _dparams: Option<&mut [T]>,
        _ctx: &Context,
    ) -> Result<()> {
        backward(self.size, self.interpolation, 3, params, x, y, dy, dx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_match_half_pixel_centres() {
        // ×2 over 3 inputs: p = −¼, ¼, ¾, 1¼, 1¾, 2¼.
        let t = |o| bilinear_taps::<f32>(o, 3, 2);
        assert_eq!(t(0), [(0, 1.0), (0, 0.0)]);
        assert_eq!(t(1), [(0, 0.75), (1, 0.25)]);
        assert_eq!(t(2), [(0, 0.25), (1, 0.75)]);
        assert_eq!(t(4), [(1, 0.25), (2, 0.75)]);
        assert_eq!(t(5), [(2, 1.0), (2, 0.0)]);
        // ×3: p = −⅓, 0, ⅓: o = 1 hits input 0 exactly.
        assert_eq!(bilinear_taps::<f32>(1, 2, 3), [(0, 1.0), (1, 0.0)]);
        // One input: always it.
        assert_eq!(bilinear_taps::<f32>(1, 1, 2), [(0, 1.0), (0, 0.0)]);
    }
}
