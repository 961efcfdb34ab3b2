#!/usr/bin/env python3
"""Generate the Functional / nested-model fixtures used by `host-tools/tests/keras_functional.rs`.

Run from anywhere, with Keras 3 + JAX + h5py + numpy:

    KERAS_BACKEND=jax python3 host-tools/tests/data/make_functional_fixtures.py

To (re)make the tf.keras 2 files as well, point `TF2_PYTHON` at a Python with TensorFlow 2
and `tf_keras` (the script re-runs itself there with `TF_USE_LEGACY_KERAS=1`):

    python3 -m venv /tmp/tf2 && /tmp/tf2/bin/pip install tensorflow-cpu tf_keras h5py
    TF2_PYTHON=/tmp/tf2/bin/python KERAS_BACKEND=jax \\
        python3 host-tools/tests/data/make_functional_fixtures.py

Without `TF2_PYTHON` the tf.keras 2 files (and their expected answers) already in the
bundle are kept.

Models (deterministic non-zero weights, every bias non-zero):

* `fn_two_in`: inputs `in_a`, `in_b` (4 features each) -> one Dense `shared` called on
  both -> `Add` of the two calls -> `Concatenate` of `shared(in_a)` and the sum -> Dense
  `head1` (output 0); `Activation(relu)` on `shared(in_b)` -> Dense `head2` (output 1).
* `fn_nested`: input `x` -> nested Sequential `inner_seq` (Dense relu, Dense frozen)
  called twice in a row (a shared nested model) -> nested Functional `inner_f` (Dense,
  then a nested-in-nested Sequential `deep` (Dense tanh, BatchNormalization, the whole
  model frozen), then `Concatenate` with `inner_f`'s input) -> Dense `out` (output 0);
  output 1 is `inner_f` called a second time, on the first `inner_seq` call, used
  directly as a model output (Keras numbers that call differently in `output_layers`).
* `fn_seq_out`: a nested Sequential `s` without an `Input` of its own (built on its first
  call), called three times (twice on the model input), two of its calls used directly as
  the model's outputs (tf.keras 2 numbers its calls from 1, Keras 3 from 0).
* `seq_nested` (Keras 3 only): Sequential Input(4) -> nested Sequential `block` (no Input
  of its own) -> Dense: reads as a plain chain.
* `seq_with_fn` (Keras 3 only): Sequential Input(4) -> nested Functional `fork` (two
  Dense branches added) -> Dense: a Sequential that is a graph.

Files, all in `functional_fixtures.zip` next to this script (deflated):

* `<model>.keras`, `<model>.h5`: Keras 3.15 `model.save(...)`.
* `<model>_k2.h5` for `fn_two_in`, `fn_nested`, `fn_seq_out`: tf.keras 2.21 `model.save("x.h5")`
  (list-style `inbound_nodes`; Keras 3.15 itself cannot load `fn_nested_k2.h5`: it
  does not undo tf.keras 2's node numbering of nested models).

Synthetic variant (h5py edit; read like the original):

* `fn_nested_noname.keras`: `fn_nested.keras` without the `name` attributes of every
  `.../vars` group (older Keras 3 releases did not write them), so nested groups are
  matched by Keras's class-name + counter keys.

Synthetic defects (h5py edits of the files above; each must be refused with an error):

* `bad_nested_weight_k2.h5`: `fn_nested_k2.h5` with layer `s_d1` renamed `s_d9` in
  `model_config` only, so weight `s_d1/kernel:0` of nested model `inner_seq` names none
  of its layers.
* `missing_weights.h5`: `fn_two_in.h5` without the `model_weights/head1` group (and
  `head1` dropped from `layer_names`).
* `missing_weights.keras`: `fn_two_in.keras` without the weights group of `head1`.

And `functional_expected.json` (readable, next to the bundle): per file, what the reader
must return, taken from the Keras model object that wrote it: class, name, Keras
version, inputs (name, batch shape), the leaf layers depth first with `trainable` and
`get_weights()` as float32 bit patterns, how often each leaf layer is called (by
construction), and `x` / `y`: a batch of inputs and the model's `predict` outputs, which
the Rust test reproduces by evaluating the parsed graph.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(HERE, "functional_fixtures.zip")
EXPECTED = os.path.join(HERE, "functional_expected.json")


def leaves(keras, model):
    """The model's leaf layers, depth first through nested models (Keras's layer order),
    `InputLayer`s left out."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            out.extend(leaves(keras, layer))
        else:
            out.append(layer)
    return out


def set_deterministic_weights(keras, model, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in leaves(keras, model):
        ws = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
        if isinstance(layer, keras.layers.BatchNormalization):
            ws[3] = np.abs(ws[3]) + np.float32(0.5)
        layer.set_weights(ws)


def fn_two_in(keras):
    L = keras.layers
    a = keras.Input((4,), name="in_a")
    b = keras.Input((4,), name="in_b")
    shared = L.Dense(3, activation="relu", name="shared")
    ya, yb = shared(a), shared(b)
    s = L.Add(name="add")([ya, yb])
    c = L.Concatenate(name="cat")([ya, s])
    o1 = L.Dense(2, name="head1")(c)
    o2 = L.Dense(1, name="head2")(L.Activation("relu", name="act")(yb))
    calls = {"shared": 2, "add": 1, "cat": 1, "act": 1, "head1": 1, "head2": 1}
    return keras.Model([a, b], [o1, o2], name="fn_two_in"), calls


def fn_nested(keras):
    L = keras.layers
    inner_seq = keras.Sequential(
        [
            keras.Input((4,)),
            L.Dense(3, activation="relu", name="s_d1"),
            L.Dense(4, name="s_d2", trainable=False),
        ],
        name="inner_seq",
    )
    deep = keras.Sequential(
        [
            keras.Input((2,)),
            L.Dense(2, activation="tanh", name="deep_d"),
            L.BatchNormalization(name="deep_bn"),
        ],
        name="deep",
    )
    deep.trainable = False
    fi = keras.Input((4,), name="f_in")
    fh = deep(L.Dense(2, name="f_d")(fi))
    fo = L.Concatenate(name="f_cat")([fh, fi])
    inner_f = keras.Model(fi, fo, name="inner_f")
    x = keras.Input((4,), name="x")
    h = inner_seq(x)
    y = inner_f(inner_seq(h))
    z = L.Dense(1, name="out")(y)
    calls = {"s_d1": 2, "s_d2": 2, "f_d": 2, "deep_d": 2, "deep_bn": 2, "f_cat": 2, "out": 1}
    return keras.Model(x, [z, inner_f(h)], name="fn_nested"), calls


def fn_seq_out(keras):
    L = keras.layers
    s = keras.Sequential([L.Dense(4, activation="tanh", name="sa")], name="s")
    x = keras.Input((4,), name="x")
    model = keras.Model(x, [s(x), s(s(x))], name="fn_seq_out")
    return model, {"sa": 3}


def seq_nested(keras):
    L = keras.layers
    block = keras.Sequential(
        [L.Dense(3, activation="relu", name="b_d1"), L.Dense(3, name="b_d2")], name="block"
    )
    model = keras.Sequential(
        [keras.Input((4,)), block, L.Dense(2, name="head")], name="seq_nested"
    )
    return model, {"b_d1": 1, "b_d2": 1, "head": 1}


def seq_with_fn(keras):
    L = keras.layers
    fi = keras.Input((4,), name="fork_in")
    s = L.Add(name="fork_add")(
        [L.Dense(3, name="fork_a")(fi), L.Dense(3, activation="relu", name="fork_b")(fi)]
    )
    fork = keras.Model(fi, s, name="fork")
    model = keras.Sequential(
        [keras.Input((4,)), fork, L.Dense(2, name="head")], name="seq_with_fn"
    )
    return model, {"fork_a": 1, "fork_b": 1, "fork_add": 1, "head": 1}


def expected(keras, model, calls, graph, seed):
    import numpy as np

    rng = np.random.default_rng(seed + 100)
    xs = [rng.standard_normal((3,) + tuple(t.shape[1:])).astype(np.float32) for t in model.inputs]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(ys, (list, tuple)):
        ys = [ys]
    arr = lambda a: {"shape": list(np.shape(a)), "values": np.asarray(a, np.float32).reshape(-1).tolist()}
    layers = []
    for layer in leaves(keras, model):
        layers.append(
            {
                "name": layer.name,
                "class_name": layer.__class__.__name__,
                "trainable": bool(layer.trainable),
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
        "class_name": "Functional" if model.__class__.__name__ in ("Functional", "Model") else model.__class__.__name__,
        "name": model.name,
        "keras_version": keras.__version__,
        "graph": graph,
        "inputs": [
            {"name": t._keras_history[0].name if hasattr(t, "_keras_history") else t.name,
             "shape": list(t.shape)}
            for t in model.inputs
        ],
        "layers": layers,
        "calls": calls,
        "x": [arr(x) for x in xs],
        "y": [arr(y) for y in ys],
    }


def build_all(keras, out_dir, suffix, which, formats):
    result = {}
    for seed, (fn, graph) in enumerate(which):
        model, calls = fn(keras)
        set_deterministic_weights(keras, model, seed + 1)
        exp = expected(keras, model, calls, graph, seed + 1)
        for fmt in formats:
            name = f"{fn.__name__}{suffix}.{fmt}"
            model.save(os.path.join(out_dir, name))
            result[name] = exp
    return result


def make_defects(work):
    """The synthetic defect files (see the module docstring)."""
    import io

    import h5py
    import numpy as np

    src = os.path.join(work, "fn_nested_k2.h5")
    if os.path.exists(src):
        dst = os.path.join(work, "bad_nested_weight_k2.h5")
        shutil.copyfile(src, dst)
        with h5py.File(dst, "r+") as f:
            cfg = f.attrs["model_config"]
            cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
            assert '"s_d1"' in cfg
            f.attrs["model_config"] = cfg.replace('"s_d1"', '"s_d9"')

    with zipfile.ZipFile(os.path.join(work, "fn_nested.keras")) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO(entries["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        def strip(name, obj):
            if isinstance(obj, h5py.Group) and name.endswith("vars") and "name" in obj.attrs:
                del obj.attrs["name"]
        f.visititems(strip)
        if "name" in f["vars"].attrs:
            del f["vars"].attrs["name"]
    entries["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(os.path.join(work, "fn_nested_noname.keras"), "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)

    dst = os.path.join(work, "missing_weights.h5")
    shutil.copyfile(os.path.join(work, "fn_two_in.h5"), dst)
    with h5py.File(dst, "r+") as f:
        mw = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in mw.attrs["layer_names"]]
        del mw["head1"]
        mw.attrs["layer_names"] = np.array([n for n in names if n != "head1"], dtype=object)

    with zipfile.ZipFile(os.path.join(work, "fn_two_in.keras")) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO(entries["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        victim = [k for k in f["layers"] if f["layers"][k]["vars"].attrs.get("name") == "head1"]
        assert len(victim) == 1, victim
        del f["layers"][victim[0]]
    entries["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(os.path.join(work, "missing_weights.keras"), "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)


# ---- tf.keras 2 side (runs in the TF2_PYTHON interpreter) ------------------------------


def tf2_main(out_dir):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras as keras

    result = build_all(
        keras, out_dir, "_k2", [(fn_two_in, True), (fn_nested, True), (fn_seq_out, True)], ["h5"]
    )
    with open(os.path.join(out_dir, "tf2_expected.json"), "w") as f:
        json.dump(result, f)


# ---- Keras 3 side ----------------------------------------------------------------------


def main():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    work = tempfile.mkdtemp()
    try:
        old = {}
        if os.path.exists(EXPECTED):
            with open(EXPECTED) as f:
                old = json.load(f)
        if os.path.exists(BUNDLE):
            with zipfile.ZipFile(BUNDLE) as zf:
                for n in zf.namelist():
                    if n.endswith("_k2.h5"):
                        zf.extract(n, work)
        result = build_all(
            keras,
            work,
            "",
            [
                (fn_two_in, True),
                (fn_nested, True),
                (fn_seq_out, True),
                (seq_nested, False),
                (seq_with_fn, True),
            ],
            ["keras", "h5"],
        )
        tf2_python = os.environ.get("TF2_PYTHON")
        if tf2_python:
            env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
            subprocess.run(
                [tf2_python, os.path.abspath(__file__), "--tf2", work], check=True, env=env
            )
            with open(os.path.join(work, "tf2_expected.json")) as f:
                result.update(json.load(f))
            os.remove(os.path.join(work, "tf2_expected.json"))
        else:
            result.update({k: v for k, v in old.items() if k.endswith("_k2.h5")})
        make_defects(work)
        result["fn_nested_noname.keras"] = result["fn_nested.keras"]
        with open(EXPECTED, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
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
