#!/usr/bin/env bash
# Builds the seed corpora of both fuzz targets from the committed fixtures (nothing here is
# committed): corpus/keras_convert/ gets every fixture .keras (and the recurrent and
# matrix fixtures' .keras/.h5), the .h5/.keras files inside
# host-tools/tests/data/legacy_h5_fixtures.zip and functional_fixtures.zip, and for each .keras its config.json and
# its zip-less KFZ1 form (see fuzz_targets/keras_convert.rs);
# corpus/blob_load/ gets each model converted with `ember convert` to f32 and fixed.
# Run from anywhere: bash host-tools/fuzz/make_seeds.sh
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$fuzz/../.." && pwd)
kc=$fuzz/corpus/keras_convert
bl=$fuzz/corpus/blob_load
mkdir -p "$kc" "$bl"
cp "$fuzz"/seeds/keras_convert/* "$kc"/ 2>/dev/null || true
cp "$fuzz"/seeds/blob_load/* "$bl"/ 2>/dev/null || true
for f in "$root"/tests/fixtures/*/model.keras; do
    cp "$f" "$kc/$(basename "$(dirname "$f")").keras"
done
cp "$root"/host-tools/tests/data/*.keras "$kc"/
# The recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional, return_state, stateful, the
# three file dialects) and the fixture matrix of every layer family.
for d in recurrent recurrent_models sentiment matrix; do
    for f in "$root"/tests/fixtures/$d/*.keras "$root"/tests/fixtures/$d/*.h5; do
        [ -e "$f" ] && cp "$f" "$kc/${d}_$(basename "$f")"
    done
done
python3 - "$root/host-tools/tests/data/legacy_h5_fixtures.zip" \
    "$root/host-tools/tests/data/functional_fixtures.zip" "$kc" <<'PY'
import sys, zipfile, os
*srcs, out = sys.argv[1:]
for src in srcs:
    with zipfile.ZipFile(src) as z:
        for n in z.namelist():
            if not n.endswith("/"):
                open(os.path.join(out, os.path.basename(n)), "wb").write(z.read(n))
for n in sorted(os.listdir(out)):
    if n.endswith(".keras"):
        with zipfile.ZipFile(os.path.join(out, n)) as z:
            config, h5 = z.read("config.json"), z.read("model.weights.h5")
        open(os.path.join(out, n[:-6] + ".config.json"), "wb").write(config)
        # The zip-less form: KFZ1, u32 LE config length, config.json, model.weights.h5.
        parts = b"KFZ1" + len(config).to_bytes(4, "little") + config + h5
        open(os.path.join(out, n[:-6] + ".parts"), "wb").write(parts)
PY
(cd "$root" && cargo build -q -p ember-cli --bin ember)
ember=$root/target/debug/ember
for f in "$kc"/*.keras "$kc"/*.h5; do
    b=$(basename "$f")
    for dt in f32 fixed; do
        "$ember" convert "$f" -o "$bl/${b%.*}_$dt.emb" --dtype "$dt" >/dev/null 2>&1 || true
    done
done
echo "keras_convert: $(ls "$kc" | wc -l) seeds; blob_load: $(ls "$bl" | wc -l) seeds"
