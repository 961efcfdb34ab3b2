//! `ember train --plot`: learning curves as a PNG (through `plotters`' bitmap backend).
//!
//! The picture has no text: `plotters` needs a font for labels (system fonts through
//! `font-kit`, or an embedded one), and Ember ships neither, so the image stays
//! reproducible on any machine. What it shows is fixed instead:
//! - the left panel is the loss per epoch (x: epoch 1..E, y: from 0, or the minimum if
//!   negative, to the maximum), the right panel (only when an accuracy metric was
//!   logged) the accuracy on a fixed 0..1 axis;
//! - training curves are blue, validation curves orange; each epoch is a dot; light grey
//!   lines mark y = 0.25, 0.5 and 0.75 of each panel's range.

use std::path::Path;

use plotters::prelude::*;

use crate::history::HistoryTable;
use crate::{Error, Result};

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VAL: RGBColor = RGBColor(255, 127, 14);
const GRID: RGBColor = RGBColor(220, 220, 220);

/// The first accuracy-like key of `history` (`accuracy`, `acc`, `*_accuracy`), which the
/// right panel plots.
pub fn accuracy_key(history: &HistoryTable) -> Option<String> {
    history
        .keys()
        .into_iter()
        .find(|k| !k.starts_with("val_") && (k == "acc" || k.contains("accuracy")))
}

/// Writes a `width × height` PNG of the loss (and accuracy, if logged) per epoch: see the
/// module docs for what is drawn. Keras users draw the same from `history.history`.
pub fn plot_history(history: &HistoryTable, path: &Path, size: (u32, u32)) -> Result<()> {
    let err = |e: String| Error::Tensor {
        path: path.to_path_buf(),
        msg: format!("cannot draw the plot: {e}"),
    };
    if history.is_empty() {
        return Err(err("no epoch to plot".into()));
    }
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let acc = accuracy_key(history);
    let panels = if acc.is_some() {
        root.split_evenly((1, 2))
    } else {
        vec![root.clone()]
    };
    let epochs = history.len();
    let curves = |key: &str| (history.column(key), history.column(&format!("val_{key}")));
    let (train, val) = curves("loss");
    let values = train.iter().chain(val.iter()).map(|&(_, v)| v);
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f32, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi > lo { hi } else { lo + 1.0 };
    panel(&panels[0], epochs, (lo, hi * 1.05), &train, &val).map_err(err)?;
    if let Some(key) = acc {
        let (train, val) = curves(&key);
        panel(&panels[1], epochs, (0.0, 1.0), &train, &val).map_err(err)?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// One panel: frame, grid, training and validation curves (points are `(epoch, value)`).
fn panel(
    area: &Area<'_>,
    epochs: usize,
    (lo, hi): (f32, f32),
    train: &[(usize, f32)],
    val: &[(usize, f32)],
) -> std::result::Result<(), String> {
    let s = |e: DrawingAreaErrorKind<_>| e.to_string();
    // Epochs are 0-based in the logs and drawn as 1..E; one epoch still spans the axis.
    let x_max = epochs.max(2) as f32;
    let mut chart = ChartBuilder::on(area)
        .margin(24)
        .build_cartesian_2d(1.0f32..x_max, lo..hi)
        .map_err(s)?;
    for q in [0.25f32, 0.5, 0.75] {
        let y = lo + q * (hi - lo);
        chart
            .draw_series(LineSeries::new([(1.0, y), (x_max, y)], GRID))
            .map_err(s)?;
    }
    chart
        .draw_series([Rectangle::new(
            [(1.0, lo), (x_max, hi)],
            BLACK.stroke_width(1),
        )])
        .map_err(s)?;
    for (points, color) in [(train, TRAIN), (val, VAL)] {
        let pts: Vec<(f32, f32)> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(e, v)| (e as f32 + 1.0, v.clamp(lo, hi)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(s)?;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(s)?;
    }
    Ok(())
}
