"""The package installs offline into a venv and imports without the source checkout; it builds
without setuptools or the `wheel` package (its own standard-library PEP 517 backend), from an sdist
that carries the protos, and `cmake --install` puts a wheel in share/monoroute/python."""

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import BIN_DIR, PKG_ROOT, REPO

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


# Makes `import wheel` / `import setuptools` fail in every process that inherits PYTHONPATH
# (pip's backend subprocess included): the build must not need them.
BLOCKER = (
    "import sys\n"
    "class _Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('wheel', 'setuptools'):\n"
    "            raise ImportError(f'{name} is blocked by the test')\n"
    "sys.meta_path.insert(0, _Block())\n")


def installed_check(venv, cwd):
    out = run([str(venv / "bin" / "python"), "-c", CHECK], cwd=cwd, env={"PYTHONPATH": ""})
    assert out.strip().startswith(str(venv)), out
    return os.path.dirname(out.strip())


@pytest.mark.skipif(not os.access(PYTHON, os.X_OK), reason=f"needs {PYTHON}")
def test_builds_without_wheel_or_setuptools(tmp_path):
    src = copy_source(tmp_path / "src")
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCKER)
    r = subprocess.run([PYTHON, "-c", "import wheel"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(block)})
    assert r.returncode != 0 and "blocked by the test" in r.stderr
    offline = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "PYTHONPATH": str(block), "MONOROUTE_PROTO_DIR": ""}
    # From the checkout (stubs generated with this Python's protobuf): no build isolation.
    venv = tmp_path / "v"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    out = run([str(venv / "bin" / "pip"), "install", "--no-deps", "--no-build-isolation",
               str(src)], cwd=tmp_path, env=offline)
    assert "bdist_wheel" not in out
    pkg = installed_check(venv, tmp_path)
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    assert os.path.isfile(os.path.join(pkg, "tokenizer.py"))
    # From its sdist (stubs inside): pip's default isolated build needs nothing from an index.
    sdist = run([PYTHON, str(src / "monoroute_build.py"), "sdist", str(tmp_path / "dist")],
                cwd=tmp_path, env={"MONOROUTE_PROTO_DIR": ""}).strip()
    venv2 = tmp_path / "v2"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv2)], cwd=tmp_path)
    run([str(venv2 / "bin" / "pip"), "install", "--no-deps", sdist], cwd=tmp_path, env=offline)
    installed_check(venv2, tmp_path)


@pytest.mark.skipif(not os.access(PYTHON, os.X_OK), reason=f"needs {PYTHON}")
def test_sdist_carries_the_protos_and_builds_alone(tmp_path):
    src = copy_source(tmp_path / "src")
    sdist = run([PYTHON, str(src / "monoroute_build.py"), "sdist", str(tmp_path / "dist")],
                cwd=tmp_path, env={"MONOROUTE_PROTO_DIR": ""}).strip()
    with tarfile.open(sdist) as t:
        names = t.getnames()
        t.extractall(tmp_path / "unpacked")
    base = os.path.basename(sdist)[:-len(".tar.gz")]
    assert f"{base}/proto/monoroute/trainer/v1/trainer.proto" in names
    assert f"{base}/monoroute_client/_gen/monoroute/trainer/v1/trainer_pb2.py" in names
    # The repository is gone: only the unpacked sdist, elsewhere.
    shutil.rmtree(tmp_path / "src")
    alone = tmp_path / "unpacked" / base
    venv = tmp_path / "v"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    run([str(venv / "bin" / "pip"), "install", "--no-deps", str(alone)], cwd=tmp_path,
        env={"PIP_NO_INDEX": "1", "MONOROUTE_PROTO_DIR": ""})
    installed_check(venv, tmp_path)
    # A bare copy of clients/python without protos and without generated stubs says what to do.
    bare = tmp_path / "bare"
    shutil.copytree(PKG_ROOT, bare, ignore=shutil.ignore_patterns("_gen", "__pycache__"))
    r = subprocess.run([PYTHON, str(bare / "monoroute_build.py"), "wheel", str(tmp_path / "w")],
                       capture_output=True, text=True, env={**os.environ,
                                                            "MONOROUTE_PROTO_DIR": ""})
    assert r.returncode != 0 and "sdist" in r.stderr and "MONOROUTE_PROTO_DIR" in r.stderr


def test_cmake_install_ships_a_wheel(tmp_path):
    build = os.path.dirname(os.path.abspath(BIN_DIR))
    cmake = shutil.which("cmake")
    if cmake is None or not os.path.isfile(os.path.join(build, "cmake_install.cmake")):
        pytest.skip(f"needs cmake and a configured build in {build}")
    prefix = tmp_path / "prefix"
    run([cmake, "--install", build, "--prefix", str(prefix), "--component", "python"],
        cwd=tmp_path)
    (wheel,) = glob.glob(str(prefix / "share" / "monoroute" / "python" / "*.whl"))
    assert os.path.basename(wheel) == "monoroute_client-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        record = z.read("monoroute_client-0.1.0.dist-info/RECORD").decode()
    assert "monoroute_client/_gen/monoroute/analysis/v1/analysis_types.py" in names
    assert "monoroute_client/py.typed" in names and "monoroute_client/lm.py" in names
    assert all(n in record for n in names)
    venv = tmp_path / "v"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    run([str(venv / "bin" / "pip"), "install", "--no-deps", wheel], cwd=tmp_path,
        env={"PIP_NO_INDEX": "1"})
    installed_check(venv, tmp_path)
