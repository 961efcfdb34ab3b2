//! Parsing training configurations from command-line words.

use ember_nn::{Adam, Optimizer, Sgd, Trainable};

/// Parses an optimizer: `sgd`, `sgd-momentum` (momentum 0.9), `adam`, `adam-amsgrad`
/// (Keras defaults otherwise). Only the optimizer's *kind* changes memory; hyperparameters
/// are set by the code that trains.
pub fn parse_optimizer(s: &str) -> Result<Optimizer, String> {
    Ok(match s {
        "sgd" => Optimizer::Sgd(Sgd::default()),
        "sgd-momentum" => Optimizer::Sgd(Sgd {
            momentum: 0.9,
            ..Sgd::default()
        }),
        "adam" => Optimizer::Adam(Adam::default()),
        "adam-amsgrad" => Optimizer::Adam(Adam {
            amsgrad: true,
            ..Adam::default()
        }),
        _ => {
            return Err(format!(
                "unknown optimizer `{s}` (use sgd, sgd-momentum, adam, adam-amsgrad)"
            ))
        }
    })
}

/// Parses which layers train: `saved` (Keras's flags), `all`, or `last-K`.
pub fn parse_trainable(s: &str) -> Result<Trainable, String> {
    match s {
        "saved" => Ok(Trainable::AsSaved),
        "all" => Ok(Trainable::All),
        _ => s
            .strip_prefix("last-")
            .and_then(|k| k.parse().ok())
            .map(Trainable::LastK)
            .ok_or_else(|| format!("unknown trainable set `{s}` (use saved, all, last-K)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words() {
        assert_eq!(parse_trainable("last-2"), Ok(Trainable::LastK(2)));
        assert!(parse_trainable("last-x").is_err());
        assert_eq!(parse_optimizer("adam").unwrap().slots(), 2);
        assert_eq!(parse_optimizer("sgd").unwrap().slots(), 0);
        assert_eq!(parse_optimizer("sgd-momentum").unwrap().slots(), 1);
        assert!(parse_optimizer("lion").is_err());
    }
}
