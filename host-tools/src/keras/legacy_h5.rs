//! Legacy Keras `.h5` model files (`model.save("model.h5")`) → [`KerasModel`].
//!
//! Keras: `keras.src.legacy.saving.legacy_h5_format` (`save_model_to_hdf5` /
//! `load_model_from_hdf5`). One HDF5 file holds the whole model:
//!
//! * root attributes `keras_version`, `backend`, `model_config` (the model's config as a
//!   JSON string) and, for a compiled model, `training_config`;
//! * group `model_weights`, whose attribute `layer_names` lists the model's layers in order
//!   (split into `layer_names0`, `layer_names1`, ... when the list exceeds Keras's 64 KB
//!   attribute limit). Each layer has a group `model_weights/<layer name>` whose attribute
//!   `weight_names` lists its weights in Keras's legacy order (`trainable_weights +
//!   non_trainable_weights`: Dense is kernel, bias) as dataset paths relative to that group.
//!   A layer without weights stores `weight_names` as an empty float64 array.
//!
//! Two dialects exist and both are read:
//!
//! * **tf.keras 2 / Keras 2** (`keras_version` `2.x`): weight names are
//!   `<layer>/kernel:0`, so datasets sit at `model_weights/dense/dense/kernel:0`;
//!   `model_config` uses `batch_input_shape` (on an `InputLayer`, or on the first layer of
//!   older files without one). Keras ≤ 2.2.2 wrote a `Sequential` config as a bare list of
//!   layers, which tf.keras's `Sequential.from_config` still accepts; so does this reader.
//! * **Keras 3** (`keras_version` `3.x`): weight names are variable paths
//!   `<model>/<layer>/kernel`, so datasets sit at `model_weights/dense/<model>/dense/kernel`;
//!   `model_config` is the Keras-3 config (`batch_shape`, `DTypePolicy` dtypes).
//!
//! A nested model (a `Sequential` or `Functional` used as a layer) has one group
//! `model_weights/<nested model>` whose `weight_names` list all its layers' weights, at any
//! depth (Keras 3: `inner_seq/dense/kernel` for a nested `Sequential`, `dense/kernel` for a
//! nested `Functional`; tf.keras 2: `dense/kernel:0`). Each weight goes to the one leaf
//! layer of the nested model whose name is a component of the weight's name, in listed
//! order; a weight naming none or several is refused.
//!
//! String attributes may be variable- or fixed-length; both are accepted. The config is
//! interpreted by [`super::config::model_from_value`], exactly like a `.keras` file's
//! `config.json`. Keras loads legacy weights by order (the n-th layer with weights gets the
//! n-th saved layer with weights); in every file Keras writes the group names are the layer
//! names too, so this reader matches by name and additionally checks that the order agrees,
//! refusing a file where the two would give different answers.

use std::collections::{HashMap, HashSet};

use hdf5_pure::{AttrValue, File, Group};
use serde_json::{Map, Value};

use super::config::{self, ModelConfig};
use super::tree::{EntryKind, ModelTree, MAX_NESTING};
use super::weights::{
    attr_string, check_not_truncated, open_group, read_f32_dataset, sorted_groups,
};
use super::{KerasModel, KerasWeight};
use crate::error::{Error, Result};

/// Name of the root attribute holding the model's config JSON.
pub const MODEL_CONFIG_ATTR: &str = "model_config";
/// Name of the group holding the weights.
pub const MODEL_WEIGHTS_GROUP: &str = "model_weights";
/// Name of the group Keras writes for a model's own (non-layer) weights.
pub const TOP_LEVEL_WEIGHTS_GROUP: &str = "top_level_model_weights";
/// Most path components accepted in one weight name (`model/layer/kernel` has three).
pub const MAX_WEIGHT_NAME_DEPTH: usize = 16;

/// Read a legacy Keras `.h5` model file from its bytes.
///
/// Keras: `keras.models.load_model("model.h5")` (`legacy_h5_format.load_model_from_hdf5`).
/// Returns the same [`KerasModel`] as the `.keras` reader would for the same model, except
/// that [`KerasWeight::path`] is the dataset's path in this file (e.g.
/// `"model_weights/dense/dense/kernel:0"`) and [`KerasModel::keras_version`] is the root
/// `keras_version` attribute.
///
/// # Errors
///
/// * [`Error::Archive`]: the bytes are not a readable HDF5 file, or the file is truncated.
/// * [`Error::Config`]: there is no `model_config` (a weights-only file written by
///   `save_weights`: the message says it has no architecture), or it is not the JSON of a
///   model this reader handles (see [`config::model_from_value`]).
/// * [`Error::Hdf5`]: `model_weights` or its `layer_names` is missing, a listed layer has
///   no group, a config layer is not listed (or two are listed under one name), a weight
///   dataset is missing or not float32, the layers with weights are listed in an order
///   that disagrees with the config, or weights exist that no layer claims.
pub fn read_legacy_h5(bytes: &[u8]) -> Result<KerasModel> {
    let file_len = bytes.len();
    let file = File::from_bytes(bytes.to_vec()).map_err(|e| unreadable(&e.to_string()))?;
    check_not_truncated(&file).map_err(|e| match e {
        Error::Hdf5(msg) => unreadable(&msg),
        other => other,
    })?;
    let root = file.root();
    let attrs = Attrs::of(&root, "/")?;

    let model_config = match attrs.get(MODEL_CONFIG_ATTR)? {
        Some(value) => attr_string(value).ok_or_else(|| {
            Error::Config(format!(
                "the `{MODEL_CONFIG_ATTR}` attribute is {}, expected a JSON string",
                describe(value)
            ))
        })?,
        None => return Err(no_architecture(&root, &attrs)?),
    };
    let keras_version = match attrs.get("keras_version")? {
        None => None,
        Some(value) => Some(attr_string(value).ok_or_else(|| {
            Error::Hdf5(format!(
                "the root attribute `keras_version` is {}, expected a string",
                describe(value)
            ))
        })?),
    };
    let value: Value = serde_json::from_str(&model_config).map_err(|e| {
        Error::Config(format!(
            "the `{MODEL_CONFIG_ATTR}` attribute is not valid JSON: {e}"
        ))
    })?;
    let model = config::model_from_value(&normalize_list_config(value))?;

    if !sorted_groups(&root, "/")?
        .iter()
        .any(|g| g == MODEL_WEIGHTS_GROUP)
    {
        return Err(Error::Hdf5(format!(
            "the file has a `{MODEL_CONFIG_ATTR}` but no `{MODEL_WEIGHTS_GROUP}` group, so no \
             weights; save the model with `model.save(...)` after building it"
        )));
    }
    let weights_group = open_group(&root, MODEL_WEIGHTS_GROUP, MODEL_WEIGHTS_GROUP)?;
    let weights = read_model_weights(&weights_group, &model, file_len)?;
    let mut keras_model = super::assemble(model, weights, keras_version);
    keras_model.compile_config = match attrs.get(TRAINING_CONFIG_ATTR)? {
        None => None,
        Some(value) => {
            let text = attr_string(value).ok_or_else(|| {
                Error::Config(format!(
                    "the `{TRAINING_CONFIG_ATTR}` attribute is {}, expected a JSON string",
                    describe(value)
                ))
            })?;
            let v: Value = serde_json::from_str(&text).map_err(|e| {
                Error::Config(format!(
                    "the `{TRAINING_CONFIG_ATTR}` attribute is not valid JSON: {e}"
                ))
            })?;
            Some(v).filter(|v| !v.is_null())
        }
    };
    Ok(keras_model)
}

/// The root attribute holding a compiled model's `training_config` (JSON).
pub const TRAINING_CONFIG_ATTR: &str = "training_config";

/// The error for bytes that start like HDF5 but cannot be read as a file.
fn unreadable(detail: &str) -> Error {
    Error::Archive(format!(
        "this is an HDF5 file (a legacy Keras `.h5` model) but it cannot be read: {detail}"
    ))
}

/// The error for an HDF5 file without `model_config`, naming the kind of weights-only file
/// it looks like.
fn no_architecture(root: &Group, attrs: &Attrs) -> Result<Error> {
    let groups = sorted_groups(root, "/")?;
    let kind = if attrs.has("layer_names") || attrs.has("layer_names0") {
        " (it looks like a legacy `model.save_weights(\"x.h5\")` file)"
    } else if groups.iter().any(|g| g == "layers") {
        " (it looks like a Keras 3 `model.save_weights(\"x.weights.h5\")` file)"
    } else {
        ""
    };
    Ok(Error::Config(format!(
        "this HDF5 file has no `{MODEL_CONFIG_ATTR}` attribute, so it holds weights only and no \
         model architecture{kind}; save the whole model with `model.save(\"model.keras\")` \
         (or `model.save(\"model.h5\")`) and convert that"
    )))
}

/// Keras ≤ 2.2.2 saved a `Sequential` config as the bare list of layer configs (no name);
/// turn it into the `{"name", "layers"}` form, named `sequential` as Keras would.
fn normalize_list_config(mut value: Value) -> Value {
    let is_list_sequential = value.get("class_name").and_then(Value::as_str) == Some("Sequential")
        && value.get("config").is_some_and(Value::is_array);
    if is_list_sequential {
        if let Some(map) = value.as_object_mut() {
            let layers = map.remove("config").unwrap_or(Value::Null);
            let mut config = Map::new();
            config.insert("name".into(), Value::String("sequential".into()));
            config.insert("layers".into(), layers);
            map.insert("config".into(), Value::Object(config));
        }
    }
    value
}

/// One entry of `layer_names`: its group and its weight names.
struct SavedLayer {
    /// Position in `layer_names`.
    index: usize,
    /// The layer's group under `model_weights`.
    group: Group,
    /// Its `weight_names`, in order.
    weight_names: Vec<String>,
}

/// Read each leaf layer's weights from the `model_weights` group (one list per
/// [`config::ModelConfig::layers`] entry).
fn read_model_weights(
    mw: &Group,
    model: &ModelConfig,
    file_len: usize,
) -> Result<Vec<Vec<KerasWeight>>> {
    let mw_attrs = Attrs::of(mw, MODEL_WEIGHTS_GROUP)?;
    let names = mw_attrs.name_list("layer_names")?.ok_or_else(|| {
        Error::Hdf5(format!(
            "group `{MODEL_WEIGHTS_GROUP}` has no `layer_names` attribute (nor `layer_names0`, \
             ...), so its layers cannot be listed"
        ))
    })?;
    let children: HashSet<String> = sorted_groups(mw, MODEL_WEIGHTS_GROUP)?
        .into_iter()
        .collect();

    let mut saved: HashMap<String, SavedLayer> = HashMap::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let path = format!("{MODEL_WEIGHTS_GROUP}/{name}");
        if !children.contains(name) {
            return Err(Error::Hdf5(format!(
                "`{MODEL_WEIGHTS_GROUP}` lists layer `{name}` in `layer_names` but has no group \
                 `{path}`"
            )));
        }
        let group = open_group(mw, name, &path)?;
        let weight_names = Attrs::of(&group, &path)?
            .name_list("weight_names")?
            .unwrap_or_default();
        let entry = SavedLayer {
            index,
            group,
            weight_names,
        };
        if saved.insert(name.clone(), entry).is_some() {
            return Err(Error::Hdf5(format!(
                "`{MODEL_WEIGHTS_GROUP}` lists layer `{name}` twice in `layer_names`"
            )));
        }
    }
    if children.contains(TOP_LEVEL_WEIGHTS_GROUP) && !saved.contains_key(TOP_LEVEL_WEIGHTS_GROUP) {
        let path = format!("{MODEL_WEIGHTS_GROUP}/{TOP_LEVEL_WEIGHTS_GROUP}");
        let group = open_group(mw, TOP_LEVEL_WEIGHTS_GROUP, &path)?;
        let top = Attrs::of(&group, &path)?.name_list("weight_names")?;
        if top.is_some_and(|w| !w.is_empty()) {
            return Err(Error::Hdf5(format!(
                "`{path}` holds weights of the model itself (not of a layer), which Ember \
                 cannot place"
            )));
        }
    }

    let mut out = vec![Vec::new(); model.layers.len()];
    let mut claimed = HashSet::with_capacity(model.tree.entries.len());
    let mut last_weighted: Option<(usize, &str)> = None;
    for entry in &model.tree.entries {
        if let EntryKind::Input(_) = entry.kind {
            continue;
        }
        let entry_saved = saved.get(&entry.name).ok_or_else(|| {
            Error::Hdf5(format!(
                "layer `{}` ({}) of `{MODEL_CONFIG_ATTR}` is not listed in \
                 `{MODEL_WEIGHTS_GROUP}` `layer_names`; the config and the weights do not match",
                entry.name, entry.class_name
            ))
        })?;
        claimed.insert(entry.name.as_str());
        if !entry_saved.weight_names.is_empty() {
            if let Some((previous, previous_name)) = last_weighted {
                if entry_saved.index < previous {
                    return Err(Error::Hdf5(format!(
                        "`layer_names` lists `{}` before `{previous_name}`, the reverse of \
                         `{MODEL_CONFIG_ATTR}`; Keras assigns legacy weights by order, so the \
                         file is inconsistent",
                        entry.name
                    )));
                }
            }
            last_weighted = Some((entry_saved.index, entry.name.as_str()));
        }
        let base = format!("{MODEL_WEIGHTS_GROUP}/{}", entry.name);
        let weights = entry_saved
            .weight_names
            .iter()
            .map(|w| read_weight(&entry_saved.group, &base, w, file_len))
            .collect::<Result<Vec<_>>>()?;
        match &entry.kind {
            EntryKind::Leaf(index) => {
                if let Some(slot) = out.get_mut(*index) {
                    *slot = weights;
                }
            }
            EntryKind::Model(inner) => {
                distribute(inner, &entry_saved.weight_names, weights, &base, &mut out)?;
            }
            EntryKind::Input(_) => {}
        }
    }
    // Weights that belong to no layer of the config mean config and weights disagree.
    for name in &names {
        let has_weights = saved.get(name).is_some_and(|s| !s.weight_names.is_empty());
        if has_weights && !claimed.contains(name.as_str()) {
            return Err(Error::Hdf5(format!(
                "`{MODEL_WEIGHTS_GROUP}/{name}` holds weights but `{MODEL_CONFIG_ATTR}` has no \
                 layer `{name}`"
            )));
        }
    }
    Ok(out)
}

/// Share the weights of nested model `inner` (all in one group at `base`, listed as
/// `names`) among its leaf layers: a weight belongs to the one leaf whose name is a
/// component of its weight name (`inner_seq/dense/kernel` (Keras 3) or `dense/kernel:0`
/// (tf.keras 2) → `dense`), in listed order.
fn distribute(
    inner: &ModelTree,
    names: &[String],
    weights: Vec<KerasWeight>,
    base: &str,
    out: &mut [Vec<KerasWeight>],
) -> Result<()> {
    let mut leaves = Vec::new();
    leaves_of(inner, &mut leaves, 0);
    for (name, weight) in names.iter().zip(weights) {
        let parts: Vec<&str> = name.split('/').collect();
        let dirs = parts.split_last().map_or(&[][..], |(_, d)| d);
        let owners: Vec<&(String, usize)> = leaves
            .iter()
            .filter(|(leaf, _)| dirs.contains(&leaf.as_str()))
            .collect();
        match owners.as_slice() {
            [(_, index)] => {
                if let Some(slot) = out.get_mut(*index) {
                    slot.push(weight);
                }
            }
            [] => {
                return Err(Error::Hdf5(format!(
                    "`{base}` lists weight `{name}` of nested model `{}`, but no layer of that \
                     model is named in it",
                    inner.name
                )))
            }
            many => {
                let names: Vec<&str> = many.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Error::Hdf5(format!(
                    "`{base}` lists weight `{name}` of nested model `{}`, which names several \
                     of its layers ({names:?}); it cannot be placed unambiguously",
                    inner.name
                )));
            }
        }
    }
    Ok(())
}

/// The leaf layers (name, index) of `model` and of the models nested in it.
fn leaves_of(model: &ModelTree, out: &mut Vec<(String, usize)>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    for entry in &model.entries {
        match &entry.kind {
            EntryKind::Leaf(index) => out.push((entry.name.clone(), *index)),
            EntryKind::Model(inner) => leaves_of(inner, out, depth + 1),
            EntryKind::Input(_) => {}
        }
    }
}

/// Read the dataset `weight_name` (a `/`-separated path relative to `group`, whose own
/// path is `base`).
fn read_weight(
    group: &Group,
    base: &str,
    weight_name: &str,
    file_len: usize,
) -> Result<KerasWeight> {
    let parts: Vec<&str> = weight_name.split('/').filter(|p| !p.is_empty()).collect();
    let Some((last, dirs)) = parts.split_last() else {
        return Err(Error::Hdf5(format!(
            "`{base}` has an empty entry in `weight_names`"
        )));
    };
    if parts.len() > MAX_WEIGHT_NAME_DEPTH {
        return Err(Error::Hdf5(format!(
            "weight name `{weight_name}` in `{base}` has more than {MAX_WEIGHT_NAME_DEPTH} parts"
        )));
    }
    let mut current = group.clone();
    let mut path = base.to_owned();
    for dir in dirs {
        let child = format!("{path}/{dir}");
        if !sorted_groups(&current, &path)?.iter().any(|g| g == dir) {
            return Err(missing_weight(base, weight_name, &child));
        }
        current = open_group(&current, dir, &child)?;
        path = child;
    }
    let ds_path = format!("{path}/{last}");
    let datasets = current
        .datasets()
        .map_err(|e| Error::Hdf5(format!("cannot list the datasets of `{path}`: {e}")))?;
    if !datasets.iter().any(|d| d == last) {
        return Err(missing_weight(base, weight_name, &ds_path));
    }
    let ds = current
        .dataset(last)
        .map_err(|e| Error::Hdf5(format!("cannot open dataset `{ds_path}`: {e}")))?;
    read_f32_dataset(&ds, ds_path, file_len)
}

/// The error for a weight listed in `weight_names` whose dataset is absent.
fn missing_weight(base: &str, weight_name: &str, missing: &str) -> Error {
    Error::Hdf5(format!(
        "`{base}` lists weight `{weight_name}` in `weight_names` but `{missing}` does not exist"
    ))
}

/// The attributes of one group: decoded values plus the names of every attribute
/// (including ones whose datatype `hdf5-pure` cannot decode, which its value map drops).
struct Attrs {
    /// Where the attributes live, for messages.
    path: String,
    /// Decoded values.
    values: HashMap<String, AttrValue>,
    /// Every attribute name present.
    names: HashSet<String>,
}

impl Attrs {
    /// Read the attributes of `group` (at `path`).
    fn of(group: &Group, path: &str) -> Result<Self> {
        let err = |e: hdf5_pure::Error| {
            Error::Hdf5(format!("cannot read the attributes of `{path}`: {e}"))
        };
        let names = group.attr_datatypes().map_err(err)?.into_keys().collect();
        let values = group.attrs().map_err(err)?;
        Ok(Self {
            path: path.to_owned(),
            values,
            names,
        })
    }

    /// Whether attribute `name` exists (decodable or not).
    fn has(&self, name: &str) -> bool {
        self.names.contains(name) || self.values.contains_key(name)
    }

    /// Attribute `name`: `None` if absent, an error if present but undecodable.
    fn get(&self, name: &str) -> Result<Option<&AttrValue>> {
        match self.values.get(name) {
            Some(v) => Ok(Some(v)),
            None if self.names.contains(name) => Err(Error::Hdf5(format!(
                "attribute `{name}` of `{}` has a datatype this reader cannot decode",
                self.path
            ))),
            None => Ok(None),
        }
    }

    /// A list of names stored the way Keras's `save_attributes_to_hdf5_group` does:
    /// attribute `name`, or the chunks `name0`, `name1`, ... when it was too large.
    /// `None` when neither exists (Keras reads that as an empty list).
    fn name_list(&self, name: &str) -> Result<Option<Vec<String>>> {
        if let Some(value) = self.get(name)? {
            return self.decode_list(name, value).map(Some);
        }
        let mut out = Vec::new();
        let mut chunk = 0usize;
        loop {
            let key = format!("{name}{chunk}");
            let Some(value) = self.get(&key)? else { break };
            out.extend(self.decode_list(&key, value)?);
            chunk += 1;
        }
        Ok((chunk > 0).then_some(out))
    }

    /// Decode one list attribute, or explain why it is not a list of strings.
    fn decode_list(&self, name: &str, value: &AttrValue) -> Result<Vec<String>> {
        string_list(value).ok_or_else(|| {
            Error::Hdf5(format!(
                "attribute `{name}` of `{}` is {}, expected a list of strings",
                self.path,
                describe(value)
            ))
        })
    }
}

/// A string-list attribute's values, whatever string encoding the writer chose (h5py
/// writes variable-length arrays today, older Keras fixed-length `S` arrays). Keras writes
/// an empty list as an empty float64 array; any empty numeric array is accepted as `[]`. A
/// scalar string is taken as a one-element list.
///
/// ```
/// use ember_cli::keras::legacy_h5::string_list;
/// use hdf5_pure::AttrValue;
///
/// let names = AttrValue::VarLenAsciiStringArray(vec!["dense".into(), "head".into()]);
/// assert_eq!(string_list(&names), Some(vec!["dense".to_owned(), "head".to_owned()]));
/// // A layer without weights: Keras writes `weight_names` as an empty float64 array.
/// assert_eq!(string_list(&AttrValue::F64Array(vec![])), Some(vec![]));
/// assert_eq!(string_list(&AttrValue::I32Array(vec![1])), None);
/// ```
pub fn string_list(value: &AttrValue) -> Option<Vec<String>> {
    match value {
        AttrValue::StringArray(v)
        | AttrValue::AsciiStringArray(v)
        | AttrValue::VarLenStringArray(v)
        | AttrValue::VarLenAsciiStringArray(v) => Some(v.clone()),
        AttrValue::StringArraySized { values, .. }
        | AttrValue::AsciiStringArraySized { values, .. } => Some(values.clone()),
        AttrValue::F64Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::F32Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::I8Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::I16Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::I32Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::I64Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::U8Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::U16Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::U32Array(v) if v.is_empty() => Some(Vec::new()),
        AttrValue::U64Array(v) if v.is_empty() => Some(Vec::new()),
        other => attr_string(other).map(|s| vec![s]),
    }
}

/// A short description of an attribute value for error messages (its kind, not its data).
fn describe(value: &AttrValue) -> String {
    let debug = format!("{value:?}");
    let kind = debug.split(['(', ' ', '{']).next().unwrap_or("?");
    format!("of kind `{kind}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_lists_in_every_encoding() {
        let names = vec!["a".to_owned(), "bc".to_owned()];
        for v in [
            AttrValue::StringArray(names.clone()),
            AttrValue::AsciiStringArray(names.clone()),
            AttrValue::VarLenStringArray(names.clone()),
            AttrValue::VarLenAsciiStringArray(names.clone()),
        ] {
            assert_eq!(string_list(&v).as_deref(), Some(names.as_slice()), "{v:?}");
        }
        assert_eq!(string_list(&AttrValue::F64Array(vec![])), Some(vec![]));
        assert_eq!(string_list(&AttrValue::F64Array(vec![1.0])), None);
        assert_eq!(string_list(&AttrValue::I32(3)), None);
        assert_eq!(
            string_list(&AttrValue::VarLenString("x".into())),
            Some(vec!["x".to_owned()])
        );
    }

    #[test]
    fn list_form_sequential_config_is_normalized() {
        let v = json!({"class_name": "Sequential", "config": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2,
             "batch_input_shape": [null, 3]}}
        ]});
        let m = config::model_from_value(&normalize_list_config(v)).map_err(|e| e.to_string());
        let m = m
            .as_ref()
            .map(|m| (m.name.as_str(), &m.input_shape, m.layers.len()));
        assert_eq!(m, Ok(("sequential", &vec![None, Some(3)], 1)));
        // Dict configs are left alone.
        let d = json!({"class_name": "Sequential", "config": {"name": "x", "layers": []}});
        assert_eq!(normalize_list_config(d.clone()), d);
    }

    #[test]
    fn describe_names_the_kind_only() {
        assert_eq!(
            describe(&AttrValue::F64Array(vec![1.0, 2.0])),
            "of kind `F64Array`"
        );
        assert_eq!(describe(&AttrValue::I32(7)), "of kind `I32`");
    }
}
