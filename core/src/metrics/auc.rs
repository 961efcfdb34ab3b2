//! [`Auc`]: area under the ROC or precision-recall curve from bucketed confusion counts.

use serde::{Deserialize, Serialize};

use super::input::{batch_size, check_same_layout, check_weights, divide_no_nan, weight_of};
use super::Metric;
use crate::{Result, Scalar, TensorView};

/// Keras's default `num_thresholds` for `keras.metrics.AUC`.
pub const DEFAULT_NUM_THRESHOLDS: usize = 200;

/// Which curve [`Auc`] integrates. Keras: `curve="ROC" | "PR" | "PRGAIN"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AucCurve {
    /// `"ROC"` (default): true-positive rate (recall) over false-positive rate.
    #[default]
    Roc,
    /// `"PR"`: precision over recall.
    Pr,
    /// `"PRGAIN"`: precision gain over recall gain (Flach & Kull 2015).
    PrGain,
}

/// How [`Auc`] sums the curve between thresholds. Keras: `summation_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AucSummationMethod {
    /// `"interpolation"` (default): trapezoids; for `Pr`, Davis & Goadrich's interpolation
    /// of true and false positives (not of precision).
    #[default]
    Interpolation,
    /// `"minoring"`: the lower of the two heights of each interval.
    Minoring,
    /// `"majoring"`: the higher of the two heights of each interval.
    Majoring,
}

/// Area under the ROC or PR curve, approximated with `N` thresholds.
/// Keras: `keras.metrics.AUC(num_thresholds=200, curve="ROC",
/// summation_method="interpolation", from_logits=False)`.
///
/// # What Keras computes
/// Thresholds are `[−ε, 1/(N−1), 2/(N−1), …, (N−2)/(N−1), 1+ε]`. Predictions are clipped
/// to `[0, 1]` (after a sigmoid when `from_logits`) and labels are positive when
/// `y_true != 0`; everything is flattened (one score per element, weighted by its
/// sample's weight). Because the thresholds are evenly spaced Keras takes its bucket
/// path: a prediction `p` lands in bucket `max(0, ceil(p·(N−1)) − 1)` (in `f32`), and
/// `tp[i]` is the weight of positives in buckets `≥ i` (so `p > t_i`), `fp[i]` likewise for
/// negatives, `fn[i] = P − tp[i]`, `tn[i] = Q − fp[i]`. `result()` then sums, for
/// `i = 0 … N−2`, `(x[i] − x[i+1]) · height(y[i], y[i+1])` with, for `Roc`,
/// `x = fp/(fp+tn)`, `y = tp/(tp+fn)`, and for `Pr`, `x = recall`, `y = precision` (all
/// divisions `divide_no_nan`). `Pr` with `Interpolation` uses Keras's
/// `interpolate_pr_auc`: with `dtp = tp[i] − tp[i+1]`, `p = tp + fp`,
/// `dp = p[i] − p[i+1]`, `slope = dtp / max(dp, 0)`, `b = tp[i+1] − slope · p[i+1]`, it adds
/// `slope · (dtp + b · ln(p[i] / p[i+1])) / max(tp[i+1] + fn[i+1], 0)` (the ratio is 1
/// unless both `p` are positive).
///
/// # Memory: a const generic, not a caller slice
/// The state is two histograms, `[f32; N]` of positive and negative weight per bucket,
/// and the totals `P` and `Q`: `8·N + 8` bytes (1608 bytes for the default `N = 200`). All
/// four of Keras's `N`-vectors follow from them (`tp` is a reverse cumulative sum), so this
/// is half of Keras's memory, an update costs O(batch) instead of O(batch + N), and
/// `result()` is one O(N) pass with no scratch. `N` is a const generic (default
/// [`DEFAULT_NUM_THRESHOLDS`]) rather than a caller-provided slice so that an `Auc` is a
/// self-contained `Copy` value without a lifetime: it fits in [`super::AnyMetric`], in a
/// `static`, or in a model's metric list like every other metric, and its size is known
/// at compile time. Use a smaller `N` (e.g. `Auc::<50>`) to trade resolution for RAM.
/// `N < 2` does not compile.
///
/// # Precision against Keras
/// Keras adds each batch's reverse cumulative sums into its variables; Ember adds bucket
/// weights and takes the cumulative sums in `result()`. Both are exact while the weight
/// sums are exact in `f32` (integer or dyadic weights, fewer than 2²⁴ samples). The final
/// sum over `N − 1` terms is done in `f32` from the top threshold down, XLA's order may
/// differ: measured differences from Keras are below 1e-6 (see the conformance suite).
///
/// Not supported: explicit `thresholds`, `multi_label`, `num_labels` and `label_weights`.
///
/// ```
/// use ember_nn::metrics::{Auc, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[4]).unwrap();
/// let (t, p) = ([0.0f32, 0.0, 1.0, 1.0], [0.0f32, 0.5, 0.3, 0.9]);
/// let mut m = Auc::<3>::default();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert!((m.result() - 0.75).abs() < 1e-7); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Auc<const N: usize = DEFAULT_NUM_THRESHOLDS> {
    curve: AucCurve,
    summation_method: AucSummationMethod,
    from_logits: bool,
    /// Weight of positive labels per bucket.
    positives: [f32; N],
    /// Weight of negative labels per bucket.
    negatives: [f32; N],
    /// Total positive weight `P`.
    total_positives: f32,
    /// Total negative weight `Q`.
    total_negatives: f32,
}

impl<const N: usize> Auc<N> {
    /// A fresh metric with `N` thresholds (Keras's `num_thresholds`).
    pub const fn new(
        curve: AucCurve,
        summation_method: AucSummationMethod,
        from_logits: bool,
    ) -> Self {
        // Keras: `num_thresholds > 1`; checked at compile time.
        const { assert!(N >= 2, "Auc needs at least 2 thresholds") };
        Auc {
            curve,
            summation_method,
            from_logits,
            positives: [0.0; N],
            negatives: [0.0; N],
            total_positives: 0.0,
            total_negatives: 0.0,
        }
    }

    /// The curve.
    pub fn curve(&self) -> AucCurve {
        self.curve
    }

    /// The summation method.
    pub fn summation_method(&self) -> AucSummationMethod {
        self.summation_method
    }

    /// Keras's four confusion counts at threshold `i` (`t_0 = −ε`, `t_{N−1} = 1 + ε`):
    /// `(tp, fp, tn, fn)`, or `None` for `i ≥ N`. O(N).
    pub fn confusion_at(&self, i: usize) -> Option<(f32, f32, f32, f32)> {
        if i >= N {
            return None;
        }
        let (mut tp, mut fp) = (0.0f32, 0.0f32);
        for j in (i..N).rev() {
            tp += self.positives[j];
            fp += self.negatives[j];
        }
        Some((tp, fp, self.total_negatives - fp, self.total_positives - tp))
    }

    /// Keras's bucket of a prediction: `max(0, ceil(clip(p, 0, 1) · (N − 1)) − 1)` in
    /// `f32` (NaN lands in bucket 0, as in Keras).
    fn bucket(&self, p: f32) -> usize {
        let p = if self.from_logits {
            1.0 / (1.0 + libm::expf(-p))
        } else {
            p
        };
        // `ops.clip` keeps NaN (bucket 0 below, as in Keras).
        let p = p.clamp(0.0, 1.0);
        let b = libm::ceilf(p * (N as f32 - 1.0)) - 1.0;
        if b >= 1.0 {
            (b as usize).min(N - 1)
        } else {
            0
        }
    }

    /// The point `(x, y)` of the curve at counts `(tp, fp)` (not for `Pr` with
    /// interpolation).
    fn point(&self, tp: f32, fp: f32) -> (f32, f32) {
        let fn_ = self.total_positives - tp;
        let tn = self.total_negatives - fp;
        let recall = divide_no_nan(tp, tp + fn_);
        match self.curve {
            AucCurve::Roc => (divide_no_nan(fp, fp + tn), recall),
            AucCurve::Pr => (recall, divide_no_nan(tp, tp + fp)),
            AucCurve::PrGain => {
                let scale = divide_no_nan(tp + fn_, tn + fp);
                let (recall_gain, precision_gain) = if tp == 0.0 {
                    (0.0, 1.0)
                } else {
                    (
                        1.0 - scale * divide_no_nan(fn_, tp),
                        1.0 - scale * divide_no_nan(fp, tp),
                    )
                };
                (recall_gain.max(0.0), precision_gain)
            }
        }
    }

    /// One term of the sum between thresholds `i` (counts `tp_i`, `fp_i`) and `i + 1`.
    fn term(&self, (tp_i, fp_i): (f32, f32), (tp_n, fp_n): (f32, f32)) -> f32 {
        if self.curve == AucCurve::Pr && self.summation_method == AucSummationMethod::Interpolation
        {
            let dtp = tp_i - tp_n;
            let (p_i, p_n) = (tp_i + fp_i, tp_n + fp_n);
            let dp = p_i - p_n;
            let slope = divide_no_nan(dtp, dp.max(0.0));
            let intercept = tp_n - slope * p_n;
            let ratio = if p_i > 0.0 && p_n > 0.0 {
                divide_no_nan(p_i, p_n.max(0.0))
            } else {
                1.0
            };
            let fn_n = self.total_positives - tp_n;
            return divide_no_nan(
                slope * (dtp + intercept * libm::logf(ratio)),
                (tp_n + fn_n).max(0.0),
            );
        }
        let (x_i, y_i) = self.point(tp_i, fp_i);
        let (x_n, y_n) = self.point(tp_n, fp_n);
        let height = match self.summation_method {
            AucSummationMethod::Interpolation => (y_i + y_n) / 2.0,
            AucSummationMethod::Minoring => y_i.min(y_n),
            AucSummationMethod::Majoring => y_i.max(y_n),
        };
        (x_i - x_n) * height
    }
}

impl<const N: usize> Default for Auc<N> {
    /// `curve="ROC"`, `summation_method="interpolation"`, `from_logits=False`.
    fn default() -> Self {
        Auc::new(AucCurve::Roc, AucSummationMethod::Interpolation, false)
    }
}

impl<const N: usize> Metric for Auc<N> {
    fn name(&self) -> &'static str {
        "auc"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        check_same_layout(y_true.shape(), y_pred.shape())?;
        let batch = batch_size(y_pred.shape())?;
        check_weights(sample_weight, batch)?;
        let (t, p) = (y_true.data(), y_pred.data());
        let per_sample = p.len() / batch;
        let (mut positive, mut negative) = (0.0f32, 0.0f32);
        for (e, (label, score)) in t.iter().zip(p).enumerate() {
            let w = weight_of(sample_weight, e / per_sample);
            let b = self.bucket(score.to_f32());
            // Keras adds `y·w` and `(1 − y)·w` with y ∈ {0, 1}.
            let (pos, neg) = if label.to_f32() != 0.0 {
                (w, 0.0)
            } else {
                (0.0, w)
            };
            if let (Some(bp), Some(bn)) = (self.positives.get_mut(b), self.negatives.get_mut(b)) {
                *bp += pos;
                *bn += neg;
            }
            positive += pos;
            negative += neg;
        }
        self.total_positives += positive;
        self.total_negatives += negative;
        Ok(())
    }

    fn result(&self) -> f32 {
        // Walk the thresholds from the top: tp[i] = tp[i+1] + positives[i].
        let (Some(&last_pos), Some(&last_neg)) = (self.positives.last(), self.negatives.last())
        else {
            return 0.0;
        };
        let mut next = (last_pos, last_neg);
        let mut sum = 0.0f32;
        for i in (0..N - 1).rev() {
            let here = (next.0 + self.positives[i], next.1 + self.negatives[i]);
            sum += self.term(here, next);
            next = here;
        }
        sum
    }

    fn reset_state(&mut self) {
        *self = Auc::new(self.curve, self.summation_method, self.from_logits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shape;

    #[test]
    fn buckets_match_keras() {
        let m = Auc::<200>::default();
        assert_eq!(m.bucket(0.0), 0);
        assert_eq!(m.bucket(-3.0), 0);
        assert_eq!(m.bucket(f32::NAN), 0);
        assert_eq!(m.bucket(1.0), 198);
        assert_eq!(m.bucket(7.0), 198);
        assert_eq!(m.bucket(0.5), 99); // ceil(99.5) - 1
        let m = Auc::<3>::default();
        assert_eq!(m.bucket(0.5), 0); // 0.5 is not > t_1 = 0.5
        assert_eq!(m.bucket(0.75), 1);
    }

    #[test]
    fn confusion_counts() {
        let s = Shape::new(&[4]).unwrap();
        let (t, p) = ([0.0f32, 0.0, 1.0, 1.0], [0.0f32, 0.5, 0.3, 0.9]);
        let mut m = Auc::<3>::default();
        m.update_state(
            TensorView::new(s, &t).unwrap(),
            TensorView::new(s, &p).unwrap(),
            Some(&[1.0, 2.0, 1.0, 0.5]),
        )
        .unwrap();
        assert_eq!(m.confusion_at(0), Some((1.5, 3.0, 0.0, 0.0)));
        assert_eq!(m.confusion_at(1), Some((0.5, 0.0, 3.0, 1.0)));
        assert_eq!(m.confusion_at(2), Some((0.0, 0.0, 3.0, 1.5)));
        assert_eq!(m.confusion_at(3), None);
        m.reset_state();
        assert_eq!(m, Auc::<3>::default());
        assert_eq!(m.result(), 0.0);
    }
}
