//! The converter's fixture matrix (issue 7): every layer family of
//! `tests/fixtures/matrix` (written by its `generate.py`) in each of the three Keras file
//! dialects — Keras 3 `.keras`, Keras 3 legacy `.h5`, tf_keras 2 `.h5` — is read, converted,
//! run in the core's runtime (`Sequential` for a chain, `Functional` for a graph) and
//! compared with that file's own Keras predictions; then each converted blob is exported
//! to a Keras 3 `.weights.h5` like the family's `.keras` file (`ember export --like`) and
//! read back with Ember's reader: every weight must equal the `.keras` file's own, bit for
//! bit, at the same path (what Keras's `load_weights` loads). The Keras side of that round
//! trip is `tests/fixtures/matrix/check_export.py` (not in CI; figures in the README).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::export::export_weights_like;
use ember_cli::keras::archive::KerasArchive;
use ember_cli::keras::config::parse_model_config;
use ember_cli::keras::read_keras_file;
use ember_cli::keras::weights::read_keras3_weights;
use ember_cli::tensor_file::read_npy;
use ember_nn::model::{Functional, Graph};
use ember_nn::Sequential;
use serde_json::Value;

/// The families the matrix must hold (a family dropped from `matrix.json` fails).
const FAMILIES: [&str; 20] = [
    "dense",
    "activations",
    "conv1d",
    "conv2d",
    "separable1d",
    "separable2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "pooling1d",
    "pooling2d",
    "normalization",
    "reshaping",
    "resizing1d",
    "resizing2d",
    "dropout",
    "embedding",
    "recurrent",
    "merges",
    "nested",
    "time_distributed",
];

/// The three dialects, in table order.
const DIALECTS: [&str; 3] = ["keras", "k3_h5", "k2_h5"];

/// (family, dialect) cells the matrix leaves out on purpose, each documented in the
/// fixture README (none today: tf_keras 2.21 writes every family).
const SKIPS: [(&str, &str); 0] = [];

/// Families whose export round trip is wrong today, kept out of the CI check (none: the
/// `Bidirectional` directions, once swapped by `ember export --like`, are paired by
/// direction since; [`bidirectional_export_keeps_forward_and_backward_apart`]).
const EXPORT_BUGS: [&str; 0] = [];

/// Relative tolerance of a prediction (plus [`ABS`]): issue 7's criterion.
const REL: f32 = 1e-5;
const ABS: f32 = 1e-6;

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/matrix")
        .join(file)
}

fn npy(file: &str) -> Vec<f32> {
    read_npy(&fixture(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .data
}

fn matrix() -> Value {
    let text = std::fs::read_to_string(fixture("matrix.json")).expect("matrix.json");
    serde_json::from_str(&text).expect("matrix.json parses")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

/// Converts `file` (f32) and predicts `xs` (one tensor per model input, `batch` samples)
/// with the runtime the blob calls for; `sizes` are the outputs' element counts.
fn predict(file: &str, xs: &[Vec<f32>], batch: usize, sizes: &[usize]) -> (Vec<Vec<f32>>, bool) {
    let k = read_keras_file(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let b = convert(&k, DTypeChoice::F32).unwrap_or_else(|e| panic!("{file}: {e}"));
    let chain = Graph::<f32>::parse(b.as_slice())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .is_chain();
    let mut ys: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.0; n]).collect();
    if chain {
        assert_eq!(
            (xs.len(), ys.len()),
            (1, 1),
            "{file}: a chain has one input"
        );
        let need = Sequential::<f32>::inference_bytes(b.as_slice(), batch).unwrap();
        let mut arena = AlignedBytes::zeroed(need);
        let mut m = Sequential::<f32>::new(b.as_slice(), arena.as_mut_slice(), batch)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        m.predict(&xs[0], &mut ys[0])
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    } else {
        let need = Functional::<f32>::inference_bytes(b.as_slice(), batch).unwrap();
        let mut arena = AlignedBytes::zeroed(need);
        let mut m = Functional::<f32>::new(b.as_slice(), arena.as_mut_slice(), batch)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let ins: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let mut outs: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
        m.predict(&ins, &mut outs)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    (ys, chain)
}

/// The worst `|a − e| / (REL·|e| + ABS)` (≤ 1 passes), and the worst `|a − e|`.
fn worst(a: &[f32], e: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), e.len());
    a.iter().zip(e).fold((0.0f32, 0.0f32), |(r, m), (a, e)| {
        let d = (a - e).abs();
        (r.max(d / (REL * e.abs() + ABS)), m.max(d))
    })
}

#[test]
fn every_family_in_every_dialect_predicts_like_keras() {
    let m = matrix();
    let families = m["families"].as_object().expect("families");
    let listed: BTreeSet<&str> = families.keys().map(String::as_str).collect();
    assert_eq!(
        listed,
        FAMILIES.into_iter().collect(),
        "matrix.json families"
    );
    let batch = m["samples"].as_u64().expect("samples") as usize;
    let mut cells = BTreeSet::new();
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for fam in FAMILIES {
        let f = &families[fam];
        // Skips: exactly the documented ones.
        let skips: BTreeSet<(&str, &str)> = f["skips"]
            .as_object()
            .expect("skips")
            .keys()
            .map(|d| (fam, DIALECTS.into_iter().find(|x| x == d).expect("dialect")))
            .collect();
        let documented: BTreeSet<(&str, &str)> =
            SKIPS.into_iter().filter(|(f, _)| *f == fam).collect();
        assert_eq!(skips, documented, "{fam}: skipped dialects");
        let xs: Vec<Vec<f32>> = strings(&f["inputs"]).iter().map(|x| npy(x)).collect();
        let graph = f["graph"].as_bool().expect("graph");
        let mut row = vec![fam.to_string()];
        for dialect in DIALECTS {
            let Some(d) = f["dialects"].get(dialect) else {
                row.push("skipped".into());
                continue;
            };
            let file = d["file"].as_str().expect("file");
            let want: Vec<Vec<f32>> = strings(&d["y"]).iter().map(|y| npy(y)).collect();
            assert_eq!(want.len() as u64, f["outputs"].as_u64().unwrap(), "{file}");
            let sizes: Vec<usize> = want.iter().map(Vec::len).collect();
            let (got, chain) = predict(file, &xs, batch, &sizes);
            // A Keras functional model with branches is a graph; a Sequential may still
            // be lowered to one (TimeDistributed), run as `ember predict` would.
            assert!(
                !(graph && chain),
                "{file}: a Keras graph converted to a chain"
            );
            let (mut ratio, mut abs) = (0.0f32, 0.0f32);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let (r, a) = worst(g, w);
                ratio = ratio.max(r);
                abs = abs.max(a);
                for (i, (&a, &e)) in g.iter().zip(w).enumerate() {
                    if (a - e).abs() > REL * e.abs() + ABS {
                        failures.push(format!("{file} output {k} [{i}]: {a} vs Keras {e}"));
                    }
                }
            }
            row.push(format!("{abs:.1e} ({ratio:.2})"));
            cells.insert((fam, dialect));
        }
        table.push(row);
    }
    println!(
        "worst |Ember - Keras| per file (in parentheses: worst |Ember - Keras| / \
         (1e-5·|Keras| + 1e-6), ≤ 1 passes):"
    );
    println!("| family | .keras | Keras 3 .h5 | tf_keras 2 .h5 |");
    println!("|---|---|---|---|");
    for row in &table {
        println!("| {} |", row.join(" | "));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Coverage: every family × dialect, minus the documented skips.
    let want: BTreeSet<(&str, &str)> = FAMILIES
        .into_iter()
        .flat_map(|f| DIALECTS.into_iter().map(move |d| (f, d)))
        .filter(|c| !SKIPS.contains(c))
        .collect();
    assert_eq!(cells, want, "cells run");
    assert_eq!(cells.len(), FAMILIES.len() * 3 - SKIPS.len());
}

/// The weights of a `.keras` file as Ember's reader reads them: path → (shape, bits).
type Weights = BTreeMap<String, (Vec<usize>, Vec<u32>)>;

fn keras3_weights(h5: Vec<u8>, config_json: &[u8]) -> Weights {
    let config = parse_model_config(config_json).expect("config");
    let read = read_keras3_weights(h5, &config).expect("Ember's reader reads it");
    assert_eq!(read.len(), config.layers.len());
    read.into_iter()
        .flatten()
        .map(|w| {
            (
                w.path,
                (w.shape, w.data.iter().map(|v| v.to_bits()).collect()),
            )
        })
        .collect()
}

/// Converts each dialect's file of `fam`, exports the blob like the family's `.keras`
/// file and checks Ember's reader reads back the `.keras` file's weights, bit for bit, at
/// the same paths. Returns the number of files checked.
fn export_round_trip(fam: &str) -> usize {
    let m = matrix();
    let f = &m["families"][fam];
    let mut checked = 0;
    let keras_file = format!("{fam}.keras");
    let keras_bytes = std::fs::read(fixture(&keras_file)).expect("fixture");
    let archive = KerasArchive::from_bytes(&keras_bytes).expect("archive");
    let original = keras3_weights(archive.weights_h5.clone(), &archive.config_json);
    assert!(!original.is_empty(), "{fam}: no weights");
    // The blob converted from each dialect's file exports the same file.
    for dialect in DIALECTS {
        let Some(d) = f["dialects"].get(dialect) else {
            continue;
        };
        let file = d["file"].as_str().expect("file");
        let k = read_keras_file(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let b = convert(&k, DTypeChoice::F32).unwrap_or_else(|e| panic!("{file}: {e}"));
        let exported = export_weights_like(b.as_slice(), &keras_bytes)
            .unwrap_or_else(|e| panic!("{file}: export: {e}"));
        let back = keras3_weights(exported, &archive.config_json);
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            original.keys().collect::<Vec<_>>(),
            "{file}: weight paths"
        );
        for (path, (shape, bits)) in &original {
            let (s, b) = &back[path];
            assert_eq!(s, shape, "{file}: {path} shape");
            assert!(b == bits, "{file}: {path} differs from {keras_file}'s");
        }
        println!("{file}: {} weights exported bit for bit", original.len());
        checked += 1;
    }
    checked
}

#[test]
fn every_blob_exports_the_keras_files_weights_bit_for_bit() {
    let mut checked = 0;
    for fam in FAMILIES.into_iter().filter(|f| !EXPORT_BUGS.contains(f)) {
        checked += export_round_trip(fam);
    }
    let skipped = SKIPS
        .iter()
        .filter(|(f, _)| !EXPORT_BUGS.contains(f))
        .count();
    assert_eq!(checked, (FAMILIES.len() - EXPORT_BUGS.len()) * 3 - skipped);
}

/// The recurrent family's `Bidirectional(GRU)`: its exported forward and backward weights
/// must land at their own paths (a `.keras` file lists `backward_layer` first; the blob
/// holds the forward direction first).
#[test]
fn bidirectional_export_keeps_forward_and_backward_apart() {
    assert_eq!(export_round_trip("recurrent"), 3);
}
