//! [`TensorMask`]: which of a layer's parameter tensors train (per-tensor trainability).

use super::MAX_PARAMS;

/// A set of a layer's parameter tensors: bit `i` is parameter `i` in Keras's weight order
/// (Dense: 0 = `kernel`, 1 = `bias`).
///
/// Keras: the per-variable `variable.trainable` flag. A training step copies only the
/// tensors in the mask into the arena (the others stay in the blob, e.g. in flash), and
/// asks [`super::Layer::backward_masked`] for only their gradients — so freezing a
/// kernel also skips its gradient computation.
///
/// ```
/// use ember_nn::layers::TensorMask;
/// let dense_all = TensorMask::first(2); // kernel and bias
/// let bias = TensorMask::only(1);
/// assert!(dense_all.contains(1) && !bias.contains(0));
/// assert_eq!(dense_all.without(1), TensorMask::only(0));
/// assert_eq!(bias.count(), 1);
/// // Sizes of the tensors in the mask, from all the layer's tensor sizes.
/// assert_eq!(bias.select_len(&[6, 3]), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TensorMask(u8);

impl TensorMask {
    /// No tensor.
    pub const EMPTY: TensorMask = TensorMask(0);

    /// Tensors `0..n` (every trainable tensor of a layer with `n` of them); `n` is
    /// clamped to [`MAX_PARAMS`].
    pub const fn first(n: usize) -> Self {
        let n = if n > MAX_PARAMS { MAX_PARAMS } else { n };
        TensorMask(((1u16 << n) - 1) as u8)
    }

    /// Only tensor `i` (empty when `i >= MAX_PARAMS`).
    pub const fn only(i: usize) -> Self {
        if i < MAX_PARAMS {
            TensorMask(1 << i)
        } else {
            TensorMask(0)
        }
    }

    /// The raw bits (bit `i` = tensor `i`).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether tensor `i` is in the set.
    pub const fn contains(self, i: usize) -> bool {
        i < MAX_PARAMS && (self.0 >> i) & 1 == 1
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of tensors in the set.
    pub const fn count(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The set without tensor `i`.
    pub const fn without(self, i: usize) -> Self {
        TensorMask(self.0 & !TensorMask::only(i).0)
    }

    /// The tensors in both sets.
    pub const fn intersect(self, other: TensorMask) -> Self {
        TensorMask(self.0 & other.0)
    }

    /// Σ `lens[i]` over the tensors `i` in the set (`lens` lists every tensor's length).
    pub fn select_len(self, lens: &[usize]) -> usize {
        lens.iter()
            .enumerate()
            .filter(|(i, _)| self.contains(*i))
            .fold(0usize, |acc, (_, &n)| acc.saturating_add(n))
    }
}
