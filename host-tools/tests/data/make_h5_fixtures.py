#!/usr/bin/env python3
"""Generate the legacy `.h5` fixtures used by `host-tools/tests/keras_h5.rs`.

Run from anywhere, with Keras 3 + JAX + h5py + numpy:

    KERAS_BACKEND=jax python3 host-tools/tests/data/make_h5_fixtures.py

To (re)make the tf.keras 2 files as well, point `TF2_PYTHON` at a Python that has
TensorFlow 2 and `tf_keras` (the script re-runs itself there with `TF_USE_LEGACY_KERAS=1`):

    python3 -m venv /tmp/tf2 && /tmp/tf2/bin/pip install tensorflow-cpu tf_keras h5py
    TF2_PYTHON=/tmp/tf2/bin/python KERAS_BACKEND=jax \
        python3 host-tools/tests/data/make_h5_fixtures.py

Without `TF2_PYTHON` the tf.keras 2 files already in the bundle are reused.

Everything goes into `legacy_h5_fixtures.zip` next to this script (deflated: the HDF5
files are mostly zero padding, ~15 KB each raw, ~2 KB compressed). Entries:

* `h5_k3_dense.h5` / `.keras`: one Keras 3 model, saved both ways by Keras 3.15
  (`model.save("x.h5")` is the Keras-3 legacy dialect: Keras-3 style `model_config`,
  datasets at `model_weights/<layer>/<model>/<layer>/kernel`). Sequential Input(4) ->
  Dense(3, relu, name "dense_1") -> Dropout(0.25) -> Dense(3, tanh, trainable=False,
  name "frozen") -> Dense(2, softmax, use_bias=False, name "my_head").
* `h5_k3_weights_only.weights.h5`: the same model's `save_weights` (no architecture).
* `h5_k2_dense.h5`: the same architecture written by tf.keras 2 (`tf_keras`, Keras-2
  dialect: `batch_input_shape`, datasets at `model_weights/<layer>/<layer>/kernel:0`),
  compiled with Adam so `training_config` and `optimizer_weights` are present.
* `h5_k2_dense.keras`: Keras 3 loading `h5_k2_dense.h5` (`compile=False`) and saving it.
* `h5_k2_weights_only.h5`: tf.keras 2 `save_weights("x.h5")` (legacy weights-only file:
  `layer_names` at the root, no `model_config`).
* `h5_k2_variant.h5`: **synthetic** edit (h5py) of `h5_k2_dense.h5` in the older Keras-2
  shapes: `model_config` without the `InputLayer` (the first Dense keeps
  `batch_input_shape`) stored as a fixed-length byte string, `layer_names` split into
  `layer_names0` / `layer_names1` (what Keras does above 64 KB) and every name list stored
  as fixed-length byte strings. Same weights as `h5_k2_dense.h5`.

And, outside the bundle (readable):

* `h5_k3_dense.expected.json`, `h5_k2_dense.expected.json`: what the reader must return,
  taken from the Keras model object (`layer.get_weights()`, weights as float32 bit
  patterns).
* `h5_fixture_versions.json`: the library versions that wrote the files.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(HERE, "legacy_h5_fixtures.zip")


def set_deterministic_weights(model, seed):
    """Give every weight non-round, non-zero values (biases included)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights(
            [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
        )


def layer_stack(keras, first_kwargs):
    """The layers of the fixture model (same architecture in both Keras versions)."""
    return [
        keras.layers.Dense(3, activation="relu", name="dense_1", **first_kwargs),
        keras.layers.Dropout(0.25, name="dropout"),
        keras.layers.Dense(3, activation="tanh", trainable=False, name="frozen"),
        keras.layers.Dense(2, activation="softmax", use_bias=False, name="my_head"),
    ]


def expected(model, keras_version):
    """The reader's expected answer, from the Keras model object."""
    import numpy as np

    layers = []
    for layer in model.layers:
        cfg = layer.get_config()
        layers.append(
            {
                "name": layer.name,
                "class_name": layer.__class__.__name__,
                "trainable": layer.trainable,
                "units": cfg.get("units"),
                "activation": cfg.get("activation"),
                "use_bias": cfg.get("use_bias"),
                "weights": [
                    {
                        "shape": list(w.shape),
                        "bits": np.asarray(w, np.float32).reshape(-1).view(np.uint32).tolist(),
                    }
                    for w in layer.get_weights()
                ],
            }
        )
    return {
        "class_name": model.__class__.__name__,
        "name": model.name,
        "keras_version": keras_version,
        "input_shape": list(model.inputs[0].shape),
        "layers": layers,
    }


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


# ---- tf.keras 2 side (runs in the TF2_PYTHON interpreter) ------------------------------


def tf2_main(out_dir):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import h5py
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    model = keras.Sequential(layer_stack(keras, {"input_shape": (4,)}), name="h5_k2_dense")
    set_deterministic_weights(model, 7)
    model.compile(optimizer="adam", loss="mse")
    model.save(os.path.join(out_dir, "h5_k2_dense.h5"))
    model.save_weights(os.path.join(out_dir, "h5_k2_weights_only.h5"))
    write_json(
        os.path.join(out_dir, "h5_k2_dense.expected.json"),
        expected(model, keras.__version__),
    )
    write_json(
        os.path.join(out_dir, "tf2_versions.json"),
        {
            "tensorflow": tf.__version__,
            "tf_keras": keras.__version__,
            "h5py": h5py.__version__,
            "numpy": np.__version__,
        },
    )


# ---- Keras 3 side ----------------------------------------------------------------------


def fixed_strings(values):
    """A numpy array of fixed-length byte strings (what older h5py/Keras wrote)."""
    import numpy as np

    return np.array([v.encode("utf8") for v in values])


def make_variant(src, dst):
    """The synthetic Keras-2 variant of `src` (see the module docstring)."""
    import h5py
    import numpy as np

    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        assert layers[0]["class_name"] == "InputLayer", layers[0]
        assert "batch_input_shape" in layers[1]["config"], layers[1]
        del layers[0]
        del f.attrs["model_config"]
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode("utf8"))
        mw = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in mw.attrs["layer_names"]]
        del mw.attrs["layer_names"]
        mw.attrs["layer_names0"] = fixed_strings(names[:2])
        mw.attrs["layer_names1"] = fixed_strings(names[2:])
        for name in names:
            group = mw[name]
            wn = group.attrs["weight_names"]
            if wn.dtype.kind in "OSU":
                wn = [n.decode() if isinstance(n, bytes) else n for n in wn]
                del group.attrs["weight_names"]
                group.attrs["weight_names"] = fixed_strings(wn)


def main():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import h5py
    import jax
    import keras
    import numpy as np

    work = tempfile.mkdtemp()
    try:
        if os.path.exists(BUNDLE):
            with zipfile.ZipFile(BUNDLE) as zf:
                zf.extractall(work)

        # Keras 3: one model, saved as .keras, as legacy .h5 and as weights only.
        model = keras.Sequential(
            [keras.Input((4,))] + layer_stack(keras, {}), name="h5_k3_dense"
        )
        set_deterministic_weights(model, 5)
        model.save(os.path.join(work, "h5_k3_dense.keras"))
        model.save(os.path.join(work, "h5_k3_dense.h5"))
        model.save_weights(os.path.join(work, "h5_k3_weights_only.weights.h5"))
        write_json(
            os.path.join(HERE, "h5_k3_dense.expected.json"),
            expected(model, keras.__version__),
        )

        # tf.keras 2 files, if a TF2 interpreter is given.
        tf2_python = os.environ.get("TF2_PYTHON")
        if tf2_python:
            env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
            subprocess.run(
                [tf2_python, os.path.abspath(__file__), "--tf2", work], check=True, env=env
            )
            shutil.move(
                os.path.join(work, "h5_k2_dense.expected.json"),
                os.path.join(HERE, "h5_k2_dense.expected.json"),
            )
            with open(os.path.join(work, "tf2_versions.json")) as f:
                tf2_versions = json.load(f)
            os.remove(os.path.join(work, "tf2_versions.json"))
        else:
            with open(os.path.join(HERE, "h5_fixture_versions.json")) as f:
                tf2_versions = json.load(f)["tf_keras_2"]
        k2 = os.path.join(work, "h5_k2_dense.h5")
        if not os.path.exists(k2):
            sys.exit("no tf.keras 2 fixtures in the bundle: set TF2_PYTHON (see the docstring)")

        # Keras 3 reads the tf.keras 2 file and saves the same model as .keras.
        loaded = keras.models.load_model(k2, compile=False)
        loaded.save(os.path.join(work, "h5_k2_dense.keras"))
        make_variant(k2, os.path.join(work, "h5_k2_variant.h5"))

        write_json(
            os.path.join(HERE, "h5_fixture_versions.json"),
            {
                "keras_3": {
                    "keras": keras.__version__,
                    "backend": keras.backend.backend(),
                    "jax": jax.__version__,
                    "h5py": h5py.__version__,
                    "numpy": np.__version__,
                },
                "tf_keras_2": tf2_versions,
            },
        )

        names = sorted(os.listdir(work))
        with zipfile.ZipFile(BUNDLE, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in names:
                with open(os.path.join(work, name), "rb") as f:
                    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, f.read())
        print("wrote", BUNDLE, "with", ", ".join(names))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--tf2":
        tf2_main(sys.argv[2])
    else:
        main()
