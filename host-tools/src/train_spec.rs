//! Parsing training configurations from command-line words.

use ember_nn::optimizer::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Algorithm, Clip, LearningRateSchedule, Nadam,
    Optimizer, RmsProp, Sgd,
};
use ember_nn::Trainable;

/// The optimizer words [`parse_optimizer`] accepts.
pub const OPTIMIZER_WORDS: &str = "sgd, sgd-momentum, sgd-nesterov, adam, adam-amsgrad, \
adamw, adamw-amsgrad, adagrad, adadelta, rmsprop, rmsprop-momentum, rmsprop-centered, \
rmsprop-centered-momentum, adamax, nadam";

/// Parses an optimizer word (see [`OPTIMIZER_WORDS`]): the Keras optimizer with Keras
/// defaults, except `-momentum` (momentum 0.9), `-nesterov` (momentum 0.9, Nesterov),
/// `-amsgrad` and `-centered`. Only the optimizer's *kind* changes memory (its `slots()`);
/// hyperparameters, schedules, weight decay and clipping are set by the code that trains
/// and add no memory.
pub fn parse_optimizer(s: &str) -> Result<Optimizer, String> {
    let momentum = Sgd {
        momentum: 0.9,
        ..Sgd::default()
    };
    let rms_momentum = RmsProp {
        momentum: 0.9,
        ..RmsProp::default()
    };
    Ok(match s {
        "sgd" => Optimizer::sgd(Sgd::default()),
        "sgd-momentum" => Optimizer::sgd(momentum),
        "sgd-nesterov" => Optimizer::sgd(Sgd {
            nesterov: true,
            ..momentum
        }),
        "adam" => Optimizer::adam(Adam::default()),
        "adam-amsgrad" => Optimizer::adam(Adam {
            amsgrad: true,
            ..Adam::default()
        }),
        "adamw" => Optimizer::adam_w(AdamW::default()),
        "adamw-amsgrad" => Optimizer::adam_w(AdamW {
            amsgrad: true,
            ..AdamW::default()
        }),
        "adagrad" => Optimizer::adagrad(Adagrad::default()),
        "adadelta" => Optimizer::adadelta(Adadelta::default()),
        "rmsprop" => Optimizer::rms_prop(RmsProp::default()),
        "rmsprop-momentum" => Optimizer::rms_prop(rms_momentum),
        "rmsprop-centered" => Optimizer::rms_prop(RmsProp {
            centered: true,
            ..RmsProp::default()
        }),
        "rmsprop-centered-momentum" => Optimizer::rms_prop(RmsProp {
            centered: true,
            ..rms_momentum
        }),
        "adamax" => Optimizer::adamax(Adamax::default()),
        "nadam" => Optimizer::nadam(Nadam::default()),
        _ => return Err(format!("unknown optimizer `{s}` (use {OPTIMIZER_WORDS})")),
    })
}

/// The Keras call an optimizer mirrors, e.g.
/// `SGD(learning_rate=0.01, momentum=0.9, nesterov=False, clipnorm=1.0)`.
pub fn describe_optimizer(o: &Optimizer) -> String {
    let b = |v: bool| if v { "True" } else { "False" };
    let mut args = match o.algorithm {
        Algorithm::Sgd(a) => format!(
            "learning_rate={:?}, momentum={:?}, nesterov={}",
            a.learning_rate,
            a.momentum,
            b(a.nesterov)
        ),
        Algorithm::Adam(a) => format!(
            "learning_rate={:?}, beta_1={:?}, beta_2={:?}, epsilon={:?}, amsgrad={}",
            a.learning_rate,
            a.beta_1,
            a.beta_2,
            a.epsilon,
            b(a.amsgrad)
        ),
        Algorithm::AdamW(a) => format!(
            "learning_rate={:?}, weight_decay={:?}, beta_1={:?}, beta_2={:?}, epsilon={:?}, \
             amsgrad={}",
            a.learning_rate,
            a.weight_decay,
            a.beta_1,
            a.beta_2,
            a.epsilon,
            b(a.amsgrad)
        ),
        Algorithm::Adagrad(a) => format!(
            "learning_rate={:?}, initial_accumulator_value={:?}, epsilon={:?}",
            a.learning_rate, a.initial_accumulator_value, a.epsilon
        ),
        Algorithm::Adadelta(a) => format!(
            "learning_rate={:?}, rho={:?}, epsilon={:?}",
            a.learning_rate, a.rho, a.epsilon
        ),
        Algorithm::RmsProp(a) => format!(
            "learning_rate={:?}, rho={:?}, momentum={:?}, epsilon={:?}, centered={}",
            a.learning_rate,
            a.rho,
            a.momentum,
            a.epsilon,
            b(a.centered)
        ),
        Algorithm::Adamax(a) => format!(
            "learning_rate={:?}, beta_1={:?}, beta_2={:?}, epsilon={:?}",
            a.learning_rate, a.beta_1, a.beta_2, a.epsilon
        ),
        Algorithm::Nadam(a) => format!(
            "learning_rate={:?}, beta_1={:?}, beta_2={:?}, epsilon={:?}",
            a.learning_rate, a.beta_1, a.beta_2, a.epsilon
        ),
        _ => format!("{:?}", o.algorithm),
    };
    if let Some(s) = &o.schedule {
        // The schedule replaces the constant learning rate.
        let schedule = describe_schedule(s);
        args = match args.split_once(", ") {
            Some((lr, rest)) if lr.starts_with("learning_rate=") => {
                format!("learning_rate={schedule}, {rest}")
            }
            _ => format!("learning_rate={schedule}"),
        };
    }
    if let Some(wd) = o.weight_decay {
        args.push_str(&format!(", weight_decay={wd:?}"));
    }
    match o.clip {
        Clip::Norm(c) => args.push_str(&format!(", clipnorm={c:?}")),
        Clip::Value(c) => args.push_str(&format!(", clipvalue={c:?}")),
        Clip::GlobalNorm(c) => args.push_str(&format!(", global_clipnorm={c:?}")),
        _ => {}
    }
    format!("{}({args})", o.algorithm.keras_name())
}

/// A learning-rate schedule as its Keras constructor call.
fn describe_schedule(s: &LearningRateSchedule) -> String {
    let b = |v: bool| if v { "True" } else { "False" };
    match s {
        LearningRateSchedule::ExponentialDecay(e) => format!(
            "ExponentialDecay(initial_learning_rate={:?}, decay_steps={:?}, decay_rate={:?}, \
             staircase={})",
            e.initial_learning_rate,
            e.decay_steps,
            e.decay_rate,
            b(e.staircase)
        ),
        LearningRateSchedule::InverseTimeDecay(e) => format!(
            "InverseTimeDecay(initial_learning_rate={:?}, decay_steps={:?}, decay_rate={:?}, \
             staircase={})",
            e.initial_learning_rate,
            e.decay_steps,
            e.decay_rate,
            b(e.staircase)
        ),
        LearningRateSchedule::PiecewiseConstantDecay(p) => {
            let len = p.len.min(p.boundaries.len());
            format!(
                "PiecewiseConstantDecay(boundaries={:?}, values={:?})",
                &p.boundaries[..len],
                &p.values[..len + 1]
            )
        }
        LearningRateSchedule::CosineDecay(c) => {
            let warmup = match c.warmup_target {
                Some(t) => format!(", warmup_target={t:?}, warmup_steps={:?}", c.warmup_steps),
                None => String::new(),
            };
            format!(
                "CosineDecay(initial_learning_rate={:?}, decay_steps={:?}, alpha={:?}{warmup})",
                c.initial_learning_rate, c.decay_steps, c.alpha
            )
        }
        _ => format!("{s:?}"),
    }
}

/// Parses which layers train: `saved` (Keras's flags), `all`, `last-K`, or `bias-only`
/// (every layer's bias alone: [`Trainable::BiasOnly`]).
pub fn parse_trainable(s: &str) -> Result<Trainable, String> {
    match s {
        "saved" => Ok(Trainable::AsSaved),
        "all" => Ok(Trainable::All),
        "bias-only" => Ok(Trainable::BiasOnly),
        _ => s
            .strip_prefix("last-")
            .and_then(|k| k.parse().ok())
            .map(Trainable::LastK)
            .ok_or_else(|| {
                format!("unknown trainable set `{s}` (use saved, all, last-K, bias-only)")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words() {
        assert_eq!(parse_trainable("last-2"), Ok(Trainable::LastK(2)));
        assert_eq!(parse_trainable("bias-only"), Ok(Trainable::BiasOnly));
        assert!(parse_trainable("last-x").is_err());
        let slots = |w: &str| parse_optimizer(w).unwrap().slots();
        assert_eq!(slots("sgd"), 0);
        assert_eq!(slots("sgd-momentum"), 1);
        assert_eq!(slots("sgd-nesterov"), 1);
        assert_eq!(slots("adam"), 2);
        assert_eq!(slots("adam-amsgrad"), 3);
        assert_eq!(slots("adamw"), 2);
        assert_eq!(slots("adamw-amsgrad"), 3);
        assert_eq!(slots("adagrad"), 1);
        assert_eq!(slots("adadelta"), 2);
        assert_eq!(slots("rmsprop"), 1);
        assert_eq!(slots("rmsprop-momentum"), 2);
        assert_eq!(slots("rmsprop-centered"), 2);
        assert_eq!(slots("rmsprop-centered-momentum"), 3);
        assert_eq!(slots("adamax"), 2);
        assert_eq!(slots("nadam"), 2);
        for word in OPTIMIZER_WORDS.split(", ") {
            assert!(parse_optimizer(word).is_ok(), "{word}");
        }
        assert!(parse_optimizer("lion").is_err());
    }

    #[test]
    fn describes_keras_calls() {
        use ember_nn::optimizer::ExponentialDecay;
        let o = parse_optimizer("sgd-nesterov").unwrap();
        assert_eq!(
            describe_optimizer(&o),
            "SGD(learning_rate=0.01, momentum=0.9, nesterov=True)"
        );
        let o = parse_optimizer("rmsprop-centered")
            .unwrap()
            .with_schedule(LearningRateSchedule::ExponentialDecay(ExponentialDecay {
                initial_learning_rate: 0.1,
                decay_steps: 10.0,
                decay_rate: 0.5,
                staircase: true,
            }))
            .with_weight_decay(0.01)
            .with_clip(Clip::GlobalNorm(1.0));
        assert_eq!(
            describe_optimizer(&o),
            "RMSprop(learning_rate=ExponentialDecay(initial_learning_rate=0.1, \
             decay_steps=10.0, decay_rate=0.5, staircase=True), rho=0.9, momentum=0.0, \
             epsilon=1e-7, centered=True, weight_decay=0.01, global_clipnorm=1.0)"
        );
        let o = parse_optimizer("adamw").unwrap();
        assert!(
            describe_optimizer(&o).starts_with("AdamW(learning_rate=0.001, weight_decay=0.004,")
        );
    }
}
