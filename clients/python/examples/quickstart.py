#!/usr/bin/python3
"""monoroute quickstart, notebook style (each ``# %%`` cell runs on its own in Jupyter/VS Code).

Submits a training job to monoroute-trainer, watches it, loads the analysis report into pandas,
plots it, pulls one layer's pathway x token counts into numpy and runs the final checkpoint in
PyTorch:

    clients/python/examples/quickstart.py --spec job.yaml [--out DIR] [--set key=value]...

Addresses: MONOROUTE_{TRAINER,RECORDER,ANALYSIS}_ADDR (default 127.0.0.1:710{3,1,2}); the
trainer's token: MONOROUTE_TRAINER_TOKEN(_FILE). The job spec is the `monoroute train` YAML with
paths inside the trainer's allowed roots. Writes into --out: llm_routing_results.json, the
service's llm_monosemanticity.png, pathways.csv and quickstart.png (matplotlib; skipped with a
note when python3-matplotlib is absent). Exit code 0 when the job succeeded.
"""

# %% Setup: the client (installed with `pip install clients/python`, or run from the checkout).
import argparse
import os
import sys

try:
    import monoroute_client
except ImportError:  # running from the source tree without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import monoroute_client

import numpy as np

from monoroute_client import Client, ServiceError

ap = argparse.ArgumentParser(description="monoroute quickstart")
ap.add_argument("--spec", required=True, help="job spec YAML (as for `monoroute train`)")
ap.add_argument("--out", default="quickstart-out", help="directory for the report and plots")
ap.add_argument("--set", action="append", default=[], help="spec override a.b=v (repeatable)")
ap.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job")
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
client = Client()
print(f"trainer {client.trainer_addr}, recorder {client.recorder_addr}, "
      f"analysis {client.analysis_addr}")

# %% Submit the job and watch it to the end.
with open(args.spec, encoding="utf-8") as f:
    spec_yaml = f.read()
try:
    job = client.submit_job(spec_yaml, overrides=args.set, name="quickstart")
except ServiceError as e:
    sys.exit(f"quickstart: {e}")
print(f"submitted {job.id} ({job.state})")


def show(update):
    p = update.job.progress
    if update.kind in ("STEP", "SNAPSHOT", "STATE"):
        print(f"  {update.job.state:9s} step {p.step}/{p.total_steps} loss {p.total_loss:.4f}"
              f" ({p.tokens_per_s:,.0f} tok/s)", flush=True)
    elif update.kind == "EVAL":
        ev = update.job.evals[-1]
        print(f"  eval step {ev.step}: val_loss {ev.val_loss:.4f}", flush=True)


job = client.wait_job(job.id, timeout=args.timeout, on_update=show)
if job.state != "SUCCEEDED":
    sys.exit(f"quickstart: job {job.id} ended {job.state}: {job.failure_reason}")
print(f"{job.id} succeeded: {job.progress.step} steps, checkpoint {job.checkpoint_dir}")

# %% The analysis report as pandas DataFrames (one row per layer / per pathway).
report = client.compute_report(job.run_id)
report.save(args.out)
frames = report.to_pandas()
layers, pathways = frames.layers, frames.pathways
print(f"report of run {job.run_id}: {len(layers)} routed layers, {len(pathways)} pathways "
      f"(columns: {', '.join(pathways.columns[:8])}, ...)")
pathways.drop(columns=[c for c in pathways.columns if pathways[c].dtype == object
                       and pathways[c].map(lambda v: isinstance(v, list)).any()]) \
    .to_csv(os.path.join(args.out, "pathways.csv"), index=False)
score = next((c for c in ("kl_excess", "kl_excess_nats", "kl_nats", "purity") if c in pathways.columns),
             pathways.select_dtypes("number").columns[-1])
top = pathways.sort_values(score, ascending=False).head(5)
print(f"top pathways by {score}:")
print(top[[c for c in ("layer", "pathway", "load", score, "purity") if c in top.columns]]
      .to_string(index=False))

# %% Plot: per layer, each pathway's load share against its specialisation score.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib not installed (Debian: python3-matplotlib): see the service's "
          f"{os.path.join(args.out, 'llm_monosemanticity.png')} instead")
if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    share = pathways["load"] / pathways.groupby("layer")["load"].transform("sum")
    for layer, rows in pathways.assign(share=share).groupby("layer"):
        ax.scatter(rows["share"], rows[score], label=f"layer {layer}", s=18)
    ax.set_xlabel("load share of the layer")
    ax.set_ylabel(score)
    ax.set_title(f"run {job.run_id}: pathways")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "quickstart.png"), dpi=100)
    print(f"wrote {os.path.join(args.out, 'quickstart.png')}")

# %% Counts: one layer's pathway x token matrix as numpy.
first = int(layers["layer"].iloc[0])
counts = client.get_counts(job.run_id, first)
dense = counts.dense()  # uint64 [P, V]
busiest = int(np.argmax(dense.sum(axis=1)))
tokens = np.argsort(dense[busiest])[::-1][:5]
print(f"layer {first}: counts {dense.shape}, {counts.nnz} non-zero; pathway {busiest} "
      f"routes most often token ids {tokens.tolist()}")

# %% The final checkpoint in PyTorch (the routed model, same logits as `monoroute forward`).
try:
    import torch
except ImportError:
    torch = None
    print("torch not installed (Debian: python3-torch): skipping load_model")
if torch is not None and os.path.isdir(job.checkpoint_dir):
    model = monoroute_client.load_model(job.checkpoint_dir)
    ids = torch.tensor([[int(t) for t in tokens] + [int(tokens[0])]])
    with torch.no_grad():
        out = model(ids)
    print(f"load_model: routed layers {model.routed_layers}; logits {tuple(out.logits.shape)}; "
          f"layer {out.routing[0].layer} sends token {int(ids[0, 0])} to pathways "
          f"{out.routing[0].topk_indices[0].tolist()}" if out.routing else
          f"load_model: dense model; logits {tuple(out.logits.shape)}")
client.close()
print("quickstart: done")
