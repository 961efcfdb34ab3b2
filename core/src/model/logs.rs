//! [`Logs`]: the numbers `fit` reports to callbacks and returns, Keras's `logs` dict.

use crate::{Error, Result};

/// Most metrics a [`Logs`] (and so [`super::fit()`]) carries.
pub const MAX_LOG_METRICS: usize = 8;

/// What Keras passes as `logs` to callbacks and records in `History`: the loss, each
/// metric's result, and after an epoch with validation data `val_loss` and `val_<metric>`.
///
/// Names are Keras's keys: `"loss"`, the metric's [`crate::metrics::Metric::name`]
/// (`"categorical_accuracy"`, ...), and the same with a `val_` prefix. Values are `f32`,
/// as Keras's metric variables are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Logs {
    /// `loss`: the running mean of the batch losses weighted by batch size (Keras's
    /// loss tracker).
    pub loss: f32,
    names: [&'static str; MAX_LOG_METRICS],
    metrics: [f32; MAX_LOG_METRICS],
    count: usize,
    /// `val_loss`, when validation ran.
    pub val_loss: Option<f32>,
    val_metrics: [f32; MAX_LOG_METRICS],
    /// `learning_rate`, which Keras's `LearningRateScheduler` and `ReduceLROnPlateau` add
    /// at the end of an epoch.
    pub learning_rate: Option<f32>,
}

impl Logs {
    /// Empty logs (loss 0, no metrics, no validation).
    pub const fn new() -> Self {
        Logs {
            loss: 0.0,
            names: [""; MAX_LOG_METRICS],
            metrics: [0.0; MAX_LOG_METRICS],
            count: 0,
            val_loss: None,
            val_metrics: [0.0; MAX_LOG_METRICS],
            learning_rate: None,
        }
    }

    /// Adds a metric result (and its validation result, if any). More than
    /// [`MAX_LOG_METRICS`] is [`Error::InvalidConfig`].
    pub fn push(&mut self, name: &'static str, value: f32) -> Result<()> {
        if self.count == MAX_LOG_METRICS {
            return Err(Error::InvalidConfig("more metrics than MAX_LOG_METRICS"));
        }
        self.names[self.count] = name;
        self.metrics[self.count] = value;
        self.count += 1;
        Ok(())
    }

    /// Sets the validation results: `val_loss` and one value per metric, in order.
    pub fn set_validation(&mut self, val: &Logs) {
        self.val_loss = Some(val.loss);
        let n = self.count.min(val.count);
        self.val_metrics[..n].copy_from_slice(&val.metrics[..n]);
    }

    /// Number of metrics.
    pub fn metric_count(&self) -> usize {
        self.count
    }

    /// Metric `i`: its name and result.
    pub fn metric(&self, i: usize) -> Option<(&'static str, f32)> {
        (i < self.count).then(|| (self.names[i], self.metrics[i]))
    }

    /// The validation result of metric `i` (`val_<name>`), when validation ran.
    pub fn val_metric(&self, i: usize) -> Option<f32> {
        (i < self.count && self.val_loss.is_some()).then(|| self.val_metrics[i])
    }

    /// The value logged under a Keras key: `"loss"`, `"val_loss"`, `"learning_rate"`, a metric
    /// name or `val_` + a metric name. Keras: `logs.get(key)`.
    pub fn get(&self, key: &str) -> Option<f32> {
        if key == "loss" {
            return Some(self.loss);
        }
        if key == "val_loss" {
            return self.val_loss;
        }
        if key == "learning_rate" {
            return self.learning_rate;
        }
        if let Some(i) = self.names[..self.count].iter().position(|n| *n == key) {
            return Some(self.metrics[i]);
        }
        let base = key.strip_prefix("val_")?;
        let i = self.names[..self.count].iter().position(|n| *n == base)?;
        self.val_metric(i)
    }
}

impl Default for Logs {
    fn default() -> Self {
        Logs::new()
    }
}
