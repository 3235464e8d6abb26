"""examples/quickstart.py runs end to end against real services on loopback."""

import importlib.util
import os
import subprocess
import sys

from conftest import PKG_ROOT, tiny_job, write_stories

SCRIPT = os.path.join(PKG_ROOT, "examples", "quickstart.py")


def test_quickstart_runs(trainer, analysis, recorder, tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(tiny_job(write_stories(tmp_path / "train.txt"), tmp_path / "job"))
    out = tmp_path / "out"
    env = {**os.environ, "MONOROUTE_TRAINER_ADDR": trainer.addr,
           "MONOROUTE_RECORDER_ADDR": recorder.addr, "MONOROUTE_ANALYSIS_ADDR": analysis.addr,
           "MONOROUTE_TRAINER_TOKEN": trainer.token,
           "PYTHONPATH": PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, SCRIPT, "--spec", str(spec), "--out", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "succeeded: 8 steps" in r.stdout
    assert "report of run" in r.stdout and "2 routed layers" in r.stdout
    assert "layer 0: counts (8, 50257)" in r.stdout
    assert "load_model: routed layers [0, 2]" in r.stdout
    assert r.stdout.rstrip().endswith("quickstart: done")
    assert (out / "llm_routing_results.json").stat().st_size > 0
    assert (out / "pathways.csv").read_text().startswith("layer,pathway")
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib not installed" in r.stdout
    else:
        assert (out / "quickstart.png").read_bytes()[:4] == b"\x89PNG"
