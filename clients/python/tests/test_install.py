"""The package installs offline into a venv and imports without the source checkout."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import PKG_ROOT, REPO

PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio / -numpy / -setuptools
CHECK = ("import monoroute_client as m, sys\n"
         "c = m.Client(recorder='127.0.0.1:1')\n"
         "assert m.pb.trainer_pb2.JobState.Name(3) == 'SUCCEEDED'\n"
         "assert m.pb.analysis_types.LayerSummary.PROTO == 'monoroute.analysis.v1.LayerSummary'\n"
         "from monoroute_client.modeling import routed_gpt_neo\n"
         "print(m.__file__)\n")


def copy_source(dst):
    """clients/python and proto/ of the checkout, without generated or built files."""
    ignore = shutil.ignore_patterns("_gen", "build", "*.egg-info", "__pycache__", ".gen-*",
                                    ".pytest_cache")
    shutil.copytree(PKG_ROOT, dst / "clients" / "python", ignore=ignore)
    shutil.copytree(os.path.join(REPO, "proto"), dst / "proto")
    return dst / "clients" / "python"


def run(argv, cwd, env=None):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, f"{argv} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.mark.skipif(not os.access(PYTHON, os.X_OK), reason=f"needs {PYTHON}")
def test_pip_install_offline_and_import_anywhere(tmp_path):
    src = copy_source(tmp_path / "src")
    venv = tmp_path / "v"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    offline = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PYTHONPATH": "", "MONOROUTE_PROTO_DIR": ""}
    run([str(venv / "bin" / "pip"), "install", "--no-deps", "--no-build-isolation", str(src)],
        cwd=tmp_path, env=offline)
    # Import from an unrelated directory with the source checkout gone.
    shutil.rmtree(tmp_path / "src")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = run([str(venv / "bin" / "python"), "-c", CHECK], cwd=elsewhere,
                    env={"PYTHONPATH": ""}).strip()
    assert installed.startswith(str(venv)), installed
    pkg_dir = os.path.dirname(installed)
    for rel in ("_gen/monoroute/trainer/v1/trainer_pb2_grpc.py",
                "_gen/monoroute/recorder/v1/recorder_types.py",
                "modeling/modeling_monoroute.py", "modeling/routed_gpt_neo.py"):
        assert os.path.exists(os.path.join(pkg_dir, rel)), rel
    # A copy of the installed package, outside any venv or checkout, imports too.
    copy = tmp_path / "copy"
    shutil.copytree(pkg_dir, copy / "monoroute_client")
    out = run([PYTHON, "-c", CHECK], cwd=elsewhere, env={"PYTHONPATH": str(copy)}).strip()
    assert out == str(copy / "monoroute_client" / "__init__.py")


def test_in_tree_import_needs_generated_stubs(tmp_path):
    # Without _gen the package says how to get it instead of reading proto/ at import time.
    src = copy_source(tmp_path / "src")
    r = subprocess.run([sys.executable, "-c", "import monoroute_client"], cwd=src,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode != 0
    assert "build_stubs.py" in r.stderr and "pip install" in r.stderr
