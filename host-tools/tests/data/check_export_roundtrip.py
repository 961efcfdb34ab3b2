"""Round trip of `ember export` through real Keras (run by hand, not in CI).

Loads a Keras model, `model.load_weights(EXPORTED)` (a file written by
`ember export`), runs `model.predict` on the inputs and compares with the outputs
`ember predict` wrote for the same blob and inputs. Also reports how far the loaded
weights moved from the file's original ones (non-zero after `ember train`).

Usage:
    KERAS_BACKEND=jax python3 check_export_roundtrip.py MODEL.keras EXPORTED.weights.h5 \
        --x X.npy [--x X2.npy ...] --ember Y.npy [--ember Y2.npy ...]

Measured on 2026-11-28 (Keras 3.15.1, JAX backend, CPU), max |Keras - Ember| over all
outputs and samples (`ember predict --batch 32` on the fixture's x.npy):

    digits_mlp, `ember train --epochs 2 --optimizer sgd` (weights moved up to 0.0198),
        exported with and without --like model.keras:            5.96e-07
    digits_cnn (Conv2D, BatchNormalization, DepthwiseConv2D, ...), same training
        (moved up to 0.0181), with and without --like:             1.31e-06
    functional (two inputs, a shared Dense, a nested Sequential, two outputs): the CLI
        does not train graph models yet, so the blob was converted from the model with
        Keras's weights after one training step (the fixture's after_w*.npy, set and
        saved as fn_after.keras; `ember convert fn_after.keras --no-training-settings`),
        then exported --like the ORIGINAL model.keras (weights moved up to 0.127):
                                                                   5.96e-08
        without --like: Keras refuses the file (the nested Sequential's layers are
        written flattened as layers/dense_3, dense_4), as documented: use --like.

    time_distributed (TimeDistributed Conv1D/Flatten/Dense), same procedure with its
        after_w*.npy (moved up to 0.135), with and without --like:  1.49e-07
    digits_mlp as a Q16.16 blob (`convert --dtype fixed`), trained 2 epochs SGD in
        Q16.16, exported (dequantized float32) --like: 2.58e-05 (`--tol 1`): Ember
        computes in Q16.16, Keras in float32 on the same (exact) weight values.

How the inputs were made (from the repository root, `ember` built):

    ember convert tests/fixtures/digits_mlp/model.keras -o m.emb
    ember train m.emb --x tests/fixtures/digits_mlp/x.npy --y onehot.npy --epochs 2 \
        --optimizer sgd --loss categorical_crossentropy -o t.emb
    ember export t.emb -o t.weights.h5 --like tests/fixtures/digits_mlp/model.keras
    ember predict t.emb --input tests/fixtures/digits_mlp/x.npy --output y.npy --batch 32
    python3 check_export_roundtrip.py tests/fixtures/digits_mlp/model.keras \
        t.weights.h5 --x tests/fixtures/digits_mlp/x.npy --ember y.npy

(onehot.npy: `np.eye(10, dtype=np.float32)[np.load("labels.npy")]`.)
"""

import argparse
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("weights")
    p.add_argument("--x", action="append", required=True)
    p.add_argument("--ember", action="append", required=True)
    p.add_argument("--tol", type=float, default=1e-4)
    a = p.parse_args()

    import keras

    model = keras.saving.load_model(a.model, compile=False)
    before = [w.copy() for w in model.get_weights()]
    model.load_weights(a.weights)
    moved = max(
        (float(np.max(np.abs(b - w))) if b.size else 0.0)
        for b, w in zip(before, model.get_weights())
    )
    xs = [np.load(x) for x in a.x]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(ys, (list, tuple)):
        ys = [ys]
    worst = 0.0
    for y, e in zip(ys, a.ember):
        ref = np.load(e)
        y = np.asarray(y).reshape(ref.shape)
        worst = max(worst, float(np.max(np.abs(y - ref))))
    print(f"weights moved by up to {moved:.3g}; max |keras - ember| = {worst:.3g}")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
