//! [`Precision`] and [`Recall`]: weighted confusion counts at one threshold.

use super::input::{
    aligned_rank_and_last, batch_size, check_same_layout, check_weights, divide_no_nan, weight_of,
};
use super::Metric;
use crate::{Error, Result, Scalar, TensorView};

/// Keras's `metrics_utils.NEG_INF`: the score given to entries outside the top k, and
/// the default threshold when `top_k` is set.
const NEG_INF: f32 = -1e10;

/// The shared configuration and counting of [`Precision`] and [`Recall`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Thresholding {
    threshold: f32,
    top_k: Option<usize>,
    class_id: Option<usize>,
}

/// Weighted counts of one batch.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    tp: f32,
    fp: f32,
    fn_: f32,
}

impl Thresholding {
    /// Keras's `__init__`: `thresholds` in `[0, 1]` (default 0.5, or `NEG_INF` with
    /// `top_k`).
    fn new(threshold: Option<f32>, top_k: Option<usize>, class_id: Option<usize>) -> Result<Self> {
        let threshold = match threshold {
            Some(t) if (0.0..=1.0).contains(&t) => t,
            Some(_) => return Err(Error::InvalidConfig("thresholds must be in [0, 1]")),
            None if top_k.is_some() => NEG_INF,
            None => 0.5,
        };
        Ok(Thresholding {
            threshold,
            top_k,
            class_id,
        })
    }

    /// Keras's `update_confusion_matrix_variables` for one threshold, without the
    /// evenly-spaced shortcut (Keras does not take it for fewer than 3 thresholds).
    fn count<T: Scalar>(
        &self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<Counts> {
        let shape = y_pred.shape();
        check_same_layout(y_true.shape(), shape)?;
        let batch = batch_size(shape)?;
        check_weights(sample_weight, batch)?;
        // Keras filters top k and selects class_id along y_pred's last axis (the batch
        // axis itself for a rank-1 y_pred).
        let (rank, last) = aligned_rank_and_last(y_true.shape(), shape);
        if let Some(k) = self.top_k {
            if k > last {
                return Err(Error::InvalidConfig("top_k exceeds the last axis"));
            }
        }
        if let Some(c) = self.class_id {
            if rank < 2 {
                return Err(Error::InvalidShape);
            }
            if c >= last {
                return Err(Error::InvalidConfig("class_id exceeds the last axis"));
            }
        }
        let (t, p) = (y_true.data(), y_pred.data());
        let per_sample = p.len() / batch;
        let mut counts = Counts::default();
        for (row_index, row) in p.chunks_exact(last).enumerate() {
            for (j, x) in row.iter().enumerate() {
                if self.class_id.is_some_and(|c| c != j) {
                    continue;
                }
                let e = row_index * last + j;
                let mut score = x.to_f32();
                if let Some(k) = self.top_k {
                    // x · mask + NEG_INF · (1 − mask), as Keras's `_filter_top_k`.
                    let mask = if in_top_k_sorted(row, j, k) { 1.0 } else { 0.0 };
                    score = score * mask + NEG_INF * (1.0 - mask);
                }
                let predicted = score > self.threshold;
                let label = t.get(e).is_some_and(|y| y.to_f32() != 0.0);
                let w = weight_of(sample_weight, e / per_sample);
                match (label, predicted) {
                    (true, true) => counts.tp += w,
                    (false, true) => counts.fp += w,
                    (true, false) => counts.fn_ += w,
                    (false, false) => {}
                }
            }
        }
        Ok(counts)
    }
}

/// Whether `row[j]` is among the `k` entries `ops.top_k` (JAX `lax.top_k`) returns: sorted
/// by IEEE total order, descending (NaN first, `+0.0` before `-0.0`), lower index first
/// on ties.
fn in_top_k_sorted<T: Scalar>(row: &[T], j: usize, k: usize) -> bool {
    let Some(x) = row.get(j).map(|x| x.to_f32()) else {
        return false;
    };
    let mut ahead = 0;
    for (i, y) in row.iter().enumerate() {
        match y.to_f32().total_cmp(&x) {
            core::cmp::Ordering::Greater => ahead += 1,
            core::cmp::Ordering::Equal if i < j => ahead += 1,
            _ => {}
        }
    }
    ahead < k
}

/// The fraction of predicted positives that are positive: `tp / (tp + fp)`.
/// Keras: `keras.metrics.Precision(thresholds=None, top_k=None, class_id=None)`.
///
/// Every element of `y_pred` (flattened, as Keras does without `multi_label`) is
/// predicted positive when `y_pred > threshold` (strictly; default 0.5); its label is
/// positive when `y_true != 0` (so 0.5 or NaN labels are positive). `tp`/`fp` add the
/// element's sample weight. `result() = tp / (tp + fp)`, 0 when nothing was predicted
/// positive (`divide_no_nan`).
///
/// - `top_k`: only the `k` highest entries of each row of the last axis (ties broken by
///   lower index, as `ops.top_k`) keep their score; the others become `-1e10`. With
///   `top_k` and no threshold the threshold is `-1e10`, so every top-k entry is a
///   positive prediction. `k` larger than the last axis is an error (Keras raises too).
/// - `class_id`: only that column of the last axis counts (after the top-k filter).
/// - Not supported: a *list* of thresholds (Keras then returns a vector).
///
/// ```
/// use ember_nn::metrics::{Metric, Precision};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[4]).unwrap();
/// let (t, p) = ([0.0f32, 1.0, 1.0, 1.0], [1.0f32, 0.0, 1.0, 1.0]);
/// let mut m = Precision::default();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert!((m.result() - 2.0 / 3.0).abs() < 1e-7); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Precision {
    config: Thresholding,
    true_positives: f32,
    false_positives: f32,
}

impl Precision {
    /// Keras's `Precision(thresholds, top_k, class_id)`; `None` is Keras's default for
    /// each. A threshold outside `[0, 1]` (or NaN) is [`Error::InvalidConfig`].
    pub fn new(
        threshold: Option<f32>,
        top_k: Option<usize>,
        class_id: Option<usize>,
    ) -> Result<Self> {
        Ok(Precision {
            config: Thresholding::new(threshold, top_k, class_id)?,
            true_positives: 0.0,
            false_positives: 0.0,
        })
    }

    /// The accumulated `(true_positives, false_positives)`.
    pub fn state(&self) -> (f32, f32) {
        (self.true_positives, self.false_positives)
    }
}

impl Default for Precision {
    /// `thresholds=None` (0.5), no `top_k`, no `class_id`.
    fn default() -> Self {
        Precision {
            config: Thresholding {
                threshold: 0.5,
                top_k: None,
                class_id: None,
            },
            true_positives: 0.0,
            false_positives: 0.0,
        }
    }
}

impl Metric for Precision {
    fn name(&self) -> &'static str {
        "precision"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        let c = self.config.count(y_true, y_pred, sample_weight)?;
        self.true_positives += c.tp;
        self.false_positives += c.fp;
        Ok(())
    }

    fn result(&self) -> f32 {
        divide_no_nan(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    fn reset_state(&mut self) {
        self.true_positives = 0.0;
        self.false_positives = 0.0;
    }
}

/// The fraction of positives predicted positive: `tp / (tp + fn)`.
/// Keras: `keras.metrics.Recall(thresholds=None, top_k=None, class_id=None)`.
///
/// Same counting, options and limits as [`Precision`]; `result() = tp / (tp + fn)`, 0
/// when there were no positive labels.
///
/// ```
/// use ember_nn::metrics::{Metric, Recall};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[4]).unwrap();
/// let (t, p) = ([0.0f32, 1.0, 1.0, 1.0], [1.0f32, 0.0, 1.0, 1.0]);
/// let mut m = Recall::default();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert!((m.result() - 2.0 / 3.0).abs() < 1e-7); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recall {
    config: Thresholding,
    true_positives: f32,
    false_negatives: f32,
}

impl Recall {
    /// Keras's `Recall(thresholds, top_k, class_id)`; `None` is Keras's default for each.
    /// A threshold outside `[0, 1]` (or NaN) is [`Error::InvalidConfig`].
    pub fn new(
        threshold: Option<f32>,
        top_k: Option<usize>,
        class_id: Option<usize>,
    ) -> Result<Self> {
        Ok(Recall {
            config: Thresholding::new(threshold, top_k, class_id)?,
            true_positives: 0.0,
            false_negatives: 0.0,
        })
    }

    /// The accumulated `(true_positives, false_negatives)`.
    pub fn state(&self) -> (f32, f32) {
        (self.true_positives, self.false_negatives)
    }
}

impl Default for Recall {
    /// `thresholds=None` (0.5), no `top_k`, no `class_id`.
    fn default() -> Self {
        Recall {
            config: Precision::default().config,
            true_positives: 0.0,
            false_negatives: 0.0,
        }
    }
}

impl Metric for Recall {
    fn name(&self) -> &'static str {
        "recall"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        let c = self.config.count(y_true, y_pred, sample_weight)?;
        self.true_positives += c.tp;
        self.false_negatives += c.fn_;
        Ok(())
    }

    fn result(&self) -> f32 {
        divide_no_nan(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    fn reset_state(&mut self) {
        self.true_positives = 0.0;
        self.false_negatives = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shape;

    #[test]
    fn config_is_validated() {
        assert!(Precision::new(Some(1.5), None, None).is_err());
        assert!(Recall::new(Some(f32::NAN), None, None).is_err());
        assert_eq!(
            Precision::new(None, Some(2), None)
                .unwrap()
                .config
                .threshold,
            NEG_INF
        );
        assert_eq!(
            Precision::new(None, None, None).unwrap(),
            Precision::default()
        );
        assert_eq!(Recall::new(None, None, None).unwrap(), Recall::default());
    }

    #[test]
    fn top_k_order_is_lax_top_k() {
        let row = [0.2f32, 0.5, 0.5, 0.5];
        assert!(!in_top_k_sorted(&row, 0, 2));
        assert!(in_top_k_sorted(&row, 1, 2));
        assert!(in_top_k_sorted(&row, 2, 2));
        assert!(!in_top_k_sorted(&row, 3, 2));
        let nan = [0.1f32, f32::NAN, 0.5];
        assert!(in_top_k_sorted(&nan, 1, 1));
        assert!(!in_top_k_sorted(&nan, 2, 1));
        assert!(in_top_k_sorted(&[-0.0f32, 0.0], 1, 1));
    }

    #[test]
    fn bad_inputs() {
        let s = Shape::new(&[2, 3]).unwrap();
        let d = [0.0f32; 6];
        let v = TensorView::new(s, &d).unwrap();
        let mut p = Precision::new(None, Some(4), None).unwrap();
        assert!(p.update_state(v, v, None).is_err());
        let mut p = Precision::new(None, None, Some(3)).unwrap();
        assert!(p.update_state(v, v, None).is_err());
        let r1 = TensorView::new(Shape::new(&[6]).unwrap(), &d).unwrap();
        let mut p = Recall::new(None, None, Some(0)).unwrap();
        assert_eq!(p.update_state(r1, r1, None), Err(Error::InvalidShape));
        assert_eq!(p.state(), (0.0, 0.0));
    }
}
