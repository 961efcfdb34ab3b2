//! Keras's `model.compile(...)` settings → the blob's training record
//! ([`ember_nn::blob::TrainingDesc`]).
//!
//! A `.keras` file keeps them in `config.json`'s `compile_config`
//! (`{"optimizer": {"class_name", "config"}, "loss": ..., "loss_weights", "metrics", ...}`),
//! a legacy `.h5` file in its `training_config` attribute (the same, with
//! `optimizer_config` for `optimizer`). Every option is read: a value Ember implements is
//! mapped, anything else is refused by name ([`Error::UnsupportedOption`], layer
//! `compile_config.optimizer` / `compile_config.loss` / `compile_config`), never dropped.
//! `metrics`, `weighted_metrics`, `run_eagerly`, `steps_per_execution`, `jit_compile` and
//! `auto_scale_loss` do not change the weights training computes and are not recorded.
//!
//! The record is what Keras would rebuild from the file: Keras 3.15's `Huber.get_config()`
//! leaves `delta` out, so a `Huber(delta=0.5)` saved by it reads back (in Keras and here)
//! as `delta=1.0`.
//!
//! [`TrainingSettings`] is what `ember convert` asks for: the file's settings (the
//! default), with `--optimizer` / `--loss` overriding them, or none
//! (`--no-training-settings`).

use ember_nn::blob::TrainingDesc;
use ember_nn::loss::Reduction;
use ember_nn::optimizer::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Clip, CosineDecay, ExponentialDecay, InverseTimeDecay,
    LearningRateSchedule, Nadam, PiecewiseConstantDecay, RmsProp, Sgd,
};
use ember_nn::{Loss, Optimizer};
use serde_json::{Map, Value};

use crate::keras::KerasModel;
use crate::{Error, Result};

/// Which training record the converter writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrainingSettings {
    /// None (`ember convert --no-training-settings`).
    Skip,
    /// The model's compile settings, with these overrides (`--optimizer`, `--loss`). A
    /// model saved without `compile` gets a record only when both are given.
    FromFile {
        /// Replaces the file's optimizer (the file's is then not read).
        optimizer: Option<Optimizer>,
        /// Replaces the file's loss (the file's is then not read).
        loss: Option<Loss>,
    },
}

impl Default for TrainingSettings {
    /// The file's settings, no overrides.
    fn default() -> Self {
        TrainingSettings::FromFile {
            optimizer: None,
            loss: None,
        }
    }
}

/// Optimizer classes [`optimizer`] maps.
pub const SUPPORTED_OPTIMIZERS: &str =
    "SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam";
/// Learning-rate schedules [`optimizer`] maps.
pub const SUPPORTED_SCHEDULES: &str =
    "ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay";

const HINT: &str = "; or convert with --no-training-settings, or set --optimizer/--loss";

/// The training record for `model` under `settings`: `None` for [`TrainingSettings::Skip`]
/// and for a model without compile settings and without both overrides.
pub fn training_record(
    model: &KerasModel,
    settings: &TrainingSettings,
) -> Result<Option<TrainingDesc>> {
    let TrainingSettings::FromFile { optimizer, loss } = *settings else {
        return Ok(None);
    };
    let Some(compile) = &model.compile_config else {
        return match (optimizer, loss) {
            (Some(o), Some(l)) => Ok(Some(TrainingDesc::new(o, l))),
            (None, None) => Ok(None),
            _ => Err(Error::Config(
                "the model was saved without compile settings: give both --optimizer and \
                 --loss to record training settings"
                    .into(),
            )),
        };
    };
    let c = compile
        .as_object()
        .ok_or_else(|| Error::Config(format!("compile_config is {compile}, expected an object")))?;
    check_compile_keys(c)?;
    let optimizer = match optimizer {
        Some(o) => o,
        None => {
            let v = c.get("optimizer").or_else(|| c.get("optimizer_config"));
            self::optimizer(v.unwrap_or(&Value::Null))?
        }
    };
    let loss = match loss {
        Some(l) => l,
        None => self::loss(c.get("loss").unwrap_or(&Value::Null))?,
    };
    Ok(Some(TrainingDesc::new(optimizer, loss)))
}

fn refuse(part: &str, class: &str, option: &str, value: &Value, supported: &str) -> Error {
    Error::UnsupportedOption {
        layer: format!("compile_config{part}"),
        class: class.into(),
        option: option.into(),
        value: value.to_string(),
        supported: format!("{supported}{HINT}"),
    }
}

/// The keys of `compile_config` besides `optimizer` and `loss`.
fn check_compile_keys(c: &Map<String, Value>) -> Result<()> {
    for (k, v) in c {
        match k.as_str() {
            "optimizer" | "optimizer_config" | "loss" => {}
            // Reporting and execution options: no effect on the trained weights.
            "metrics"
            | "weighted_metrics"
            | "run_eagerly"
            | "steps_per_execution"
            | "jit_compile"
            | "auto_scale_loss" => {}
            "loss_weights" if v.is_null() => {}
            "loss_weights" => return Err(refuse("", "compile", k, v, "null")),
            _ => return Err(refuse("", "compile", k, v, "no such option")),
        }
    }
    Ok(())
}

/// A float: its value, or `default` when absent.
fn float(cfg: &Map<String, Value>, class: &str, key: &str, default: f32) -> Result<f32> {
    match cfg.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .map(|f| f as f32)
            .filter(|f| f.is_finite())
            .ok_or_else(|| refuse(".optimizer", class, key, v, "a finite number")),
    }
}

fn boolean(cfg: &Map<String, Value>, class: &str, key: &str, default: bool) -> Result<bool> {
    match cfg.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| refuse(".optimizer", class, key, v, "true or false")),
    }
}

/// A float option that may be null (absent = null).
fn opt_float(cfg: &Map<String, Value>, class: &str, key: &str) -> Result<Option<f32>> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => float(cfg, class, key, 0.0).map(Some),
    }
}

/// The options every Keras optimizer takes (`keras.optimizers.Optimizer`'s arguments).
const BASE_KEYS: &[&str] = &[
    "name",
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "global_clipnorm",
    "clipvalue",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    // tf.keras 2 (TF ≥ 2.11) optimizers.
    "jit_compile",
    "is_legacy_optimizer",
];

/// A Keras optimizer (`{"class_name", "config"}`, or a name string with Keras defaults)
/// as an Ember [`Optimizer`].
pub fn optimizer(v: &Value) -> Result<Optimizer> {
    let (class, empty);
    let cfg = match v {
        Value::String(s) => {
            class = keras_optimizer_class(s).unwrap_or(s.as_str()).to_string();
            empty = Map::new();
            &empty
        }
        Value::Object(o) => {
            class = o
                .get("class_name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match o.get("config") {
                Some(Value::Object(c)) => c,
                _ => {
                    return Err(refuse(
                        ".optimizer",
                        &class,
                        "config",
                        v,
                        "an optimizer config object",
                    ))
                }
            }
        }
        _ => return Err(refuse("", "compile", "optimizer", v, SUPPORTED_OPTIMIZERS)),
    };
    // tf.keras 2 registers its (TF ≥ 2.11) optimizers as `Custom>SGD`, `Custom>Adam`, ...
    let class = class.strip_prefix("Custom>").unwrap_or(&class);
    let own: &[&str] = match class {
        "SGD" => &["momentum", "nesterov"],
        "Adam" | "AdamW" => &["beta_1", "beta_2", "epsilon", "amsgrad"],
        "RMSprop" => &["rho", "momentum", "epsilon", "centered"],
        "Adagrad" => &["initial_accumulator_value", "epsilon"],
        "Adadelta" => &["rho", "epsilon"],
        "Adamax" | "Nadam" => &["beta_1", "beta_2", "epsilon"],
        _ => {
            return Err(refuse(
                "",
                "compile",
                "optimizer",
                &Value::String(class.into()),
                SUPPORTED_OPTIMIZERS,
            ))
        }
    };
    for (k, val) in cfg {
        if !BASE_KEYS.contains(&k.as_str()) && !own.contains(&k.as_str()) {
            return Err(refuse(".optimizer", class, k, val, "no such option"));
        }
    }
    check_base(cfg, class)?;
    let f = |key: &str, default: f32| float(cfg, class, key, default);
    let (lr_value, schedule) = learning_rate(cfg, class)?;
    let lr = |default: f32| lr_value.unwrap_or(default);
    let algorithm = match class {
        "SGD" => {
            let d = Sgd::DEFAULT;
            Optimizer::sgd(Sgd {
                learning_rate: lr(d.learning_rate),
                momentum: f("momentum", d.momentum)?,
                nesterov: boolean(cfg, class, "nesterov", d.nesterov)?,
            })
        }
        "Adam" => {
            let d = Adam::DEFAULT;
            Optimizer::adam(Adam {
                learning_rate: lr(d.learning_rate),
                beta_1: f("beta_1", d.beta_1)?,
                beta_2: f("beta_2", d.beta_2)?,
                epsilon: f("epsilon", d.epsilon)?,
                amsgrad: boolean(cfg, class, "amsgrad", d.amsgrad)?,
            })
        }
        "AdamW" => {
            let d = AdamW::DEFAULT;
            Optimizer::adam_w(AdamW {
                learning_rate: lr(d.learning_rate),
                weight_decay: f("weight_decay", d.weight_decay)?,
                beta_1: f("beta_1", d.beta_1)?,
                beta_2: f("beta_2", d.beta_2)?,
                epsilon: f("epsilon", d.epsilon)?,
                amsgrad: boolean(cfg, class, "amsgrad", d.amsgrad)?,
            })
        }
        "RMSprop" => {
            let d = RmsProp::DEFAULT;
            Optimizer::rms_prop(RmsProp {
                learning_rate: lr(d.learning_rate),
                rho: f("rho", d.rho)?,
                momentum: f("momentum", d.momentum)?,
                epsilon: f("epsilon", d.epsilon)?,
                centered: boolean(cfg, class, "centered", d.centered)?,
            })
        }
        "Adagrad" => {
            let d = Adagrad::DEFAULT;
            Optimizer::adagrad(Adagrad {
                learning_rate: lr(d.learning_rate),
                initial_accumulator_value: f(
                    "initial_accumulator_value",
                    d.initial_accumulator_value,
                )?,
                epsilon: f("epsilon", d.epsilon)?,
            })
        }
        "Adadelta" => {
            let d = Adadelta::DEFAULT;
            Optimizer::adadelta(Adadelta {
                learning_rate: lr(d.learning_rate),
                rho: f("rho", d.rho)?,
                epsilon: f("epsilon", d.epsilon)?,
            })
        }
        "Adamax" => {
            let d = Adamax::DEFAULT;
            Optimizer::adamax(Adamax {
                learning_rate: lr(d.learning_rate),
                beta_1: f("beta_1", d.beta_1)?,
                beta_2: f("beta_2", d.beta_2)?,
                epsilon: f("epsilon", d.epsilon)?,
            })
        }
        _ => {
            let d = Nadam::DEFAULT;
            Optimizer::nadam(Nadam {
                learning_rate: lr(d.learning_rate),
                beta_1: f("beta_1", d.beta_1)?,
                beta_2: f("beta_2", d.beta_2)?,
                epsilon: f("epsilon", d.epsilon)?,
            })
        }
    };
    let mut o = algorithm;
    if let Some(s) = schedule {
        o = o.with_schedule(s);
    }
    if class != "AdamW" {
        if let Some(wd) = opt_float(cfg, class, "weight_decay")? {
            o = o.with_weight_decay(wd);
        }
    }
    o = o.with_clip(clip(cfg, class)?);
    o.check().map_err(|e| {
        refuse(
            ".optimizer",
            class,
            "config",
            &Value::Object(cfg.clone()),
            &format!("values Keras accepts ({e})"),
        )
    })?;
    Ok(o)
}

/// Keras's optimizer name strings (`compile(optimizer="adam")`).
fn keras_optimizer_class(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "sgd" => "SGD",
        "adam" => "Adam",
        "adamw" => "AdamW",
        "rmsprop" => "RMSprop",
        "adagrad" => "Adagrad",
        "adadelta" => "Adadelta",
        "adamax" => "Adamax",
        "nadam" => "Nadam",
        _ => return None,
    })
}

/// Base options Ember does not implement: EMA, loss scaling, gradient accumulation.
fn check_base(cfg: &Map<String, Value>, class: &str) -> Result<()> {
    let need = |key: &str, ok: &dyn Fn(&Value) -> bool, supported: &str| -> Result<()> {
        match cfg.get(key) {
            Some(v) if !ok(v) => Err(refuse(".optimizer", class, key, v, supported)),
            _ => Ok(()),
        }
    };
    need("use_ema", &|v| v == &Value::Bool(false), "false")?;
    need("loss_scale_factor", &Value::is_null, "null")?;
    need(
        "gradient_accumulation_steps",
        &|v| v.is_null() || v.as_u64() == Some(1),
        "null",
    )?;
    need(
        "is_legacy_optimizer",
        &|v| v == &Value::Bool(false),
        "false",
    )?;
    // `ema_momentum` and `ema_overwrite_frequency` act only with `use_ema=True`;
    // `jit_compile` and `name` do not change the update.
    Ok(())
}

fn clip(cfg: &Map<String, Value>, class: &str) -> Result<Clip> {
    let norm = opt_float(cfg, class, "clipnorm")?;
    let value = opt_float(cfg, class, "clipvalue")?;
    let global = opt_float(cfg, class, "global_clipnorm")?;
    Ok(match (norm, value, global) {
        (None, None, None) => Clip::None,
        (Some(c), None, None) => Clip::Norm(c),
        (None, Some(c), None) => Clip::Value(c),
        (None, None, Some(c)) => Clip::GlobalNorm(c),
        _ => {
            return Err(refuse(
                ".optimizer",
                class,
                "clipnorm",
                &Value::Object(cfg.clone()),
                "at most one of clipnorm, clipvalue, global_clipnorm (as Keras requires)",
            ))
        }
    })
}

/// `learning_rate`: a number (the constant rate), a schedule dict, or absent.
fn learning_rate(
    cfg: &Map<String, Value>,
    class: &str,
) -> Result<(Option<f32>, Option<LearningRateSchedule>)> {
    let v = match cfg.get("learning_rate") {
        None => return Ok((None, None)),
        Some(v) => v,
    };
    if v.is_number() {
        return Ok((Some(float(cfg, class, "learning_rate", 0.0)?), None));
    }
    let o = v.as_object();
    let sched = o.and_then(|o| o.get("class_name")).and_then(Value::as_str);
    let sc = o.and_then(|o| o.get("config")).and_then(Value::as_object);
    let (Some(sched), Some(sc)) = (sched, sc) else {
        return Err(refuse(
            ".optimizer",
            class,
            "learning_rate",
            v,
            &format!("a number or one of {SUPPORTED_SCHEDULES}"),
        ));
    };
    let bad = |key: &str, val: &Value, supported: &str| {
        refuse(".optimizer.learning_rate", sched, key, val, supported)
    };
    let own: &[&str] = match sched {
        "ExponentialDecay" | "InverseTimeDecay" => &[
            "initial_learning_rate",
            "decay_steps",
            "decay_rate",
            "staircase",
        ],
        "PiecewiseConstantDecay" => &["boundaries", "values"],
        "CosineDecay" => &[
            "initial_learning_rate",
            "decay_steps",
            "alpha",
            "warmup_target",
            "warmup_steps",
        ],
        _ => {
            return Err(refuse(
                ".optimizer",
                class,
                "learning_rate",
                &Value::String(sched.into()),
                SUPPORTED_SCHEDULES,
            ))
        }
    };
    for (k, val) in sc {
        if k != "name" && !own.contains(&k.as_str()) {
            return Err(bad(k, val, "no such option"));
        }
    }
    let num = |key: &str, default: Option<f32>| -> Result<f32> {
        match sc.get(key) {
            None => default.ok_or_else(|| bad(key, &Value::Null, "a finite number")),
            Some(val) => val
                .as_f64()
                .map(|f| f as f32)
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(key, val, "a finite number")),
        }
    };
    let flag = |key: &str| -> Result<bool> {
        match sc.get(key) {
            None => Ok(false),
            Some(val) => val.as_bool().ok_or_else(|| bad(key, val, "true or false")),
        }
    };
    let s = match sched {
        "ExponentialDecay" => LearningRateSchedule::ExponentialDecay(ExponentialDecay {
            initial_learning_rate: num("initial_learning_rate", None)?,
            decay_steps: num("decay_steps", None)?,
            decay_rate: num("decay_rate", None)?,
            staircase: flag("staircase")?,
        }),
        "InverseTimeDecay" => LearningRateSchedule::InverseTimeDecay(InverseTimeDecay {
            initial_learning_rate: num("initial_learning_rate", None)?,
            decay_steps: num("decay_steps", None)?,
            decay_rate: num("decay_rate", None)?,
            staircase: flag("staircase")?,
        }),
        "PiecewiseConstantDecay" => {
            let list = |key: &str| sc.get(key).and_then(Value::as_array);
            let boundaries: Option<Vec<u64>> = list("boundaries")
                .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>());
            let values: Option<Vec<f32>> = list("values").and_then(|a| {
                a.iter()
                    .map(|x| x.as_f64().map(|f| f as f32))
                    .collect::<Option<Vec<_>>>()
            });
            let (Some(b), Some(vals)) = (boundaries, values) else {
                return Err(bad(
                    "boundaries",
                    &Value::Object(sc.clone()),
                    "lists of step numbers and of rates",
                ));
            };
            let p = PiecewiseConstantDecay::new(&b, &vals).map_err(|e| {
                bad(
                    "boundaries",
                    sc.get("boundaries").unwrap_or(&Value::Null),
                    &e.to_string(),
                )
            })?;
            LearningRateSchedule::PiecewiseConstantDecay(p)
        }
        _ => LearningRateSchedule::CosineDecay(CosineDecay {
            initial_learning_rate: num("initial_learning_rate", None)?,
            decay_steps: num("decay_steps", None)?,
            alpha: num("alpha", Some(0.0))?,
            warmup_target: match sc.get("warmup_target") {
                None | Some(Value::Null) => None,
                Some(_) => Some(num("warmup_target", None)?),
            },
            warmup_steps: num("warmup_steps", Some(0.0))?,
        }),
    };
    Ok((None, Some(s)))
}

/// Loss classes and names [`loss`] maps.
pub const SUPPORTED_LOSSES: &str = "MeanSquaredError, MeanAbsoluteError, \
MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh, Hinge, \
SquaredHinge, CategoricalHinge, BinaryCrossentropy, CategoricalCrossentropy, \
SparseCategoricalCrossentropy, KLDivergence, Poisson (or their function names)";

/// A Keras loss: a name (`"mse"`, `"categorical_crossentropy"`), a serialized function
/// (`{"class_name": "function", "config": name}`) or a loss object
/// (`{"class_name": "CategoricalCrossentropy", "config": {...}}`).
pub fn loss(v: &Value) -> Result<Loss> {
    let unknown = |v: &Value| refuse("", "compile", "loss", v, SUPPORTED_LOSSES);
    let (class, cfg) = match v {
        Value::String(s) => return Loss::from_keras_name(s).ok_or_else(|| unknown(v)),
        Value::Object(o) => {
            let class = o.get("class_name").and_then(Value::as_str).unwrap_or("");
            match o.get("config") {
                Some(Value::String(name)) if class == "function" => {
                    return Loss::from_keras_name(name).ok_or_else(|| unknown(v))
                }
                Some(Value::Object(c)) => (class, c),
                _ => return Err(unknown(v)),
            }
        }
        _ => return Err(unknown(v)),
    };
    let base = Loss::from_keras_name(class).ok_or_else(|| unknown(&Value::String(class.into())))?;
    let bad = |key: &str, val: &Value, supported: &str| refuse(".loss", class, key, val, supported);
    let own: &[&str] = match base {
        Loss::Huber { .. } => &["delta"],
        Loss::BinaryCrossentropy { .. } | Loss::CategoricalCrossentropy { .. } => {
            &["from_logits", "label_smoothing", "axis"]
        }
        Loss::SparseCategoricalCrossentropy { .. } => &["from_logits", "ignore_class", "axis"],
        _ => &[],
    };
    for (k, val) in cfg {
        let common = matches!(k.as_str(), "name" | "reduction" | "dtype" | "fn");
        if !common && !own.contains(&k.as_str()) {
            return Err(bad(k, val, "no such option"));
        }
    }
    // tf.keras 2 saves the wrapped function's name; it must be the class's own.
    if let Some(val) = cfg.get("fn") {
        let same = val
            .as_str()
            .and_then(Loss::from_keras_name)
            .is_some_and(|f| core::mem::discriminant(&f) == core::mem::discriminant(&base));
        if !same {
            return Err(bad("fn", val, &format!("the function of {class}")));
        }
    }
    let reduction = match cfg.get("reduction") {
        None => Reduction::SumOverBatchSize,
        // tf.keras 2's "auto" is sum_over_batch_size outside distribution strategies.
        Some(Value::String(s)) if s == "auto" => Reduction::SumOverBatchSize,
        Some(val) => val
            .as_str()
            .and_then(Reduction::from_keras_name)
            .ok_or_else(|| {
                bad(
                    "reduction",
                    val,
                    "\"sum_over_batch_size\" (\"auto\"), \"sum\", \"mean\", \"mean_with_sample_weight\"",
                )
            })?,
    };
    if let Some(val) = cfg.get("dtype") {
        let name = match val {
            Value::Null => "float32",
            Value::String(s) => s.as_str(),
            Value::Object(o) => o
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or(""),
            _ => "",
        };
        if name != "float32" {
            return Err(bad("dtype", val, "null or \"float32\""));
        }
    }
    if let Some(val) = cfg.get("axis") {
        if val.as_i64() != Some(-1) {
            return Err(bad("axis", val, "-1"));
        }
    }
    if let Some(val) = cfg.get("ignore_class") {
        if !val.is_null() {
            return Err(bad("ignore_class", val, "null"));
        }
    }
    let flag = |key: &str| -> Result<bool> {
        match cfg.get(key) {
            None => Ok(false),
            Some(val) => val.as_bool().ok_or_else(|| bad(key, val, "true or false")),
        }
    };
    let number = |key: &str, default: f32| -> Result<f32> {
        match cfg.get(key) {
            None => Ok(default),
            Some(val) => val
                .as_f64()
                .map(|f| f as f32)
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(key, val, "a finite number")),
        }
    };
    Ok(match base {
        Loss::MeanSquaredError { .. } => Loss::MeanSquaredError { reduction },
        Loss::MeanAbsoluteError { .. } => Loss::MeanAbsoluteError { reduction },
        Loss::MeanAbsolutePercentageError { .. } => Loss::MeanAbsolutePercentageError { reduction },
        Loss::MeanSquaredLogarithmicError { .. } => Loss::MeanSquaredLogarithmicError { reduction },
        Loss::Huber { .. } => Loss::Huber {
            delta: number("delta", 1.0)?,
            reduction,
        },
        Loss::LogCosh { .. } => Loss::LogCosh { reduction },
        Loss::Hinge { .. } => Loss::Hinge { reduction },
        Loss::SquaredHinge { .. } => Loss::SquaredHinge { reduction },
        Loss::CategoricalHinge { .. } => Loss::CategoricalHinge { reduction },
        Loss::BinaryCrossentropy { .. } => Loss::BinaryCrossentropy {
            from_logits: flag("from_logits")?,
            label_smoothing: number("label_smoothing", 0.0)?,
            reduction,
        },
        Loss::CategoricalCrossentropy { .. } => Loss::CategoricalCrossentropy {
            from_logits: flag("from_logits")?,
            label_smoothing: number("label_smoothing", 0.0)?,
            reduction,
        },
        Loss::SparseCategoricalCrossentropy { .. } => Loss::SparseCategoricalCrossentropy {
            from_logits: flag("from_logits")?,
            reduction,
        },
        Loss::KLDivergence { .. } => Loss::KLDivergence { reduction },
        Loss::Poisson { .. } => Loss::Poisson { reduction },
        _ => return Err(unknown(v)),
    })
}
