//! [`LayerNormalization`]: Keras's `keras.layers.LayerNormalization`.

use serde::{Deserialize, Serialize};

use super::moments::{inv_std, Split};
use crate::layers::activations::check;
use crate::layers::{Context, Layer, ParamShapes, TensorMask};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// Layer normalization: Keras's `keras.layers.LayerNormalization(axis=-1, epsilon=1e-3,
/// center=True, scale=True)`.
///
/// Each sample is normalized over the axes in `axes` (its mean and biased variance over
/// those axes), then scaled and shifted elementwise, computed as Keras does:
/// `inv = gamma / sqrt(var + epsilon)`, `y = x · inv + (beta − mean · inv)`.
///
/// The normalized axes must be the trailing axes of the input (`-1`, the default; or e.g.
/// `[1, 2, 3]`, all of an image's axes), so that each group is a contiguous run of
/// elements. Parameters, in Keras's order: `gamma` (if `scale`), `beta` (if `center`),
/// each with the normalized axes' shape. No state: training and inference compute the
/// same thing.
///
/// ```
/// use ember_nn::layers::{Context, Layer, LayerNormalization};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let ln = LayerNormalization::last_axis(0.0);
/// let (gamma, beta) = ([1.0f32, 2.0], [0.0f32, 1.0]);
/// let x = [1.0f32, 3.0]; // mean 2, variance 1
/// let mut y = [0.0f32; 2];
/// let s = Shape::new(&[1, 2]).unwrap();
/// ln.forward(
///     &[&gamma, &beta],
///     TensorView::new(s, &x).unwrap(),
///     TensorViewMut::new(s, &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [-1.0, 3.0]); // (−1)·1 + 0, (+1)·2 + 1
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerNormalization {
    /// The normalized axes as Keras saves them (counting the batch as axis 0, negative
    /// from the end); the first `n_axes` entries are used.
    pub axes: [i8; MAX_RANK],
    /// Number of normalized axes.
    pub n_axes: u8,
    /// Added to the variance (`epsilon=`).
    pub epsilon: f32,
    /// Whether there is a `beta` offset (`center=`).
    pub center: bool,
    /// Whether there is a `gamma` scale (`scale=`).
    pub scale: bool,
}

// The f32 field is finite (the converter checks), so equality is an equivalence.
impl Eq for LayerNormalization {}

impl LayerNormalization {
    /// Keras's defaults with `epsilon`: normalize the last axis, with gamma and beta.
    pub const fn last_axis(epsilon: f32) -> Self {
        LayerNormalization {
            axes: [-1, 0, 0, 0, 0],
            n_axes: 1,
            epsilon,
            center: true,
            scale: true,
        }
    }

    /// Keras's `axis` option (one axis or a list, counting the batch as axis 0); `None`
    /// for an empty list, more than [`MAX_RANK`] axes, or an axis outside `-5..=5`.
    pub fn with_axes(self, axes: &[i64]) -> Option<Self> {
        if axes.is_empty() || axes.len() > MAX_RANK {
            return None;
        }
        let mut out = [0i8; MAX_RANK];
        for (o, &a) in out.iter_mut().zip(axes) {
            if !(-(MAX_RANK as i64)..=MAX_RANK as i64).contains(&a) {
                return None;
            }
            *o = a as i8;
        }
        Some(LayerNormalization {
            axes: out,
            n_axes: axes.len() as u8,
            ..self
        })
    }

    /// How many trailing axes of a `rank`-dimensional sample are normalized;
    /// [`Error::InvalidConfig`] unless the axes are exactly the last `k` axes, `k ≥ 1`.
    fn trailing_axes(&self, rank: usize) -> Result<usize> {
        let bad = Error::InvalidConfig(
            "LayerNormalization.axis must be the input's trailing (non-batch) axes",
        );
        let k = self.n_axes as usize;
        if k == 0 || k > rank || k > MAX_RANK {
            return Err(bad);
        }
        let full = rank as i64 + 1;
        let mut seen = [false; MAX_RANK + 1];
        for &a in &self.axes[..k] {
            let r = if a < 0 { full + a as i64 } else { a as i64 };
            if r < 1 || r >= full || seen[r as usize] {
                return Err(bad);
            }
            seen[r as usize] = true;
        }
        if (rank + 1 - k..=rank).all(|d| seen[d]) {
            Ok(k)
        } else {
            Err(bad)
        }
    }

    /// Elements per normalized group for an input shape (no batch).
    fn group(&self, input: Shape) -> Result<usize> {
        let k = self.trailing_axes(input.rank())?;
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(Error::InvalidConfig(
                "LayerNormalization.epsilon must be finite and >= 0",
            ));
        }
        Ok(input.dims()[input.rank() - k..]
            .iter()
            .map(|&d| d as usize)
            .product())
    }

    /// (gamma, beta), empty when absent, checked against the group length.
    fn unpack<'p, T>(&self, params: &[&'p [T]], g: usize) -> Result<(&'p [T], &'p [T])> {
        check(self.scale as usize + self.center as usize, params.len())?;
        for p in params {
            check(g, p.len())?;
        }
        let mut it = params.iter().copied();
        let gamma = if self.scale { it.next() } else { None };
        let beta = if self.center { it.next() } else { None };
        Ok((gamma.unwrap_or(&[]), beta.unwrap_or(&[])))
    }

    /// Mean and `1 / sqrt(var + epsilon)` of one group.
    fn stats<T: Scalar>(&self, row: &[T]) -> (T, T) {
        let (mean, var) = Split::run(row.len()).moments(row, 0);
        (mean, inv_std(var, self.epsilon))
    }

    /// The group length and the number of groups of a batched shape.
    fn groups(&self, x: Shape) -> Result<(usize, usize)> {
        if x.rank() < 2 {
            return Err(Error::InvalidShape);
        }
        let dims: &[u32] = x.dims();
        let mut sample = [0usize; MAX_RANK];
        for (d, &v) in sample.iter_mut().zip(&dims[1..]) {
            *d = v as usize;
        }
        let g = self.group(Shape::new(&sample[..dims.len() - 1])?)?;
        Ok((g, x.len() / g.max(1)))
    }
}

impl Layer for LayerNormalization {
    const KERAS_CLASS: &'static str = "LayerNormalization";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        self.group(input)?;
        Ok(input)
    }

    fn param_shapes(&self, input: Shape) -> Result<ParamShapes> {
        self.group(input)?;
        let k = self.trailing_axes(input.rank())?;
        let mut dims = [0usize; MAX_RANK];
        for (d, &v) in dims.iter_mut().zip(&input.dims()[input.rank() - k..]) {
            *d = v as usize;
        }
        let shape = Shape::new(&dims[..k])?;
        let mut shapes = ParamShapes::new();
        for _ in 0..(self.scale as usize + self.center as usize) {
            // At most 2 <= MAX_PARAMS: the pushes cannot fail.
            let _ = shapes.push(shape);
        }
        Ok(shapes)
    }

    /// One multiply-add per element (plus the statistics, not counted).
    fn macs(&self, input: Shape) -> usize {
        input.len()
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
        _ctx: &Context,
    ) -> Result<()> {
        let (g, _) = self.groups(x.shape())?;
        let (gamma, beta) = self.unpack(params, g)?;
        check(x.shape().len(), y.shape().len())?;
        for (xr, yr) in x.data().chunks_exact(g).zip(y.data().chunks_exact_mut(g)) {
            let (mean, r) = self.stats(xr);
            for j in 0..g {
                let inv = if self.scale { r * gamma[j] } else { r };
                let mut res = -mean * inv;
                if self.center {
                    res = res + beta[j];
                }
                yr[j] = xr[j] * inv + res;
            }
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        dx: Option<&mut [T]>,
        dparams: Option<&mut [T]>,
        ctx: &Context,
    ) -> Result<()> {
        let all = TensorMask::first(self.scale as usize + self.center as usize);
        self.backward_masked(params, x, y, dy, dx, dparams, all, ctx)
    }

    /// Any subset of `gamma` and `beta` (their gradients are independent sums).
    fn backward_masked<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        y: TensorView<'_, T>,
        dy: &mut [T],
        mut dx: Option<&mut [T]>,
        mut dparams: Option<&mut [T]>,
        wanted: TensorMask,
        _ctx: &Context,
    ) -> Result<()> {
        let (g, rows) = self.groups(x.shape())?;
        let (gamma, _) = self.unpack(params, g)?;
        let len = x.shape().len();
        check(len, y.shape().len())?;
        check(len, dy.len())?;
        if let Some(dx) = dx.as_deref() {
            check(len, dx.len())?;
        }
        let n_tensors = self.scale as usize + self.center as usize;
        if wanted.intersect(TensorMask::first(n_tensors)) != wanted {
            return Err(Error::InvalidConfig(
                "LayerNormalization has no such trainable tensor",
            ));
        }
        // Wanted gradients: gamma's (tensor 0 when `scale`), then beta's.
        let want_gamma = self.scale && wanted.contains(0);
        let want_beta = self.center && wanted.contains(self.scale as usize);
        if let Some(dp) = dparams.as_deref_mut() {
            check(
                wanted.count().checked_mul(g).ok_or(Error::InvalidShape)?,
                dp.len(),
            )?;
            dp.fill(T::ZERO);
        }
        let n = T::from_usize(g);
        for row in 0..rows {
            let xr = &x.data()[row * g..(row + 1) * g];
            let dyr = &mut dy[row * g..(row + 1) * g];
            let (mean, r) = self.stats(xr);
            if let Some(dp) = dparams.as_deref_mut() {
                let at = if want_gamma { g } else { 0 };
                for j in 0..g {
                    if want_gamma {
                        dp[j] = dp[j] + dyr[j] * ((xr[j] - mean) * r);
                    }
                    if want_beta {
                        dp[at + j] = dp[at + j] + dyr[j];
                    }
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                // d x̂ = dy · gamma; dx = r · (d x̂ − mean(d x̂) − x̂ · mean(d x̂ · x̂)).
                let (mut s, mut sx) = (T::ZERO.widen(), T::ZERO.widen());
                for j in 0..g {
                    if self.scale {
                        dyr[j] = dyr[j] * gamma[j];
                    }
                    s = T::mac(s, dyr[j], T::ONE);
                    sx = T::mac(sx, dyr[j], (xr[j] - mean) * r);
                }
                let (m, mx) = (T::narrow(s).div(n), T::narrow(sx).div(n));
                let dxr = &mut dx[row * g..(row + 1) * g];
                for j in 0..g {
                    let xhat = (xr[j] - mean) * r;
                    dxr[j] = r * (dyr[j] - m - xhat * mx);
                }
            }
        }
        Ok(())
    }

    /// `beta`, when `center`.
    fn bias_tensor(&self) -> Option<usize> {
        self.center.then_some(self.scale as usize)
    }
}
