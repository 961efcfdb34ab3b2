//! `ember predict`: run a blob on host tensors with the core's own runtime.
//!
//! A chain (a Keras `Sequential` model) runs in [`Sequential`]; a graph (a Keras
//! functional model: several inputs or outputs, branches, merges, shared layers) runs in
//! [`Functional`], which takes one tensor per model input and gives one per output.

use std::path::{Path, PathBuf};

use ember_nn::blob::Blob;
use ember_nn::model::{Functional, Graph};
use ember_nn::{DType, Scalar, Sequential, Q16_16};

use crate::blob_file::AlignedBytes;

use crate::tensor_file::Tensor;
use crate::{Error, Result};

/// Runs the blob on `input` (shape `[N, ...model input]`, any `N`), `batch` samples per
/// forward pass, and returns `[N, ...model output]` as f32. Fixed-point blobs quantize the
/// input to Q16.16 and return dequantized outputs. For a model with one input and one
/// output; see [`predict_all`] for the others.
pub fn predict(blob: &[u8], input: &Tensor, batch: usize) -> Result<Tensor> {
    let mut ys = predict_all(blob, core::slice::from_ref(input), batch)?;
    if ys.len() != 1 {
        return Err(Error::Tensor {
            path: "<output>".into(),
            msg: format!(
                "the model has {} outputs; use predict_all to get them all",
                ys.len()
            ),
        });
    }
    Ok(ys.remove(0))
}

/// Runs the blob on `inputs`, one tensor per model input in Keras's `model.inputs` order,
/// each of shape `[N, ...that input]` (the same `N` for all, any size), `batch` samples per
/// forward pass. Returns one f32 tensor `[N, ...output]` per model output, in Keras's
/// `model.outputs` order. Fixed-point blobs quantize the inputs to Q16.16 and return
/// dequantized outputs.
///
/// A wrong number of inputs is an [`Error::Tensor`] whose path is `--input`; a wrong shape
/// is an [`Error::Tensor`] whose path is [`input_placeholder`] of the input's index (the
/// caller, which knows the file names, may replace it).
pub fn predict_all(blob: &[u8], inputs: &[Tensor], batch: usize) -> Result<Vec<Tensor>> {
    let (header, _) = Blob::parse(blob)?.graph()?;
    match header.dtype {
        DType::Q16_16 => predict_as::<Q16_16>(blob, inputs, batch),
        _ => predict_as::<f32>(blob, inputs, batch),
    }
}

/// Whether the blob is a chain (a Keras `Sequential` model) rather than a graph.
pub fn is_chain(blob: &[u8]) -> Result<bool> {
    let (header, _) = Blob::parse(blob)?.graph()?;
    Ok(match header.dtype {
        DType::Q16_16 => Graph::<Q16_16>::parse(blob)?.is_chain(),
        _ => Graph::<f32>::parse(blob)?.is_chain(),
    })
}

/// The shapes (no batch) of a model's inputs and of its outputs, in Keras's order.
pub type IoDims = (Vec<Vec<usize>>, Vec<Vec<usize>>);

/// The shapes (no batch) of the model's inputs and of its outputs, in Keras's order.
pub fn io_dims(blob: &[u8]) -> Result<IoDims> {
    fn of<T: Scalar>(blob: &[u8]) -> Result<IoDims> {
        let g = Graph::<T>::parse(blob)?;
        let ins = g.inputs().iter().map(|&s| dims_of(s)).collect();
        let outs = g
            .outputs()
            .iter()
            .map(|&o| Ok(dims_of(g.tensor_shape(o as usize)?)))
            .collect::<Result<_>>()?;
        Ok((ins, outs))
    }
    let (header, _) = Blob::parse(blob)?.graph()?;
    match header.dtype {
        DType::Q16_16 => of::<Q16_16>(blob),
        _ => of::<f32>(blob),
    }
}

/// The path [`predict_all`] gives in the error about input `i`'s shape: `<input>` for
/// a model with one input, `<input i>` otherwise.
pub fn input_placeholder(i: usize, inputs: usize) -> PathBuf {
    if inputs == 1 {
        "<input>".into()
    } else {
        format!("<input {i}>").into()
    }
}

fn dims_of(shape: ember_nn::Shape) -> Vec<usize> {
    shape.dims().iter().map(|&d| d as usize).collect()
}

/// `(N, 6)`.
fn batched(dims: &[usize]) -> String {
    std::iter::once("N".to_string())
        .chain(dims.iter().map(|d| d.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one tensor per model input, each `(N, ...input)` with the same `N`; returns `N`.
fn check_inputs(in_dims: &[Vec<usize>], inputs: &[Tensor]) -> Result<usize> {
    let expected = || {
        in_dims
            .iter()
            .map(|d| format!("({})", batched(d)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if inputs.len() != in_dims.len() {
        return Err(Error::Tensor {
            path: "--input".into(),
            msg: format!(
                "the model takes {} input{} ({}, in this order); {} given",
                in_dims.len(),
                if in_dims.len() == 1 { "" } else { "s" },
                expected(),
                inputs.len()
            ),
        });
    }
    let n_in = in_dims.len();
    for (i, (x, dims)) in inputs.iter().zip(in_dims).enumerate() {
        if x.shape.len() != dims.len() + 1 || x.shape[1..] != dims[..] {
            let which = if n_in == 1 {
                "input".to_string()
            } else {
                format!("input {i}")
            };
            return Err(Error::Tensor {
                path: input_placeholder(i, n_in),
                msg: format!(
                    "{which} has shape {:?}; the model takes ({})",
                    x.shape,
                    batched(dims)
                ),
            });
        }
    }
    let n = inputs[0].shape[0];
    for (i, x) in inputs.iter().enumerate().skip(1) {
        if x.shape[0] != n {
            return Err(Error::Tensor {
                path: input_placeholder(i, n_in),
                msg: format!(
                    "input {i} has {} samples but input 0 has {n}; every input needs the \
                     same number",
                    x.shape[0]
                ),
            });
        }
    }
    Ok(n)
}

fn predict_as<T: Scalar>(blob: &[u8], inputs: &[Tensor], batch: usize) -> Result<Vec<Tensor>> {
    let graph = Graph::<T>::parse(blob)?;
    let in_dims: Vec<Vec<usize>> = graph.inputs().iter().map(|&s| dims_of(s)).collect();
    let n = check_inputs(&in_dims, inputs)?;
    // A pass never holds more than all the samples, so size the arena for at most `N`
    // (a huge `--batch` would otherwise abort on allocation). `0` still reaches the
    // core, which refuses it.
    let batch = batch.min(n.max(1));
    let xs: Vec<Vec<T>> = inputs
        .iter()
        .map(|x| x.data.iter().map(|&v| T::from_f32(v)).collect())
        .collect();
    let out_dims: Vec<Vec<usize>> = graph
        .outputs()
        .iter()
        .map(|&o| graph.tensor_shape(o as usize).map(dims_of))
        .collect::<core::result::Result<_, _>>()?;
    let mut ys: Vec<Vec<T>> = out_dims
        .iter()
        .map(|d| {
            d.iter()
                .try_fold(n, |acc, &x| acc.checked_mul(x))
                .map(|len| vec![T::ZERO; len])
                .ok_or(Error::Core(ember_nn::Error::InvalidShape))
        })
        .collect::<Result<_>>()?;
    if graph.is_chain() {
        let needed = Sequential::<T>::inference_bytes(blob, batch)?;
        // The arena is heap memory on the host, aligned as the core requires.
        let mut arena = AlignedBytes::zeroed(needed);
        let mut model = Sequential::<T>::new(blob, arena.as_mut_slice(), batch)?;
        model.predict(&xs[0], &mut ys[0])?;
    } else {
        let needed = Functional::<T>::inference_bytes(blob, batch)?;
        let mut arena = AlignedBytes::zeroed(needed);
        let mut model = Functional::<T>::new(blob, arena.as_mut_slice(), batch)?;
        let x_refs: Vec<&[T]> = xs.iter().map(|x| x.as_slice()).collect();
        let mut y_refs: Vec<&mut [T]> = ys.iter_mut().map(|y| y.as_mut_slice()).collect();
        model.predict(&x_refs, &mut y_refs)?;
    }
    Ok(ys
        .into_iter()
        .zip(out_dims)
        .map(|(y, dims)| Tensor {
            shape: std::iter::once(n).chain(dims).collect(),
            data: y.iter().map(|v| v.to_f32()).collect(),
        })
        .collect())
}

/// Where `ember predict` writes `outputs` tensors: `output` itself for one; for several,
/// `<stem>_0.<ext>`, `<stem>_1.<ext>`, … next to it (`.npy` when `output` has no
/// extension), in the model's output order.
pub fn output_paths(output: &Path, outputs: usize) -> Vec<PathBuf> {
    if outputs == 1 {
        return vec![output.to_path_buf()];
    }
    let stem = output
        .file_stem()
        .map_or_else(|| "output".into(), |s| s.to_string_lossy().into_owned());
    let ext = output
        .extension()
        .map_or_else(|| "npy".into(), |e| e.to_string_lossy().into_owned());
    (0..outputs)
        .map(|j| output.with_file_name(format!("{stem}_{j}.{ext}")))
        .collect()
}
