//! A truncated, corrupted, wrong-magic or wrong-version blob is an `Error`; nothing
//! panics. Every truncation length and every single-byte flip of a real blob is tried.

use ember_cli::blob_file::AlignedBytes;
use ember_cli::convert::DTypeChoice;
use ember_nn::blob::{checksum, Blob, HEADER_LEN};
use ember_nn::{Error, Sequential, Q16_16};
use ember_tests::blob;

/// Loads a blob for inference and runs one prediction; any error is returned.
fn load_and_run(bytes: &[u8]) -> Result<(), Error> {
    let aligned = AlignedBytes::from_slice(bytes);
    let blob = aligned.as_slice();
    let needed = Sequential::<f32>::inference_bytes(blob, 2)?;
    let mut arena = AlignedBytes::zeroed(needed);
    let mut m = Sequential::<f32>::new(blob, arena.as_mut_slice(), 2)?;
    let x = vec![0.5f32; m.input_shape().len() * 3];
    let mut y = vec![0.0f32; m.output_shape().len() * 3];
    m.predict(&x, &mut y)?;
    Ok(())
}

fn small_blob() -> AlignedBytes {
    blob("dense_relu_softmax", DTypeChoice::F32)
}

#[test]
fn intact_blob_loads() {
    load_and_run(small_blob().as_slice()).unwrap();
}

#[test]
fn every_truncation_is_an_error() {
    let full = small_blob();
    let bytes = full.as_slice();
    for len in 0..bytes.len() {
        let err = load_and_run(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, Error::BlobTruncated { .. }),
            "length {len}: {err:?}"
        );
    }
}

#[test]
fn every_single_byte_flip_is_detected() {
    let full = small_blob();
    let bytes = full.as_slice();
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut b = bytes.to_vec();
            b[at] ^= mask;
            let err = load_and_run(&b).unwrap_err();
            let expected = match at {
                0..=3 => matches!(err, Error::BadMagic),
                // A flip to another readable version (3 → 2) is caught by the CRC.
                4..=5 => matches!(
                    err,
                    Error::UnsupportedVersion { .. } | Error::ChecksumMismatch { .. }
                ),
                6..=7 => matches!(err, Error::MalformedBlob(_)),
                8..=11 => matches!(
                    err,
                    Error::BlobTruncated { .. }
                        | Error::ChecksumMismatch { .. }
                        | Error::MalformedBlob(_)
                ),
                _ => matches!(err, Error::ChecksumMismatch { .. }),
            };
            assert!(expected, "flip {mask:#04x} at byte {at}: {err:?}");
        }
    }
}

#[test]
fn wrong_magic_and_version_are_named() {
    let mut b = small_blob().as_slice().to_vec();
    b[..4].copy_from_slice(b"PK\x03\x04");
    assert_eq!(load_and_run(&b).unwrap_err(), Error::BadMagic);
    let mut b = small_blob().as_slice().to_vec();
    b[4..6].copy_from_slice(&4u16.to_le_bytes());
    assert_eq!(
        load_and_run(&b).unwrap_err(),
        Error::UnsupportedVersion {
            found: 4,
            supported: 3
        }
    );
}

/// Re-seals the checksum after a mutation, so the decoder's own validation (not the CRC)
/// must catch whatever the mutation broke.
fn reseal(b: &mut [u8]) {
    let crc = checksum(b);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn mutations_past_the_checksum_never_panic() {
    let full = small_blob();
    let bytes = full.as_slice();
    let blob = Blob::parse(bytes).unwrap();
    let graph_end = (blob.header().graph.offset + blob.header().graph.len) as usize;
    let mut outcomes = [0usize; 2];
    // Every byte of the header fields and of the graph section, several values each.
    for at in 4..graph_end {
        for v in [0x00u8, 0x01, 0x7F, 0x80, 0xFF] {
            if (12..16).contains(&at) {
                continue;
            }
            let mut b = bytes.to_vec();
            b[at] = v;
            reseal(&mut b);
            outcomes[usize::from(load_and_run(&b).is_ok())] += 1;
        }
    }
    // Most mutations of structure are caught; the rest (e.g. a renamed layer) still run.
    assert!(outcomes[0] > outcomes[1], "{outcomes:?}");
    assert!(graph_end > HEADER_LEN);
}

#[test]
fn dtype_mismatch_is_an_error() {
    let fixed = blob("dense_relu_softmax", DTypeChoice::Fixed);
    let err = load_and_run(fixed.as_slice()).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { .. }), "{err:?}");
    // And the fixed blob loads as Q16_16.
    let needed = Sequential::<Q16_16>::inference_bytes(fixed.as_slice(), 1).unwrap();
    let mut arena = AlignedBytes::zeroed(needed);
    Sequential::<Q16_16>::new(fixed.as_slice(), arena.as_mut_slice(), 1).unwrap();
}

#[test]
fn misaligned_blob_is_an_error() {
    let full = small_blob();
    let mut shifted = AlignedBytes::zeroed(full.as_slice().len() + 4);
    shifted.as_mut_slice()[4..].copy_from_slice(full.as_slice());
    let err = Sequential::<f32>::inference_bytes(&shifted.as_slice()[4..], 1).unwrap_err();
    assert_eq!(err, Error::BlobMisaligned { align: 16 });
}
