//! [`Permute`]: Keras's `keras.layers.Permute`.

use serde::{Deserialize, Serialize};

use super::{check, no_params, sample_shape, MAX_SAMPLE_RANK};
use crate::layers::{Context, Layer, ParamShapes};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// Reorders the axes of each sample: Keras's `keras.layers.Permute(dims)`.
///
/// `dims` is Keras's argument: a permutation of `1..=k` for a sample of rank `k` (1-based,
/// the batch axis excluded and never moved); output axis `i` is input axis `dims[i]`, so
/// `Permute((2, 1))` turns `(10, 64)` into `(64, 10)` (`ops.transpose(x, (0, *dims))`).
/// An input whose rank is not `len(dims)` is [`Error::InvalidShape`] (Keras's
/// `InputSpec(ndim=len(dims) + 1)`); `dims` that are not such a permutation, or more than
/// 4 of them, are [`Error::InvalidConfig`]. The backward pass applies the inverse
/// permutation to the gradient. No parameters.
///
/// ```
/// use ember_nn::layers::{Context, Layer, Permute};
/// use ember_nn::{Shape, TensorView, TensorViewMut};
///
/// let p = Permute::new(&[2, 1]).unwrap();
/// assert_eq!(p.output_shape(Shape::new(&[2, 3]).unwrap()).unwrap().dims(), &[3, 2]);
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // one sample [[1, 2, 3], [4, 5, 6]]
/// let mut y = [0.0f32; 6];
/// p.forward(
///     &[],
///     TensorView::new(Shape::new(&[1, 2, 3]).unwrap(), &x).unwrap(),
///     TensorViewMut::new(Shape::new(&[1, 3, 2]).unwrap(), &mut y).unwrap(),
///     &Context::default(),
/// ).unwrap();
/// assert_eq!(y, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Permute {
    /// Number of sample axes (`len(dims)`, at most 4).
    pub rank: u8,
    /// `dims=` (1-based, as in Keras) in the first `rank` entries, zeros after.
    pub dims: [u8; MAX_SAMPLE_RANK],
}

impl Permute {
    /// A `Permute` with Keras's `dims` (1-based). [`Error::InvalidConfig`] unless `dims`
    /// is a permutation of `1..=dims.len()` with at most 4 entries.
    pub fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_SAMPLE_RANK {
            return Err(Error::InvalidConfig("Permute.dims has more than 4 axes"));
        }
        let mut d = [0u8; MAX_SAMPLE_RANK];
        for (o, &v) in d.iter_mut().zip(dims) {
            *o = u8::try_from(v)
                .map_err(|_| Error::InvalidConfig("Permute.dims must be a permutation of 1..=k"))?;
        }
        let p = Permute {
            rank: dims.len() as u8,
            dims: d,
        };
        p.validate()?;
        Ok(p)
    }

    /// Keras's `dims` (1-based).
    pub fn keras_dims(&self) -> &[u8] {
        &self.dims[..(self.rank as usize).min(MAX_SAMPLE_RANK)]
    }

    fn validate(&self) -> Result<()> {
        let rank = self.rank as usize;
        if rank > MAX_SAMPLE_RANK {
            return Err(Error::InvalidConfig("Permute.dims has more than 4 axes"));
        }
        if rank == 0 {
            return Err(Error::InvalidConfig("Permute.dims is empty"));
        }
        let mut seen = 0u8;
        for &d in &self.dims[..rank] {
            if d == 0 || d as usize > rank || seen & (1 << d) != 0 {
                return Err(Error::InvalidConfig(
                    "Permute.dims must be a permutation of 1..=k",
                ));
            }
            seen |= 1 << d;
        }
        if self.dims[rank..].iter().any(|&d| d != 0) {
            return Err(Error::InvalidConfig(
                "Permute.dims has entries beyond its rank",
            ));
        }
        Ok(())
    }

    /// Per-sample input shape, row-major strides of the input taken in output-axis
    /// order, and the output shape.
    fn plan(&self, input: Shape) -> Result<([usize; MAX_SAMPLE_RANK], Shape)> {
        self.validate()?;
        let rank = self.rank as usize;
        if input.rank() != rank {
            return Err(Error::InvalidShape);
        }
        let mut in_strides = [0usize; MAX_SAMPLE_RANK];
        let mut s = 1;
        for i in (0..rank).rev() {
            in_strides[i] = s;
            s *= input.dim(i);
        }
        let mut strides = [0usize; MAX_SAMPLE_RANK];
        let mut out = [0usize; MAX_SAMPLE_RANK];
        for (i, &d) in self.keras_dims().iter().enumerate() {
            strides[i] = in_strides[d as usize - 1];
            out[i] = input.dim(d as usize - 1);
        }
        Ok((strides, Shape::new(&out[..rank])?))
    }

    /// Calls `f(out_index, in_index)` for every element of a batch of `samples`, output
    /// in row-major order.
    fn for_each(
        &self,
        strides: &[usize; MAX_SAMPLE_RANK],
        out: Shape,
        samples: usize,
        mut f: impl FnMut(usize, usize),
    ) {
        let rank = out.rank();
        let per = out.len();
        let mut o = 0;
        for s in 0..samples {
            let base = s * per;
            let mut idx = [0usize; MAX_SAMPLE_RANK];
            let mut src = 0;
            for _ in 0..per {
                f(o, base + src);
                o += 1;
                // Odometer increment of idx over `out`, keeping `src` in step.
                for a in (0..rank).rev() {
                    idx[a] += 1;
                    src += strides[a];
                    if idx[a] < out.dim(a) {
                        break;
                    }
                    src -= idx[a] * strides[a];
                    idx[a] = 0;
                }
            }
        }
    }
}

impl Layer for Permute {
    const KERAS_CLASS: &'static str = "Permute";

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        Ok(self.plan(input)?.1)
    }

    fn param_shapes(&self, _input: Shape) -> Result<ParamShapes> {
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
        no_params(params)?;
        let (strides, out) = self.plan(sample_shape(x.shape())?)?;
        let n = x.data().len();
        check(n, y.data().len())?;
        let samples = x.shape().dim(0);
        let (xd, yd) = (x.data(), y.data());
        self.for_each(&strides, out, samples, |o, i| yd[o] = xd[i]);
        Ok(())
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
        no_params(params)?;
        let (strides, out) = self.plan(sample_shape(x.shape())?)?;
        let n = x.data().len();
        check(n, y.data().len())?;
        check(n, dy.len())?;
        if let Some(dx) = dx {
            check(n, dx.len())?;
            let samples = x.shape().dim(0);
            self.for_each(&strides, out, samples, |o, i| dx[i] = dy[o]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_dims_and_rank() {
        for bad in [&[][..], &[1, 1], &[0, 1], &[2, 3], &[1, 2, 3, 4, 5], &[300]] {
            assert!(matches!(Permute::new(bad), Err(Error::InvalidConfig(_))));
        }
        let p = Permute::new(&[3, 1, 2]).unwrap();
        assert_eq!(p.keras_dims(), &[3, 1, 2]);
        let s = p.output_shape(Shape::new(&[2, 3, 4]).unwrap()).unwrap();
        assert_eq!(s.dims(), &[4, 2, 3]);
        assert_eq!(
            p.output_shape(Shape::new(&[2, 3]).unwrap()),
            Err(Error::InvalidShape)
        );
        let junk = Permute {
            rank: 2,
            dims: [2, 1, 3, 0],
        };
        assert!(matches!(
            junk.output_shape(Shape::new(&[2, 3]).unwrap()),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn moves_every_element_like_a_transpose() {
        // (2 samples) × (2, 3, 4) by (3, 1, 2): y[b, k, i, j] = x[b, i, j, k].
        let p = Permute::new(&[3, 1, 2]).unwrap();
        let x: [f32; 48] = core::array::from_fn(|i| i as f32);
        let mut y = [0.0f32; 48];
        p.forward(
            &[],
            TensorView::new(Shape::new(&[2, 2, 3, 4]).unwrap(), &x).unwrap(),
            TensorViewMut::new(Shape::new(&[2, 4, 2, 3]).unwrap(), &mut y).unwrap(),
            &Context::default(),
        )
        .unwrap();
        for b in 0..2 {
            for i in 0..2 {
                for j in 0..3 {
                    for k in 0..4 {
                        let xi = ((b * 2 + i) * 3 + j) * 4 + k;
                        let yi = ((b * 4 + k) * 2 + i) * 3 + j;
                        assert_eq!(y[yi], x[xi]);
                    }
                }
            }
        }
        // Backward is the inverse: dx[x-index] = dy[y-index].
        let mut dy = y;
        let mut dx = [0.0f32; 48];
        p.backward(
            &[],
            TensorView::new(Shape::new(&[2, 2, 3, 4]).unwrap(), &x).unwrap(),
            TensorView::new(Shape::new(&[2, 4, 2, 3]).unwrap(), &y).unwrap(),
            &mut dy,
            Some(&mut dx),
            None,
            &Context::default(),
        )
        .unwrap();
        assert_eq!(dx, x);
    }
}
