//! The elementwise merges: Keras's `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`
//! and `Minimum` (`keras/src/layers/merging/{add,subtract,…}.py`), with Keras's
//! broadcasting ([`super::broadcast`]).
//!
//! Keras folds the inputs left to right (`out = op(op(x₀, x₁), x₂)…`), and so does
//! Ember, so the rounding of the forward pass and the tie-breaking of the gradients
//! follow Keras's. Each class is a unit struct whose [`Merge`] methods call this file's
//! shared loops with its [`Op`].

use serde::{Deserialize, Serialize};

use super::broadcast::{self, for_each_index, Geometry, Index};
use super::{check_grads, check_output, sample_shapes, Merge, MAX_MERGE_INPUTS};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut, MAX_RANK};

/// Sums its inputs: Keras's `keras.layers.Add()`, `y = x₀ + x₁ + …` (one or more
/// inputs, broadcast as Keras does: dims equal or 1, shorter ranks expanded after the
/// batch axis). Backward: `∂L/∂x_i = ∂L/∂y`, summed over the axes where `x_i` was
/// broadcast.
///
/// ```
/// use ember_nn::layers::{Add, Merge};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap(); // batch 1, 2 features
/// let (a, b) = ([1.0f32, 2.0], [10.0f32, 20.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Add.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [11.0, 22.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Add;

/// Subtracts its second input from its first: Keras's `keras.layers.Subtract()`,
/// `y = x₀ − x₁` (exactly two inputs, broadcast as for [`Add`]). Backward:
/// `∂L/∂x₀ = ∂L/∂y`, `∂L/∂x₁ = −∂L/∂y`.
///
/// ```
/// use ember_nn::layers::{Merge, Subtract};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap();
/// let (a, b) = ([1.0f32, 2.0], [10.0f32, 20.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Subtract.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [-9.0, -18.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Subtract;

/// Multiplies its inputs elementwise: Keras's `keras.layers.Multiply()`,
/// `y = x₀ · x₁ · …` (one or more inputs, broadcast as for [`Add`]). Backward:
/// `∂L/∂x_i = ∂L/∂y · Π_{j≠i} x_j`, summed (in [`Scalar::Acc`]) over broadcast axes.
///
/// ```
/// use ember_nn::layers::{Merge, Multiply};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let (s, t) = (Shape::new(&[1, 2]).unwrap(), Shape::new(&[1, 1]).unwrap());
/// let (a, b) = ([1.0f32, 2.0], [3.0f32]); // (2,) times a broadcast (1,)
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(t, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Multiply.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [3.0, 6.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Multiply;

/// Averages its inputs: Keras's `keras.layers.Average()`, `y = (x₀ + x₁ + …) / n`
/// (one or more inputs, broadcast as for [`Add`]). Backward: `∂L/∂x_i = ∂L/∂y / n`.
///
/// ```
/// use ember_nn::layers::{Average, Merge};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap();
/// let (a, b) = ([1.0f32, 2.0], [3.0f32, 6.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Average.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [2.0, 4.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Average;

/// The elementwise maximum of its inputs: Keras's `keras.layers.Maximum()`,
/// `y = max(max(x₀, x₁), x₂)…` (one or more inputs, broadcast as for [`Add`]).
///
/// Backward as `jax.grad` of Keras's fold of `ops.maximum`: at each step
/// `m ← max(m, x_k)` the gradient goes to the larger operand, and is split in halves
/// on a tie (`max(1, 1, 1)` sends ¼, ¼, ½ to `x₀, x₁, x₂`).
///
/// ```
/// use ember_nn::layers::{Maximum, Merge};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap();
/// let (a, b) = ([1.0f32, 5.0], [3.0f32, 5.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Maximum.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [3.0, 5.0]);
/// let (mut da, mut db) = ([0.0f32; 2], [0.0f32; 2]);
/// let y = TensorView::new(s, &y).unwrap();
/// Maximum.backward(&xs, y, &[1.0, 1.0], &mut [Some(&mut da), Some(&mut db)]).unwrap();
/// assert_eq!((da, db), ([0.0, 0.5], [1.0, 0.5])); // the tie splits the gradient
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Maximum;

/// The elementwise minimum of its inputs: Keras's `keras.layers.Minimum()`, with the
/// gradient rule of [`Maximum`] (to the smaller operand, halves on ties).
///
/// ```
/// use ember_nn::layers::{Merge, Minimum};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
/// let s = Shape::new(&[1, 2]).unwrap();
/// let (a, b) = ([1.0f32, 5.0], [3.0f32, 4.0]);
/// let xs = [TensorView::new(s, &a).unwrap(), TensorView::new(s, &b).unwrap()];
/// let mut y = [0.0f32; 2];
/// Minimum.forward(&xs, TensorViewMut::new(s, &mut y).unwrap()).unwrap();
/// assert_eq!(y, [1.0, 4.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Minimum;

/// Which elementwise merge the shared loops compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

impl Op {
    fn count_ok(self, n: usize) -> bool {
        match self {
            Op::Subtract => n == 2,
            _ => (1..=MAX_MERGE_INPUTS).contains(&n),
        }
    }

    fn output_shape(self, inputs: &[Shape]) -> Result<Shape> {
        if !self.count_ok(inputs.len()) {
            return Err(Error::InvalidConfig(
                "wrong number of inputs for the merge layer",
            ));
        }
        broadcast::output_shape(inputs)
    }

    fn macs(self, inputs: &[Shape]) -> usize {
        match (self, self.output_shape(inputs)) {
            (Op::Multiply, Ok(out)) => (inputs.len() - 1) * out.len(),
            _ => 0,
        }
    }

    /// The output value from the inputs' values `get(0..n)`, folded left to right.
    fn combine<T: Scalar>(self, n: usize, get: impl Fn(usize) -> T) -> T {
        let mut acc = get(0);
        match self {
            Op::Subtract => return acc - get(1),
            Op::Add | Op::Average => (1..n).for_each(|k| acc = acc + get(k)),
            Op::Multiply => (1..n).for_each(|k| acc = acc * get(k)),
            Op::Maximum => (1..n).for_each(|k| acc = acc.max(get(k))),
            Op::Minimum => (1..n).for_each(|k| acc = acc.min(get(k))),
        }
        if self == Op::Average {
            acc = acc.div(T::from_usize(n));
        }
        acc
    }

    /// `∂y/∂x_i` at one output position (for `Average`, before the division by `n`,
    /// which [`Op::finish`] applies to the summed gradient).
    fn factor<T: Scalar>(self, n: usize, i: usize, get: impl Fn(usize) -> T) -> T {
        match self {
            Op::Add | Op::Average => T::ONE,
            Op::Subtract if i == 0 => T::ONE,
            Op::Subtract => -T::ONE,
            Op::Multiply => (0..n).filter(|&j| j != i).fold(T::ONE, |p, j| p * get(j)),
            Op::Maximum => selected_share(n, i, get, |a, b| a > b),
            Op::Minimum => selected_share(n, i, get, |a, b| a < b),
        }
    }

    fn finish<T: Scalar>(self, n: usize, g: T) -> T {
        if self == Op::Average {
            g.div(T::from_usize(n))
        } else {
            g
        }
    }

    fn forward<T: Scalar>(
        self,
        xs: &[TensorView<'_, T>],
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        let mut shapes = [Shape::new(&[])?; MAX_MERGE_INPUTS];
        let batch = sample_shapes(xs, self.count_ok(xs.len()), &mut shapes)?;
        let inputs = &shapes[..xs.len()];
        let out = broadcast::output_shape(inputs)?;
        check_output(batch, out, y.shape())?;
        let g = Geometry::new(inputs, out, batch)?;
        let n = xs.len();
        let y = y.data();
        if g.same {
            for (q, yq) in y.iter_mut().enumerate() {
                *yq = self.combine(n, |j| xs[j].data()[q]);
            }
        } else {
            let mut next = y.iter_mut();
            for_each_index(g.rank, &[0; MAX_RANK], &g.out, |q| {
                if let Some(yq) = next.next() {
                    *yq = self.combine(n, |j| xs[j].data()[g.offset(j, q)]);
                }
            });
        }
        Ok(())
    }

    fn backward<T: Scalar>(
        self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        let mut shapes = [Shape::new(&[])?; MAX_MERGE_INPUTS];
        let batch = sample_shapes(xs, self.count_ok(xs.len()), &mut shapes)?;
        let inputs = &shapes[..xs.len()];
        let out = broadcast::output_shape(inputs)?;
        check_output(batch, out, y.shape())?;
        check_grads(xs, y, dy, dxs)?;
        let g = Geometry::new(inputs, out, batch)?;
        let n = xs.len();
        for (i, dx) in dxs.iter_mut().enumerate() {
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            if g.same {
                for (p, d) in dx.iter_mut().enumerate() {
                    let f = self.factor(n, i, |j| xs[j].data()[p]);
                    *d = self.finish(n, T::narrow(T::mac(T::ZERO.widen(), dy[p], f)));
                }
                continue;
            }
            // Gather: each element of x_i sums over the output positions it meets.
            let mut next = dx.iter_mut();
            for_each_index(g.rank, &[0; MAX_RANK], &g.input_dims(i), |p: &Index| {
                let mut acc = T::ZERO.widen();
                g.for_each_meeting(i, p, |q| {
                    let f = self.factor(n, i, |j| xs[j].data()[g.offset(j, q)]);
                    acc = T::mac(acc, dy[g.out_offset(q)], f);
                });
                if let Some(d) = next.next() {
                    *d = self.finish(n, T::narrow(acc));
                }
            });
        }
        Ok(())
    }
}

/// The share of `∂y/∂(selected value)` that reaches `x_i` in the fold
/// `m ← select(m, x_k)` (`better(a, b)`: `a` replaces `b`), as `jax.grad` of
/// `jnp.maximum`/`jnp.minimum` gives it: all to the selected operand, halves on a tie.
fn selected_share<T: Scalar>(
    n: usize,
    i: usize,
    get: impl Fn(usize) -> T,
    better: impl Fn(T, T) -> bool,
) -> T {
    let half = T::from_f32(0.5);
    let mut m = get(0);
    let mut share = if i == 0 { T::ONE } else { T::ZERO };
    for k in 1..n {
        let xk = get(k);
        let (keep, take) = if better(xk, m) {
            (T::ZERO, T::ONE)
        } else if xk == m {
            (half, half)
        } else {
            (T::ONE, T::ZERO)
        };
        share = share * keep + if k == i { take } else { T::ZERO };
        if better(xk, m) {
            m = xk;
        }
    }
    share
}

impl Merge for Add {
    const KERAS_CLASS: &'static str = "Add";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Add.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Add.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Add.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Add.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Add.backward(xs, y, dy, dxs)
    }
}

impl Merge for Subtract {
    const KERAS_CLASS: &'static str = "Subtract";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Subtract.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Subtract.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Subtract.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Subtract.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Subtract.backward(xs, y, dy, dxs)
    }
}

impl Merge for Multiply {
    const KERAS_CLASS: &'static str = "Multiply";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Multiply.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Multiply.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Multiply.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Multiply.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Multiply.backward(xs, y, dy, dxs)
    }
}

impl Merge for Average {
    const KERAS_CLASS: &'static str = "Average";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Average.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Average.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Average.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Average.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Average.backward(xs, y, dy, dxs)
    }
}

impl Merge for Maximum {
    const KERAS_CLASS: &'static str = "Maximum";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Maximum.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Maximum.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Maximum.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Maximum.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Maximum.backward(xs, y, dy, dxs)
    }
}

impl Merge for Minimum {
    const KERAS_CLASS: &'static str = "Minimum";
    fn input_count_ok(&self, n: usize) -> bool {
        Op::Minimum.count_ok(n)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        Op::Minimum.output_shape(inputs)
    }
    fn macs(&self, inputs: &[Shape]) -> usize {
        Op::Minimum.macs(inputs)
    }
    fn forward<T: Scalar>(&self, xs: &[TensorView<'_, T>], y: TensorViewMut<'_, T>) -> Result<()> {
        Op::Minimum.forward(xs, y)
    }
    fn backward<T: Scalar>(
        &self,
        xs: &[TensorView<'_, T>],
        y: TensorView<'_, T>,
        dy: &[T],
        dxs: &mut [Option<&mut [T]>],
    ) -> Result<()> {
        Op::Minimum.backward(xs, y, dy, dxs)
    }
}
