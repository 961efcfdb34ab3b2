//! Statistics shared by the normalization layers: the mean and biased variance of a set
//! of elements (`jnp.mean`, `jnp.var`), and `1 / sqrt(var + epsilon)`.

use crate::Scalar;

/// A batched tensor seen as `(outer, features, inner)`, the features in the middle:
/// BatchNormalization's feature axis, or (`outer = features = 1`) one contiguous group of
/// LayerNormalization.
#[derive(Debug, Clone, Copy)]
pub(super) struct Split {
    pub(super) outer: usize,
    pub(super) features: usize,
    pub(super) inner: usize,
}

impl Split {
    /// One contiguous run of `len` elements.
    pub(super) fn run(len: usize) -> Self {
        Split {
            outer: 1,
            features: 1,
            inner: len,
        }
    }

    /// Elements per feature.
    pub(super) fn count(&self) -> usize {
        self.outer * self.inner
    }

    /// Calls `f` with the flat index of each of feature `c`'s elements, in memory order
    /// (plain nested loops: no iterator adapters in the inner loop).
    #[inline(always)]
    pub(super) fn each(&self, c: usize, mut f: impl FnMut(usize)) {
        let (features, inner) = (self.features, self.inner);
        for o in 0..self.outer {
            let base = (o * features + c) * inner;
            for i in base..base + inner {
                f(i);
            }
        }
    }

    /// Mean and biased variance of feature `c`'s elements of `x`: sums in `T`'s wide
    /// accumulator, each rounded once, then divided by the count.
    pub(super) fn moments<T: Scalar>(&self, x: &[T], c: usize) -> (T, T) {
        let n = T::from_usize(self.count());
        let mut acc = T::ZERO.widen();
        self.each(c, |i| acc = T::mac(acc, x[i], T::ONE));
        let mean = T::narrow(acc).div(n);
        let mut acc = T::ZERO.widen();
        self.each(c, |i| {
            let d = x[i] - mean;
            acc = T::mac(acc, d, d);
        });
        (mean, T::narrow(acc).div(n))
    }
}

/// `1 / sqrt(var + epsilon)` (JAX's `rsqrt`).
pub(super) fn inv_std<T: Scalar>(var: T, epsilon: f32) -> T {
    T::ONE.div((var + T::from_f32(epsilon)).sqrt())
}
