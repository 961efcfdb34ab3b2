//! [`Mode`] and the improvement test shared by [`super::EarlyStopping`] and
//! [`super::ReduceLROnPlateau`] (Keras's `MonitorCallback`).

use crate::{Error, Result};

/// Whether the monitored quantity should go down or up. Keras: `mode="auto"|"min"|"max"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// From the name, as Keras's `MonitorCallback._set_monitor_op`: `loss`/`val_loss`
    /// and error metrics (`mean_squared_error`, `mean_absolute_error`) go down; the
    /// metrics Keras marks `_direction = "up"` (accuracies, `precision`, `recall`,
    /// `auc`) go up; any other name is [`Error::InvalidConfig`] (Keras: `ValueError`).
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// `Min` or `Max` for `monitor` (the resolved direction of `Auto`).
    pub fn resolve(self, monitor: &str) -> Result<Mode> {
        if self != Mode::Auto {
            return Ok(self);
        }
        let name = monitor.strip_prefix("val_").unwrap_or(monitor);
        match name {
            "loss" | "mean_squared_error" | "mean_absolute_error" => Ok(Mode::Min),
            "accuracy"
            | "binary_accuracy"
            | "categorical_accuracy"
            | "sparse_categorical_accuracy"
            | "top_k_categorical_accuracy"
            | "precision"
            | "recall"
            | "auc" => Ok(Mode::Max),
            _ => Err(Error::InvalidConfig(
                "monitor direction unknown: pass Mode::Min or Mode::Max",
            )),
        }
    }
}

/// Keras's `_is_improvement(current, reference)` for a resolved mode: `current − min_delta
/// < reference` for `Min` after Keras negates `min_delta`, i.e. `current + |Δ| < best`
/// (Keras keeps `abs(min_delta)`), and `current − |Δ| > best` for `Max`. Always true without a
/// reference. Computed in `f64`, as Keras compares Python floats.
pub(super) fn is_improvement(
    mode: Mode,
    min_delta: f32,
    current: f32,
    reference: Option<f32>,
) -> bool {
    let Some(reference) = reference else {
        return true;
    };
    let (c, r, d) = (
        f64::from(current),
        f64::from(reference),
        f64::from(min_delta).abs(),
    );
    match mode {
        Mode::Max => c - d > r,
        _ => c + d < r,
    }
}
