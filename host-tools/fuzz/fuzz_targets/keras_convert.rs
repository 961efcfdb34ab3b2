//! Fuzz target: Keras reader + converter.
//!
//! The input is one of:
//! - the bytes of a `.keras` zip or a legacy `.h5` file: `read_keras_bytes`, then, if it
//!   reads, `convert` to an f32 and a Q16.16 blob;
//! - `KFZ1` + config length (`u32` LE) + `config.json` + `model.weights.h5`: the two
//!   parts of a `.keras` archive without the zip, so mutations reach the JSON and HDF5
//!   readers instead of stopping at a deflate stream or a zip CRC;
//! - `{...`: a bare `config.json`, converted with no weights, so the converter's option
//!   checks see mutated configs directly.
//!
//! Every outcome but a panic (or an abort) is fine.
#![no_main]

use ember_cli::convert::{convert, DTypeChoice};
use ember_cli::keras::config::parse_model_config;
use ember_cli::keras::weights::read_keras3_weights;
use ember_cli::keras::{assemble, read_keras_bytes, KerasModel};
use libfuzzer_sys::fuzz_target;

/// Prefix of the zip-less `.keras` input form.
const PARTS_MAGIC: &[u8] = b"KFZ1";

fn convert_both(model: &KerasModel) {
    for dtype in [DTypeChoice::F32, DTypeChoice::Fixed] {
        let _ = convert(model, dtype);
    }
}

fn parts(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = data.strip_prefix(PARTS_MAGIC)?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let rest = &rest[4..];
    Some((rest.get(..len)?, rest.get(len..)?))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = read_keras_bytes(data) {
        convert_both(&model);
    }
    if let Some((config, h5)) = parts(data) {
        if let Ok(m) = parse_model_config(config) {
            if let Ok(weights) = read_keras3_weights(h5.to_vec(), &m) {
                convert_both(&assemble(m, weights, None));
            }
        }
    } else if data.first() == Some(&b'{') {
        if let Ok(m) = parse_model_config(data) {
            convert_both(&assemble(m, Vec::new(), None));
        }
    }
});
