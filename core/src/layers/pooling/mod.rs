//! The pooling layers (`keras/src/layers/pooling/`): windowed `MaxPooling1D/2D` and
//! `AveragePooling1D/2D`, and `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`.
//! None has parameters. All are channels-last only (Keras's default `data_format`; the
//! converter refuses `channels_first` by name). A 1-D layer is computed as the 2-D one
//! with height 1: a `(steps, channels)` sample is a `(1, steps, channels)` image.
//!
//! Multiply-accumulates ([`crate::layers::Layer::macs`]) are 0 for every pooling layer:
//! pooling does comparisons (max) or additions (average), never a multiplication by a
//! weight, and counting them as MACs would inflate the model totals that summaries and
//! benchmarks compare against Keras/TFLite MAC counts (which also count pooling as 0).
//!
//! The loops live in [`crate::kernels::reference::pooling`].

mod average_pooling;
mod global_pooling;
#[cfg(feature = "pooling")]
mod masked;
mod max_pooling;

pub use average_pooling::{AveragePooling1D, AveragePooling2D};
pub use global_pooling::{
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
};
#[cfg(feature = "pooling")]
pub use masked::{masked_average_1d, masked_average_1d_backward};
pub use max_pooling::{MaxPooling1D, MaxPooling2D};

use crate::kernels::geometry::ConvGeometry;
use crate::kernels::reference::pooling as kernel;
use crate::layers::engine::Engine;
use crate::layers::{Padding, Window};
use crate::{Error, Result, Scalar, Shape, TensorView, TensorViewMut};

/// `Err(ShapeMismatch)` unless `expected == found`.
fn check(expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch { expected, found });
    }
    Ok(())
}

/// `Err(ShapeMismatch)` unless a parameter-free layer got no parameters.
fn no_params<T>(params: &[&[T]]) -> Result<()> {
    check(0, params.len())
}

/// A batched tensor's batch size and per-sample shape (its dims after the first).
fn split_batch(batched: Shape) -> Result<(usize, Shape)> {
    let dims = batched.dims();
    let (&batch, rest) = dims.split_first().ok_or(Error::InvalidShape)?;
    let mut sample = [0usize; crate::MAX_RANK];
    for (o, &d) in sample.iter_mut().zip(rest) {
        *o = d as usize;
    }
    Ok((batch as usize, Shape::new(&sample[..rest.len()])?))
}

/// `batch · per_sample`, [`Error::InvalidShape`] on overflow.
fn batched_len(batch: usize, per_sample: usize) -> Result<usize> {
    batch.checked_mul(per_sample).ok_or(Error::InvalidShape)
}

/// The reduction of a windowed pooling layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Max,
    Average,
}

/// The options of a windowed pooling layer, as 2-D: `[height, width]` (a 1-D layer has
/// pool and stride 1 along the height of its `(1, steps, channels)` view).
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// Spatial axes of the Keras layer: 1 or 2.
    spatial: usize,
    pool: [u32; 2],
    strides: [u32; 2],
    padding: Padding,
    mode: Mode,
}

impl Pool {
    fn one_d(pool: u32, stride: u32, padding: Padding, mode: Mode) -> Self {
        Pool {
            spatial: 1,
            pool: [1, pool],
            strides: [1, stride],
            padding,
            mode,
        }
    }

    fn two_d(pool: [u32; 2], strides: [u32; 2], padding: Padding, mode: Mode) -> Self {
        Pool {
            spatial: 2,
            pool,
            strides,
            padding,
            mode,
        }
    }

    /// The geometry for one sample: `(steps, c)` (1-D) or `(h, w, c)` (2-D).
    fn geometry(&self, sample: Shape) -> Result<ConvGeometry> {
        if self.padding == Padding::Causal {
            return Err(Error::InvalidConfig(
                "pooling padding must be \"valid\" or \"same\"",
            ));
        }
        let wh = Window::new(self.pool[0] as usize, self.strides[0] as usize, 1)?;
        let ww = Window::new(self.pool[1] as usize, self.strides[1] as usize, 1)?;
        if sample.rank() != self.spatial + 1 {
            return Err(Error::InvalidShape);
        }
        let (h, w) = match self.spatial {
            1 => (1, sample.dim(0)),
            _ => (sample.dim(0), sample.dim(1)),
        };
        let c = sample.last();
        ConvGeometry::new(h, w, c, wh, ww, self.padding, c)
    }
}

impl Engine for Pool {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let g = self.geometry(input)?;
        match self.spatial {
            1 => Shape::new(&[g.out_w, g.out_c]),
            _ => Shape::new(&[g.out_h, g.out_w, g.out_c]),
        }
    }

    fn forward<T: Scalar>(
        &self,
        params: &[&[T]],
        x: TensorView<'_, T>,
        mut y: TensorViewMut<'_, T>,
    ) -> Result<()> {
        no_params(params)?;
        let (batch, sample) = split_batch(x.shape())?;
        let g = self.geometry(sample)?;
        let n_out = g.output_len().ok_or(Error::InvalidShape)?;
        check(batched_len(batch, n_out)?, y.data().len())?;
        match self.mode {
            Mode::Max => kernel::max_forward(&g, x.data(), y.data()),
            Mode::Average => kernel::avg_forward(&g, x.data(), y.data()),
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
        _dparams: Option<&mut [T]>,
    ) -> Result<()> {
        no_params(params)?;
        let (batch, sample) = split_batch(x.shape())?;
        let g = self.geometry(sample)?;
        let n_out = batched_len(batch, g.output_len().ok_or(Error::InvalidShape)?)?;
        check(n_out, y.data().len())?;
        check(n_out, dy.len())?;
        if let Some(dx) = dx {
            check(x.data().len(), dx.len())?;
            match self.mode {
                Mode::Max => kernel::max_backward(&g, x.data(), dy, dx),
                Mode::Average => kernel::avg_backward(&g, dy, dx),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;

    /// The encodings `core/docs/blob-format.md` documents. The spec numbers the pooling
    /// variants 30–37; they are consecutive, so the indices are checked relative to
    /// `MaxPooling1D`'s (which depends on the layers registered before them).
    #[test]
    fn blob_encoding_matches_the_spec() {
        let enc = |c: LayerConfig| postcard::to_allocvec(&c).unwrap();
        let base = enc(LayerConfig::MaxPooling1D(MaxPooling1D::default()));
        assert_eq!(&base[1..], [2, 2, 0]);
        let m = MaxPooling2D {
            pool_size: [2, 3],
            strides: [1, 2],
            padding: Padding::Same,
        };
        assert_eq!(
            enc(LayerConfig::MaxPooling2D(m)),
            [base[0] + 1, 2, 3, 1, 2, 1]
        );
        let a = AveragePooling1D {
            pool_size: 3,
            strides: 2,
            padding: Padding::Valid,
        };
        assert_eq!(
            enc(LayerConfig::AveragePooling1D(a)),
            [base[0] + 2, 3, 2, 0]
        );
        let g = GlobalAveragePooling2D { keepdims: true };
        assert_eq!(
            enc(LayerConfig::GlobalAveragePooling2D(g)),
            [base[0] + 7, 1]
        );
    }

    #[test]
    fn causal_and_zero_sizes_are_refused() {
        let s = Shape::new(&[6, 2]).unwrap();
        let causal = Pool::one_d(2, 2, Padding::Causal, Mode::Max);
        assert!(matches!(
            causal.output_shape(s),
            Err(Error::InvalidConfig(_))
        ));
        let zero = Pool::one_d(0, 2, Padding::Valid, Mode::Max);
        assert!(matches!(zero.output_shape(s), Err(Error::InvalidConfig(_))));
        let zero = Pool::two_d([2, 2], [2, 0], Padding::Valid, Mode::Average);
        let s3 = Shape::new(&[4, 4, 1]).unwrap();
        assert!(matches!(
            zero.output_shape(s3),
            Err(Error::InvalidConfig(_))
        ));
    }
}
