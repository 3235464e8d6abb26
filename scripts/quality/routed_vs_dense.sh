#!/usr/bin/env bash
# Routing-quality run (issue 6): GLBL fine-tune of the shared TinyStories-1M-architecture model
# with the default routing, next to the same fine-tune without routing; both evaluated on the whole
# of valid.txt, as is the base model before fine-tuning (`monoroute eval`, same 128-token windows).
# Prints one JSON line: {"routed_val_loss", "dense_val_loss", "gap_nats", "base_val_loss", ...}.
#
# usage: scripts/quality/routed_vs_dense.sh [OUT_DIR] [STEPS]   (env SHARED=../shared, THREADS=2,
#        VARIANTS="routed dense": a variant left out is read from an earlier run in OUT_DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/monoroute-quality}
STEPS=${2:-400}
SHARED=${SHARED:-../shared}
THREADS=${THREADS:-2}
VARIANTS=${VARIANTS:-routed dense}
BIN=${BIN:-build/bin/monoroute}
MODEL="$SHARED/models/tinystories-1m-arch-base"
for f in "$MODEL/model.safetensors" "$SHARED/data/tinystories/train.txt" \
         "$SHARED/data/tinystories/valid.txt"; do
  [[ -f "$f" ]] || { echo "missing $f (needs ../shared)" >&2; exit 2; }
done
mkdir -p "$OUT"
cat > "$OUT/job.yaml" <<YAML
kind: finetune
model_dir: $(realpath "$MODEL")
data:
  train_path: $(realpath "$SHARED/data/tinystories/train.txt")
  valid_path: $(realpath "$SHARED/data/tinystories/valid.txt")
  seq_len: 128
  cache_dir: $OUT/cache
optim: {lr: 1e-3, warmup_steps: 40, max_steps: $STEPS, batch_size: 16}
eval_every: 100
eval_batches: 20
checkpoint_every: 0
threads: $THREADS
log_every: 10
seed: 1
YAML
echo "== base: $BIN eval --model $MODEL --data valid.txt --seq-len 128 --output json" >&2
"$BIN" eval --model "$MODEL" --data "$SHARED/data/tinystories/valid.txt" --seq-len 128 \
  --batch 16 --threads "$THREADS" --output json > "$OUT/base_eval.json"
for variant in $VARIANTS; do
  extra=()
  [[ $variant == dense ]] && extra=(--set routing.enabled=false)
  rm -rf "${OUT:?}/$variant"
  echo "== $variant: $BIN train --config $OUT/job.yaml --set output_dir=$OUT/$variant ${extra[*]}" >&2
  "$BIN" train --config "$OUT/job.yaml" --set "output_dir=$OUT/$variant" "${extra[@]}" \
    > "$OUT/$variant.log" 2>&1
done
python3 - "$OUT" "$STEPS" <<'PY'
import json, sys
out, steps = sys.argv[1], int(sys.argv[2])
def final(variant):
    lines = [json.loads(l) for l in open(f"{out}/{variant}/metrics.jsonl")]
    evals = [l for l in lines if l.get("type") == "eval"]
    stepl = [l for l in lines if l.get("type") == "step"]
    return evals[-1], stepl[-1]
re_, rs = final("routed")
de, _ = final("dense")
r, d = re_["val_loss"], de["val_loss"]
vio = [round(l["max_violation"], 3) for l in rs.get("balance", [])]
valid_vio = [round(l["max_violation"], 3) for l in re_.get("balance", [])]
base = json.load(open(f"{out}/base_eval.json"))["loss"]
print(json.dumps({"steps": steps, "base_val_loss": round(base, 4), "routed_val_loss": round(r, 4), "dense_val_loss": round(d, 4),
                  "gap_nats": round(r - d, 4), "target_gap": 0.15, "met": r - d <= 0.15,
                  "routed_final_step_max_vio": vio, "routed_valid_max_vio": valid_vio}))
PY
