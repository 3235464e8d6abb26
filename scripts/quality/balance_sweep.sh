#!/usr/bin/env bash
# Balancing sweep: GLBL fine-tunes of one dense checkpoint at several (alpha, EMA momentum) pairs,
# each printing the MaxVio per routed layer of its final validation pass (the routing of the whole
# validation split, from metrics.jsonl's last eval line) and its validation loss. Used to choose the
# default alpha (docs/BENCHMARKS.md, "Balancing").
#
# usage: scripts/quality/balance_sweep.sh MODEL_DIR TRAIN_TXT OUT_DIR [STEPS] "ALPHA:EMA ..."
#   e.g. scripts/quality/balance_sweep.sh /tmp/demo/pretrained corpus/train.txt /tmp/sweep 60 \
#        "0.01:0.5 0.1:0.5 0.1:0"          (env BIN=build/bin/monoroute, THREADS=2, BATCH=16)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=$(realpath "$1"); TRAIN=$(realpath "$2"); OUT=$3; STEPS=${4:-60}
PAIRS=${5:-"0.01:0.5 0.1:0.5 0.1:0"}
BIN=${BIN:-build/bin/monoroute}; THREADS=${THREADS:-2}; BATCH=${BATCH:-16}
mkdir -p "$OUT"
for pair in $PAIRS; do
  a=${pair%%:*}; e=${pair##*:}; dir="$OUT/a$a-e$e"
  rm -rf "$dir"
  cat > "$dir.yaml" <<YAML
kind: finetune
model_dir: "$MODEL"
data: {train_path: "$TRAIN", seq_len: 128, valid_fraction: 0.05}
threads: $THREADS
log_every: 5
routing: {num_pathways: 16, top_k: 4, router_hidden: 128, route_every_n_layers: 2,
          balancing: {method: glbl, alpha: $a, ema_momentum: $e}}
optim: {lr: 1e-3, warmup_steps: 10, max_steps: $STEPS, batch_size: $BATCH}
eval_every: 0
eval_batches: 10
checkpoint_every: 0
output_dir: "$dir"
record: {eval_split_events: false}
YAML
  "$BIN" train --config "$dir.yaml" > "$dir.log" 2>&1
  python3 - "$dir" "$a" "$e" <<'PY'
import json, sys
d, a, e = sys.argv[1:4]
lines = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
ev = [l for l in lines if l.get("type") == "eval"][-1]
print(json.dumps({"alpha": float(a), "ema_momentum": float(e), "val_loss": round(ev["val_loss"], 4),
                  "valid_max_vio": [round(l["max_violation"], 3) for l in ev.get("balance", [])]}))
PY
done
