//! Tensors for `ember predict` and `ember train`: `.npy` files (through the `npyz` crate)
//! and CSV files (one sample per row, parsed by hand: comma-separated numbers, no
//! quoting). [`read_tensor`] and [`write_tensor`] choose by the extension.

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

/// Whether `path` names a CSV file (extension `.csv`, any case).
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Reads a `.csv` file ([`read_csv`]) or else an `.npy` file ([`read_npy`]).
pub fn read_tensor(path: &Path) -> Result<Tensor> {
    if is_csv(path) {
        read_csv(path)
    } else {
        read_npy(path)
    }
}

/// Writes a `.csv` file ([`write_csv`]) or else an f32 `.npy` file ([`write_npy`]).
pub fn write_tensor(path: &Path, t: &Tensor) -> Result<()> {
    if is_csv(path) {
        write_csv(path, t)
    } else {
        write_npy(path, t)
    }
}

/// Reads comma-separated numbers, one sample per row, as a `(rows, columns)` tensor.
///
/// Fields are trimmed; blank lines are skipped; a first row whose every field is not a
/// number is a header and is skipped. Every row must have as many values as the first.
/// A field that is not a number (an f32 in Rust's syntax, which includes `1e-3`, `nan`
/// and `inf`) is an error naming its row and column (both from 1, the row counting the
/// file's lines).
pub fn read_csv(path: &Path) -> Result<Tensor> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(&text).map_err(|msg| terr(path, msg))
}

/// [`read_csv`] on the text of a file; the error is the message.
pub fn parse_csv(text: &str) -> core::result::Result<Tensor, String> {
    let mut data = Vec::new();
    let (mut rows, mut cols) = (0usize, None::<(usize, usize)>);
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if first {
            first = false;
            if fields.iter().all(|f| f.parse::<f32>().is_err()) {
                continue; // A header.
            }
        }
        match cols {
            None => cols = Some((fields.len(), row)),
            Some((n, at)) if n != fields.len() => {
                return Err(format!(
                    "row {row} has {} values but row {at} has {n}",
                    fields.len()
                ))
            }
            Some(_) => {}
        }
        for (c, f) in fields.iter().enumerate() {
            let v = f
                .parse::<f32>()
                .map_err(|_| format!("row {row}, column {}: `{f}` is not a number", c + 1))?;
            data.push(v);
        }
        rows += 1;
    }
    let Some((cols, _)) = cols else {
        return Err("no data rows".into());
    };
    Ok(Tensor {
        shape: vec![rows, cols],
        data,
    })
}

/// Writes `t` as CSV: one sample (the first axis) per row, its values flattened in
/// row-major order, each the shortest decimal that reads back as the same f32 (`%g`
/// style: plain notation from 1e-4 to 1e9, scientific outside).
pub fn write_csv(path: &Path, t: &Tensor) -> Result<()> {
    crate::blob_file::write(path, csv_text(t).as_bytes())
}

/// The text [`write_csv`] writes.
pub fn csv_text(t: &Tensor) -> String {
    let n = t.shape.first().copied().unwrap_or(1).max(1);
    let per = if t.data.is_empty() {
        0
    } else {
        t.data.len() / n
    };
    let mut out = String::new();
    for row in t.data.chunks(per.max(1)) {
        let fields: Vec<String> = row.iter().map(|&v| g_format(v)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `v` as the shortest round-trip decimal, `%g` style.
fn g_format(v: f32) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() || (1e-4..1e9).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// `t`, a `(N, k)` tensor (a CSV file's rows), as `(N, ...dims)` when `k` is the number of
/// elements of `dims`; any other tensor is returned as it is (the caller's shape check
/// then reports it).
pub fn rows_as(t: Tensor, dims: &[usize]) -> Tensor {
    match t.shape[..] {
        [n, k] if k == dims.iter().product::<usize>() && dims.len() != 1 => Tensor {
            shape: std::iter::once(n).chain(dims.iter().copied()).collect(),
            data: t.data,
        },
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_rows_and_errors() {
        let t = parse_csv("a, b,c\n1,2,3\r\n\n4,5e-1, -6\n").unwrap();
        assert_eq!(t.shape, vec![2, 3]);
        assert_eq!(t.data, vec![1.0, 2.0, 3.0, 4.0, 0.5, -6.0]);
        assert_eq!(
            parse_csv("x,y\n1,2\n3,oops\n").unwrap_err(),
            "row 3, column 2: `oops` is not a number"
        );
        assert_eq!(
            parse_csv("1,2\n3\n").unwrap_err(),
            "row 2 has 1 values but row 1 has 2"
        );
        assert_eq!(parse_csv("a,b\n").unwrap_err(), "no data rows");
        // A first row mixing numbers and text is data, not a header.
        assert_eq!(
            parse_csv("1,b\n").unwrap_err(),
            "row 1, column 2: `b` is not a number"
        );
    }

    #[test]
    fn csv_values_round_trip() {
        let vals = [
            0.1f32,
            -3.25,
            1e-7,
            123456790.0,
            3e12,
            0.0,
            f32::MIN_POSITIVE,
            1.0 / 3.0,
        ];
        let t = Tensor {
            shape: vec![2, 4],
            data: vals.to_vec(),
        };
        let text = csv_text(&t);
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("0.1,-3.25,1e-7,123456790\n"), "{text}");
        let back = parse_csv(&text).unwrap();
        assert_eq!(back.shape, vec![2, 4]);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.data), bits(&vals));
    }

    #[test]
    fn rows_reshape_to_the_model_shape() {
        let t = Tensor {
            shape: vec![2, 6],
            data: (0..12).map(|v| v as f32).collect(),
        };
        assert_eq!(rows_as(t.clone(), &[3, 2]).shape, vec![2, 3, 2]);
        assert_eq!(rows_as(t.clone(), &[6]).shape, vec![2, 6]);
        assert_eq!(rows_as(t, &[5]).shape, vec![2, 6]);
    }
}
