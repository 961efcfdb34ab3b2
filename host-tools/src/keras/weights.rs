//! `model.weights.h5` (Keras 3) → per-layer weight tensors.
//!
//! Keras 3 stores a model's variables at `layers/<key>/vars/<i>`, where
//! `<key>` is **not** the layer's name but the snake-cased class name plus a counter per
//! class within the container (`dense`, `dense_1`, `conv2d`, ...; see [`keras_keys`]), and
//! `<i>` counts the layer's variables in Keras order. Since Keras 3.15 (at least), each
//! `layers/<key>/vars` group carries an attribute `name` with the layer's real name, which
//! is what [`read_keras3_weights`] matches on; files without it fall back to the key rule.
//! Layers holding sub-layers nest further groups, e.g. `layers/lstm/cell/vars/0`. A nested
//! model is a group like any layer (`layers/sequential`, `layers/functional`, keyed by its
//! class) whose `vars` carries the nested model's name and holds no variables, and whose
//! own layers sit below it in the same scheme: `layers/functional/layers/dense/vars/0`. A
//! `Functional` model's `InputLayer`s get groups too (`layers/input_layer`, named, empty).
//!
//! The file is opened from memory with `hdf5_pure::File::from_bytes`; nothing touches the
//! disk.

use std::collections::HashMap;

use hdf5_pure::{AttrValue, DType, Dataset, File, Group};

use super::config::ModelConfig;
use super::tree::{Entry, EntryKind, ModelTree, MAX_NESTING};
use super::KerasWeight;
use crate::error::{Error, Result};

/// Deepest group nesting followed below a layer's group (guards against link cycles).
pub const MAX_DEPTH: usize = 8;
/// Most elements accepted in one weight tensor (1 GiB of `f32`), far beyond any model
/// that fits a microcontroller; guards against absurd declared shapes.
pub const MAX_WEIGHT_ELEMENTS: u64 = 1 << 28;

/// Read the weights of `model`'s leaf layers from the bytes of a Keras 3
/// `model.weights.h5`.
///
/// Returns one weight list per leaf layer, in the order of [`ModelConfig::layers`]. Each
/// model (the top-level one, and each nested model, whose group `layers/<key>` holds its
/// own `layers/...`) is matched to its groups the same way: a layer's group is found
/// through the `name` attribute of `layers/<key>/vars`; a layer with no such attribute
/// anywhere in its model's groups is looked up at the key [`keras_keys`] computes (over
/// the model's layers in config order, `InputLayer`s counted in a `Functional` and not in
/// a `Sequential`, as Keras does), and if the model's groups have no `name` attributes at
/// all a missing group means the layer has no weights (older Keras 3 releases only wrote
/// groups for layers with variables).
///
/// # Errors
///
/// [`Error::Hdf5`] if the bytes are not a readable HDF5 file, if a layer's group cannot be
/// found in a file that names its groups, if two groups claim one layer, if a group holding
/// weights matches no layer, if a nested model's group holds variables of its own, if a
/// `vars` group holds anything but datasets `0..n`, or if a weight is not float32 or its
/// data does not match its shape.
pub fn read_keras3_weights(h5: Vec<u8>, model: &ModelConfig) -> Result<Vec<Vec<KerasWeight>>> {
    let file_len = h5.len();
    let file = File::from_bytes(h5)
        .map_err(|e| Error::Hdf5(format!("cannot open model.weights.h5: {e}")))?;
    check_not_truncated(&file)?;
    let ctx = ReadCtx { file_len };
    let mut out = vec![Vec::new(); model.layers.len()];
    ctx.read_model(&file.root(), "", &model.tree, &mut out, 0)?;
    Ok(out)
}

/// Refuse a file shorter than its superblock's end-of-file address, as libhdf5 (and so
/// h5py and Keras) does. hdf5-pure opens such a file and reads whatever is still there.
pub fn check_not_truncated(file: &File) -> Result<()> {
    let sb = file.superblock();
    let eof = sb.base_address.get().checked_add(sb.eof_address);
    let size = file.file_size();
    match eof {
        Some(eof) if eof <= size => Ok(()),
        _ => Err(Error::Hdf5(format!(
            "the file is truncated: its superblock says it ends at byte {} (plus a {}-byte \
             offset) but it has {size} bytes",
            sb.eof_address,
            sb.base_address.get()
        ))),
    }
}

/// One child group of `layers`: its key, handle, and `vars` `name` attribute if any.
struct FileKey {
    /// The group's name under `layers`, e.g. `dense_1`.
    key: String,
    /// The open group.
    group: Group,
    /// The `name` attribute of its `vars` subgroup, if present.
    name: Option<String>,
}

/// Match each of `entries` (name, class name) to an index into `file_keys` (`None`: the
/// layer has no weights group). `optional[i]` marks entries whose group may be absent
/// even in a file that names its groups (`InputLayer`s).
fn assign_keys(
    entries: &[(&str, &str)],
    optional: &[bool],
    file_keys: &[FileKey],
    prefix: &str,
) -> Result<Vec<Option<usize>>> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (index, fk) in file_keys.iter().enumerate() {
        if let Some(name) = fk.name.as_deref() {
            if let Some(prev) = by_name.insert(name, index) {
                let prev = file_keys.get(prev).map_or("?", |p| p.key.as_str());
                return Err(Error::Hdf5(format!(
                    "groups `{prefix}layers/{prev}` and `{prefix}layers/{}` both claim layer \
                     `{name}`",
                    fk.key
                )));
            }
        }
    }
    let any_named = !by_name.is_empty();
    let counter_keys = keras_keys(entries.iter().map(|(_, class)| *class));
    let mut assigned = Vec::with_capacity(entries.len());
    for (i, ((name, class), counter_key)) in entries.iter().zip(&counter_keys).enumerate() {
        let slot = if let Some(&index) = by_name.get(name) {
            Some(index)
        } else {
            let by_counter = file_keys
                .iter()
                .position(|fk| fk.key == *counter_key && fk.name.is_none());
            match by_counter {
                Some(index) => Some(index),
                None if any_named && !optional.get(i).copied().unwrap_or(false) => {
                    return Err(Error::Hdf5(format!(
                        "no weights group for layer `{name}` ({class}): no \
                         `{prefix}layers/*/vars` group has name attribute `{name}`, and \
                         `{prefix}layers/{counter_key}` is absent or named otherwise; \
                         config.json and model.weights.h5 do not match"
                    )))
                }
                None => None,
            }
        };
        if let Some(index) = slot {
            if assigned.contains(&Some(index)) {
                let key = file_keys.get(index).map_or("?", |k| k.key.as_str());
                return Err(Error::Hdf5(format!(
                    "group `{prefix}layers/{key}` matches two layers (the second is `{name}`)"
                )));
            }
        }
        assigned.push(slot);
    }
    Ok(assigned)
}

/// Settings shared by the recursive weight collection.
struct ReadCtx {
    /// Size of the HDF5 file in bytes, to bound unfiltered reads.
    file_len: usize,
}

impl ReadCtx {
    /// Read the weights of `model`'s layers from `group` (at `path`, `""` for the root, else
    /// ending without `/`), recursing into nested models; leaf `i`'s weights go to
    /// `out[i]`.
    fn read_model(
        &self,
        group: &Group,
        path: &str,
        model: &ModelTree,
        out: &mut [Vec<KerasWeight>],
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_NESTING {
            return Err(Error::Hdf5(format!(
                "`{path}`: models nested more than {MAX_NESTING} deep"
            )));
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let layers_path = format!("{prefix}layers");
        let mut file_keys = Vec::new();
        if sorted_groups(group, if path.is_empty() { "/" } else { path })?
            .iter()
            .any(|g| g == "layers")
        {
            let lg = open_group(group, "layers", &layers_path)?;
            for key in sorted_groups(&lg, &layers_path)? {
                let key_path = format!("{layers_path}/{key}");
                let sub = open_group(&lg, &key, &key_path)?;
                let name = vars_name(&sub, &key_path)?;
                file_keys.push(FileKey {
                    key,
                    group: sub,
                    name,
                });
            }
        }
        // Keras counts the keys over the container's tracked layers: a Functional's include
        // its InputLayers, a Sequential's do not.
        let functional = model.class_name != "Sequential";
        // Keras ops in a functional config (`NotEqual`, Keras 3's mask plumbing) are not
        // tracked layers: no weights group.
        let entries: Vec<&Entry> = model
            .entries
            .iter()
            .filter(|e| functional || !matches!(e.kind, EntryKind::Input(_)))
            .filter(|e| e.class_name != "NotEqual")
            .collect();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.class_name.as_str()))
            .collect();
        let optional: Vec<bool> = entries
            .iter()
            .map(|e| matches!(e.kind, EntryKind::Input(_)))
            .collect();
        let assigned = assign_keys(&pairs, &optional, &file_keys, &prefix)?;
        for (entry, slot) in entries.iter().zip(&assigned) {
            let Some(fk) = slot.and_then(|i| file_keys.get(i)) else {
                continue;
            };
            let key_path = format!("{layers_path}/{}", fk.key);
            match &entry.kind {
                EntryKind::Input(_) => {
                    let mut stray = Vec::new();
                    self.collect(&fk.group, &key_path, 0, &mut stray)?;
                    if !stray.is_empty() {
                        return Err(Error::Hdf5(format!(
                            "`{key_path}` holds weights but is `InputLayer` `{}`",
                            entry.name
                        )));
                    }
                }
                EntryKind::Leaf(index) => {
                    let slot = out.get_mut(*index).ok_or_else(|| {
                        Error::Hdf5(format!("layer `{}`: internal index error", entry.name))
                    })?;
                    self.collect(&fk.group, &key_path, 0, slot)?;
                }
                EntryKind::Model(inner) => {
                    let children = sorted_groups(&fk.group, &key_path)?;
                    if children.iter().any(|c| c == "vars") {
                        let vars_path = format!("{key_path}/vars");
                        let vars = open_group(&fk.group, "vars", &vars_path)?;
                        let mut own = Vec::new();
                        self.read_vars(&vars, &vars_path, &mut own)?;
                        if !own.is_empty() {
                            return Err(Error::Hdf5(format!(
                                "`{vars_path}` holds variables of nested model `{}` itself \
                                 (not of one of its layers), which Ember cannot place",
                                entry.name
                            )));
                        }
                    }
                    self.read_model(&fk.group, &key_path, inner, out, depth + 1)?;
                }
            }
        }
        // A group that holds weights but belongs to no layer means config and weights disagree.
        for (index, fk) in file_keys.iter().enumerate() {
            if assigned.contains(&Some(index)) {
                continue;
            }
            let mut stray = Vec::new();
            self.collect(
                &fk.group,
                &format!("{layers_path}/{}", fk.key),
                0,
                &mut stray,
            )?;
            if !stray.is_empty() {
                let named = fk
                    .name
                    .as_deref()
                    .map(|n| format!(" (name `{n}`)"))
                    .unwrap_or_default();
                return Err(Error::Hdf5(format!(
                    "weights group `{layers_path}/{}`{named} matches no layer in config.json",
                    fk.key
                )));
            }
        }
        Ok(())
    }

    /// Append the weights under `group` (at `path`) to `out`: its own `vars/0..n` first,
    /// then each other child group, sorted the way Keras walks attributes.
    fn collect(
        &self,
        group: &Group,
        path: &str,
        depth: usize,
        out: &mut Vec<KerasWeight>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::Hdf5(format!(
                "`{path}` is nested more than {MAX_DEPTH} groups deep"
            )));
        }
        let mut children = sorted_groups(group, path)?;
        if children.iter().any(|c| c == "vars") {
            let vars_path = format!("{path}/vars");
            let vars = open_group(group, "vars", &vars_path)?;
            self.read_vars(&vars, &vars_path, out)?;
        }
        children.retain(|c| c != "vars");
        children.sort_by_key(|c| keras_attr_sort_key(c));
        for child in children {
            let child_path = format!("{path}/{child}");
            let sub = open_group(group, &child, &child_path)?;
            self.collect(&sub, &child_path, depth + 1, out)?;
        }
        Ok(())
    }

    /// Append the datasets `0..n` of a `vars` group, in numeric order.
    fn read_vars(&self, vars: &Group, path: &str, out: &mut Vec<KerasWeight>) -> Result<()> {
        let names = vars
            .datasets()
            .map_err(|e| Error::Hdf5(format!("cannot list the datasets of `{path}`: {e}")))?;
        let mut indexed = Vec::with_capacity(names.len());
        for name in names {
            let index: usize = name.parse().map_err(|_| {
                Error::Hdf5(format!(
                    "unexpected dataset `{path}/{name}`: Keras names variables 0, 1, 2, ..."
                ))
            })?;
            indexed.push((index, name));
        }
        indexed.sort();
        for (expected, (index, name)) in indexed.iter().enumerate() {
            if *index != expected {
                return Err(Error::Hdf5(format!(
                    "`{path}` has variable `{name}` but no variable `{expected}`"
                )));
            }
        }
        for (_, name) in indexed {
            let ds_path = format!("{path}/{name}");
            let ds = vars
                .dataset(&name)
                .map_err(|e| Error::Hdf5(format!("cannot open dataset `{ds_path}`: {e}")))?;
            out.push(read_f32_dataset(&ds, ds_path, self.file_len)?);
        }
        Ok(())
    }
}

/// Read one float32 dataset with its shape; `path` names it in messages and becomes
/// [`KerasWeight::path`], `file_len` is the size of the HDF5 file (to bound unfiltered
/// reads).
///
/// # Errors
///
/// [`Error::Hdf5`] if the dataset is not float32, declares more than
/// [`MAX_WEIGHT_ELEMENTS`] elements or more data than the file holds, or cannot be read.
pub fn read_f32_dataset(ds: &Dataset, path: String, file_len: usize) -> Result<KerasWeight> {
    let err =
        |what: &str, e: hdf5_pure::Error| Error::Hdf5(format!("`{path}`: cannot {what}: {e}"));
    let dtype = ds.dtype().map_err(|e| err("read the datatype", e))?;
    if dtype != DType::F32 {
        return Err(Error::Hdf5(format!(
            "weight `{path}` is stored as {dtype}; only float32 weights are supported"
        )));
    }
    let dims = ds.shape().map_err(|e| err("read the shape", e))?;
    let mut count: u64 = 1;
    let mut shape = Vec::with_capacity(dims.len());
    for &d in &dims {
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_WEIGHT_ELEMENTS)
            .ok_or_else(|| {
                Error::Hdf5(format!(
                    "weight `{path}` has shape {dims:?}, more than {MAX_WEIGHT_ELEMENTS} elements"
                ))
            })?;
        shape.push(
            usize::try_from(d).map_err(|_| {
                Error::Hdf5(format!("weight `{path}` has shape {dims:?}, too large"))
            })?,
        );
    }
    // Unfiltered data is stored as is, so it cannot be larger than the file.
    let file_len = u64::try_from(file_len).unwrap_or(u64::MAX);
    if ds.filters().is_empty() && count.saturating_mul(4) > file_len {
        return Err(Error::Hdf5(format!(
            "weight `{path}` has shape {dims:?}, more data than the {file_len}-byte file holds"
        )));
    }
    let data = ds.read_f32().map_err(|e| err("read the data", e))?;
    if u64::try_from(data.len()).ok() != Some(count) {
        return Err(Error::Hdf5(format!(
            "weight `{path}` has shape {dims:?} ({count} elements) but {} values",
            data.len()
        )));
    }
    Ok(KerasWeight { path, shape, data })
}

/// The `name` attribute of `group/vars`, if the group has a `vars` child carrying one.
fn vars_name(group: &Group, path: &str) -> Result<Option<String>> {
    if !sorted_groups(group, path)?.iter().any(|g| g == "vars") {
        return Ok(None);
    }
    let vars_path = format!("{path}/vars");
    let vars = open_group(group, "vars", &vars_path)?;
    let attrs = vars
        .attrs()
        .map_err(|e| Error::Hdf5(format!("cannot read the attributes of `{vars_path}`: {e}")))?;
    match attrs.get("name") {
        None => Ok(None),
        Some(value) => attr_string(value).map(Some).ok_or_else(|| {
            Error::Hdf5(format!(
                "attribute `name` of `{vars_path}` is {value:?}, expected a string"
            ))
        }),
    }
}

/// A string attribute's value, whatever string encoding the writer chose (h5py writes
/// variable-length UTF-8; fixed-length and ASCII forms are accepted too, as is a
/// one-element string array).
pub fn attr_string(value: &AttrValue) -> Option<String> {
    match value {
        AttrValue::String(s)
        | AttrValue::VarLenString(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenAsciiString(s) => Some(s.clone()),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
            Some(value.clone())
        }
        AttrValue::StringArray(v)
        | AttrValue::AsciiStringArray(v)
        | AttrValue::VarLenStringArray(v)
        | AttrValue::VarLenAsciiStringArray(v)
            if v.len() == 1 =>
        {
            v.first().cloned()
        }
        _ => None,
    }
}

/// The child groups of `group`, sorted by name (h5py's order).
pub fn sorted_groups(group: &Group, path: &str) -> Result<Vec<String>> {
    let mut names = group
        .groups()
        .map_err(|e| Error::Hdf5(format!("cannot list the groups in `{path}`: {e}")))?;
    names.sort();
    Ok(names)
}

/// Open child group `name` of `group`; `path` is its full path, for messages.
pub fn open_group(group: &Group, name: &str, path: &str) -> Result<Group> {
    group
        .group(name)
        .map_err(|e| Error::Hdf5(format!("cannot open group `{path}`: {e}")))
}

/// Keras's order for walking an object's attributes: by name, private (`_x`) ones last.
fn keras_attr_sort_key(name: &str) -> String {
    if name.starts_with('_') {
        format!("~{name}")
    } else {
        name.to_owned()
    }
}

/// The HDF5 keys Keras 3 gives the layers of one container, in order: the snake-cased
/// class name, with `_1`, `_2`, ... appended to the second, third, ... layer of that class
/// (`Dense, Conv2D, Dense` → `dense, conv2d, dense_1`).
pub fn keras_keys<'a>(class_names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    class_names
        .into_iter()
        .map(|class| {
            let base = to_snake_case(class);
            match used.get_mut(&base) {
                Some(count) => {
                    *count += 1;
                    format!("{base}_{count}")
                }
                None => {
                    used.insert(base.clone(), 0);
                    base
                }
            }
        })
        .collect()
}

/// Keras's `naming.to_snake_case`: drop non-word characters, then apply
/// `re.sub("(.)([A-Z][a-z]+)", r"\1_\2")`, `re.sub("([a-z])([A-Z])", r"\1_\2")` and
/// lower-case (`BatchNormalization` → `batch_normalization`, `PReLU` → `p_re_lu`).
pub fn to_snake_case(name: &str) -> String {
    let word: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // (.)([A-Z][a-z]+): scan left to right, matches do not overlap.
    let mut step1 = Vec::with_capacity(word.len() + 8);
    let mut i = 0;
    while let Some(&c) = word.get(i) {
        let upper = word.get(i + 1).is_some_and(char::is_ascii_uppercase);
        let lower = word.get(i + 2).is_some_and(char::is_ascii_lowercase);
        if upper && lower {
            let mut end = i + 3;
            while word.get(end).is_some_and(char::is_ascii_lowercase) {
                end += 1;
            }
            step1.push(c);
            step1.push('_');
            step1.extend(word.get(i + 1..end).unwrap_or_default());
            i = end;
        } else {
            step1.push(c);
            i += 1;
        }
    }
    // ([a-z])([A-Z])
    let mut step2 = String::with_capacity(step1.len() + 8);
    let mut i = 0;
    while let Some(&c) = step1.get(i) {
        match step1.get(i + 1) {
            Some(&next) if c.is_ascii_lowercase() && next.is_ascii_uppercase() => {
                step2.push(c);
                step2.push('_');
                step2.push(next);
                i += 2;
            }
            _ => {
                step2.push(c);
                i += 1;
            }
        }
    }
    step2.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_keras() {
        // Expected values printed by keras.src.utils.naming.to_snake_case (Keras 3.15.1).
        let cases = [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("LSTM", "lstm"),
            ("GRU", "gru"),
            ("BatchNormalization", "batch_normalization"),
            ("PReLU", "p_re_lu"),
            ("ReLU", "re_lu"),
            ("LeakyReLU", "leaky_re_lu"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("Conv1DTranspose", "conv1d_transpose"),
            ("SimpleRNN", "simple_rnn"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("InputLayer", "input_layer"),
            ("ABcDe", "a_bc_de"),
            ("MyHTTPLayer", "my_http_layer"),
            ("Dense2", "dense2"),
            ("UpSampling2D", "up_sampling2d"),
            ("ZeroPadding1D", "zero_padding1d"),
            ("My-Layer", "my_layer"),
            ("layer", "layer"),
            ("AbcDEFghi", "abc_de_fghi"),
            ("aB", "a_b"),
            ("A", "a"),
            ("", ""),
            ("EinsumDense", "einsum_dense"),
            ("TFOpLambda", "tf_op_lambda"),
            ("x2Dense", "x2_dense"),
            ("Dense_Block", "dense__block"),
            ("AAbb", "a_abb"),
            ("aBBcc", "a_b_bcc"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_snake_case(input), expected, "to_snake_case({input:?})");
        }
    }

    #[test]
    fn counter_keys() {
        let keys = keras_keys(["Dense", "Conv2D", "Dense", "Dense", "ReLU"]);
        assert_eq!(keys, ["dense", "conv2d", "dense_1", "dense_2", "re_lu"]);
    }

    #[test]
    fn private_attributes_sort_last() {
        let mut v = vec!["_z", "forward_layer", "backward_layer", "cell"];
        v.sort_by_key(|c| keras_attr_sort_key(c));
        assert_eq!(v, ["backward_layer", "cell", "forward_layer", "_z"]);
    }
}
