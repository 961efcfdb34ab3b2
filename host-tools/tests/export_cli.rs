//! `ember export`: blob weights → Keras 3 `.weights.h5`. Each exported file is read back
//! with `hdf5-pure` and compared with the blob bit for bit, its dataset paths with the
//! template's (Keras's own `model.weights.h5` inside the fixture's `.keras`); trained blobs
//! (`ember train`) export their trained values; mismatched templates are refused by layer
//! name. The round trip through real Keras is `tests/data/check_export_roundtrip.py`
//! (run by hand; numbers in its docstring).

use std::collections::BTreeMap;
use std::ffi::OsStr;

use ember_cli::convert::{convert, convert_with, ConvertOptions, DTypeChoice};
use ember_cli::export::{blob_layers, export_weights, export_weights_like, BlobLayer};
use ember_cli::keras::archive::KerasArchive;
use ember_cli::keras::config::parse_model_config;
use ember_cli::keras::weights::read_keras3_weights;
use ember_cli::keras::{read_keras_file, KerasModel};
use ember_cli::Error;
use hdf5_pure::{File, Group};

#[macro_use]
mod cli_support;

use cli_support::{fails, fixture, ok, one_hot_digits, run as ember, Scratch};

/// Weights by path (file) or by (layer, index) (blob): shape and values.
type Tensors<K> = BTreeMap<K, (Vec<usize>, Vec<f32>)>;

const MODELS: [&str; 4] = ["digits_mlp", "digits_cnn", "functional", "time_distributed"];

fn template(model: &str) -> KerasModel {
    read_keras_file(&fixture(model, "model.keras")).expect("fixture reads")
}

fn blob(model: &KerasModel, dtype: DTypeChoice) -> Vec<u8> {
    convert(model, dtype).expect("converts").as_slice().to_vec()
}

/// Every dataset of the file: path → (shape, values).
fn datasets(bytes: &[u8]) -> Tensors<String> {
    fn walk(g: &Group, prefix: &str, out: &mut Tensors<String>) {
        for d in g.datasets().expect("datasets") {
            let ds = g.dataset(&d).expect("dataset");
            let shape = ds
                .shape()
                .expect("shape")
                .iter()
                .map(|&s| s as usize)
                .collect();
            out.insert(format!("{prefix}{d}"), (shape, ds.read_f32().expect("f32")));
        }
        for sub in g.groups().expect("groups") {
            walk(
                &g.group(&sub).expect("group"),
                &format!("{prefix}{sub}/"),
                out,
            );
        }
    }
    let file = File::from_bytes(bytes.to_vec()).expect("exported file reads");
    let mut out = BTreeMap::new();
    walk(&file.root(), "", &mut out);
    out
}

fn name_attr(bytes: &[u8], group: &str) -> Option<String> {
    let file = File::from_bytes(bytes.to_vec()).expect("reads");
    ember_cli::keras::weights::attr_string(file.group(group).ok()?.attrs().ok()?.get("name")?)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The blob's weights by (layer name, index).
fn blob_weights(blob: &[u8]) -> Tensors<(String, usize)> {
    let (_, layers) = blob_layers(blob).expect("blob parses");
    let mut out = BTreeMap::new();
    for BlobLayer { name, weights, .. } in layers {
        for (i, w) in weights.into_iter().enumerate() {
            out.insert((name.clone(), i), (w.shape, w.data));
        }
    }
    out
}

/// Checks that `file` holds exactly the template's weight paths, each with the blob's
/// values for that (layer, index), bit for bit.
fn assert_like_template(file: &[u8], t: &KerasModel, blob: &[u8]) {
    let got = datasets(file);
    let want = blob_weights(blob);
    let mut paths = Vec::new();
    for l in &t.layers {
        for (i, w) in l.weights.iter().enumerate() {
            paths.push(w.path.clone());
            let (shape, data) = got
                .get(&w.path)
                .unwrap_or_else(|| panic!("{}: dataset `{}` missing", t.name, w.path));
            let (bshape, bdata) = &want[&(l.name.clone(), i)];
            assert_eq!(shape, &w.shape, "{}", w.path);
            assert_eq!(shape, bshape, "{}", w.path);
            assert_eq!(
                bits(data),
                bits(bdata),
                "{}: values differ from the blob",
                w.path
            );
            let vars = w.path.rsplit_once('/').unwrap().0;
            let got_name = name_attr(file, vars);
            if l.class_name == "TimeDistributed" {
                // The layer's own group carries its name; the wrapped layer's `layer/vars`
                // the wrapped layer's (unknown without a template: then no name).
                let outer = vars.strip_suffix("/layer/vars").unwrap();
                let own = name_attr(file, &format!("{outer}/vars"));
                assert_eq!(own.as_deref(), Some(l.name.as_str()), "{outer}");
                let inner = l.config["layer"]["config"]["name"].as_str().unwrap();
                assert!(
                    got_name.is_none() || got_name.as_deref() == Some(inner),
                    "{vars}: {got_name:?}"
                );
            } else {
                assert_eq!(got_name.as_deref(), Some(l.name.as_str()), "{vars}");
            }
        }
    }
    paths.sort();
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), paths, "{}", t.name);
    assert_eq!(name_attr(file, "vars").as_deref(), Some(t.name.as_str()));
}

#[test]
fn like_template_writes_the_templates_paths_with_the_blobs_values() {
    for m in MODELS {
        let t = template(m);
        let b = blob(&t, DTypeChoice::F32);
        let file = export_weights(&b, Some(&t)).expect("exports");
        assert_like_template(&file, &t, &b);
    }
}

#[test]
fn without_template_the_keys_are_keras_s_for_flat_models() {
    // Sequential fixtures: the derived keys are exactly the ones Keras wrote.
    for m in ["digits_mlp", "digits_cnn"] {
        let t = template(m);
        let b = blob(&t, DTypeChoice::F32);
        let file = export_weights(&b, None).expect("exports");
        assert_like_template(&file, &t, &b);
        // Weightless layers get their (empty, named) groups, as Keras writes them.
        if m == "digits_cnn" {
            assert_eq!(
                name_attr(&file, "layers/re_lu/vars").as_deref(),
                Some("relu")
            );
            assert_eq!(
                name_attr(&file, "layers/max_pooling2d/vars").as_deref(),
                Some("pool")
            );
        }
    }
    // The nested functional model: flattened, class counters over all leaf layers.
    let t = template("functional");
    let b = blob(&t, DTypeChoice::F32);
    let got = datasets(&export_weights(&b, None).expect("exports"));
    let want = blob_weights(&b);
    assert_flat_functional_keys(&got, &want);
}

#[test]
fn batchnorm_moving_statistics_are_vars_2_and_3() {
    let t = template("digits_cnn");
    let bn = t.layers.iter().find(|l| l.name == "bn").expect("bn layer");
    let file = export_weights(&blob(&t, DTypeChoice::F32), Some(&t)).expect("exports");
    let got = datasets(&file);
    for (i, w) in bn.weights.iter().enumerate() {
        assert_eq!(w.path, format!("layers/batch_normalization/vars/{i}"));
        // Untrained blob: Keras's own values come back.
        assert_eq!(bits(&got[&w.path].1), bits(&w.data), "{}", w.path);
    }
    assert_eq!(bn.weights.len(), 4);
}

#[test]
fn q16_blobs_export_dequantized_float32() {
    let t = template("digits_mlp");
    let b = blob(&t, DTypeChoice::Fixed);
    let file = export_weights(&b, Some(&t)).expect("exports");
    assert_like_template(&file, &t, &b);
    // Dequantized Q16.16: within half a step of Keras's float32 values.
    let got = datasets(&file);
    for w in t.layers.iter().flat_map(|l| &l.weights) {
        for (a, k) in got[&w.path].1.iter().zip(&w.data) {
            assert!(
                (a - k).abs() <= 0.5 / 65536.0 + 1e-9,
                "{}: {a} vs {k}",
                w.path
            );
            assert_eq!((a * 65536.0).fract(), 0.0, "{}: not a Q16.16 value", w.path);
        }
    }
}

#[test]
fn cli_exports_trained_weights() {
    let dir = Scratch::new("export-trained");
    let emb = cli_support::convert_digits(&dir, false);
    let y = one_hot_digits(&dir);
    let trained = dir.path("trained.emb");
    let x = fixture("digits_mlp", "x.npy");
    let args: Vec<&OsStr> = vec![
        OsStr::new("train"),
        emb.as_os_str(),
        OsStr::new("--x"),
        x.as_os_str(),
        OsStr::new("--y"),
        y.as_os_str(),
        OsStr::new("--epochs"),
        OsStr::new("1"),
        OsStr::new("--optimizer"),
        OsStr::new("sgd"),
        OsStr::new("--loss"),
        OsStr::new("categorical_crossentropy"),
        OsStr::new("-o"),
        trained.as_os_str(),
    ];
    let out = ember(&args);
    assert!(out.status.success(), "{}", cli_support::describe(&out));
    let keras = fixture("digits_mlp", "model.keras");
    let t = template("digits_mlp");
    let trained_blob = std::fs::read(&trained).expect("trained blob");
    for like in [true, false] {
        let h5 = dir.path(&format!("trained_{like}.weights.h5"));
        let out = if like {
            ember!("export", trained, "-o", h5, "--like", keras)
        } else {
            ember!("export", trained, "-o", h5)
        };
        ok(&out);
        let file = std::fs::read(&h5).expect("exported");
        assert_like_template(&file, &t, &trained_blob);
        // The values are the trained ones, not the file's.
        let got = datasets(&file);
        let kernel = &t.layers[0].weights[0];
        assert_ne!(
            bits(&got[&kernel.path].1),
            bits(&kernel.data),
            "weights did not train"
        );
    }
}

#[test]
fn mismatched_templates_are_refused_by_layer_name() {
    let t = template("digits_cnn");
    let b = blob(&t, DTypeChoice::F32);

    // A template layer the blob lacks (by name).
    let mut renamed = t.clone();
    renamed.layers[0].name = "conv_renamed".into();
    let e = export_weights(&b, Some(&renamed)).unwrap_err().to_string();
    assert!(e.contains("`conv_renamed`"), "{e}");
    // ... and the blob layer the template then lacks, when the template has no weights there.
    renamed.layers[0].weights.clear();
    let e = export_weights(&b, Some(&renamed)).unwrap_err().to_string();
    assert!(e.contains("`conv`"), "{e}");

    // A shape that differs.
    let mut reshaped = t.clone();
    let w = &mut reshaped
        .layers
        .iter_mut()
        .find(|l| l.name == "dense")
        .unwrap()
        .weights[0];
    w.shape = vec![10, 32];
    match export_weights(&b, Some(&reshaped)) {
        Err(Error::WeightShape { layer, index, .. }) => {
            assert_eq!((layer.as_str(), index), ("dense", 0))
        }
        r => panic!("expected WeightShape, got {r:?}"),
    }

    // A weight count that differs.
    let mut fewer = t.clone();
    fewer
        .layers
        .iter_mut()
        .find(|l| l.name == "bn")
        .unwrap()
        .weights
        .pop();
    let e = export_weights(&b, Some(&fewer)).unwrap_err().to_string();
    assert!(e.contains("`bn`"), "{e}");

    // A blob converted with --fold-batchnorm has no `bn` layer.
    let folded = convert_with(
        &t,
        &ConvertOptions {
            dtype: DTypeChoice::F32,
            fold_batchnorm: true,
            ..Default::default()
        },
    )
    .expect("folds");
    let e = export_weights(folded.as_slice(), Some(&t))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`bn`"), "{e}");
}

#[test]
fn cli_errors_exit_1_without_panics() {
    let dir = Scratch::new("export-errors");
    let mlp = cli_support::convert_fixture(&dir, "digits_mlp");
    let out = dir.path("x.weights.h5");
    // Another model's template: its first weighted layer is named.
    let err = fails(&ember!(
        "export",
        mlp,
        "-o",
        out,
        "--like",
        fixture("digits_cnn", "model.keras")
    ));
    assert!(err.contains("`conv`"), "{err}");
    assert!(!out.exists(), "no output on error");
    // Not a blob.
    let junk = dir.write("junk.emb", b"not a blob at all, just bytes");
    fails(&ember!("export", junk, "-o", out));
    let short = dir.write("short.emb", b"EM");
    fails(&ember!("export", short, "-o", out));
    // Missing files.
    fails(&ember!("export", dir.path("missing.emb"), "-o", out));
    fails(&ember!(
        "export",
        mlp,
        "-o",
        out,
        "--like",
        dir.path("missing.keras")
    ));
    // A truncated blob.
    let bytes = std::fs::read(&mlp).expect("blob");
    let cut = dir.write("cut.emb", &bytes[..bytes.len() / 2]);
    fails(&ember!("export", cut, "-o", out));
}

#[test]
fn legacy_h5_template_gets_keras3_keys() {
    let t = read_keras_file(&fixture("functional", "model.h5")).expect("h5 fixture reads");
    let b = blob(&template("functional"), DTypeChoice::F32);
    let got = datasets(&export_weights(&b, Some(&t)).expect("exports"));
    let want = blob_weights(&b);
    // Flattened (legacy templates do not carry the nesting): counters over leaf layers.
    assert_eq!(got.len(), 10, "{:?}", got.keys());
    assert_flat_functional_keys(&got, &want);
    // `--like model.h5` (the file's bytes) gives the same file.
    let h5 = std::fs::read(fixture("functional", "model.h5")).expect("fixture");
    assert_eq!(
        export_weights_like(&b, &h5).expect("exports"),
        export_weights(&b, Some(&t)).expect("exports")
    );
}

/// The functional fixture's five Dense layers under flattened Keras keys, both weights
/// with the blob's values.
fn assert_flat_functional_keys(got: &Tensors<String>, want: &Tensors<(String, usize)>) {
    for (key, name) in [
        ("dense", "shared"),
        ("dense_1", "trunk"),
        ("dense_2", "cls"),
        ("dense_3", "head_1"),
        ("dense_4", "head_2"),
    ] {
        for i in 0..2 {
            let path = format!("layers/{key}/vars/{i}");
            let (_, data) = got.get(&path).unwrap_or_else(|| panic!("{path} missing"));
            assert_eq!(bits(data), bits(&want[&(name.to_string(), i)].1), "{path}");
        }
    }
}

/// Every group of an HDF5 file with its `name` attribute (`optimizer` left out).
fn groups(bytes: &[u8]) -> BTreeMap<String, Option<String>> {
    fn walk(g: &Group, prefix: &str, out: &mut BTreeMap<String, Option<String>>) {
        for sub in g.groups().expect("groups") {
            if prefix.is_empty() && sub == "optimizer" {
                continue;
            }
            let child = g.group(&sub).expect("group");
            let name = child
                .attrs()
                .expect("attrs")
                .get("name")
                .and_then(ember_cli::keras::weights::attr_string);
            out.insert(format!("{prefix}{sub}"), name);
            walk(&child, &format!("{prefix}{sub}/"), out);
        }
    }
    let file = File::from_bytes(bytes.to_vec()).expect("reads");
    let mut out = BTreeMap::new();
    walk(&file.root(), "", &mut out);
    out
}

#[test]
fn like_a_keras_file_reproduces_keras_s_whole_layout() {
    for m in MODELS {
        let keras_bytes = std::fs::read(fixture(m, "model.keras")).expect("fixture");
        let archive = KerasArchive::from_bytes(&keras_bytes).expect("archive");
        let t = template(m);
        let b = blob(&t, DTypeChoice::F32);
        let file = export_weights_like(&b, &keras_bytes).expect("exports");
        // Same groups (weightless layers, InputLayers, nested models) and `name`s as the
        // `model.weights.h5` Keras wrote, its optimizer aside; same datasets and values.
        assert_eq!(groups(&file), groups(&archive.weights_h5), "{m}");
        assert_like_template(&file, &t, &b);
        // Ember's own reader reads it back with the model's config.json.
        let config = parse_model_config(&archive.config_json).expect("config");
        let read = read_keras3_weights(file, &config).expect("Ember's reader reads it");
        let want = blob_weights(&b);
        for (layer, weights) in config.layers.iter().zip(&read) {
            for (i, w) in weights.iter().enumerate() {
                assert_eq!(bits(&w.data), bits(&want[&(layer.name.clone(), i)].1));
            }
        }
    }
}

#[test]
fn time_distributed_layers_keep_their_wrapped_layer_s_vars() {
    let t = template("time_distributed");
    let b = blob(&t, DTypeChoice::F32);
    // Without a template the derived keys are Keras's (the fixture is a flat model).
    let file = export_weights(&b, None).expect("exports");
    assert_like_template(&file, &t, &b);
    assert_eq!(
        name_attr(&file, "layers/time_distributed_1/vars").as_deref(),
        Some("td_flat")
    );
    let keras_bytes = std::fs::read(fixture("time_distributed", "model.keras")).expect("fixture");
    for file in [
        export_weights_like(&b, &keras_bytes).expect("exports"),
        export_weights(&b, Some(&t)).expect("exports"),
    ] {
        assert_like_template(&file, &t, &b);
        assert_eq!(
            name_attr(&file, "layers/time_distributed/layer/vars").as_deref(),
            Some("conv1d")
        );
    }
}

/// `ember export -o X.keras --like MODEL.keras`: the template's architecture with the
/// blob's weights, a file Ember's own reader (and Keras's `load_model`) opens whole; a
/// legacy `.h5` template cannot give a `.keras` file.
#[test]
fn keras_file_export_keeps_the_architecture_and_takes_the_weights() {
    use ember_cli::export::{export_keras_like, export_weights_like};
    use ember_cli::keras::read_keras_bytes;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("fixtures");
    let template = std::fs::read(dir.join("sentiment").join("lstm.keras")).unwrap();
    let mut k = read_keras_bytes(&template).unwrap();
    // Change every weight so the export differs from the template.
    for l in &mut k.layers {
        for w in &mut l.weights {
            w.data.iter_mut().for_each(|v| *v = *v * 0.5 + 0.25);
        }
    }
    let blob = ember_cli::convert::convert(&k, ember_cli::convert::DTypeChoice::F32).unwrap();
    let file = export_keras_like(blob.as_slice(), &template).unwrap();
    let back = read_keras_bytes(&file).unwrap();
    assert_eq!(back.layers.len(), k.layers.len());
    for (a, b) in back.layers.iter().zip(&k.layers) {
        assert_eq!(a.config, b.config, "{}: architecture", a.name);
        for (wa, wb) in a.weights.iter().zip(&b.weights) {
            assert_eq!(wa.data, wb.data, "{}: weights", a.name);
        }
    }
    // The weights entry is exactly what `-o X.weights.h5` writes.
    let weights = export_weights_like(blob.as_slice(), &template).unwrap();
    let archive = ember_cli::keras::archive::KerasArchive::from_bytes(&file).unwrap();
    assert_eq!(archive.weights_h5, weights.as_slice());
    let h5 = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("tests/fixtures/sentiment/lstm.h5"),
    )
    .unwrap();
    assert!(export_keras_like(blob.as_slice(), &h5).is_err());
}
