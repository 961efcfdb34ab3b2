//! [`Mean`]: the weighted running mean behind every `MeanMetricWrapper` metric.

use super::input::{check_weights, divide_no_nan, weight_of};
use crate::{Result, Scalar};

/// The weighted mean of the values seen so far. Keras: `keras.metrics.Mean`.
///
/// Keras keeps two `float32` variables, `total` and `count`; so does this, whatever the
/// input type (fixed-point values are converted with [`Scalar::to_f32`]). A batch is
/// summed on its own first and then added, as Keras's `assign_add(ops.sum(...))` does:
/// - without weights: `total += Σ vᵢ`, `count += n`;
/// - with per-sample weights: `total += Σ vᵢ·wᵢ`, `count += Σ wᵢ`;
/// - `result() = total / count`, or 0 while `count == 0` (`ops.divide_no_nan`).
///
/// The accuracy, error and cross-entropy style metrics (Keras's `MeanMetricWrapper`
/// subclasses) are this mean over one value per sample.
///
/// ```
/// use ember_nn::metrics::Mean;
/// let mut m = Mean::new();
/// m.update_state(&[1.0f32, 3.0, 5.0, 7.0], None).unwrap();
/// assert_eq!(m.result(), 4.0);
/// m.reset_state();
/// m.update_state(&[1.0f32, 3.0, 5.0, 7.0], Some(&[1.0, 1.0, 0.0, 0.0])).unwrap();
/// assert_eq!(m.result(), 2.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    total: f32,
    count: f32,
}

impl Mean {
    /// An empty mean (`result()` is 0).
    pub const fn new() -> Self {
        Mean {
            total: 0.0,
            count: 0.0,
        }
    }

    /// Adds a batch of values, one per sample, with optional per-sample weights (as many
    /// as values, else [`crate::Error::ShapeMismatch`] and nothing is added).
    pub fn update_state<T: Scalar>(
        &mut self,
        values: &[T],
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        check_weights(sample_weight, values.len())?;
        self.add_batch(values.len(), sample_weight, |s| {
            values.get(s).map_or(0.0, |v| v.to_f32())
        });
        Ok(())
    }

    /// `total / count`, 0 before any weight was added. Keras: `Mean.result()`.
    pub fn result(&self) -> f32 {
        divide_no_nan(self.total, self.count)
    }

    /// Forgets everything seen. Keras: `Mean.reset_state()`.
    pub fn reset_state(&mut self) {
        *self = Mean::new();
    }

    /// The accumulated `(total, count)`.
    pub fn state(&self) -> (f32, f32) {
        (self.total, self.count)
    }

    /// Adds `batch` samples whose values `value(s)` the caller computes; the weights were
    /// checked by the caller ([`check_weights`]).
    pub(crate) fn add_batch<T: Scalar>(
        &mut self,
        batch: usize,
        sample_weight: Option<&[T]>,
        mut value: impl FnMut(usize) -> f32,
    ) {
        let mut total = 0.0f32;
        let count = match sample_weight {
            Some(_) => {
                let mut count = 0.0f32;
                for s in 0..batch {
                    let w = weight_of(sample_weight, s);
                    total += value(s) * w;
                    count += w;
                }
                count
            }
            None => {
                for s in 0..batch {
                    total += value(s);
                }
                batch as f32
            }
        };
        self.total += total;
        self.count += count;
    }

    /// Adds `batch` samples made of `rows` rows in total (the same number per sample);
    /// a sample's value is the mean of its rows' values `row_value(r)` — Keras's
    /// `reduce_fn=ops.mean` over the non-batch axes.
    pub(crate) fn add_rows<T: Scalar>(
        &mut self,
        batch: usize,
        rows: usize,
        sample_weight: Option<&[T]>,
        mut row_value: impl FnMut(usize) -> f32,
    ) {
        let per = rows / batch.max(1);
        self.add_batch(batch, sample_weight, |s| {
            let mut sum = 0.0f32;
            for r in s * per..(s + 1) * per {
                sum += row_value(r);
            }
            sum / per as f32
        });
    }
}
