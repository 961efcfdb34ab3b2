//! Helpers shared by the legacy `.h5` reader tests (`keras_h5.rs`, `keras_h5_synthetic.rs`).
#![allow(dead_code)]

use ember_cli::keras::KerasModel;

pub fn weight_paths(model: &KerasModel, layer: usize) -> Vec<&str> {
    model.layers[layer]
        .weights
        .iter()
        .map(|w| w.path.as_str())
        .collect()
}

/// The layers Ember's converter takes: Dropout (identity at inference, no weights) is
/// dropped from both sides alike.
pub fn without_dropout(model: &KerasModel) -> KerasModel {
    let mut m = model.clone();
    m.layers.retain(|l| {
        let drop = l.class_name == "Dropout";
        assert!(!drop || l.weights.is_empty(), "Dropout has no weights");
        !drop
    });
    m
}
