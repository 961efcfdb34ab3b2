//! [`HistoryTable`]: every epoch's logs of an `ember train` run, as Keras's
//! `History.history` and `CSVLogger` file.

use ember_nn::model::Logs;

/// The logs of every epoch of a `fit`, keyed as Keras keys them: `loss`, each metric under
/// the word it was requested by (`accuracy`, `mae`, ...), and `val_` + those with
/// validation data. Keras: `keras.callbacks.History` (`history.history[key]`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTable {
    names: Vec<String>,
    rows: Vec<(usize, Logs)>,
}

impl HistoryTable {
    /// An empty table for metrics logged under `names` (in the order `fit` got them).
    pub fn new(names: Vec<String>) -> Self {
        HistoryTable {
            names,
            rows: Vec::new(),
        }
    }

    /// Records the logs of `epoch` (0-based).
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.rows.push((epoch, *logs));
    }

    /// Epochs recorded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no epoch was recorded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The keys of the first epoch's logs, sorted as Keras's `CSVLogger` sorts them
    /// (`sorted(logs.keys())`): e.g. `accuracy, loss, val_accuracy, val_loss`.
    pub fn keys(&self) -> Vec<String> {
        let Some((_, first)) = self.rows.first() else {
            return Vec::new();
        };
        let mut keys = vec!["loss".to_string()];
        keys.extend(self.names.iter().cloned());
        if first.val_loss.is_some() {
            keys.push("val_loss".into());
            keys.extend(self.names.iter().map(|n| format!("val_{n}")));
        }
        if first.learning_rate.is_some() {
            keys.push("learning_rate".into());
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// The value logged under `key` at row `row`. Keras: `history.history[key][row]`.
    pub fn get(&self, row: usize, key: &str) -> Option<f32> {
        let (_, logs) = self.rows.get(row)?;
        match key {
            "loss" => Some(logs.loss),
            "val_loss" => logs.val_loss,
            "learning_rate" => logs.learning_rate,
            _ => {
                if let Some(i) = self.names.iter().position(|n| n == key) {
                    return logs.metric(i).map(|(_, v)| v);
                }
                let base = key.strip_prefix("val_")?;
                let i = self.names.iter().position(|n| n == base)?;
                logs.val_metric(i)
            }
        }
    }

    /// Every epoch's value of `key` (epochs lacking it skipped), with the epoch index.
    pub fn column(&self, key: &str) -> Vec<(usize, f32)> {
        (0..self.rows.len())
            .filter_map(|r| self.get(r, key).map(|v| (self.rows[r].0, v)))
            .collect()
    }

    /// The table as Keras's `CSVLogger` writes it: a header `epoch,<sorted keys>`, then
    /// one row per epoch (epoch from 0). Values are the shortest decimal that reads back
    /// as the same `f32`; a missing value is empty.
    pub fn to_csv(&self) -> String {
        let keys = self.keys();
        let mut out = String::from("epoch");
        for k in &keys {
            out.push(',');
            out.push_str(k);
        }
        out.push('\n');
        for (r, (epoch, _)) in self.rows.iter().enumerate() {
            out.push_str(&epoch.to_string());
            for k in &keys {
                out.push(',');
                if let Some(v) = self.get(r, k) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_sorted_keras_keys() {
        let mut h = HistoryTable::new(vec!["accuracy".into()]);
        let mut l = Logs::new();
        l.loss = 0.5;
        l.push("categorical_accuracy", 0.25).unwrap();
        let mut v = Logs::new();
        v.loss = 0.75;
        v.push("categorical_accuracy", 0.125).unwrap();
        l.set_validation(&v);
        h.push(0, &l);
        l.loss = 0.375;
        h.push(1, &l);
        assert_eq!(
            h.to_csv(),
            "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.25,0.5,0.125,0.75\n\
             1,0.25,0.375,0.125,0.75\n"
        );
        assert_eq!(h.column("loss"), vec![(0, 0.5), (1, 0.375)]);
        assert_eq!(h.get(0, "val_accuracy"), Some(0.125));
        assert_eq!(h.get(0, "auc"), None);
    }
}
