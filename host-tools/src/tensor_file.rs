//! `.npy` tensors for `ember predict` (through the `npyz` crate).

use std::path::Path;

use npyz::WriterBuilder;

use crate::{Error, Result};

/// A dense f32 tensor with its shape (batch first).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Shape, batch first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

fn terr(path: &Path, msg: impl Into<String>) -> Error {
    Error::Tensor {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Reads an `.npy` file of any float or integer type as f32 (integers, e.g. token ids,
/// convert exactly up to 2²⁴).
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| terr(path, e.to_string()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() != npyz::Order::C {
        return Err(terr(
            path,
            "Fortran-order arrays are not supported; save with C order",
        ));
    }
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => return Err(terr(path, format!("unsupported dtype {}", other.descr()))),
    };
    let data: Vec<f32> = match descr.trim_start_matches(['<', '|', '=']) {
        "f4" => npy
            .into_vec::<f32>()
            .map_err(|e| terr(path, e.to_string()))?,
        "f8" => to_f32(npy.into_vec::<f64>(), path, |v| v as f32)?,
        "i8" => to_f32(npy.into_vec::<i64>(), path, |v| v as f32)?,
        "i4" => to_f32(npy.into_vec::<i32>(), path, |v| v as f32)?,
        "i2" => to_f32(npy.into_vec::<i16>(), path, f32::from)?,
        "i1" => to_f32(npy.into_vec::<i8>(), path, f32::from)?,
        "u1" => to_f32(npy.into_vec::<u8>(), path, f32::from)?,
        other => return Err(terr(path, format!("unsupported dtype `{other}`"))),
    };
    if data.len() != shape.iter().product::<usize>() {
        return Err(terr(path, "data length does not match the shape"));
    }
    Ok(Tensor { shape, data })
}

fn to_f32<V>(v: std::io::Result<Vec<V>>, path: &Path, f: impl Fn(V) -> f32) -> Result<Vec<f32>> {
    Ok(v.map_err(|e| terr(path, e.to_string()))?
        .into_iter()
        .map(f)
        .collect())
}

/// Writes an f32 `.npy` file.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut buf = Vec::new();
    {
        let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut buf)
            .begin_nd()
            .map_err(io)?;
        w.extend(t.data.iter().copied()).map_err(io)?;
        w.finish().map_err(io)?;
    }
    crate::blob_file::write(path, &buf)
}
