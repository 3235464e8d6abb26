#!/usr/bin/python3
"""monoroute quickstart: train, read the report, look at pathways as text, generate and steer.

Submits a training job to monoroute-trainer, watches it (a tqdm bar when tqdm is installed),
loads the analysis report into pandas, plots it, shows which tokens (as text) each layer's busiest
pathway takes, and runs the final checkpoint in PyTorch: a continuation of a prompt, and the same
with that pathway switched off. Three ways to run it:

    clients/python/examples/quickstart.py --spec job.yaml [--out DIR] [--set key=value]...
    %run clients/python/examples/quickstart.py --spec job.yaml      # IPython / Jupyter
    from quickstart import run; result = run("job.yaml")            # any Python, a notebook

(``examples/quickstart.ipynb`` is the notebook version.) Addresses:
MONOROUTE_{TRAINER,RECORDER,ANALYSIS}_ADDR (default 127.0.0.1:710{3,1,2}); the trainer's token:
MONOROUTE_TRAINER_TOKEN(_FILE). The spec (a path, YAML text or a dict for ``run``) is the
`monoroute train` YAML with paths inside the trainer's allowed roots; without --spec the script
uses $MONOROUTE_QUICKSTART_SPEC. Writes into --out: llm_routing_results.json, the service's
llm_monosemanticity.png, pathways.csv and quickstart.png (matplotlib; skipped with a note when
python3-matplotlib is absent). Exit code 0 when the job succeeded.
"""

import argparse
import os
import sys
from typing import Any, Dict, Mapping, Optional, Sequence, Union

try:
    import monoroute_client
except ImportError:  # running from the source tree without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import monoroute_client

import numpy as np

from monoroute_client import Client, ServiceError, Tokenizer

PROMPT = "Once upon a time, there was a little"


def train(client: Client, spec: Union[str, Mapping[str, Any]], overrides: Sequence[str] = (),
          timeout: float = 3600) -> "monoroute_client.Job":
    """Submits the job and watches it to the end (a progress bar with tqdm, else lines)."""
    job = client.submit_job(spec, overrides=list(overrides), name="quickstart")
    print(f"submitted {job.id} ({job.state})")
    try:
        import tqdm  # noqa: F401
        bar = True
    except ImportError:
        bar = False

    def show(update: "monoroute_client.JobUpdate") -> None:
        if bar or update.kind not in ("STEP", "STATE", "EVAL"):
            return
        p = update.job.progress
        print(f"  {update.job.state:9s} step {p.step}/{p.total_steps} loss {p.total_loss:.4f}",
              flush=True)

    job = client.watch(job, progress=bar, timeout=timeout, on_update=show)
    if job.state != "SUCCEEDED":
        raise RuntimeError(f"job {job.id} ended {job.state}: {job.failure_reason}")
    print(f"{job.id} succeeded: {job.progress.step} steps, checkpoint {job.checkpoint_dir}")
    return job


def report_frames(client: Client, job: "monoroute_client.Job", out: str) -> Any:
    """The report as DataFrames; writes the JSON/PNG and pathways.csv; prints the top pathways."""
    report = client.compute_report(job.run_id)
    report.save(out)
    frames = report.to_pandas()
    layers, pathways = frames.layers, frames.pathways
    print(f"report of run {job.run_id}: {len(layers)} routed layers, {len(pathways)} pathways")
    scalar = [c for c in pathways.columns if not (pathways[c].dtype == object and
                                                  pathways[c].map(lambda v: isinstance(v, list))
                                                  .any())]
    pathways[scalar].to_csv(os.path.join(out, "pathways.csv"), index=False)
    score = next((c for c in ("kl_excess", "kl_excess_nats", "kl_nats", "purity") if c in pathways.columns),
                 pathways.select_dtypes("number").columns[-1])
    top = pathways.sort_values(score, ascending=False).head(5)
    print(f"top pathways by {score}:")
    print(top[[c for c in ("layer", "pathway", "load", score, "purity") if c in top.columns]]
          .to_string(index=False))
    return frames, score


def plot(frames: Any, score: str, job: "monoroute_client.Job", out: str) -> Optional[str]:
    """Per layer, each pathway's load share against its score (quickstart.png)."""
    try:
        import matplotlib
        if "ipykernel" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (Debian: python3-matplotlib): see the service's "
              f"{os.path.join(out, 'llm_monosemanticity.png')} instead")
        return None
    pathways = frames.pathways
    fig, ax = plt.subplots(figsize=(7, 4.5))
    share = pathways["load"] / pathways.groupby("layer")["load"].transform("sum")
    for layer, rows in pathways.assign(share=share).groupby("layer"):
        ax.scatter(rows["share"], rows[score], label=f"layer {layer}", s=18)
    ax.set_xlabel("load share of the layer")
    ax.set_ylabel(score)
    ax.set_title(f"run {job.run_id}: pathways")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out, "quickstart.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    return path


def busiest_pathway(client: Client, job: "monoroute_client.Job", layer: int,
                    tok: Optional[Tokenizer]) -> int:
    """One layer's pathway x token counts as numpy; prints the busiest pathway's tokens."""
    counts = client.get_counts(job.run_id, layer)
    dense = counts.dense()  # uint64 [P, V]
    busiest = int(np.argmax(dense.sum(axis=1)))
    top = np.argsort(dense[busiest])[::-1][:8]
    words = ([repr(tok.decode([int(t)])) for t in top] if tok is not None
             else [str(int(t)) for t in top])
    print(f"layer {layer}: counts {dense.shape}, {counts.nnz} non-zero; pathway {busiest} "
          f"routes most often {', '.join(words)}")
    return busiest


def generate_and_steer(checkpoint_dir: str, layer: int, pathway: int) -> Dict[str, str]:
    """The final checkpoint in PyTorch: a greedy continuation, then with the pathway off."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not installed (Debian: python3-torch): skipping load_model")
        return {}
    model = monoroute_client.load_model(checkpoint_dir)
    print(f"load_model: routed layers {model.routed_layers}; {model.config.num_layers} layers, "
          f"hidden {model.config.hidden_size}, on {model.device}")
    plain = model.generate(PROMPT, max_new_tokens=20)
    print(f"generate: {PROMPT!r} -> {plain.text!r}")
    first = plain.tokens[0].routing[0] if plain.tokens and plain.tokens[0].routing else None
    if first is not None:
        print(f"  its first token {plain.tokens[0].text!r} came from layer {first.layer} "
              f"pathways {first.pathways}")
    result = {"plain": plain.text}
    if layer in model.routed_layers:
        with model.steer(ablate=[(layer, pathway)]):
            steered = model.generate(PROMPT, max_new_tokens=20)
        print(f"with layer {layer} pathway {pathway} off: {steered.text!r}")
        result["ablated"] = steered.text
    return result


def run(spec: Union[str, Mapping[str, Any]], out: str = "quickstart-out",
        overrides: Sequence[str] = (), timeout: float = 3600,
        client: Optional[Client] = None) -> Dict[str, Any]:
    """The whole quickstart; returns the job, the report frames and the generated texts."""
    os.makedirs(out, exist_ok=True)
    own = client is None
    client = client or Client()
    try:
        print(f"trainer {client.trainer_addr}, recorder {client.recorder_addr}, "
              f"analysis {client.analysis_addr}")
        job = train(client, spec, overrides, timeout)
        frames, score = report_frames(client, job, out)
        plot(frames, score, job, out)
        tok = None
        if os.path.isfile(os.path.join(job.checkpoint_dir, "vocab.json")):
            tok = Tokenizer(job.checkpoint_dir)
        first = int(frames.layers["layer"].iloc[0])
        busiest = busiest_pathway(client, job, first, tok)
        texts = {}
        if os.path.isdir(job.checkpoint_dir):
            texts = generate_and_steer(job.checkpoint_dir, first, busiest)
        print("quickstart: done")
        return {"job": job, "frames": frames, "texts": texts}
    finally:
        if own:
            client.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="monoroute quickstart")
    ap.add_argument("--spec", default=os.environ.get("MONOROUTE_QUICKSTART_SPEC"),
                    help="job spec YAML (default $MONOROUTE_QUICKSTART_SPEC)")
    ap.add_argument("--out", default="quickstart-out", help="directory for the report and plots")
    ap.add_argument("--set", action="append", default=[], help="spec override a.b=v (repeatable)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job")
    args = ap.parse_args(argv)
    if not args.spec:
        print("quickstart: give --spec job.yaml (or set MONOROUTE_QUICKSTART_SPEC)")
        return 2
    try:
        run(args.spec, args.out, args.set, args.timeout)
    except (ServiceError, RuntimeError, OSError) as e:
        print(f"quickstart: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    if "ipykernel" not in sys.modules:  # %run in Jupyter: no SystemExit traceback
        sys.exit(code)
