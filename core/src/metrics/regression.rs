//! Regression errors: [`MeanSquaredError`] and [`MeanAbsoluteError`].

use super::input::{aligned_rank_and_last, batch_size, check_same_layout, check_weights};
use super::{Mean, Metric};
use crate::{Result, Scalar, TensorView};

/// The running mean of the squared error. Keras: `keras.metrics.MeanSquaredError`.
///
/// Keras computes `mean(square(y_true − y_pred), axis=-1)` per row of the last axis
/// (after `squeeze_or_expand_to_same_rank`), averages the rows of each sample and then
/// the samples with a weighted [`Mean`].
///
/// One Keras quirk is kept: when `y_true` and `y_pred` are both rank 1 (`(batch,)`), the
/// last axis *is* the batch axis, so the whole batch gives one value and counts as **one**
/// sample (sample weights must then hold a single value). Give `(batch, 1)` tensors for
/// one value per sample.
///
/// ```
/// use ember_nn::metrics::{MeanSquaredError, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[2, 2]).unwrap();
/// let (t, p) = ([0.0f32, 1.0, 0.0, 0.0], [1.0f32, 1.0, 0.0, 0.0]);
/// let mut m = MeanSquaredError::new();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), None)
///     .unwrap();
/// assert_eq!(m.result(), 0.25); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError {
    mean: Mean,
}

impl MeanSquaredError {
    /// A fresh metric.
    pub const fn new() -> Self {
        MeanSquaredError { mean: Mean::new() }
    }
}

impl Metric for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        row_means(&mut self.mean, y_true, y_pred, sample_weight, |d| d * d)
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// The running mean of the absolute error. Keras: `keras.metrics.MeanAbsoluteError`.
///
/// `mean(abs(y_true − y_pred), axis=-1)` per row, then as [`MeanSquaredError`] (including
/// the rank-1 rule).
///
/// ```
/// use ember_nn::metrics::{MeanAbsoluteError, Metric};
/// use ember_nn::{Shape, TensorView};
/// let s = Shape::new(&[2, 2]).unwrap();
/// let (t, p) = ([0.0f32, 1.0, 0.0, 0.0], [1.0f32, 1.0, 0.0, 0.0]);
/// let mut m = MeanAbsoluteError::new();
/// m.update_state(TensorView::new(s, &t).unwrap(), TensorView::new(s, &p).unwrap(), Some(&[1.0, 0.0]))
///     .unwrap();
/// assert_eq!(m.result(), 0.5); // Keras's docstring example
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError {
    mean: Mean,
}

impl MeanAbsoluteError {
    /// A fresh metric.
    pub const fn new() -> Self {
        MeanAbsoluteError { mean: Mean::new() }
    }
}

impl Metric for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }

    fn update_state<T: Scalar>(
        &mut self,
        y_true: TensorView<'_, T>,
        y_pred: TensorView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<()> {
        row_means(&mut self.mean, y_true, y_pred, sample_weight, f32::abs)
    }

    fn result(&self) -> f32 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// Adds the batch: `f(t − p)` averaged over each row of the last axis, rows averaged per
/// sample (both-rank-1 inputs: the batch is one sample).
fn row_means<T: Scalar>(
    mean: &mut Mean,
    y_true: TensorView<'_, T>,
    y_pred: TensorView<'_, T>,
    sample_weight: Option<&[T]>,
    f: impl Fn(f32) -> f32,
) -> Result<()> {
    check_same_layout(y_true.shape(), y_pred.shape())?;
    let mut batch = batch_size(y_pred.shape())?;
    let (_, last) = aligned_rank_and_last(y_true.shape(), y_pred.shape());
    if y_true.shape().rank() == 1 && y_pred.shape().rank() == 1 {
        batch = 1;
    }
    check_weights(sample_weight, batch)?;
    let (t, p) = (y_true.data(), y_pred.data());
    let rows = p.len() / last;
    mean.add_rows(batch, rows, sample_weight, |r| {
        let span = r * last..(r + 1) * last;
        let (Some(tr), Some(pr)) = (t.get(span.clone()), p.get(span)) else {
            return 0.0;
        };
        let mut sum = 0.0f32;
        for (a, b) in tr.iter().zip(pr) {
            sum += f(a.to_f32() - b.to_f32());
        }
        sum / last as f32
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Shape};

    fn view<'a>(shape: &[usize], data: &'a [f32]) -> TensorView<'a, f32> {
        TensorView::new(Shape::new(shape).unwrap(), data).unwrap()
    }

    #[test]
    fn rank1_batch_is_one_sample() {
        let (t, p) = ([1.0f32, 2.0, 3.0], [1.0f32, 2.0, 5.0]);
        let mut m = MeanSquaredError::new();
        m.update_state(view(&[3], &t), view(&[3], &p), None)
            .unwrap();
        m.update_state(view(&[1], &[0.0]), view(&[1], &[0.0]), None)
            .unwrap();
        // Keras: (4/3 + 0) / 2 samples.
        assert_eq!(m.result(), (4.0f32 / 3.0) / 2.0);
        assert_eq!(
            m.update_state(view(&[3], &t), view(&[3], &p), Some(&[1.0, 1.0, 1.0])),
            Err(Error::ShapeMismatch {
                expected: 1,
                found: 3
            })
        );
        // (b,) against (b, 1): one value per sample.
        let mut m = MeanAbsoluteError::new();
        m.update_state(view(&[3], &t), view(&[3, 1], &p), Some(&[0.0, 1.0, 1.0]))
            .unwrap();
        assert_eq!(m.result(), 1.0);
    }
}
