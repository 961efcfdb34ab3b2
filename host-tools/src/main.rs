//! `ember`: convert Keras models to Ember blobs, inspect and run them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ember_cli::convert::{
    convert_with_record, convert_with_training, ConvertOptions, DTypeChoice, TrainingSettings,
};
use ember_cli::summary::{render, summarize};
use ember_cli::train_spec::{parse_optimizer, parse_trainable};
use ember_cli::{blob_file, keras, predict, tensor_file, train, Error, Result};
use ember_nn::blob::{Blob, TrainingDesc};
use ember_nn::{Loss, Optimizer, TrainConfig, Trainable};

#[derive(Parser, Debug)]
#[command(
    name = "ember",
    version,
    about = "Keras models on microcontrollers: convert, inspect, run, train"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct MemoryArgs {
    /// Samples per inference pass the arena is sized for.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Batch size for the training arena figure (default: the blob's training record,
    /// else 32). `convert` also records it in the blob.
    #[arg(long)]
    train_batch: Option<usize>,
    /// Optimizer for the training arena figure (its state size): sgd, sgd-momentum,
    /// sgd-nesterov, adam, adam-amsgrad, adamw, adamw-amsgrad, adagrad, adadelta, rmsprop,
    /// rmsprop-momentum, rmsprop-centered, rmsprop-centered-momentum, adamax, nadam
    /// (default: the blob's training record, else adam). `convert` also records it in the
    /// blob, replacing the optimizer of the Keras file's compile settings.
    #[arg(long, value_parser = parse_optimizer)]
    optimizer: Option<Optimizer>,
    /// Which layers train: saved (Keras flags), all, last-K, bias-only (every layer's
    /// bias / beta alone; kernels stay frozen in the blob). Default: the blob's training
    /// record, else saved. `convert` also records it in the blob.
    #[arg(long, value_parser = parse_trainable)]
    trainable: Option<Trainable>,
}

impl MemoryArgs {
    /// The training figure's configuration: the flags, then the blob's training record,
    /// then Adam.
    fn train_config(&self, blob: &[u8]) -> Result<TrainConfig> {
        let record = Blob::parse(blob)?.training()?;
        Ok(TrainConfig {
            batch_size: self
                .train_batch
                .or(record.and_then(|t| t.batch_size).map(|b| b as usize))
                .unwrap_or(32),
            optimizer: self
                .optimizer
                .or(record.map(|t| t.optimizer))
                .unwrap_or(Optimizer::adam(ember_nn::Adam::DEFAULT)),
            loss: record.map_or(Loss::categorical_crossentropy(), |t| t.loss),
            trainable: self
                .trainable
                .or(record.and_then(|t| t.trainable))
                .unwrap_or(Trainable::AsSaved),
        })
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert a Keras model (`.keras`, or a legacy `.h5` from Keras 3 or tf.keras 2) into an
    /// Ember blob.
    ///
    /// Example: ember convert model.keras -o model.emb --dtype f32 --fold-batchnorm
    Convert {
        /// The `.keras` or `.h5` file.
        model: PathBuf,
        /// Output blob.
        #[arg(short, long)]
        output: PathBuf,
        /// Weight type: f32 or fixed (Q16.16).
        #[arg(long, default_value = "f32", value_parser = parse_dtype)]
        dtype: DTypeChoice,
        /// Fold each BatchNormalization that follows a linear Dense or convolution into
        /// that layer (inference deployments: one layer less, same outputs up to rounding).
        #[arg(long)]
        fold_batchnorm: bool,
        /// Steps of an open time axis (a Keras input `(None, features)`, e.g. a stateful
        /// streaming model): the blob's whole-sequence length. Streaming ignores it.
        #[arg(long)]
        sequence_length: Option<usize>,
        /// Keras loss name to record in the blob, replacing the Keras file's compile
        /// settings' loss (with --optimizer, records settings for a model saved without
        /// compile).
        #[arg(long)]
        loss: Option<String>,
        /// Write no training record. By default the Keras file's compile settings
        /// (optimizer, loss) are recorded, and an option Ember lacks is an error naming it.
        #[arg(long, conflicts_with_all = ["optimizer", "loss"])]
        no_training_settings: bool,
        #[command(flatten)]
        memory: MemoryArgs,
    },
    /// Print a Keras-style summary with blob size and exact arena bytes.
    ///
    /// Example: ember inspect model.emb --train-batch 16 --optimizer sgd-momentum --json
    Inspect {
        /// A blob (`.emb`) or a Keras `.keras`/`.h5` file (converted in memory as f32).
        model: PathBuf,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        memory: MemoryArgs,
    },
    /// Run a blob — a Sequential (chain) or a graph (functional) model — on `.npy` or `.csv`
    /// inputs (one `--input` per model input, in the model's input order, each of shape
    /// (N, ...that input)) and write the outputs: `--output` itself for a model with one
    /// output, else `<stem>_0.<ext>`, `<stem>_1.<ext>`, ... in the model's output order.
    ///
    /// CSV: comma-separated numbers, one sample per row (an optional header row of
    /// non-numbers is skipped); each row is reshaped to the model input's shape. An
    /// `--output` ending in `.csv` is written as CSV (one sample per row, every value the
    /// shortest decimal that reads back as the same f32); any other as `.npy` (float32).
    ///
    /// Example: ember predict model.emb --input x.csv --output y.csv
    ///
    /// Example (a graph model with two inputs): ember predict graph.emb --input x_a.npy
    /// --input x_b.npy --output y.npy
    Predict {
        /// The blob (or a Keras `.keras`/`.h5` file, converted in memory as f32).
        model: PathBuf,
        /// Input tensor (.npy, float or integer; or .csv, one sample per row); repeat once
        /// per model input, in order.
        #[arg(long, required = true)]
        input: Vec<PathBuf>,
        /// Output tensor (.csv, else .npy float32); with several outputs, the stem of
        /// `<stem>_<j>.<ext>`.
        #[arg(long)]
        output: PathBuf,
        /// Samples per forward pass.
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// Train a blob on `.npy` or `.csv` data with Keras's `fit` loop and write the trained
    /// blob.
    ///
    /// Sequential (chain) models and graph (functional) models with one input and one
    /// output train alike; a graph with several inputs or outputs is refused. Progress (a
    /// bar per epoch, then a Keras-like line `Epoch 3/10 - 12ms - loss: 0.1234 - accuracy:
    /// 0.9500 - val_loss: ...`) goes to stderr. f32 and Q16.16 blobs train in their own
    /// number type.
    ///
    /// CSV data: comma-separated numbers, one sample per row (an optional header row of
    /// non-numbers is skipped); x rows are reshaped to the model input's shape, y rows to
    /// the output's (or hold one class index for sparse_categorical_crossentropy).
    ///
    /// Example: ember train model.emb --x x.npy --y y.npy --epochs 10 --batch-size 32
    /// --optimizer adam --loss categorical_crossentropy --metrics accuracy
    /// --validation-split 0.2 -o trained.emb --history history.csv --plot curve.png
    ///
    /// Example (a graph model, CSV data): ember train graph.emb --x x.csv --y y.csv --epochs 20
    /// --loss mse -o trained.emb
    Train(Box<TrainArgs>),
    /// Write a blob's weights (e.g. after `ember train` or on-device training) as a Keras 3
    /// `.weights.h5` file for `model.load_weights(...)`. Without --like the Keras keys are
    /// derived from the blob's layers (nested models flattened); with --like they are the
    /// template model's, its layers matched to the blob's by name. With `-o X.keras` and
    /// `--like MODEL.keras`, a whole Keras model file: the template's architecture with the
    /// blob's weights, for `keras.saving.load_model`.
    ///
    /// Example: ember export trained.emb -o trained.weights.h5 --like model.keras
    /// Example: ember export trained.emb -o trained.keras --like model.keras
    Export {
        /// The blob (`.emb`).
        model: PathBuf,
        /// Output file: `*.weights.h5` (Keras's `load_weights` requires that name), or
        /// `*.keras` with a `.keras` --like template.
        #[arg(short, long)]
        output: PathBuf,
        /// The Keras model (`.keras` or legacy `.h5`) whose layout to follow.
        #[arg(long, value_name = "MODEL")]
        like: Option<PathBuf>,
    },
}

// The arguments of `ember train` (boxed: the optimizer makes them large). A plain
// comment: the variant's doc is the command's help.
#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// The blob to train (or a Keras `.keras`/`.h5` file, converted in memory as f32).
    model: PathBuf,
    /// Inputs (.npy of shape (N, ...model input), or .csv with one sample per row).
    #[arg(long)]
    x: PathBuf,
    /// Targets (.npy of shape (N, ...model output), or .csv with one sample per row; (N,)
    /// or (N, 1) class indices for sparse_categorical_crossentropy).
    #[arg(long)]
    y: PathBuf,
    /// Validation inputs (Keras `validation_data`; overrides --validation-split; .npy or
    /// .csv).
    #[arg(long, requires = "val_y")]
    val_x: Option<PathBuf>,
    /// Validation targets.
    #[arg(long, requires = "val_x")]
    val_y: Option<PathBuf>,
    /// Keras `validation_split`: the last fraction of the samples (before shuffling)
    /// is held out for validation.
    #[arg(long)]
    validation_split: Option<f32>,
    /// Keras `epochs`.
    #[arg(long)]
    epochs: usize,
    /// Keras `batch_size` (default: the blob's training record, else 32).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Optimizer with Keras defaults: sgd, sgd-momentum, sgd-nesterov, adam,
    /// adam-amsgrad, adamw, adamw-amsgrad, adagrad, adadelta, rmsprop,
    /// rmsprop-momentum, rmsprop-centered, rmsprop-centered-momentum, adamax, nadam.
    /// Default: the blob's training record (Keras's compile settings), else adam.
    #[arg(long, value_parser = parse_optimizer)]
    optimizer: Option<Optimizer>,
    /// Learning rate (default: the optimizer's Keras default).
    #[arg(long)]
    learning_rate: Option<f32>,
    /// Keras loss name: mse, mae, huber, binary_crossentropy, categorical_crossentropy,
    /// sparse_categorical_crossentropy, ... (Keras's function or class names). Default:
    /// the blob's training record; required when the blob has none.
    #[arg(long)]
    loss: Option<String>,
    /// Keras metric words, comma-separated: accuracy, mae, mse, precision, recall, auc,
    /// categorical_accuracy, ...
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Which layers train: saved (Keras flags), all, last-K, bias-only (every layer's
    /// bias / beta alone; kernels stay frozen in the blob). Default: the blob's training
    /// record, else saved.
    #[arg(long, value_parser = parse_trainable)]
    trainable: Option<Trainable>,
    /// Shuffle the samples every epoch with this seed (default: Keras `shuffle=False`).
    #[arg(long)]
    shuffle: Option<u64>,
    /// Keras `EarlyStopping(patience=P)` on val_loss (on loss without validation data).
    #[arg(long, value_name = "PATIENCE")]
    early_stopping: Option<usize>,
    /// Keras `ModelCheckpoint(filepath=PATH)`: write a blob of the weights at each epoch
    /// end, to PATH formatted with Keras's fields (`{epoch:02d}`, `{val_loss:.4f}`, ...).
    #[arg(long, value_name = "PATH")]
    checkpoint: Option<String>,
    /// Keras `save_best_only=True` for `--checkpoint`.
    #[arg(long, requires = "checkpoint")]
    save_best_only: bool,
    /// Keras `monitor` for `--checkpoint` (default: val_loss with validation data, loss
    /// without).
    #[arg(long, value_name = "KEY", requires = "checkpoint")]
    monitor: Option<String>,
    /// The trained blob.
    #[arg(short, long)]
    output: PathBuf,
    /// Write the history as CSV (Keras `CSVLogger` columns).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Draw the loss (and accuracy) per epoch as a PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// A Keras loss name; unknown names are a run error (status 1), like bad data.
fn parse_loss(s: &str) -> Result<Loss> {
    Loss::from_keras_name(s).ok_or_else(|| {
        Error::Config(format!(
            "unknown loss `{s}` (use a Keras loss name: mse, mae, mape, msle, huber, log_cosh, \
             hinge, squared_hinge, categorical_hinge, binary_crossentropy, \
             categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson)"
        ))
    })
}

fn parse_dtype(s: &str) -> std::result::Result<DTypeChoice, String> {
    match s {
        "f32" => Ok(DTypeChoice::F32),
        "fixed" | "q16.16" => Ok(DTypeChoice::Fixed),
        _ => Err(format!("unknown dtype `{s}` (use f32 or fixed)")),
    }
}

/// A blob file, or a Keras file converted as f32 with `training` as its record.
fn load_blob(path: &Path, training: &TrainingSettings) -> Result<blob_file::AlignedBytes> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("keras") || e.eq_ignore_ascii_case("h5"))
    {
        convert_with_training(
            &keras::read_keras_file(path)?,
            &ConvertOptions::default(),
            training,
        )
    } else {
        blob_file::read(path)
    }
}

/// `ember train`'s optimizer and loss, by precedence: the command-line flags, then the
/// blob's training record (Keras's `compile` settings), then (optimizer only) Adam with
/// Keras's defaults. No loss anywhere is an error.
fn resolve_training(
    optimizer: Option<Optimizer>,
    loss: Option<Loss>,
    record: Option<TrainingDesc>,
) -> Result<(Optimizer, Loss)> {
    let optimizer = optimizer
        .or(record.map(|t| t.optimizer))
        .unwrap_or(Optimizer::adam(ember_nn::Adam::DEFAULT));
    let loss = loss.or(record.map(|t| t.loss)).ok_or_else(|| {
        Error::Config(
            "no loss: give --loss (the blob has no training record; convert a compiled Keras \
             model to record its loss)"
                .into(),
        )
    })?;
    Ok((optimizer, loss))
}

/// A tensor file: `.npy`, or `.csv` rows reshaped to `dims` (the model tensor it feeds)
/// when a row has that many values.
fn read_input(path: &Path, dims: Option<&Vec<usize>>) -> Result<tensor_file::Tensor> {
    let t = tensor_file::read_tensor(path)?;
    Ok(match dims {
        Some(d) if tensor_file::is_csv(path) => tensor_file::rows_as(t, d),
        _ => t,
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Convert {
            model,
            output,
            dtype,
            fold_batchnorm,
            sequence_length,
            loss,
            no_training_settings,
            memory,
        } => {
            let keras_model = keras::read_keras_file(&model)?;
            let options = ConvertOptions {
                dtype,
                fold_batchnorm,
                sequence_length,
            };
            let training = if no_training_settings {
                TrainingSettings::Skip
            } else {
                TrainingSettings::FromFile {
                    optimizer: memory.optimizer,
                    loss: loss.as_deref().map(parse_loss).transpose()?,
                }
            };
            let mut record = ember_cli::convert::compile::training_record(&keras_model, &training)?;
            let extras = (memory.train_batch, memory.trainable);
            match (record.as_mut(), extras) {
                (_, (None, None)) => {}
                (Some(r), (batch, trainable)) => {
                    r.batch_size = batch
                        .map(|b| {
                            u32::try_from(b).map_err(|_| {
                                Error::Config(format!("--train-batch {b} is too large"))
                            })
                        })
                        .transpose()?
                        .or(r.batch_size);
                    r.trainable = trainable.or(r.trainable);
                }
                (None, _) => {
                    return Err(Error::Config(
                        "--train-batch/--trainable are recorded with the training settings: \
                         the model has none (give --optimizer and --loss, and no \
                         --no-training-settings)"
                            .into(),
                    ))
                }
            }
            let blob = convert_with_record(&keras_model, &options, record.as_ref())?;
            // Summarize first: a refused memory option must not leave an output file.
            let s = summarize(
                blob.as_slice(),
                memory.batch,
                &memory.train_config(blob.as_slice())?,
            )?;
            blob_file::write(&output, blob.as_slice())?;
            println!(
                "wrote {} ({} bytes)",
                output.display(),
                blob.as_slice().len()
            );
            print!("{}", render(&s));
        }
        Command::Inspect {
            model,
            json,
            memory,
        } => {
            let blob = match load_blob(&model, &TrainingSettings::default()) {
                // A Keras file whose compile settings Ember lacks is still inspected.
                Err(Error::UnsupportedOption { layer, option, .. })
                    if layer.starts_with("compile_config") =>
                {
                    eprintln!(
                        "note: the Keras compile settings are not used (`{option}` is not \
                         supported by Ember)"
                    );
                    load_blob(&model, &TrainingSettings::Skip)?
                }
                r => r?,
            };
            let s = summarize(
                blob.as_slice(),
                memory.batch,
                &memory.train_config(blob.as_slice())?,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&s).unwrap_or_else(|e| e.to_string())
                );
            } else {
                print!("{}", render(&s));
            }
        }
        Command::Predict {
            model,
            input,
            output,
            batch,
        } => {
            let blob = load_blob(&model, &TrainingSettings::Skip)?;
            let (in_dims, _) = predict::io_dims(blob.as_slice())?;
            let xs = input
                .iter()
                .enumerate()
                .map(|(i, p)| read_input(p, in_dims.get(i)))
                .collect::<Result<Vec<_>>>()?;
            let ys = predict::predict_all(blob.as_slice(), &xs, batch).map_err(|e| match e {
                // `predict_all` does not know the file names; name the input file.
                Error::Tensor { path, msg } => Error::Tensor {
                    path: (0..input.len())
                        .find(|&i| path == predict::input_placeholder(i, input.len()))
                        .map_or(path, |i| input[i].clone()),
                    msg,
                },
                e => e,
            })?;
            for (path, y) in predict::output_paths(&output, ys.len()).iter().zip(&ys) {
                tensor_file::write_tensor(path, y)?;
                eprintln!("wrote {} {:?}", path.display(), y.shape);
            }
        }
        Command::Train(args) => {
            let TrainArgs {
                model,
                x,
                y,
                val_x,
                val_y,
                validation_split,
                epochs,
                batch_size,
                optimizer,
                learning_rate,
                loss,
                metrics,
                trainable,
                shuffle,
                early_stopping,
                checkpoint,
                save_best_only,
                monitor,
                output,
                history,
                plot,
            } = *args;
            let loss = loss.as_deref().map(parse_loss).transpose()?;
            let blob = load_blob(&model, &TrainingSettings::FromFile { optimizer, loss })?;
            let record = Blob::parse(blob.as_slice())?.training()?;
            let (optimizer, loss) = resolve_training(optimizer, loss, record)?;
            let trainable = trainable
                .or(record.and_then(|r| r.trainable))
                .unwrap_or(Trainable::AsSaved);
            let batch_size = batch_size
                .or(record.and_then(|r| r.batch_size).map(|b| b as usize))
                .unwrap_or(32);
            let (in_dims, out_dims) = predict::io_dims(blob.as_slice())?;
            let (xd, yd) = (in_dims.first(), out_dims.first());
            let data = train::TrainData {
                x: read_input(&x, xd)?,
                y: read_input(&y, yd)?,
                x_path: x,
                y_path: y,
            };
            let validation = match (val_x, val_y) {
                (Some(vx), Some(vy)) => Some(train::TrainData {
                    x: read_input(&vx, xd)?,
                    y: read_input(&vy, yd)?,
                    x_path: vx,
                    y_path: vy,
                }),
                _ => None,
            };
            let options = train::TrainOptions {
                epochs,
                batch_size,
                optimizer,
                learning_rate,
                loss,
                metrics,
                trainable,
                shuffle,
                validation_split,
                early_stopping,
                checkpoint: checkpoint.map(|filepath| train::CheckpointOptions {
                    filepath,
                    save_best_only,
                    monitor,
                }),
                verbose: true,
            };
            let out = train::train(blob.as_slice(), &data, validation.as_ref(), &options)?;
            blob_file::write(&output, out.blob.as_slice())?;
            eprintln!(
                "wrote {} ({} bytes, {} epochs)",
                output.display(),
                out.blob.as_slice().len(),
                out.history.len()
            );
            if let Some(path) = history {
                blob_file::write(&path, out.history.to_csv().as_bytes())?;
                eprintln!("wrote {}", path.display());
            }
            if let Some(path) = plot {
                ember_cli::plot::plot_history(&out.history, &path, (960, 480))?;
                eprintln!("wrote {}", path.display());
            }
        }
        Command::Export {
            model,
            output,
            like,
        } => {
            let blob = blob_file::read(&model)?;
            let bytes = match like {
                Some(path) => {
                    let template = std::fs::read(&path).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    if output.extension().is_some_and(|e| e == "keras") {
                        ember_cli::export::export_keras_like(blob.as_slice(), &template)?
                    } else {
                        ember_cli::export::export_weights_like(blob.as_slice(), &template)?
                    }
                }
                None => ember_cli::export::export_weights(blob.as_slice(), None)?,
            };
            blob_file::write(&output, &bytes)?;
            eprintln!("wrote {} ({} bytes)", output.display(), bytes.len());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
