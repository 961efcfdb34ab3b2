//! Black-box tests of the `ember` binary's failures: missing files, garbage and truncated
//! models, corrupted blobs, bad tensors and arguments must exit with status 1 (2 for usage
//! errors), say `error:` on stderr, and never panic. Also the help texts.

#[macro_use]
mod cli_support;

use cli_support::*;
use ember_cli::tensor_file::{read_npy, write_npy, Tensor};
use std::ffi::OsStr;
use std::path::Path;

// ---------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------

#[test]
fn missing_input_files() {
    let dir = Scratch::new("missing");
    let missing = dir.path("does_not_exist.keras");
    let out = dir.path("out.emb");

    let err = fails(&ember!("convert", missing, "-o", out,));
    assert!(err.contains("does_not_exist.keras"), "{err}");
    assert!(!out.exists());

    let err = fails(&ember!("inspect", missing));
    assert!(err.contains("does_not_exist.keras"), "{err}");
    let missing_blob = dir.path("does_not_exist.emb");
    let err = fails(&ember!("inspect", missing_blob));
    assert!(err.contains("does_not_exist.emb"), "{err}");

    let blob = convert_fixture(&dir, "digits_mlp");
    let y = dir.path("y.npy");
    let err = predict_fails(&missing_blob, &fixture("digits_mlp", "x.npy"), &y);
    assert!(err.contains("does_not_exist.emb"), "{err}");
    let err = predict_fails(&blob, &dir.path("no_x.npy"), &y);
    assert!(err.contains("no_x.npy"), "{err}");
    assert!(!y.exists());

    // Output into a directory that does not exist.
    let err = predict_fails(
        &blob,
        &fixture("digits_mlp", "x.npy"),
        &dir.path("no_dir/y.npy"),
    );
    assert!(err.contains("no_dir"), "{err}");
}

/// Deterministic pseudo-random bytes (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn convert_rejects_garbage_and_truncated_keras() {
    let dir = Scratch::new("garbage_keras");
    let out = dir.path("out.emb");
    let convert_fails = |input: &Path| {
        let err = fails(&ember!("convert", input, "-o", out,));
        assert!(!out.exists(), "no output after `{err}`");
        err
    };

    for (k, len) in [0usize, 1, 100, 4096].into_iter().enumerate() {
        let p = dir.write(
            &format!("random{k}.keras"),
            &noise(len, 0x9e37_79b9 + k as u64),
        );
        let err = convert_fails(&p);
        assert!(err.contains(".keras archive"), "{err}");
    }
    // Random bytes after a zip signature.
    let mut fake = b"PK\x03\x04".to_vec();
    fake.extend(noise(2000, 7));
    convert_fails(&dir.write("fake_zip.keras", &fake));

    let keras = std::fs::read(fixture("digits_mlp", "model.keras")).expect("model.keras");
    let n = keras.len();
    for cut in [0, 2, 4, 30, 512, n / 4, n / 2, n - 100, n - 22, n - 1] {
        let p = dir.write(&format!("trunc{cut}.keras"), &keras[..cut]);
        let err = convert_fails(&p);
        assert!(err.contains("archive"), "cut at {cut}: {err}");
        // `inspect` reads .keras files through the same path.
        fails(&ember!("inspect", p));
    }
}

#[test]
fn corrupted_blob_is_refused() {
    let dir = Scratch::new("corrupt_blob");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");

    // Flips inside the CRC-covered body: named as corruption.
    for at in [20, 40, 100, blob.len() / 2, blob.len() - 1] {
        let mut bad = blob.clone();
        bad[at] ^= 0x10;
        let p = dir.write(&format!("flip{at}.emb"), &bad);
        for err in [fails(&ember!("inspect", p)), predict_fails(&p, &x, &y)] {
            let lower = err.to_lowercase();
            assert!(
                lower.contains("corrupt") && lower.contains("crc"),
                "flip at {at}: {err}"
            );
        }
        assert!(!y.exists());
    }
    // The checksum field itself.
    let mut bad = blob.clone();
    bad[12] ^= 0x01;
    let p = dir.write("flip_crc.emb", &bad);
    let err = fails(&ember!("inspect", p));
    assert!(err.to_lowercase().contains("crc"), "{err}");

    // Any single flip in the header is refused.
    for at in 0..32 {
        for mask in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[at] ^= mask;
            let p = dir.write("flip_header.emb", &bad);
            fails(&ember!("inspect", p));
        }
    }
    let mut bad = blob.clone();
    bad[0] ^= 0x01;
    let p = dir.write("flip_magic.emb", &bad);
    let err = predict_fails(&p, &x, &y);
    assert!(err.contains("magic"), "{err}");
}

#[test]
fn blob_edits_with_a_valid_crc_never_panic() {
    // Flip bytes of the header and graph description and repair the checksum, so the
    // parser behind the CRC check sees them: every outcome must be a clean exit 0 or 1.
    let dir = Scratch::new("crc_fixed");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    let weights_start = blob.len() - 4 * DIGITS_PARAMS as usize;
    let p = dir.path("edited.emb");
    let mut refused = 0;
    for at in (0..weights_start).filter(|at| !(12..16).contains(at)) {
        for mask in [0x01u8, 0xff] {
            let mut bad = blob.clone();
            bad[at] ^= mask;
            let crc = ember_nn::blob::checksum(&bad);
            bad[12..16].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&p, &bad).expect("write edited blob");
            for out in [
                ember!("inspect", p),
                ember!("predict", p, "--input", x, "--output", y, "--batch", "8",),
            ] {
                if out.status.success() {
                    ok(&out);
                } else {
                    fails(&out);
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0, "some edits must be refused");
}

#[test]
fn truncated_blob_is_refused() {
    let dir = Scratch::new("trunc_blob");
    let blob_path = convert_fixture(&dir, "digits_mlp");
    let blob = std::fs::read(&blob_path).expect("blob");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    for cut in [0, 3, 16, 31, 32, 100, blob.len() / 2, blob.len() - 1] {
        let p = dir.write(&format!("trunc{cut}.emb"), &blob[..cut]);
        let err = predict_fails(&p, &x, &y);
        assert!(err.contains("truncated"), "cut at {cut}: {err}");
        let err = fails(&ember!("inspect", p));
        assert!(err.contains("truncated"), "cut at {cut}: {err}");
        assert!(!y.exists());
    }
    // Random bytes are not a blob either.
    let p = dir.write("random.emb", &noise(4096, 42));
    fails(&ember!("inspect", p));
    predict_fails(&p, &x, &y);
}

#[test]
fn predict_rejects_bad_inputs() {
    let dir = Scratch::new("bad_inputs");
    let blob = convert_fixture(&dir, "digits_mlp");
    let y = dir.path("y.npy");

    let cases: [(&str, Vec<usize>); 4] = [
        ("feature_count.npy", vec![4, 63]),
        ("no_batch_dim.npy", vec![64]),
        ("extra_dim.npy", vec![2, 64, 1]),
        ("transposed.npy", vec![64, 4]),
    ];
    for (name, shape) in cases {
        let p = dir.path(name);
        let len = shape.iter().product();
        write_npy(
            &p,
            &Tensor {
                shape: shape.clone(),
                data: vec![0.5; len],
            },
        )
        .expect("write npy");
        let err = predict_fails(&blob, &p, &y);
        assert!(err.contains(&format!("{shape:?}")), "{name}: {err}");
        assert!(err.contains("(N, 64)"), "{name}: {err}");
        assert!(err.contains(name), "the message names the file: {err}");
        assert!(!y.exists());
    }

    // Not an .npy at all, and a truncated one.
    let err = predict_fails(&blob, &blob, &y);
    assert!(err.contains("tensor file"), "{err}");
    let x = std::fs::read(fixture("digits_mlp", "x.npy")).expect("x.npy");
    for cut in [10, 128, x.len() - 1] {
        let p = dir.write("x_trunc.npy", &x[..cut]);
        let err = predict_fails(&blob, &p, &y);
        assert!(err.contains("x_trunc.npy"), "cut at {cut}: {err}");
    }

    // The wrong model for the data.
    let rank3 = convert_fixture(&dir, "dense_rank3");
    let err = predict_fails(&rank3, &fixture("digits_mlp", "x.npy"), &y);
    assert!(err.contains("(N, 3, 4)"), "{err}");
}

#[test]
fn predict_batch_limits() {
    let dir = Scratch::new("batch_limits");
    let blob = convert_fixture(&dir, "digits_mlp");
    let x = fixture("digits_mlp", "x.npy");
    let y = dir.path("y.npy");
    let with_batch =
        |batch: &str| ember!("predict", blob, "--input", x, "--output", y, "--batch", batch,);
    let err = fails(&with_batch("0"));
    assert!(err.contains("batch"), "{err}");
    assert!(!y.exists());
    // A batch far beyond the sample count must not try to allocate for it.
    ok(&with_batch("100000000000"));
    let want = read_npy(&fixture("digits_mlp", "y.npy")).expect("y.npy");
    assert_close(&read_npy(&y).expect("output"), &want, 1e-5, 1e-7);
}

#[test]
fn inspect_rejects_bad_memory_options() {
    let dir = Scratch::new("bad_memory_options");
    let blob = convert_fixture(&dir, "digits_mlp");
    for args in [
        &["--batch", "0"][..],
        &["--train-batch", "0"],
        &["--trainable", "last-0"],
        &["--batch", "18446744073709551615"],
    ] {
        let mut a = vec![OsStr::new("inspect"), blob.as_os_str()];
        a.extend(args.iter().map(OsStr::new));
        fails(&run(&a));
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = Scratch::new("usage");
    let blob = convert_fixture(&dir, "digits_mlp");
    let usage = |args: &[&OsStr]| {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{}", describe(&out));
        assert_eq!(
            out.status.code(),
            Some(2),
            "clap's usage status: {}",
            describe(&out)
        );
        assert!(!stderr.contains("panicked"), "{}", describe(&out));
        assert!(stderr.starts_with("error:"), "{}", describe(&out));
        stderr
    };
    let err = usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--optimizer"),
        OsStr::new("lion"),
    ]);
    assert!(err.contains("unknown optimizer `lion`"), "{err}");
    let err = usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--trainable"),
        OsStr::new("last-x"),
    ]);
    assert!(err.contains("last-x"), "{err}");
    let out = dir.path("o.emb");
    let err = usage(&[
        OsStr::new("convert"),
        fixture("digits_mlp", "model.keras").as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--dtype"),
        OsStr::new("f16"),
    ]);
    assert!(err.contains("unknown dtype `f16`"), "{err}");
    assert!(!out.exists());
    // Missing required arguments, unknown subcommand, no subcommand.
    usage(&[OsStr::new("convert"), blob.as_os_str()]);
    usage(&[OsStr::new("predict"), blob.as_os_str()]);
    usage(&[OsStr::new("frobnicate")]);
    usage(&[
        OsStr::new("inspect"),
        blob.as_os_str(),
        OsStr::new("--batch"),
        OsStr::new("-3"),
    ]);
}

// ---------------------------------------------------------------------------------------
// help
// ---------------------------------------------------------------------------------------

#[test]
fn help_texts() {
    let top = ok(&ember!("--help"));
    for cmd in ["convert", "inspect", "predict"] {
        assert!(top.contains(cmd), "{top}");
    }
    for cmd in ["convert", "inspect", "predict"] {
        let help = ok(&ember!(cmd, "--help"));
        assert!(help.contains("Example"), "{cmd}: {help}");
        assert!(help.contains(&format!("ember {cmd} ")), "{cmd}: {help}");
        assert_eq!(ok(&ember!("help", cmd)), help, "`help {cmd}`");
    }
    // No subcommand: clap prints the help to stderr and exits with its usage status.
    let out = run::<&str>(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Usage: ember <COMMAND>"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let v = ok(&ember!("--version"));
    assert!(v.starts_with("ember "), "{v}");
}
