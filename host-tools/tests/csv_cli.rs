//! CSV data for `ember predict` and `ember train`: rows reshaped to the model's shapes give
//! the same predictions and the same training as `.npy` files; `--output *.csv` writes
//! values that read back exactly; malformed files fail cleanly (status 1) naming the row
//! and column.

use std::path::{Path, PathBuf};

use ember_cli::blob_file;
use ember_cli::tensor_file::{read_csv, read_npy, Tensor};

#[macro_use]
mod cli_support;

use cli_support::{convert_fixture, fails, fixture, ok, Scratch};

/// `t` as CSV rows (one sample per row, flattened), under a header of column names.
fn write_csv_rows(dir: &Scratch, name: &str, t: &Tensor) -> PathBuf {
    let per: usize = t.shape[1..].iter().product();
    let mut text: String = (0..per)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for row in t.data.chunks(per) {
        // Rust's shortest round-trip decimals: the CSV holds exactly the `.npy` values.
        let fields: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        text.push_str(&fields.join(", "));
        text.push_str("\r\n");
    }
    dir.write(name, text.as_bytes())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// `TimeDistributed` model: input (5, 6, 1), output (2,).
fn td_blob(dir: &Scratch) -> PathBuf {
    convert_fixture(dir, "time_distributed")
}

#[test]
fn csv_and_npy_inputs_predict_the_same() {
    let dir = Scratch::new("csv_predict");
    let blob = td_blob(&dir);
    let xnpy = fixture("time_distributed", "x.npy");
    let x = read_npy(&xnpy).unwrap();
    assert_eq!(x.shape, vec![6, 5, 6, 1]);
    let xcsv = write_csv_rows(&dir, "x.csv", &x);
    let (ynpy, ycsv) = (dir.path("y.npy"), dir.path("y.csv"));
    ok(&ember!("predict", blob, "--input", xnpy, "--output", ynpy));
    ok(&ember!(
        "predict", blob, "--input", xcsv, "--output", ycsv, "--batch", "4"
    ));
    let from_npy = read_npy(&ynpy).unwrap();
    let from_csv = read_csv(&ycsv).unwrap();
    assert_eq!(from_npy.shape, vec![6, 2]);
    assert_eq!(from_csv.shape, vec![6, 2]);
    assert_eq!(bits(&from_csv.data), bits(&from_npy.data));
    // One sample per row, no header.
    let text = std::fs::read_to_string(&ycsv).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().all(|l| l.split(',').count() == 2), "{text}");
    // And the Keras predictions, as the `.npy` path gives them.
    let keras = read_npy(&fixture("time_distributed", "y.npy")).unwrap();
    for (a, b) in from_csv.data.iter().zip(&keras.data) {
        assert!((a - b).abs() < 1e-5, "{a} vs Keras {b}");
    }
}

#[test]
fn csv_and_npy_data_train_the_same() {
    let dir = Scratch::new("csv_train");
    let blob = td_blob(&dir);
    let (xnpy, tnpy) = (
        fixture("time_distributed", "x.npy"),
        fixture("time_distributed", "t.npy"),
    );
    let xcsv = write_csv_rows(&dir, "x.csv", &read_npy(&xnpy).unwrap());
    let tcsv = write_csv_rows(&dir, "t.csv", &read_npy(&tnpy).unwrap());
    let train = |x: &Path, y: &Path, out: &Path, history: &Path| {
        ok(&ember!(
            "train",
            blob,
            "--x",
            x,
            "--y",
            y,
            "--epochs",
            "3",
            "--batch-size",
            "4",
            "--optimizer",
            "sgd",
            "--learning-rate",
            "0.2",
            "--loss",
            "mse",
            "--validation-split",
            "0.34",
            "-o",
            out,
            "--history",
            history
        ));
    };
    let (a, b) = (dir.path("a.emb"), dir.path("b.emb"));
    let (ha, hb) = (dir.path("a.csv"), dir.path("b.csv"));
    train(&xnpy, &tnpy, &a, &ha);
    train(&xcsv, &tcsv, &b, &hb);
    let (a, b) = (blob_file::read(&a).unwrap(), blob_file::read(&b).unwrap());
    assert!(a.as_slice() == b.as_slice(), "CSV and NPY training differ");
    assert_eq!(
        std::fs::read_to_string(&ha).unwrap(),
        std::fs::read_to_string(&hb).unwrap()
    );
}

#[test]
fn malformed_csv_fails_naming_the_row_and_column() {
    let dir = Scratch::new("csv_bad");
    let blob = td_blob(&dir);
    let x = read_npy(&fixture("time_distributed", "x.npy")).unwrap();
    let good = write_csv_rows(&dir, "good.csv", &x);
    let text = std::fs::read_to_string(&good).unwrap();
    let out = dir.path("y.csv");

    // Row 3 of the file (the second sample), column 7: not a number.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[2].split(',').collect();
    fields[6] = " 0.5x";
    lines[2] = fields.join(",");
    let bad = dir.write("bad.csv", lines.join("\n").as_bytes());
    let err = fails(&ember!("predict", blob, "--input", bad, "--output", out));
    assert!(err.contains("bad.csv"), "{err}");
    assert!(
        err.contains("row 3, column 7: `0.5x` is not a number"),
        "{err}"
    );
    assert!(!out.exists());

    // The same file as training targets or inputs.
    let t = write_csv_rows(
        &dir,
        "t.csv",
        &read_npy(&fixture("time_distributed", "t.npy")).unwrap(),
    );
    let err = fails(&ember!(
        "train",
        blob,
        "--x",
        bad,
        "--y",
        t,
        "--epochs",
        "1",
        "--loss",
        "mse",
        "-o",
        dir.path("t.emb")
    ));
    assert!(err.contains("row 3, column 7"), "{err}");

    // A short row.
    let ragged = dir.write("ragged.csv", b"1,2,3\n4,5\n");
    let err = fails(&ember!("predict", blob, "--input", ragged, "--output", out));
    assert!(err.contains("row 2 has 2 values but row 1 has 3"), "{err}");

    // Rows of the wrong width: the shape error, not a panic.
    let narrow = dir.write("narrow.csv", b"1,2,3\n4,5,6\n");
    let err = fails(&ember!("predict", blob, "--input", narrow, "--output", out));
    assert!(err.contains("the model takes (N, 5, 6, 1)"), "{err}");

    // Only a header, or nothing.
    for (name, bytes) in [("header.csv", &b"a,b\n"[..]), ("empty.csv", &b""[..])] {
        let f = dir.write(name, bytes);
        let err = fails(&ember!("predict", blob, "--input", f, "--output", out));
        assert!(err.contains("no data rows"), "{err}");
    }
}

#[test]
fn help_mentions_graph_models_and_csv_with_examples() {
    for (cmd, example) in [
        (
            "predict",
            "ember predict model.emb --input x.csv --output y.csv",
        ),
        ("train", "ember train graph.emb --x x.csv --y y.csv"),
    ] {
        let help = ok(&ember!(cmd, "--help"));
        assert!(help.contains("graph"), "{cmd}: {help}");
        assert!(
            help.contains("CSV") && help.contains(".csv"),
            "{cmd}: {help}"
        );
        assert!(help.contains(example), "{cmd}: {help}");
    }
}
