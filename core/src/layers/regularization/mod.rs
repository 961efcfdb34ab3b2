//! The regularization layers that act only in training: Keras's `Dropout`,
//! `GaussianNoise`, `GaussianDropout` and `AlphaDropout`
//! (`keras/src/layers/regularization/`). In inference (`predict`, `test_on_batch`) each
//! is the identity.
//!
//! # Noise without memory
//! Keras's backward pass differentiates through the noise it drew. Ember does not store
//! the noise (a mask as large as the activation): each layer seeds a
//! [`crate::random::Rng`] from its [`Context::seed`] (mixed with the layer's own Keras
//! `seed` when it has one) and draws one value per element in order. The model gives the
//! backward pass the context the forward pass had, so it regenerates exactly the same
//! noise. Values are distributionally, never bitwise, equal to Keras's (whose JAX random
//! stream is not reproduced).

mod alpha_dropout;
mod dropout;
mod gaussian_dropout;
mod gaussian_noise;

pub use alpha_dropout::AlphaDropout;
pub use dropout::Dropout;
pub use gaussian_dropout::GaussianDropout;
pub use gaussian_noise::GaussianNoise;

use super::reshaping::check;
use super::{mix, Context};
use crate::random::Rng;
use crate::{Error, Result, Scalar, TensorView};

/// `Err(InvalidConfig(what))` unless `v` is in `[0, 1]` (Keras's check on `rate` and
/// `stddev`; NaN is refused too, which keeps the layers' `Eq` reflexive).
fn unit_interval(v: f32, what: &'static str) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(what))
    }
}

/// The generator a layer draws its noise from in `ctx`: seeded by the context's seed,
/// mixed with the layer's Keras `seed` when it has one.
fn noise_rng(ctx: &Context, seed: Option<u64>) -> Rng {
    Rng::from_seed(match seed {
        Some(s) => mix(ctx.seed, s),
        None => ctx.seed,
    })
}

/// `y[i] = f(x[i])` in element order after checking lengths.
fn map<T: Scalar>(x: TensorView<'_, T>, y: &mut [T], mut f: impl FnMut(T) -> T) -> Result<()> {
    check(x.data().len(), y.len())?;
    for (o, &v) in y.iter_mut().zip(x.data()) {
        *o = f(v);
    }
    Ok(())
}

/// `dx[i] = g(dy[i])` in element order (when `dx` is wanted) after checking lengths.
fn map_grad<T: Scalar>(
    x: TensorView<'_, T>,
    y: TensorView<'_, T>,
    dy: &[T],
    dx: Option<&mut [T]>,
    mut g: impl FnMut(T) -> T,
) -> Result<()> {
    let n = x.data().len();
    check(n, y.data().len())?;
    check(n, dy.len())?;
    if let Some(dx) = dx {
        check(n, dx.len())?;
        for (o, &d) in dx.iter_mut().zip(dy) {
            *o = g(d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerConfig;

    /// The encodings `core/docs/blob-format.md` documents.
    #[test]
    fn blob_encoding_matches_the_spec() {
        let enc = |c: LayerConfig| postcard::to_allocvec(&c).unwrap();
        let d = Dropout {
            rate: 0.5,
            seed: None,
        };
        assert_eq!(enc(LayerConfig::Dropout(d)), [12, 0, 0, 0, 0x3f, 0]);
        let n = GaussianNoise {
            stddev: 1.0,
            seed: Some(300),
        };
        assert_eq!(
            enc(LayerConfig::GaussianNoise(n)),
            [13, 0, 0, 0x80, 0x3f, 1, 0xac, 0x02]
        );
        let g = GaussianDropout {
            rate: 0.0,
            seed: None,
        };
        assert_eq!(enc(LayerConfig::GaussianDropout(g)), [14, 0, 0, 0, 0, 0]);
        let a = AlphaDropout {
            rate: 0.5,
            seed: Some(1),
        };
        assert_eq!(enc(LayerConfig::AlphaDropout(a)), [15, 0, 0, 0, 0x3f, 1, 1]);
    }
}
