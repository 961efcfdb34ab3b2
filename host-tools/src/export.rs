//! `ember export`: a blob's weights back into Keras, as a Keras 3 `.weights.h5` file
//! (what `model.save_weights("x.weights.h5")` writes, what `model.load_weights` reads).
//!
//! Keras 3.15's layout (`keras/src/saving/saving_lib.py`, `_save_state` and
//! `_save_container_state`): the model's own variables in the group `vars` (attribute
//! `name` = the model's name; a model has none of its own), each layer of `model.layers`
//! under `layers/<key>`, whose `vars` group carries attribute `name` = the layer's name
//! and holds the layer's variables as datasets `0`, `1`, ... in Keras's weight order
//! (trainable, then non-trainable: BatchNormalization's `gamma, beta, moving_mean,
//! moving_variance`). `<key>` is not the layer's name but Keras's `to_snake_case` of the
//! class name plus a counter per class in model order (`dense`, `dense_1`, `conv2d`,
//! `re_lu`, ...). A nested model's layers sit under `layers/<model key>/layers/<key>`.
//! A compiled model also gets an `optimizer` group; the export writes none (the blob holds
//! no optimizer state), so `load_weights` into a model whose optimizer is built warns
//! "Skipping variable loading for optimizer" and leaves the optimizer as it is, exactly
//! as for a file saved from an uncompiled model.
//!
//! [`export_weights`] takes the layout either
//!
//! * from a template model (`ember export --like MODEL.keras|MODEL.h5`): every weight the
//!   template holds is written at the template's dataset path (for a legacy `.h5`
//!   template, at the Keras 3 key derived from its layer classes, nested models
//!   flattened), its values taken from the blob layer of the same name;
//!   [`export_weights_like`] also copies a `.keras` template's weightless groups, so the
//!   file has every group Keras writes; or
//! * from the blob alone: keys derived from the blob layers' Keras classes in model order
//!   (a layer the blob calls under `TimeDistributed` is a `TimeDistributed` whose wrapped
//!   layer's variables sit in `layer/vars`; nested models are flattened: their layers are
//!   listed as the outer model's, which is the layout of the equivalent flat model; use a
//!   template for nested models). A functional model's `InputLayer` groups, which hold
//!   nothing, are not written.
//!
//! Lowered extra layers (`<name>/activation`, see [`crate::convert`]) are not Keras
//! layers and are skipped. Q16.16 blobs are exported dequantized to float32 (exactly:
//! every Q16.16 value is an `f32`).

use std::collections::BTreeMap;

use ember_nn::blob::Blob;
use ember_nn::{DType, Scalar, Q16_16};
use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};

use crate::blob_file::AlignedBytes;
use crate::keras::KerasModel;
use crate::{Error, Result};

/// One weight tensor of a blob layer, as float32.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobWeight {
    /// Shape as Keras stores it.
    pub shape: Vec<usize>,
    /// Row-major values (Q16.16 dequantized).
    pub data: Vec<f32>,
}

/// One layer of a blob with its weights (Keras: one layer of the converted model).
#[derive(Debug, Clone, PartialEq)]
pub struct BlobLayer {
    /// The layer's name (the Keras layer name; `<name>/activation` for a lowered extra).
    pub name: String,
    /// Its Keras class name (Keras: `layer.__class__.__name__`).
    pub class_name: &'static str,
    /// Its weights in Keras order.
    pub weights: Vec<BlobWeight>,
    /// Whether the blob calls it under Keras's `TimeDistributed` (then the Keras layer is
    /// a `TimeDistributed` named [`name`](Self::name) wrapping a `class_name` layer).
    pub time_distributed: bool,
}

/// The model name and layers of a blob, weights as float32.
///
/// # Errors
///
/// [`Error::Core`] if the blob does not parse or a parameter is out of bounds.
pub fn blob_layers(blob: &[u8]) -> Result<(String, Vec<BlobLayer>)> {
    let aligned = AlignedBytes::from_slice(blob);
    let parsed = Blob::parse(aligned.as_slice())?;
    let (header, mut descs) = parsed.graph()?;
    let mut layers = Vec::new();
    for desc in descs.by_ref() {
        let desc = desc?;
        let mut weights = Vec::new();
        for p in &desc.params {
            let bytes = parsed.param_bytes(p)?;
            let words = bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
            let data: Vec<f32> = match p.dtype {
                DType::F32 => words.map(f32::from_le_bytes).collect(),
                DType::Q16_16 => words
                    .map(|b| Q16_16::from_bits(i32::from_le_bytes(b)).to_f32())
                    .collect(),
                other => {
                    return Err(Error::Config(format!(
                        "layer `{}`: weights of type {other:?} cannot be exported",
                        desc.name
                    )))
                }
            };
            weights.push(BlobWeight {
                shape: p.shape.dims().iter().map(|&d| d as usize).collect(),
                data,
            });
        }
        layers.push(BlobLayer {
            name: desc.name.to_string(),
            class_name: desc.config.keras_class(),
            weights,
            time_distributed: false,
        });
    }
    let (_, nodes) = descs.topology()?;
    for node in nodes {
        let node = node?;
        if node.time_distributed {
            if let Some(l) = layers.get_mut(usize::from(node.layer)) {
                l.time_distributed = true;
            }
        }
    }
    Ok((header.name.to_string(), layers))
}

/// Keras's `to_snake_case` of a class name (`keras/src/utils/naming.py`): `_` before a
/// capital that starts a capitalized word (not at the start), and between a lower-case
/// letter and a capital; lower-cased. `Conv2D` → `conv2d`, `ReLU` → `re_lu`,
/// `BatchNormalization` → `batch_normalization`.
pub fn snake_case(class: &str) -> String {
    // Class names past 40 characters (custom layers only) are lower-cased whole.
    ember_nn::model::keras_snake_case(class)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| class.to_ascii_lowercase())
}

/// Keras's keys for a list of class names in model order: `snake_case(class)`, then
/// `_1`, `_2`, ... for later layers of the same class (`_get_unique_name`).
pub fn keras_keys<'a>(classes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    classes
        .into_iter()
        .map(|class| {
            let base = snake_case(class);
            match used.get_mut(&base) {
                Some(n) => {
                    *n += 1;
                    format!("{base}_{n}")
                }
                None => {
                    used.insert(base.clone(), 0);
                    base
                }
            }
        })
        .collect()
}

/// The file being built: groups (path → `name` attribute) and datasets (path → tensor).
#[derive(Default)]
struct Layout {
    groups: BTreeMap<String, Option<String>>,
    datasets: BTreeMap<String, BlobWeight>,
}

impl Layout {
    /// Adds `path` and its ancestors as groups; `name` (if any) for `path` itself.
    fn group(&mut self, path: &str, name: Option<&str>) {
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            self.groups.entry(prefix.clone()).or_insert(None);
        }
        if let Some(n) = name {
            self.groups.insert(path.to_string(), Some(n.to_string()));
        }
    }

    /// Adds group `path` (and its ancestors), naming it `name` unless it has a name.
    fn name_if_unset(&mut self, path: &str, name: &str) {
        self.group(path, None);
        if let Some(slot @ None) = self.groups.get_mut(path) {
            *slot = Some(name.to_string());
        }
    }

    fn dataset(&mut self, path: &str, w: BlobWeight) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.group(parent, None);
        }
        self.datasets.insert(path.to_string(), w);
    }

    /// Serializes the tree with `hdf5-pure`.
    fn finish(&self) -> Result<Vec<u8>> {
        let mut fb = FileBuilder::new();
        let tops: Vec<&String> = self.groups.keys().filter(|p| !p.contains('/')).collect();
        for top in tops {
            let g = self.build_group(fb.create_group(top), top)?;
            fb.add_group(g.finish());
        }
        for (path, w) in self.datasets.iter().filter(|(p, _)| !p.contains('/')) {
            write_dataset(fb.create_dataset(path), w)?;
        }
        fb.finish()
            .map_err(|e| Error::Hdf5(format!("writing the weights file: {e}")))
    }

    fn build_group(&self, mut g: GroupBuilder, path: &str) -> Result<GroupBuilder> {
        if let Some(Some(name)) = self.groups.get(path) {
            g.set_attr("name", AttrValue::VarLenString(name.clone()));
        }
        let prefix = format!("{path}/");
        fn children<'p>(p: &'p str, prefix: &str) -> Option<&'p str> {
            p.strip_prefix(prefix).filter(|rest| !rest.contains('/'))
        }
        for (child, w) in &self.datasets {
            if let Some(leaf) = children(child, &prefix) {
                write_dataset(g.create_dataset(leaf), w)?;
            }
        }
        for child in self.groups.keys() {
            if let Some(leaf) = children(child, &prefix) {
                let sub = self.build_group(g.create_group(leaf), child)?;
                g.add_group(sub.finish());
            }
        }
        Ok(g)
    }
}

fn write_dataset(d: &mut hdf5_pure::DatasetBuilder, w: &BlobWeight) -> Result<()> {
    let shape = w
        .shape
        .iter()
        .map(|&s| u64::try_from(s).map_err(|_| Error::Hdf5("dataset too large".into())))
        .collect::<Result<Vec<u64>>>()?;
    d.with_f32_data(&w.data).with_shape(&shape);
    Ok(())
}

/// Writes a blob's weights as a Keras 3 `.weights.h5` file (see the [module](self) docs
/// for the layout), keys from `template` when given, else derived from the blob.
///
/// # Errors
///
/// * [`Error::Core`]: the blob does not parse.
/// * [`Error::Config`]: with a template, a template layer with weights that the blob lacks
///   (by name), a blob layer with weights that the template lacks, or a weight count that
///   differs; [`Error::WeightShape`] for a shape that differs (both name the layer).
/// * [`Error::Hdf5`]: the writer failed.
pub fn export_weights(blob: &[u8], template: Option<&KerasModel>) -> Result<Vec<u8>> {
    let (model_name, layers) = blob_layers(blob)?;
    // Lowered extras (`<name>/activation`): Keras names cannot hold `/`.
    let layers: Vec<BlobLayer> = layers
        .into_iter()
        .filter(|l| !l.name.contains('/'))
        .collect();
    let mut layout = Layout::default();
    match template {
        None => {
            layout.group("vars", Some(&model_name));
            let keys = keras_keys(layers.iter().map(|l| {
                if l.time_distributed {
                    "TimeDistributed"
                } else {
                    l.class_name
                }
            }));
            for (l, key) in layers.iter().zip(keys) {
                layout.group(&format!("layers/{key}/vars"), Some(&l.name));
                // `TimeDistributed` keeps the wrapped layer's variables in `layer/vars`.
                let vars = if l.time_distributed {
                    let inner = format!("layers/{key}/layer/vars");
                    layout.group(&inner, None);
                    inner
                } else {
                    format!("layers/{key}/vars")
                };
                for (i, w) in l.weights.iter().enumerate() {
                    layout.dataset(&format!("{vars}/{i}"), w.clone());
                }
            }
        }
        Some(t) => fill_from_template(&mut layout, t, &layers)?,
    }
    layout.finish()
}

/// [`export_weights`] with the template given as the bytes of its file (`ember export
/// --like`): a `.keras` template's own `model.weights.h5` also gives the groups that hold
/// no weights (weightless layers, `InputLayer`s, nested models' `vars`), with their
/// `name` attributes, so the file has Keras's complete layout (its `optimizer` group
/// aside). A legacy `.h5` template is read as [`export_weights`] does.
///
/// # Errors
///
/// As [`export_weights`], and whatever [`crate::keras::read_keras_bytes`] reports for the
/// template.
pub fn export_weights_like(blob: &[u8], template: &[u8]) -> Result<Vec<u8>> {
    let model = crate::keras::read_keras_bytes(template)?;
    let (_, layers) = blob_layers(blob)?;
    let layers: Vec<BlobLayer> = layers
        .into_iter()
        .filter(|l| !l.name.contains('/'))
        .collect();
    let mut layout = Layout::default();
    if !template.starts_with(b"\x89HDF") {
        let archive = crate::keras::archive::KerasArchive::from_bytes(template)?;
        let file = hdf5_pure::File::from_bytes(archive.weights_h5)
            .map_err(|e| Error::Hdf5(format!("template weights: {e}")))?;
        skeleton(&mut layout, &file.root(), "", 0)?;
    }
    fill_from_template(&mut layout, &model, &layers)?;
    layout.finish()
}

/// Adds the template file's groups under `path` (not `optimizer`) with their `name`
/// attributes.
fn skeleton(layout: &mut Layout, g: &hdf5_pure::Group, path: &str, depth: usize) -> Result<()> {
    if depth > 64 {
        return Err(Error::Hdf5(
            "template weights: groups nested too deep".into(),
        ));
    }
    let err = |e: hdf5_pure::Error| Error::Hdf5(format!("template weights `{path}`: {e}"));
    for child in g.groups().map_err(err)? {
        if path.is_empty() && child == "optimizer" {
            continue;
        }
        let sub = g.group(&child).map_err(err)?;
        let child_path = if path.is_empty() {
            child.clone()
        } else {
            format!("{path}/{child}")
        };
        let name = sub
            .attrs()
            .map_err(err)?
            .get("name")
            .and_then(crate::keras::weights::attr_string);
        layout.group(&child_path, name.as_deref());
        skeleton(layout, &sub, &child_path, depth + 1)?;
    }
    Ok(())
}

/// Names the `vars` groups on the way to a weight at `path` of template layer `tl`, where
/// the template file did not: the layer's own `layers/<key>/vars` gets the layer's name;
/// a sub-layer's (`TimeDistributed`'s `layer/vars`) the wrapped layer's `config.name`.
fn name_vars_groups(layout: &mut Layout, path: &str, tl: &crate::keras::KerasLayer) {
    let Some((vars, _)) = path.rsplit_once('/') else {
        return;
    };
    // The layer's own group: the deepest `.../layers/<key>` prefix.
    let parts: Vec<&str> = path.split('/').collect();
    let Some(at) = (0..parts.len().saturating_sub(2))
        .rev()
        .find(|&i| parts[i] == "layers")
    else {
        return;
    };
    let own = format!("{}/vars", parts[..at + 2].join("/"));
    layout.name_if_unset(&own, &tl.name);
    if own != vars {
        let inner = tl
            .config
            .get("layer")
            .and_then(|l| l.get("config"))
            .and_then(|c| c.get("name"))
            .and_then(serde_json::Value::as_str);
        match inner {
            Some(n) => layout.name_if_unset(vars, n),
            None => layout.group(vars, None),
        }
    }
}

/// The template's layout filled with the blob's values, matched by layer name.
fn fill_from_template(layout: &mut Layout, t: &KerasModel, layers: &[BlobLayer]) -> Result<()> {
    layout.group("vars", Some(&t.name));
    let by_name: BTreeMap<&str, &BlobLayer> = layers.iter().map(|l| (l.name.as_str(), l)).collect();
    // Legacy `.h5` templates store tf.keras / Keras 3 `.h5` paths: derive Keras 3 keys.
    let legacy = t
        .layers
        .iter()
        .flat_map(|l| &l.weights)
        .any(|w| !w.path.starts_with("layers/"));
    let keys = keras_keys(t.layers.iter().map(|l| l.class_name.as_str()));
    for (tl, key) in t.layers.iter().zip(&keys) {
        if tl.class_name == "NotEqual" {
            continue;
        }
        if legacy {
            layout.group(&format!("layers/{key}/vars"), Some(&tl.name));
        }
        if tl.weights.is_empty() {
            continue;
        }
        let bl = by_name.get(tl.name.as_str()).ok_or_else(|| {
            Error::Config(format!(
                "layer `{}` ({}) of the template has {} weights but the blob has no layer \
                 of that name (converted from another model, or with --fold-batchnorm?)",
                tl.name,
                tl.class_name,
                tl.weights.len()
            ))
        })?;
        if bl.weights.len() != tl.weights.len() {
            return Err(Error::Config(format!(
                "layer `{}` ({}): the blob has {} weight tensors, the template {}",
                tl.name,
                tl.class_name,
                bl.weights.len(),
                tl.weights.len()
            )));
        }
        // The blob holds a Bidirectional's forward weights first; a `.keras` file lists
        // `backward_layer` first: pair them by direction, not by file order.
        let template_weights = if tl.class_name == "Bidirectional" {
            crate::convert::bidirectional_weights(&tl.weights)
        } else {
            tl.weights.clone()
        };
        for (i, (bw, tw)) in bl.weights.iter().zip(&template_weights).enumerate() {
            if bw.shape != tw.shape {
                return Err(Error::WeightShape {
                    layer: tl.name.clone(),
                    index: i,
                    found: bw.shape.clone(),
                    expected: tw.shape.clone(),
                });
            }
            let path = if legacy {
                format!("layers/{key}/vars/{i}")
            } else {
                tw.path.clone()
            };
            name_vars_groups(layout, &path, tl);
            layout.dataset(&path, bw.clone());
        }
    }
    let in_template: BTreeMap<&str, ()> = t.layers.iter().map(|l| (l.name.as_str(), ())).collect();
    if let Some(extra) = layers
        .iter()
        .find(|l| !l.weights.is_empty() && !in_template.contains_key(l.name.as_str()))
    {
        return Err(Error::Config(format!(
            "layer `{}` ({}) of the blob has weights but the template has no layer of that \
             name",
            extra.name, extra.class_name
        )));
    }
    Ok(())
}

/// A whole Keras 3 model file from a blob and the `.keras` file its architecture came
/// from (`ember export trained.emb -o trained.keras --like model.keras`): the template's
/// `config.json`, `metadata.json` and any other entry unchanged, and `model.weights.h5`
/// replaced by the blob's weights ([`export_weights_like`]). `keras.saving.load_model`
/// opens it as the template model with the blob's weights.
///
/// # Errors
/// [`Error::Config`] when the template is not a `.keras` zip, and what
/// [`export_weights_like`] reports.
pub fn export_keras_like(blob: &[u8], template: &[u8]) -> Result<Vec<u8>> {
    use std::io::{Cursor, Read, Write};
    if template.starts_with(b"\x89HDF") {
        return Err(Error::Config(
            "a .keras output needs a .keras template (--like MODEL.keras): a legacy .h5 \
             template gives weights only (-o MODEL.weights.h5)"
                .into(),
        ));
    }
    let weights = export_weights_like(blob, template)?;
    let zip_error = |e: zip::result::ZipError| Error::Config(format!("template zip: {e}"));
    let mut src = zip::ZipArchive::new(Cursor::new(template)).map_err(zip_error)?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut entry = src.by_index(i).map_err(zip_error)?;
        let name = entry.name().map_err(zip_error)?.into_owned();
        let mut data = Vec::new();
        if name == "model.weights.h5" {
            data.extend_from_slice(&weights);
        } else {
            entry
                .read_to_end(&mut data)
                .map_err(|e| Error::Config(format!("template zip entry `{name}`: {e}")))?;
        }
        out.start_file(name.as_str(), options).map_err(zip_error)?;
        out.write_all(&data)
            .map_err(|e| Error::Config(format!("writing `{name}`: {e}")))?;
    }
    Ok(out.finish().map_err(zip_error)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{keras_keys, snake_case};

    #[test]
    fn snake_case_is_keras_s() {
        for (class, name) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("ReLU", "re_lu"),
            ("PReLU", "p_re_lu"),
            ("ELU", "elu"),
            ("Conv2DTranspose", "conv2d_transpose"),
        ] {
            assert_eq!(snake_case(class), name, "{class}");
        }
    }

    #[test]
    fn keys_count_per_class() {
        assert_eq!(
            keras_keys(["Dense", "ReLU", "Dense", "Dense", "ReLU"]),
            ["dense", "re_lu", "dense_1", "dense_2", "re_lu_1"]
        );
    }
}
