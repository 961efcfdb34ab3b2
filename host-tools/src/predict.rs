//! `ember predict`: run a blob on host tensors with the core's own runtime.

use ember_nn::blob::Blob;
use ember_nn::{DType, Scalar, Sequential, Q16_16};

use crate::blob_file::AlignedBytes;

use crate::tensor_file::Tensor;
use crate::{Error, Result};

/// Runs the blob on `input` (shape `[N, ...model input]`, any `N`), `batch` samples per
/// forward pass, and returns `[N, ...model output]` as f32. Fixed-point blobs quantize the
/// input to Q16.16 and return dequantized outputs.
pub fn predict(blob: &[u8], input: &Tensor, batch: usize) -> Result<Tensor> {
    let (header, _) = Blob::parse(blob)?.graph()?;
    match header.dtype {
        DType::Q16_16 => predict_as::<Q16_16>(blob, input, batch),
        _ => predict_as::<f32>(blob, input, batch),
    }
}

fn predict_as<T: Scalar>(blob: &[u8], input: &Tensor, batch: usize) -> Result<Tensor> {
    // A pass never holds more than all the samples, so size the arena for at most `N`
    // (a huge `--batch` would otherwise abort on allocation). `0` still reaches the
    // core, which refuses it.
    let batch = batch.min(input.shape.first().copied().unwrap_or(1).max(1));
    let needed = Sequential::<T>::inference_bytes(blob, batch)?;
    // The arena is heap memory on the host, aligned as the core requires.
    let mut arena = AlignedBytes::zeroed(needed);
    let mut model = Sequential::<T>::new(blob, arena.as_mut_slice(), batch)?;
    let in_dims: Vec<usize> = model
        .input_shape()
        .dims()
        .iter()
        .map(|&d| d as usize)
        .collect();
    if input.shape.len() != in_dims.len() + 1 || input.shape[1..] != in_dims[..] {
        return Err(Error::Tensor {
            path: "<input>".into(),
            msg: format!(
                "input has shape {:?}; the model takes (N, {})",
                input.shape,
                in_dims
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let n = input.shape[0];
    let x: Vec<T> = input.data.iter().map(|&v| T::from_f32(v)).collect();
    let mut y = vec![T::ZERO; n * model.output_shape().len()];
    model.predict(&x, &mut y)?;
    let mut shape = vec![n];
    shape.extend(model.output_shape().dims().iter().map(|&d| d as usize));
    Ok(Tensor {
        shape,
        data: y.iter().map(|v| v.to_f32()).collect(),
    })
}
