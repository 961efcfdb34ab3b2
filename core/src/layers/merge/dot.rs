//! [`Dot`]: Keras's `keras.layers.Dot` (`keras/src/layers/merging/dot.py`, its
//! `batch_dot` and `ops.normalize`).

use serde::{Deserialize, Serialize};

use super::{check_grads, check_output, sample_shapes, Merge, MAX_MERGE_INPUTS};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// The batched dot product of two inputs along one axis of each: Keras's
/// `keras.layers.Dot(axes, normalize=False)`.
///
/// `axes` counts the batch axis, as in Keras (an int `a` in Keras is `[a, a]`). Keras
/// resolves a negative axis modulo the input's rank (with the batch), as Python's `%`
/// does; the batch axis itself is refused. Both inputs have rank ≥ 2 with the batch,
/// and `x₀.shape[axes[0]] == x₁.shape[axes[1]]` (= K).
///
/// As Keras's `batch_dot`, for each sample `b`:
/// `y[b, I, J] = Σ_k x₀[b, I with k at axes[0]] · x₁[b, J with k at axes[1]]`, where `I`
/// runs over `x₀`'s other axes and `J` over `x₁`'s other non-batch axes, in order: the
/// output's per-sample shape is `x₀`'s without the axis, then `x₁`'s without the axis,
/// or `(1,)` when both are vectors. Dot products accumulate in [`Scalar::Acc`].
///
/// `normalize=True` first L2-normalizes each input along its dot axis as Keras's
/// `ops.normalize` does: `x · min(1/√(Σ x²), 1/ε)` with `ε = 1e-7` (Keras's
/// `backend.epsilon()`), so the output is the cosine similarity. Its backward pass
/// (`∂u/∂x = r·(g − u·Σ g u)` for `u = r·x`; just `g/ε` where the clamp holds) sums the
/// normalized-input gradient into the `dx` buffer first, in the scalar type rather than
/// the wide accumulator, since no scratch memory holds the other input's norms.
///
/// ```
/// use ember_nn::layers::{Dot, Merge};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap(); // batch 1, vectors of 2
/// let (a, b) = ([1.0f32, 2.0], [3.0f32, 4.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 1];
/// let dot = Dot { axes: [-1, -1], normalize: false };
/// dot.forward(&xs, TensorViewMut::new(Shape::new(&[1, 1]).unwrap(), &mut y).unwrap()).unwrap();
/// assert_eq!(y, [11.0]); // 1·3 + 2·4, shape (batch, 1) as in Keras
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dot {
    /// The dot axis of each input, counting the batch axis (`axes=`).
    pub axes: [i32; 2],
    /// Whether to L2-normalize both inputs along their dot axes first (`normalize=`).
    pub normalize: bool,
}

/// Keras's `backend.epsilon()`: `normalize` clamps `1/‖x‖` at `1/ε`.
const EPSILON: f32 = 1e-7;

/// One input seen as `(batch, outer, K, inner)`: the axes before the dot axis, the dot
/// axis, the axes after it. A *fiber* `f = o·inner + i` is the K values at `(o, ·, i)`.
#[derive(Debug, Clone, Copy)]
struct Side {
    outer: usize,
    k: usize,
    inner: usize,
}

impl Side {
    fn fibers(&self) -> usize {
        self.outer * self.inner
    }

    /// Offset of element 0 of fiber `f` of sample `b`; element `k` is `inner` further.
    fn start(&self, b: usize, f: usize) -> usize {
        ((b * self.outer + f / self.inner) * self.k) * self.inner + f % self.inner
    }
}

/// The resolved geometry: both sides and the output's per-sample shape.
struct Geometry {
    sides: [Side; 2],
    out: Shape,
}

impl Geometry {
    /// Offset in `y` of sample `b`, fiber `f0` of `x₀` and fiber `f1` of `x₁`.
    fn y_at(&self, b: usize, f0: usize, f1: usize) -> usize {
        (b * self.sides[0].fibers() + f0) * self.sides[1].fibers() + f1
    }
}

impl Dot {
    /// The dot axis of input `i` as an index into its per-sample shape of rank `rank`.
    fn sample_axis(&self, i: usize, rank: usize) -> Result<usize> {
        let batched = rank as i64 + 1;
        let a = self.axes[i] as i64;
        // Keras: a negative axis is taken modulo the rank (Python's `%`).
        let a = if a < 0 { a.rem_euclid(batched) } else { a };
        if a == 0 || a >= batched {
            return Err(Error::InvalidConfig(
                "Dot.axes must name a non-batch axis of each input",
            ));
        }
        Ok(a as usize - 1)
    }

    fn geometry(&self, inputs: &[Shape]) -> Result<Geometry> {
        if inputs.len() != 2 {
            return Err(Error::InvalidConfig("Dot takes exactly 2 inputs"));
        }
        let mut sides = [Side {
            outer: 1,
            k: 1,
            inner: 1,
        }; 2];
        let mut out = [0usize; MAX_RANK];
        let mut rank = 0;
        for (i, (s, side)) in inputs.iter().zip(sides.iter_mut()).enumerate() {
            if s.rank() == 0 {
                return Err(Error::InvalidConfig(
                    "Dot inputs need rank >= 2 with the batch axis",
                ));
            }
            let axis = self.sample_axis(i, s.rank())?;
            let d = |r: core::ops::Range<usize>| s.dims()[r].iter().map(|&d| d as usize).product();
            *side = Side {
                outer: d(0..axis),
                k: s.dim(axis),
                inner: d(axis + 1..s.rank()),
            };
            for (k, &dim) in s.dims().iter().enumerate() {
                if k != axis {
                    if rank + 1 >= MAX_RANK {
                        return Err(Error::InvalidShape);
                    }
                    out[rank] = dim as usize;
                    rank += 1;
                }
            }
        }
        if sides[0].k != sides[1].k {
            return Err(Error::InvalidConfig(
                "Dot inputs differ in size along their dot axes",
            ));
        }
        if rank == 0 {
            out[0] = 1;
            rank = 1;
        }
        Ok(Geometry {
            sides,
            out: Shape::new(&out[..rank])?,
        })
    }

    /// Per-sample shapes of the two views, their batch and the geometry; checks `y`.
    fn resolve<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: Shape) -> Result<(usize, Geometry)> {
        let mut shapes = [Shape::new(&[])?; MAX_MERGE_INPUTS];
        let batch = sample_shapes(xs, xs.len() == 2, &mut shapes)?;
        let g = self.geometry(&shapes[..2])?;
        check_output(batch, g.out, y)?;
        Ok((batch, g))
    }

    /// `1/‖x‖` over the `k` values `x[start], x[start + stride], …`, clamped at `1/ε`;
    /// `true` when the clamp holds.
    fn inv_norm<T: Scalar>(x: &[T], start: usize, stride: usize, k: usize) -> (T, bool) {
        let mut acc = T::ZERO.widen();
        for j in 0..k {
            let v = x[start + j * stride];
            acc = T::mac(acc, v, v);
        }
        let r = T::ONE.div(T::narrow(acc).sqrt());
        let cap = T::from_f32(1.0 / EPSILON);
        if r < cap {
            (r, false)
        } else {
            (cap, true)
        }
    }

    /// `1/‖fiber‖` when normalizing, else 1.
    fn scale<T: Scalar>(&self, x: &[T], side: Side, b: usize, f: usize) -> T {
        if self.normalize {
            Self::inv_norm(x, side.start(b, f), side.inner, side.k).0
        } else {
            T::ONE
        }
    }

    /// `∂L/∂x_a` (input `a`, the other being `o = 1 − a`) without normalization:
    /// `dx_a[b, fa, k] = Σ_fo dy[b, fa, fo] · x_o[b, fo, k]`, accumulated in `T::Acc`.
    fn input_grad<T: Scalar>(
        g: &Geometry,
        batch: usize,
        a: usize,
        x_o: &[T],
        dy: &[T],
        dx: &mut [T],
    ) {
        let (sa, so) = (g.sides[a], g.sides[1 - a]);
        for b in 0..batch {
            for fa in 0..sa.fibers() {
                for k in 0..sa.k {
                    let mut acc = T::ZERO.widen();
                    for fo in 0..so.fibers() {
                        let at = if a == 0 {
                            g.y_at(b, fa, fo)
                        } else {
                            g.y_at(b, fo, fa)
                        };
                        acc = T::mac(acc, dy[at], x_o[so.start(b, fo) + k * so.inner]);
                    }
                    dx[sa.start(b, fa) + k * sa.inner] = T::narrow(acc);
                }
            }
        }
    }

    /// `∂L/∂x_a` with normalization: first `g = ∂L/∂u_a` (u the normalized input) summed
    /// into `dx` fiber by fiber of the other input (its norm computed once per fiber),
    /// then, per fiber of `x_a`, `dx = r·(g − u·Σ g u)` in place.
    #[allow(clippy::too_many_arguments)] // both inputs, both buffers, geometry and batch
    fn normalized_input_grad<T: Scalar>(
        &self,
        g: &Geometry,
        batch: usize,
        a: usize,
        x_a: &[T],
        x_o: &[T],
        dy: &[T],
        dx: &mut [T],
    ) {
        let (sa, so) = (g.sides[a], g.sides[1 - a]);
        dx.fill(T::ZERO);
        for b in 0..batch {
            for fo in 0..so.fibers() {
                let r_o = self.scale(x_o, so, b, fo);
                let o0 = so.start(b, fo);
                for fa in 0..sa.fibers() {
                    let at = if a == 0 {
                        g.y_at(b, fa, fo)
                    } else {
                        g.y_at(b, fo, fa)
                    };
                    let w = dy[at] * r_o;
                    let a0 = sa.start(b, fa);
                    for k in 0..sa.k {
                        let d = &mut dx[a0 + k * sa.inner];
                        *d = *d + w * x_o[o0 + k * so.inner];
                    }
                }
            }
            for fa in 0..sa.fibers() {
                let a0 = sa.start(b, fa);
                let (r, clamped) = Self::inv_norm(x_a, a0, sa.inner, sa.k);
                if clamped {
                    // u = x/ε: a constant scale.
                    for k in 0..sa.k {
                        let d = &mut dx[a0 + k * sa.inner];
                        *d = *d * r;
                    }
                    continue;
                }
                // Σ_k g_k u_k = r · Σ_k g_k x_k.
                let mut acc = T::ZERO.widen();
                for k in 0..sa.k {
                    acc = T::mac(acc, dx[a0 + k * sa.inner], x_a[a0 + k * sa.inner]);
                }
                let gu = T::narrow(acc) * r;
                for k in 0..sa.k {
                    let at = a0 + k * sa.inner;
                    let u = x_a[at] * r;
                    dx[at] = r * (dx[at] - u * gu);
                }
            }
        }
    }
}

impl Merge for Dot {
    const KERAS_CLASS: &'static str = "Dot";

    fn input_count_ok(&self, n: usize) -> bool {
        n == 2
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        self.geometry(inputs).map(|g| g.out)
    }

    fn macs(&self, inputs: &[Shape]) -> usize {
        match self.geometry(inputs) {
            Ok(g) => g.sides[0].fibers() * g.sides[1].fibers() * g.sides[0].k,
            Err(_) => 0,
        }
    }

    fn forward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        let (batch, g) = self.resolve(xs, y.shape())?;
        let (x0, x1) = (xs[0].data(), xs[1].data());
        let [s0, s1] = g.sides;
        let y = y.data();
        for b in 0..batch {
            for f0 in 0..s0.fibers() {
                let r0 = self.scale(x0, s0, b, f0);
                let a0 = s0.start(b, f0);
                for f1 in 0..s1.fibers() {
                    let a1 = s1.start(b, f1);
                    let mut acc = T::ZERO.widen();
                    for k in 0..s0.k {
                        acc = T::mac(acc, x0[a0 + k * s0.inner], x1[a1 + k * s1.inner]);
                    }
                    let mut v = T::narrow(acc);
                    if self.normalize {
                        v = v * r0 * self.scale(x1, s1, b, f1);
                    }
                    y[g.y_at(b, f0, f1)] = v;
                }
            }
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        let (batch, g) = self.resolve(xs, y.shape())?;
        check_grads(xs, y, dy, dxs)?;
        for (a, dx) in dxs.iter_mut().enumerate() {
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            let (x_a, x_o) = (xs[a].data(), xs[1 - a].data());
            if self.normalize {
                self.normalized_input_grad(&g, batch, a, x_a, x_o, dy, dx);
            } else {
                Self::input_grad(&g, batch, a, x_o, dy, dx);
            }
        }
        Ok(())
    }
}
