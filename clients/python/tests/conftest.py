"""Fixtures that start real monoroute service binaries on free 127.0.0.1 ports in temp dirs.

Binaries are taken from $MONOROUTE_BIN_DIR (ctest sets it to <build>/bin), else <repo>/build/bin.
A test needing a binary that is absent is skipped with a message naming the path.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
BIN_DIR = os.environ.get("MONOROUTE_BIN_DIR", os.path.join(REPO, "build", "bin"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        pytest.skip(f"needs {path}: absent (build it, or set MONOROUTE_BIN_DIR)")
    return path


class Service:
    """A service process; stopped with SIGTERM (then SIGKILL) at teardown."""

    def __init__(self, name, args, tmp_path, metrics=True):
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
def analysis(tmp_path, recorder):
    svc = Service("monoroute-analysis", ["--recorder", recorder.addr], tmp_path)
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
