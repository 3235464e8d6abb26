"""Generates (once) and imports the gRPC stubs of monoroute's protos.

The stubs are not committed: they are generated from ``proto/`` with ``python3 -m
grpc_tools.protoc`` into ``monoroute_client/_gen`` (or, when the package directory is not
writable, into ``$XDG_CACHE_HOME/monoroute_client/<hash>``), and regenerated whenever a proto
changes (the directory name carries a hash of the proto files). Generation writes into a temporary
directory that is renamed into place, so concurrent importers are safe.
"""

import hashlib
import os
import shutil
import sys
import tempfile

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def proto_root():
    """Directory holding ``monoroute/<svc>/v1/*.proto`` (env MONOROUTE_PROTO_DIR overrides)."""
    env = os.environ.get("MONOROUTE_PROTO_DIR")
    if env:
        return env
    return os.path.normpath(os.path.join(_PKG_DIR, "..", "..", "..", "proto"))


def _protos(root):
    out = []
    for dirpath, _, files in os.walk(os.path.join(root, "monoroute")):
        out.extend(os.path.relpath(os.path.join(dirpath, f), root)
                   for f in files if f.endswith(".proto"))
    if not out:
        raise RuntimeError(f"monoroute_client: no .proto files under {root}/monoroute "
                           "(set MONOROUTE_PROTO_DIR)")
    return sorted(out)


def _digest(root, protos):
    h = hashlib.sha256()
    for p in protos:
        h.update(p.encode())
        with open(os.path.join(root, p), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def _generate(root, protos, dest):
    from grpc_tools import protoc  # Debian: python3-grpc-tools

    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".gen-", dir=parent)
    try:
        args = ["grpc_tools.protoc", f"-I{root}", f"--python_out={tmp}",
                f"--grpc_python_out={tmp}"]
        if os.path.isdir(well_known):
            args.append(f"-I{well_known}")
        if protoc.main(args + protos) != 0:
            raise RuntimeError(f"monoroute_client: grpc_tools.protoc failed on {protos}")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not os.path.isdir(dest):  # lost a race: someone else renamed first
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_generated(force=False):
    """Returns the directory holding the generated ``monoroute`` stub package, generating it."""
    root = proto_root()
    protos = _protos(root)
    digest = _digest(root, protos)
    candidates = [os.path.join(_PKG_DIR, "_gen", digest)]
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    candidates.append(os.path.join(cache, "monoroute_client", digest))
    last_error = None
    for dest in candidates:
        if os.path.isdir(dest) and not force:
            return dest
        try:
            if force and os.path.isdir(dest):
                shutil.rmtree(dest)
            _generate(root, protos, dest)
            return dest
        except OSError as e:  # not writable: try the next place
            last_error = e
    raise RuntimeError(f"monoroute_client: cannot generate stubs: {last_error}")


def load():
    """Imports and returns the generated modules as a namespace-like dict."""
    gen = ensure_generated()
    if gen not in sys.path:
        sys.path.insert(0, gen)
    from monoroute.recorder.v1 import recorder_pb2, recorder_pb2_grpc
    from monoroute.trainer.v1 import trainer_pb2, trainer_pb2_grpc
    from monoroute.analysis.v1 import analysis_pb2, analysis_pb2_grpc
    return {
        "recorder_pb2": recorder_pb2, "recorder_pb2_grpc": recorder_pb2_grpc,
        "trainer_pb2": trainer_pb2, "trainer_pb2_grpc": trainer_pb2_grpc,
        "analysis_pb2": analysis_pb2, "analysis_pb2_grpc": analysis_pb2_grpc,
    }
