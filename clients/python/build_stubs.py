#!/usr/bin/python3
"""Generates the gRPC stubs and typed result classes of monoroute's protos (build time only).

Output: ``monoroute_client/_gen/monoroute/<svc>/v1/``: ``<svc>_pb2.py``, ``<svc>_pb2_grpc.py``
(protoc) and ``<svc>_types.py`` (one frozen dataclass per message, generated here from the
protos' descriptors *with their comments*, so the wrappers always match the protos).

Used by the build backend ``monoroute_build.py`` (``pip install`` / wheel builds regenerate it, so
the installed package ships it and never reads proto/ at import time) and by the in-tree test
suite (``tests/conftest.py``).
Run by hand to use the package in-tree without installing it:

    /usr/bin/python3 clients/python/build_stubs.py [--proto-dir DIR] [--force]

Protos: ``--proto-dir``, else ``$MONOROUTE_PROTO_DIR``, else ``<repo>/proto``, else ``proto/``
beside this file (an sdist carries a copy). Compiler: Debian's
``protoc`` with ``grpc_python_plugin`` (protobuf-compiler, protobuf-compiler-grpc) when both are
on PATH, else ``grpc_tools.protoc`` (pip's grpcio-tools; Debian 12's python3-grpc-tools bundles a
protoc too old for proto3 ``optional``). Generated imports are rewritten from
``monoroute.<svc>.v1`` to ``monoroute_client._gen.monoroute.<svc>.v1`` (no top-level ``monoroute``
package); descriptors keep their canonical names (``monoroute/trainer/v1/trainer.proto``).
The output directory is replaced atomically and carries a ``STAMP`` (hash of the protos and of
this file), so ``ensure_stubs`` regenerates only when something changed.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "monoroute_client", "_gen")
GEN_PACKAGE = "monoroute_client._gen"


def default_proto_dir():
    """``$MONOROUTE_PROTO_DIR``, else ``<repo>/proto`` (two levels above this file), else
    ``proto/`` beside this file (an sdist's copy)."""
    env = os.environ.get("MONOROUTE_PROTO_DIR")
    if env:
        return env
    repo = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
    local = os.path.join(HERE, "proto")
    if not os.path.isdir(os.path.join(repo, "monoroute")) and os.path.isdir(local):
        return local
    return repo


def list_protos(proto_dir):
    """Sorted ``monoroute/**.proto`` paths relative to ``proto_dir``; error when there are none."""
    out = []
    for dirpath, _, files in os.walk(os.path.join(proto_dir, "monoroute")):
        out.extend(os.path.relpath(os.path.join(dirpath, f), proto_dir)
                   for f in files if f.endswith(".proto"))
    if not out:
        raise FileNotFoundError(
            f"no .proto files under {os.path.join(proto_dir, 'monoroute')} (build monoroute-client "
            "from the monoroute repository or from its sdist (`monoroute_build.py sdist`, which "
            "carries the protos), or set MONOROUTE_PROTO_DIR to the repository's proto/)")
    return sorted(out)


def stamp(proto_dir, protos):
    """SHA-256 (hex) over the protos' paths and contents and this generator's source."""
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    for p in protos:
        h.update(p.encode() + b"\0")
        with open(os.path.join(proto_dir, p), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _run_protoc(proto_dir, protos, out, descriptor_set):
    common = [f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
              "--include_source_info", f"--descriptor_set_out={descriptor_set}"]
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        r = subprocess.run([protoc, f"--plugin=protoc-gen-grpc_python={plugin}"] + common + protos,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"protoc failed on {protos} (in {proto_dir}):\n{r.stderr}")
        return
    from grpc_tools import protoc as grpc_protoc  # pip's grpcio-tools

    args = ["grpc_tools.protoc"] + common
    well_known = os.path.join(os.path.dirname(grpc_protoc.__file__), "_proto")
    if os.path.isdir(well_known):
        args.append(f"-I{well_known}")
    if grpc_protoc.main(args + protos) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {protos} (in {proto_dir}); Debian: "
                           "install protobuf-compiler and protobuf-compiler-grpc")


_IMPORT_RE = re.compile(r"^(from|import) monoroute\.", re.MULTILINE)


def _rewrite_imports(root):
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                new = _IMPORT_RE.sub(lambda m: f"{m.group(1)} {GEN_PACKAGE}.monoroute.", text)
                if new != text:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(new)


def _add_init_files(root):
    for dirpath, _, files in os.walk(root):
        if "__init__.py" not in files:
            with open(os.path.join(dirpath, "__init__.py"), "w", encoding="utf-8") as f:
                f.write("# Generated by build_stubs.py from monoroute's protos; do not edit.\n")


# -- typed dataclasses from the descriptors ------------------------------------------------------

_SCALARS = {1: "float", 2: "float", 3: "int", 4: "int", 5: "int", 6: "int", 7: "int", 8: "bool",
            9: "str", 12: "bytes", 13: "int", 15: "int", 16: "int", 17: "int", 18: "int"}
_TYPE_MESSAGE, _TYPE_ENUM, _LABEL_REPEATED = 11, 14, 3


def _comments(file_proto):
    """{path tuple: comment text} from the file's source info (leading, else trailing)."""
    out = {}
    for loc in file_proto.source_code_info.location:
        text = (loc.leading_comments or loc.trailing_comments).strip()
        if text:
            out[tuple(loc.path)] = " ".join(line.strip() for line in text.splitlines())
    return out


def _doc(text, indent):
    return f"{indent}{text!r}\n"  # repr: a valid literal whatever quotes the comment holds


def _types_module(file_proto, all_files):
    """Source of ``<svc>_types.py`` for one FileDescriptorProto."""
    package = file_proto.package
    comments = _comments(file_proto)
    enums = {}  # ".full.Name" -> [value names]
    classes = {}  # ".full.Name" -> (python class name, package)

    def index(msgs, prefix, pyprefix, pkg):
        for m in msgs:
            full = f"{prefix}.{m.name}"
            classes[full] = (f"{pyprefix}{m.name}", pkg)
            for e in m.enum_type:
                enums[f"{full}.{e.name}"] = [v.name for v in e.value]
            index(m.nested_type, full, f"{pyprefix}{m.name}_", pkg)

    for fp in all_files:
        for e in fp.enum_type:
            enums[f".{fp.package}.{e.name}"] = [v.name for v in e.value]
        index(fp.message_type, f".{fp.package}", "", fp.package)

    def py_type(f):
        if f.type == _TYPE_MESSAGE:
            name, pkg = classes.get(f.type_name, ("Any", ""))
            return name if pkg == package else "Any"
        if f.type == _TYPE_ENUM:
            return "str"
        return _SCALARS.get(f.type, "Any")

    out = [f'"""Typed results of {package} (generated by build_stubs.py from {file_proto.name}; '
           'do not edit).\n\nOne frozen dataclass per message, fields named and documented as in '
           'the proto; enums as their value names, proto3 ``optional`` fields None when unset, '
           '``raw`` holds the message. Built by ``monoroute_client._convert.from_proto``.\n"""\n\n',
           "from __future__ import annotations\n\n",
           "import dataclasses\nfrom typing import Any, ClassVar, Dict, List, Optional\n\n",
           "#: Message full name -> wrapper class of this module.\n",
           "WRAPPERS: Dict[str, type] = {}\n"]

    def emit(msgs, path, pyprefix, fullprefix):
        for mi, m in enumerate(msgs):
            mpath = path + (mi,)
            if m.options.map_entry:
                continue
            cls, full = f"{pyprefix}{m.name}", f"{fullprefix}.{m.name}"
            emit(m.nested_type, mpath + (3,), f"{cls}_", full)
            entries = {f".{full}.{n.name}": n for n in m.nested_type if n.options.map_entry}
            out.append(f"\n\n@dataclasses.dataclass(frozen=True)\nclass {cls}:\n")
            out.append(_doc(comments.get(mpath, f"``{full}``."), "    "))
            out.append(f'    PROTO: ClassVar[str] = "{full}"\n')
            for fi, f in enumerate(m.field):
                if f.type_name in entries:
                    k, v = entries[f.type_name].field[0], entries[f.type_name].field[1]
                    ann = f"Dict[{py_type(k)}, {py_type(v)}]"
                elif f.label == _LABEL_REPEATED:
                    ann = f"List[{py_type(f)}]"
                elif f.proto3_optional:
                    ann = f"Optional[{py_type(f)}]"
                else:
                    ann = py_type(f)
                out.append(f"    {f.name}: {ann}\n")
                doc = comments.get(mpath + (2, fi), "")
                if f.type == _TYPE_ENUM:
                    doc = f"{doc} (one of: {', '.join(enums.get(f.type_name, []))})".strip()
                if doc:
                    out.append(_doc(doc, "    "))
            out.append("    raw: Any = dataclasses.field(default=None, repr=False, "
                       "compare=False)\n")
            out.append('    """The protobuf message this was built from."""\n')
            out.append(f"\n\nWRAPPERS[{cls}.PROTO] = {cls}\n")

    emit(file_proto.message_type, (4,), "", package)
    for e in file_proto.enum_type:
        values = ", ".join(f'"{v.name}"' for v in e.value)
        out.append(f"\n#: Values of enum {package}.{e.name}.\n{e.name}_VALUES = ({values},)\n")
    return "".join(out)


def _write_types(descriptor_set, out):
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set, "rb") as f:
        fds.ParseFromString(f.read())
    for fp in fds.file:
        if not fp.name.startswith("monoroute/"):
            continue
        path = os.path.join(out, os.path.dirname(fp.name),
                            os.path.splitext(os.path.basename(fp.name))[0] + "_types.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(_types_module(fp, list(fds.file)))


def _stamp_matches(out_dir, want):
    try:
        with open(os.path.join(out_dir, "STAMP"), encoding="utf-8") as f:
            return f.read().strip() == want
    except OSError:
        return False


def _replace_dir(new, out_dir, want):
    """Moves ``new`` to ``out_dir`` (an old one is moved aside, then deleted). Another process
    doing the same at once is fine: losing the race with an identical result is success."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    for attempt in range(3):
        old = None
        try:
            if os.path.exists(out_dir):
                old = tempfile.mkdtemp(prefix=".old-", dir=parent)
                os.rename(out_dir, os.path.join(old, "gen"))
            os.rename(new, out_dir)
            return
        except OSError:
            if _stamp_matches(out_dir, want):
                return
            if attempt == 2:
                raise
        finally:
            if old:
                shutil.rmtree(old, ignore_errors=True)


def generate(proto_dir=None, out_dir=DEFAULT_OUT):
    """(Re)generates stubs and types into ``out_dir``; returns ``out_dir``."""
    proto_dir = proto_dir or default_proto_dir()
    protos = list_protos(proto_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".gen-", dir=parent)
    try:
        descriptor_set = os.path.join(tmp, "descriptors.pb")
        _run_protoc(proto_dir, protos, tmp, descriptor_set)
        _write_types(descriptor_set, tmp)
        os.remove(descriptor_set)
        _rewrite_imports(tmp)
        _add_init_files(tmp)
        want = stamp(proto_dir, protos)
        with open(os.path.join(tmp, "STAMP"), "w", encoding="utf-8") as f:
            f.write(want + "\n")
        _replace_dir(tmp, out_dir, want)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def ensure_stubs(proto_dir=None, out_dir=DEFAULT_OUT):
    """Generates unless ``out_dir`` already holds the output of the current protos."""
    proto_dir = proto_dir or default_proto_dir()
    if _stamp_matches(out_dir, stamp(proto_dir, list_protos(proto_dir))):
        return out_dir
    return generate(proto_dir, out_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate monoroute_client/_gen from proto/.")
    ap.add_argument("--proto-dir", default=None, help="root holding monoroute/**.proto")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    ap.add_argument("--force", action="store_true", help="regenerate even when up to date")
    args = ap.parse_args(argv)
    fn = generate if args.force else ensure_stubs
    print(fn(args.proto_dir, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
