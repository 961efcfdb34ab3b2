#!/usr/bin/env python3
"""Generate the `.keras` fixtures used by `host-tools/tests/keras_reader.rs`.

Run from anywhere (needs keras 3 + a backend + h5py + numpy):

    KERAS_BACKEND=jax python3 host-tools/tests/data/make_reader_fixtures.py

Writes next to this script:

* `reader_dense.keras`: Sequential Input(4) -> Dense(3, relu, name "dense_1")
  -> Dense(2, softmax, use_bias=False, name "my_head"), exactly as Keras saves it.
  The first layer is *named* `dense_1` but stored under the HDF5 key `layers/dense`, and
  `my_head` is stored under `layers/dense_1`: a reader that maps by key gets it wrong.
* `reader_dense_noname.keras`: the same model with the `name` attributes of the
  `layers/*/vars` groups removed (older Keras 3 releases did not write them) and the zip
  re-written with deflate, to exercise the class-name + counter fallback and deflate.
* `reader_mixed.keras`: Input((5, 2)) -> Conv1D -> Dropout -> LSTM -> BatchNormalization
  -> Dense(1, trainable=False): layers without weights, nested weight groups (`layers/lstm/cell/vars`),
  and non-trainable weights (BatchNormalization moving statistics). Re-zipped with deflate
  (content unchanged) to keep the fixture small.
* `<name>.expected.json` for each: what the reader must return, with every weight
  value as its float32 bit pattern (`bits`, uint32) for exact comparison.
"""

import io
import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def set_deterministic_weights(model, seed):
    """Give every weight non-round, non-zero values (biases included)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights(
            [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
        )
    # BatchNormalization variance must be positive to be meaningful.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([g, b, m, np.abs(v) + np.float32(0.5)])


def h5_weights(keras_path):
    """[(hdf5 path, array)] per layer key, in the file, read with h5py."""
    with zipfile.ZipFile(keras_path) as zf:
        data = zf.read("model.weights.h5")
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = np.asarray(obj)
        f.visititems(visit)
    return out


def expected(model, keras_path):
    """The reader's expected answer, taken from the Keras model and the saved file."""
    arrays = h5_weights(keras_path)
    with zipfile.ZipFile(keras_path) as zf:
        meta = json.loads(zf.read("metadata.json"))
    # Map each layer to its HDF5 key the way Keras does (snake-case class + counter).
    used = {}
    layers = []
    for layer in model.layers:
        base = keras.src.utils.naming.to_snake_case(layer.__class__.__name__)
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        prefix = f"layers/{key}/"
        paths = sorted(
            (p for p in arrays if p.startswith(prefix)),
            key=lambda p: [int(s) if s.isdigit() else s for s in p.split("/")],
        )
        cfg = layer.get_config()
        layers.append(
            {
                "name": layer.name,
                "class_name": layer.__class__.__name__,
                "key": key,
                "trainable": layer.trainable,
                "units": cfg.get("units"),
                "activation": cfg.get("activation"),
                "use_bias": cfg.get("use_bias"),
                "weights": [
                    {
                        "path": p,
                        "shape": list(arrays[p].shape),
                        "bits": arrays[p].astype(np.float32).reshape(-1).view(np.uint32).tolist(),
                        "values": arrays[p].astype(np.float32).reshape(-1).tolist(),
                    }
                    for p in paths
                ],
            }
        )
    return {
        "class_name": model.__class__.__name__,
        "name": model.name,
        "keras_version": meta["keras_version"],
        "input_shape": list(model.inputs[0].shape),
        "layers": layers,
    }


def write(model, stem):
    path = os.path.join(HERE, stem + ".keras")
    model.save(path)
    with open(os.path.join(HERE, stem + ".expected.json"), "w") as f:
        json.dump(expected(model, path), f, indent=1)
        f.write("\n")
    return path


def deflate(path):
    """Re-write the zip at `path` with deflate compression, entries unchanged."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries.items():
            zf.writestr(n, d)


def strip_names(src, dst):
    """Copy `src` to `dst` without `name` attributes on `layers/*/vars`, deflated."""
    with zipfile.ZipFile(src) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO(entries["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        for key in f["layers"]:
            grp = f["layers"][key]
            if "vars" in grp and "name" in grp["vars"].attrs:
                del grp["vars"].attrs["name"]
    entries["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries.items():
            zf.writestr(n, d)


def main():
    dense = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu", name="dense_1"),
            keras.layers.Dense(2, activation="softmax", use_bias=False, name="my_head"),
        ],
        name="reader_dense",
    )
    set_deterministic_weights(dense, 1)
    src = write(dense, "reader_dense")

    noname = os.path.join(HERE, "reader_dense_noname.keras")
    strip_names(src, noname)
    with open(os.path.join(HERE, "reader_dense_noname.expected.json"), "w") as f:
        json.dump(expected(dense, noname), f, indent=1)
        f.write("\n")

    mixed = keras.Sequential(
        [
            keras.Input((5, 2)),
            keras.layers.Conv1D(2, 2, name="conv"),
            keras.layers.Dropout(0.25),
            keras.layers.LSTM(2),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(1, trainable=False),
        ],
        name="reader_mixed",
    )
    set_deterministic_weights(mixed, 2)
    deflate(write(mixed, "reader_mixed"))


if __name__ == "__main__":
    main()
