"""Shared fixtures: the in-tree package, real service processes, monoroute binaries.

The suite runs the package from the source tree without installing it: at collection time
``build_stubs.ensure_stubs()`` generates the gRPC stubs into ``monoroute_client/_gen`` (ignored by
git; regenerated only when a proto changed) and ``clients/python`` goes first on sys.path.
``test_install.py`` separately checks the installed package.

Binaries are taken from $MONOROUTE_BIN_DIR (ctest sets it to <build>/bin), else <repo>/build/bin.
A test needing a binary that is absent is skipped with a message naming the path. Services run
on free 127.0.0.1 ports with temp data dirs and are stopped with SIGTERM at teardown.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.normpath(os.path.join(HERE, ".."))
REPO = os.path.normpath(os.path.join(PKG_ROOT, "..", ".."))
BIN_DIR = os.environ.get("MONOROUTE_BIN_DIR", os.path.join(REPO, "build", "bin"))
TOKENIZER_DIR = os.path.join(REPO, "third_party", "gpt2")

sys.path.insert(0, PKG_ROOT)
import build_stubs  # noqa: E402

build_stubs.ensure_stubs()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name):
    """Path of a monoroute binary; skips the test when it is absent."""
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        pytest.skip(f"needs {path}: absent (build it, or set MONOROUTE_BIN_DIR)")
    return path


class Service:
    """A service process; stopped with SIGTERM (then SIGKILL) at teardown."""

    def __init__(self, name, args, tmp_path, metrics=True, tls_ca=None, tls_cert=None,
                 tls_key=None):
        self.tls = (tls_ca, tls_cert, tls_key)
        self.port = free_port()
        self.metrics_port = free_port() if metrics else None
        self.addr = f"127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"{name}.log"
        self.log = open(self.log_path, "wb")
        metrics_addr = f"127.0.0.1:{self.metrics_port}" if metrics else ""
        argv = [binary(name), "--listen", self.addr, "--metrics-listen", metrics_addr] + args
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready(name)

    def _wait_ready(self, name, timeout=60.0):
        import grpc
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            ca, cert, key = self.tls
            if ca:
                read = lambda p: open(p, "rb").read() if p else None  # noqa: E731
                ch = grpc.secure_channel(self.addr, grpc.ssl_channel_credentials(
                    read(ca), read(key), read(cert)))
            else:
                ch = grpc.insecure_channel(self.addr)
            try:
                grpc.channel_ready_future(ch).result(timeout=0.5)
                return
            except grpc.FutureTimeoutError:
                pass
            finally:
                ch.close()
        raise RuntimeError(f"{name} not ready on {self.addr} after {timeout} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def recorder(tmp_path):
    svc = Service("monoroute-recorder", ["--data-dir", str(tmp_path / "recorder")], tmp_path)
    yield svc
    svc.stop()


@pytest.fixture
def analysis(tmp_path, tmp_path_factory, recorder):
    # Ablate may read files under pytest's temp dirs only (the session's checkpoints included).
    svc = Service("monoroute-analysis",
                  ["--recorder", recorder.addr, "--allowed-root",
                   str(tmp_path_factory.getbasetemp())], tmp_path)
    yield svc
    svc.stop()


@pytest.fixture
def trainer(tmp_path, recorder):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    data = tmp_path / "trainer"
    svc = Service("monoroute-trainer",
                  ["--data-dir", str(data), "--recorder", recorder.addr,
                   "--auth-token-file", str(token), "--allowed-root", str(tmp_path)],
                  tmp_path, metrics=False)  # the client tests need no /metrics
    svc.token = "s3cret"
    svc.tmp = tmp_path
    yield svc
    svc.stop()


STORIES = ["Tom had a red ball. He liked to play with the ball in the park.",
           "Lily saw a big dog. The dog was happy and ran to Lily.",
           "The sun was warm. Ben and Sue went to the sea to swim and play.",
           "Mia found a little cat. The cat was sad, so Mia gave it milk."]


def write_stories(path, n=400):
    """A small plain-text corpus of n stories separated by <|endoftext|> lines."""
    path.write_text("".join(f"{STORIES[i % 4]}\n<|endoftext|>\n" for i in range(n)))
    return path


def tiny_job(train_path, output_dir, steps=8, routing="enabled: true", record=True,
             model="hidden_size: 32, num_layers: 4, num_heads: 4", tokenizer=False):
    """A tiny pretrain job spec (YAML text); routing extra keys via ``routing``; ``tokenizer``:
    name the checkout's GPT-2 files (for `monoroute train`; a trainer service has its own and
    refuses paths outside its allowed roots)."""
    tok = f",\n       tokenizer_dir: \"{TOKENIZER_DIR}\"" if tokenizer else ""
    spec = (
        "kind: pretrain\n"
        f"output_dir: \"{output_dir}\"\n"
        f"model: {{{model}, max_position_embeddings: 128, window_size: 8}}\n"
        f"routing: {{{routing}, num_pathways: 8, top_k: 2, router_hidden: 16}}\n"
        f"data: {{train_path: \"{train_path}\", seq_len: 32, valid_fraction: 0.1{tok}}}\n"
        f"optim: {{max_steps: {steps}, warmup_steps: 2, batch_size: 4}}\n"
        "eval_every: 0\neval_batches: 2\nlog_every: 1\nthreads: 1\n")
    if record:
        spec += "record: {sample_rate: 1.0, eval_split_events: true}\n"
    return spec


def train_checkpoint(tmp_dir, routing="enabled: true", steps=6, name="job", model=None):
    """Trains a tiny job with `monoroute train`; returns its final checkpoint directory.
    ``model``: the job's `model` keys (tiny_job's default when None)."""
    mono = binary("monoroute")
    train = write_stories(tmp_dir / "train.txt", 120)
    spec = tmp_dir / f"{name}.yaml"
    extra = {"model": model} if model is not None else {}
    spec.write_text(tiny_job(train, tmp_dir / name, steps=steps, routing=routing, record=False,
                             tokenizer=True, **extra))
    r = subprocess.run([mono, "train", "--config", str(spec), "--quiet"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"monoroute train failed: {r.stdout}\n{r.stderr}"
    ckpts = sorted((tmp_dir / name / "checkpoints").iterdir())
    assert ckpts, f"no checkpoint under {tmp_dir / name}"
    return ckpts[-1]


@pytest.fixture(scope="session")
def routed_checkpoints(tmp_path_factory):
    """Two routed checkpoints trained by `monoroute train` (session-wide):
    "glbl": routed every 2nd layer, relu router, GLBL;
    "aux_free": layers [1, 3], gelu_new router, temperature 0.5, aux-free (selection bias)."""
    tmp = tmp_path_factory.mktemp("routed")
    return {
        "glbl": train_checkpoint(tmp, "enabled: true, balancing: {method: glbl}", name="glbl"),
        "aux_free": train_checkpoint(
            tmp, "enabled: true, layers: [1, 3], router_activation: gelu_new, temperature: 0.5,"
            " balancing: {method: aux_free, bias_update_rate: 0.002}", name="aux_free"),
    }
