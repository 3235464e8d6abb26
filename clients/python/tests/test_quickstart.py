"""examples/quickstart.py and examples/quickstart.ipynb run end to end against real services on
loopback: the script from the command line and as a function (no argparse), the notebook
headless (`jupyter nbconvert --execute`, Debian's jupyter-nbconvert + python3-ipykernel)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import PKG_ROOT, tiny_job, write_stories

SCRIPT = os.path.join(PKG_ROOT, "examples", "quickstart.py")
NOTEBOOK = os.path.join(PKG_ROOT, "examples", "quickstart.ipynb")


def service_env(trainer, analysis, recorder, **extra):
    return {**os.environ, "MONOROUTE_TRAINER_ADDR": trainer.addr,
            "MONOROUTE_RECORDER_ADDR": recorder.addr, "MONOROUTE_ANALYSIS_ADDR": analysis.addr,
            "MONOROUTE_TRAINER_TOKEN": trainer.token,
            "PYTHONPATH": PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}


def test_quickstart_runs(trainer, analysis, recorder, tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(tiny_job(write_stories(tmp_path / "train.txt"), tmp_path / "job"))
    out = tmp_path / "out"
    env = service_env(trainer, analysis, recorder)
    r = subprocess.run([sys.executable, SCRIPT, "--spec", str(spec), "--out", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "succeeded: 8 steps" in r.stdout
    assert "report of run" in r.stdout and "2 routed layers" in r.stdout
    assert "layer 0: counts (8, 50257)" in r.stdout
    # Tokens as text, not ids: the busiest pathway's tokens are quoted strings.
    line = next(x for x in r.stdout.splitlines() if "routes most often" in x)
    assert "'" in line.split("routes most often", 1)[1], line
    assert "load_model: routed layers [0, 2]" in r.stdout
    assert "generate: 'Once upon a time, there was a little' -> '" in r.stdout
    assert "pathway" in r.stdout and " off: '" in r.stdout
    assert r.stdout.rstrip().endswith("quickstart: done")
    assert (out / "llm_routing_results.json").stat().st_size > 0
    assert (out / "pathways.csv").read_text().startswith("layer,pathway")
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib not installed" in r.stdout
    else:
        assert (out / "quickstart.png").read_bytes()[:4] == b"\x89PNG"
    # Without --spec (as `%run quickstart.py` in Jupyter): a message, no argparse error.
    r = subprocess.run([sys.executable, SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                       env={**env, "MONOROUTE_QUICKSTART_SPEC": ""}, timeout=120)
    assert r.returncode == 2 and "give --spec" in r.stdout and "error" not in r.stderr
    # As a function, with the spec as a dict: the texts come back.
    code = ("import sys, yaml; sys.path.insert(0, sys.argv[1]); import quickstart\n"
            "res = quickstart.run(yaml.safe_load(open(sys.argv[2])), out=sys.argv[3],\n"
            "                     overrides=['output_dir=' + sys.argv[4]])\n"
            "print('TEXTS', sorted(res['texts']), res['job'].state)\n")
    r = subprocess.run([sys.executable, "-c", code, os.path.dirname(SCRIPT), str(spec),
                        str(tmp_path / "out2"), str(tmp_path / "job2")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "TEXTS ['ablated', 'plain'] SUCCEEDED" in r.stdout


def test_notebook_runs_headless(trainer, analysis, recorder, tmp_path):
    jupyter = shutil.which("jupyter")
    if jupyter is None or importlib.util.find_spec("ipykernel") is None:
        pytest.skip("needs jupyter nbconvert and ipykernel (Debian: jupyter-nbconvert, "
                    "python3-ipykernel)")
    spec = tmp_path / "job.yaml"
    spec.write_text(tiny_job(write_stories(tmp_path / "train.txt"), tmp_path / "job"))
    nb = tmp_path / "quickstart.ipynb"
    shutil.copy(NOTEBOOK, nb)
    env = service_env(trainer, analysis, recorder, MONOROUTE_QUICKSTART_SPEC=str(spec),
                      MONOROUTE_QUICKSTART_OUT=str(tmp_path / "out"),
                      PYDEVD_DISABLE_FILE_VALIDATION="1")
    r = subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute", "--inplace",
                        "--ExecutePreprocessor.timeout=600", str(nb)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr[-4000:]}"
    cells = json.loads(nb.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("monoroute job" in "".join(h) and "SUCCEEDED" in "".join(h) for h in html)
    assert any("monoroute report" in "".join(h) for h in html)
    text = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert "plain:" in text and "ablated:" in text and "notebook: done" in text
