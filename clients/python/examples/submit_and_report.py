#!/usr/bin/python3
"""Submits a training job to monoroute-trainer, follows it, then prints the analysis report.

    clients/python/examples/submit_and_report.py job.yaml [--out DIR] [--name NAME]

Addresses come from MONOROUTE_{TRAINER,RECORDER,ANALYSIS}_ADDR (default 127.0.0.1:710{3,1,2});
the trainer token from MONOROUTE_TRAINER_TOKEN(_FILE). Exit code 0 when the job SUCCEEDED.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from monoroute_client import Client, ServiceError  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job_yaml")
    ap.add_argument("--out", default="report", help="where the JSON and PNG go")
    ap.add_argument("--name", default="", help="display name of the job")
    ap.add_argument("--set", action="append", default=[], help="override a.b=v (repeatable)")
    args = ap.parse_args()
    with open(args.job_yaml, encoding="utf-8") as f:
        spec = f.read()
    with Client() as c:
        try:
            job = c.submit_job(spec, overrides=args.set, name=args.name)
            print(f"submitted {job.id} ({c.state_name(job)})")

            def show(update):
                p = update.job.progress
                print(f"\r{update.job.id} {c.state_name(update.job):9s} step {p.step}/"
                      f"{p.total_steps} loss {p.total_loss:.4f} {p.tokens_per_s:,.0f} tok/s",
                      end="", flush=True)

            job = c.wait_job(job.id, on_update=show)
            print()
            if c.state_name(job) != "SUCCEEDED":
                print(f"job {job.id} ended {c.state_name(job)}: {job.failure_reason}",
                      file=sys.stderr)
                return 1
            report, resp = c.get_report(job.recorder_run_id or job.id, out_dir=args.out)
            for layer in resp.layers:
                print(f"layer {layer.layer}: " + ", ".join(
                    f"{f.name}={getattr(layer, f.name):.4g}" for f in layer.DESCRIPTOR.fields
                    if f.type == f.TYPE_DOUBLE))
            print(f"wrote {args.out}/llm_routing_results.json"
                  + (" and llm_monosemanticity.png" if resp.png else ""))
        except ServiceError as e:
            print(f"submit_and_report: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
