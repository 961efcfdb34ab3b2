//! Checkpoints on the host: [`FileStorage`] writes a blob per checkpoint of
//! [`ember_nn::model::callbacks::ModelCheckpoint`] to a path formatted as Keras formats
//! `ModelCheckpoint(filepath=...)` ([`format_filepath`]); [`trained_blob`] is the blob of a
//! model's current weights (also what `ember train` writes at the end).

use std::path::PathBuf;

use ember_nn::blob::{
    chain_node, encoded_len, encoded_len_graph_with_training, write, write_graph_with_training,
    GraphSpec, LayerSpec, NodeDesc,
};
use ember_nn::model::callbacks::{CheckpointInfo, CheckpointStorage};
use ember_nn::model::FitModel;
use ember_nn::Scalar;

use crate::blob_file::AlignedBytes;
use crate::{Error, Result};

/// A blob with `model`'s graph and its current parameters ([`FitModel::param`]: the
/// trained copies of the layers that train and their updated state — moving statistics —,
/// the blob's otherwise). Keras: `model.save(...)`. Reloading it predicts exactly as
/// `model` does. `model` is an [`ember_nn::Sequential`] or an
/// [`ember_nn::model::Functional`]: a graph model keeps its nodes (inputs, calls,
/// outputs).
pub fn trained_blob<T: Scalar, M: FitModel<T, N>, const N: usize>(
    model: &M,
) -> Result<AlignedBytes> {
    let graph = model.graph();
    let params: Vec<Vec<&[T]>> = graph
        .layers()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (0..l.params.len())
                .map(|j| model.param(i, j).ok_or(ember_nn::Error::NotTraining))
                .collect::<core::result::Result<Vec<_>, _>>()
        })
        .collect::<core::result::Result<_, _>>()?;
    let specs: Vec<LayerSpec<'_, T>> = graph
        .layers()
        .iter()
        .zip(params.iter())
        .map(|(l, p)| LayerSpec {
            name: l.name,
            trainable: l.trainable,
            config: l.config,
            params: p,
            attrs: l.attrs,
        })
        .collect();
    if !graph.is_chain() {
        let nodes = graph
            .nodes()
            .iter()
            .map(|n| {
                let d = NodeDesc::call(n.layer as u16, &n.inputs)?;
                Ok(if n.time_distributed {
                    d.time_distributed()
                } else {
                    d
                })
            })
            .collect::<ember_nn::Result<Vec<_>>>()?;
        let spec = GraphSpec {
            inputs: graph.inputs(),
            nodes: &nodes,
            outputs: graph.outputs(),
        };
        let t = graph.training();
        let len = encoded_len_graph_with_training(graph.name(), &spec, &specs, t.as_ref())?;
        let mut out = AlignedBytes::zeroed(len);
        write_graph_with_training(graph.name(), &spec, &specs, t.as_ref(), out.as_mut_slice())?;
        return Ok(out);
    }
    if let Some(training) = graph.training() {
        // Keep the blob's training record (Keras's `model.save` keeps the compile
        // settings): the chain written as a graph, plus the record.
        let nodes: Vec<_> = (0..graph.nodes().len() as u16).map(chain_node).collect();
        let inputs = [graph.input_shape()];
        let outputs = [nodes.len() as u16];
        let spec = GraphSpec {
            inputs: &inputs,
            nodes: &nodes,
            outputs: &outputs,
        };
        let t = Some(&training);
        let len = encoded_len_graph_with_training(graph.name(), &spec, &specs, t)?;
        let mut out = AlignedBytes::zeroed(len);
        write_graph_with_training(graph.name(), &spec, &specs, t, out.as_mut_slice())?;
        return Ok(out);
    }
    let len = encoded_len(graph.name(), graph.input_shape(), &specs)?;
    let mut out = AlignedBytes::zeroed(len);
    let written = write(
        graph.name(),
        graph.input_shape(),
        &specs,
        out.as_mut_slice(),
    )?;
    debug_assert_eq!(written, len);
    Ok(out)
}

/// A checkpoint storage writing one blob file ([`trained_blob`]) per save, at a path
/// formatted from a Keras `filepath` pattern ([`format_filepath`]): `"ckpt-{epoch:02d}.blob"`
/// keeps every checkpoint, a pattern without fields overwrites one file (Keras's usual
/// `save_best_only` setup). Missing parent directories are created, as Keras does.
///
/// A failed save returns [`ember_nn::Error::Storage`] to `fit`; the full error (path and
/// cause) is kept in [`FileStorage::last_error`].
#[derive(Debug)]
pub struct FileStorage {
    pattern: String,
    saved: Vec<PathBuf>,
    last_error: Option<Error>,
}

impl FileStorage {
    /// A storage for `pattern`, whose syntax is checked now ([`Error::Config`] for
    /// unbalanced braces or an unsupported format spec); field names are checked at each
    /// save, against that save's logs.
    pub fn new(pattern: &str) -> Result<Self> {
        parse(pattern)?;
        Ok(FileStorage {
            pattern: pattern.to_string(),
            saved: Vec::new(),
            last_error: None,
        })
    }

    /// Every path written, in order (a path written twice appears twice).
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// The error of the last failed save.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// Takes the error of the last failed save.
    pub fn take_error(&mut self) -> Option<Error> {
        self.last_error.take()
    }

    fn try_save<T: Scalar, M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        info: &CheckpointInfo<'_>,
    ) -> Result<PathBuf> {
        let path = PathBuf::from(format_filepath(&self.pattern, info)?);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let blob = trained_blob(model)?;
        crate::blob_file::write(&path, blob.as_slice())?;
        Ok(path)
    }
}

impl<T: Scalar> CheckpointStorage<T> for FileStorage {
    fn save<M: FitModel<T, N>, const N: usize>(
        &mut self,
        model: &M,
        info: &CheckpointInfo<'_>,
    ) -> ember_nn::Result<()> {
        match self.try_save(model, info) {
            Ok(path) => {
                self.saved.push(path);
                Ok(())
            }
            Err(e) => {
                let what = match &e {
                    Error::Config(_) => "the checkpoint filepath names a field the logs lack",
                    Error::Core(_) => "the checkpoint blob could not be encoded",
                    _ => "the checkpoint file could not be written",
                };
                self.last_error = Some(e);
                Err(ember_nn::Error::Storage(what))
            }
        }
    }
}

/// One piece of a parsed pattern.
enum Piece<'p> {
    Text(String),
    Field { name: &'p str, spec: Spec },
}

/// A Python format spec: `[0][width][.precision][d|f|e]`.
#[derive(Clone, Copy, Default)]
struct Spec {
    zero: bool,
    width: usize,
    precision: Option<usize>,
    kind: Option<char>,
}

fn parse(pattern: &str) -> Result<Vec<Piece<'_>>> {
    let bad = |msg: String| Error::Config(format!("checkpoint filepath `{pattern}`: {msg}"));
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push(c);
            rest = &rest[2..];
        } else if c == '}' {
            return Err(bad("single `}` (write `}}`)".into()));
        } else if c == '{' {
            let end = rest.find('}').ok_or_else(|| bad("unclosed `{`".into()))?;
            let field = &rest[1..end];
            let (name, spec) = field.split_once(':').unwrap_or((field, ""));
            if name.is_empty() || name.contains(['{', '!', '[', '.']) {
                return Err(bad(format!(
                    "field `{{{field}}}`: only `{{name}}` and `{{name:spec}}` are supported"
                )));
            }
            let spec = parse_spec(spec).ok_or_else(|| {
                bad(format!(
                    "format spec `{spec}` of `{name}` is not supported (supported: \
                     [0][width][.precision][d|f|e])"
                ))
            })?;
            pieces.push(Piece::Text(std::mem::take(&mut text)));
            pieces.push(Piece::Field { name, spec });
            rest = &rest[end + 1..];
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    pieces.push(Piece::Text(text));
    Ok(pieces)
}

fn parse_spec(s: &str) -> Option<Spec> {
    let mut spec = Spec::default();
    let mut rest = s;
    if let Some(k) = rest.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        if !matches!(k, 'd' | 'f' | 'e') {
            return None;
        }
        spec.kind = Some(k);
        rest = &rest[..rest.len() - 1];
    }
    let (main, precision) = match rest.split_once('.') {
        Some((m, p)) => (m, Some(p.parse::<usize>().ok()?)),
        None => (rest, None),
    };
    spec.precision = precision;
    if let Some(w) = main.strip_prefix('0') {
        spec.zero = true;
        spec.width = if w.is_empty() { 0 } else { w.parse().ok()? };
    } else if !main.is_empty() {
        spec.width = main.parse().ok()?;
    }
    if spec.precision.is_some() && spec.kind.is_none() {
        return None;
    }
    Some(spec)
}

/// The path of a checkpoint: Keras's `filepath.format(epoch=epoch + 1, **logs)` (plus
/// `batch=batch + 1` for a batch-count `save_freq`). Fields are `{name}` or
/// `{name:spec}` with a Python format spec `[0][width][.precision][type]`, type `d`
/// (integers), `f` or `e`; `{{`/`}}` are literal braces. Names: `epoch`, `batch`, and the
/// logs' keys (`loss`, `val_loss`, metric names, `val_<metric>`, `learning_rate`). A
/// float without a spec is written as Python's `repr` of the `f32` value widened to
/// double, as Keras's logs hold it (`0.5`, `0.10000000149011612`, `1e-05`).
///
/// Errors ([`Error::Config`]): a name absent from the logs (Keras: `KeyError`), `{batch}`
/// at an epoch end, `d` for a float (Python: `ValueError`), or a spec outside that subset
/// (alignment, sign, `g`, `%`, grouping: not supported).
pub fn format_filepath(pattern: &str, info: &CheckpointInfo<'_>) -> Result<String> {
    let mut out = String::new();
    for piece in parse(pattern)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field { name, spec } => {
                let value = match name {
                    "epoch" => Value::Int(info.epoch as i64 + 1),
                    "batch" => match info.batch {
                        Some(b) => Value::Int(b as i64 + 1),
                        None => return Err(missing(pattern, name)),
                    },
                    _ => match info.logs.get(name) {
                        Some(v) => Value::Float(f64::from(v)),
                        None => return Err(missing(pattern, name)),
                    },
                };
                out.push_str(&format_value(value, spec).ok_or_else(|| {
                    Error::Config(format!(
                        "checkpoint filepath `{pattern}`: `{name}` is a float, `d` formats \
                         integers"
                    ))
                })?);
            }
        }
    }
    Ok(out)
}

fn missing(pattern: &str, name: &str) -> Error {
    Error::Config(format!(
        "failed to format the checkpoint filepath `{pattern}`: no `{name}` in the logs"
    ))
}

#[derive(Clone, Copy)]
enum Value {
    Int(i64),
    Float(f64),
}

fn format_value(value: Value, spec: Spec) -> Option<String> {
    let body = match (value, spec.kind) {
        (Value::Int(i), None | Some('d')) => i.to_string(),
        (Value::Int(i), Some(k)) => float_body(i as f64, k, spec.precision),
        (Value::Float(_), Some('d')) => return None,
        (Value::Float(f), None) => python_repr(f),
        (Value::Float(f), Some(k)) => float_body(f, k, spec.precision),
    };
    Some(pad(body, spec))
}

/// Python's `format(v, ".{p}f")` / `".{p}e"` (default precision 6).
fn float_body(v: f64, kind: char, precision: Option<usize>) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    let p = precision.unwrap_or(6);
    match kind {
        'e' => python_exponent(&format!("{v:.p$e}")),
        _ => format!("{v:.p$}"),
    }
}

fn non_finite(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// Rust's `1.5e-7` → Python's `1.5e-07` (signed, at least two exponent digits).
fn python_exponent(rust: &str) -> String {
    match rust.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => rust.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for exponents in
/// `-4..16` (with `.0` for integral values), scientific otherwise.
fn python_repr(v: f64) -> String {
    if !v.is_finite() {
        return non_finite(v);
    }
    let sci = format!("{v:e}");
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if v != 0.0 && !(-4..16).contains(&exp) {
        return python_exponent(&sci);
    }
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn pad(body: String, spec: Spec) -> String {
    let len = body.chars().count();
    if len >= spec.width {
        return body;
    }
    let fill = spec.width - len;
    if spec.zero {
        let (sign, digits) = match body.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", body.as_str()),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{body}", " ".repeat(fill))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_nn::model::Logs;

    fn info(logs: &Logs, epoch: usize, batch: Option<usize>) -> CheckpointInfo<'_> {
        CheckpointInfo { epoch, batch, logs }
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(python_repr(0.5), "0.5");
        assert_eq!(python_repr(1.0), "1.0");
        assert_eq!(python_repr(-0.0), "-0.0");
        assert_eq!(python_repr(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(python_repr(1e-5), "1e-05");
        assert_eq!(python_repr(1.5e-7), "1.5e-07");
        assert_eq!(python_repr(1e16), "1e+16");
        assert_eq!(python_repr(1234.5), "1234.5");
        assert_eq!(python_repr(0.0001), "0.0001");
        assert_eq!(python_repr(f64::NAN), "nan");
        assert_eq!(python_repr(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn python_format_specs() {
        let mut logs = Logs::new();
        logs.loss = 0.125;
        logs.val_loss = Some(-2.5);
        let i = info(&logs, 4, None);
        let f = |p: &str| format_filepath(p, &i).unwrap();
        assert_eq!(f("{epoch:02d}"), "05");
        assert_eq!(f("{epoch:3d}|{epoch}"), "  5|5");
        assert_eq!(
            f("{loss:.2f}"),
            "0.12",
            "round half to even on the exact value"
        );
        assert_eq!(f("{val_loss:07.2f}"), "-002.50");
        assert_eq!(f("{loss:.3e}"), "1.250e-01");
        assert_eq!(f("{loss:e}"), "1.250000e-01");
        assert_eq!(f("{epoch:.1f}"), "5.0");
        assert_eq!(f("a{{b}}c-{loss}"), "a{b}c-0.125");
        for bad in [
            "{epoch",
            "x}",
            "{loss:>5}",
            "{loss:.2}",
            "{loss:g}",
            "{a.b}",
            "{}",
        ] {
            assert!(
                matches!(format_filepath(bad, &i), Err(Error::Config(_))),
                "{bad}"
            );
        }
        for absent in ["{batch}", "{val_accuracy}", "{loss:d}"] {
            assert!(
                matches!(format_filepath(absent, &i), Err(Error::Config(_))),
                "{absent}"
            );
        }
        assert_eq!(
            format_filepath("{batch:03d}", &info(&logs, 0, Some(6))).unwrap(),
            "007"
        );
    }
}
