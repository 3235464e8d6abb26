"""setuptools hook of monoroute-client: build_py first generates the gRPC stubs.

The metadata is in pyproject.toml. ``build_py`` runs ``build_stubs.generate`` (protos from
``$MONOROUTE_PROTO_DIR`` or ``../../proto``) into ``monoroute_client/_gen`` and adds the generated
packages to the build, so the wheel ships them and the installed package never reads proto/.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_stubs  # noqa: E402  (beside this file)


def _generated_packages(root):
    pkgs = []
    for dirpath, _, files in os.walk(os.path.join(root, "monoroute_client", "_gen")):
        if "__init__.py" in files:
            pkgs.append(os.path.relpath(dirpath, root).replace(os.sep, "."))
    return sorted(pkgs)


class BuildPyWithStubs(build_py):
    """build_py that (re)generates monoroute_client/_gen from the protos first."""

    def run(self):
        build_stubs.ensure_stubs(out_dir=os.path.join(HERE, "monoroute_client", "_gen"))
        for pkg in _generated_packages(HERE):
            if pkg not in self.packages:
                self.packages.append(pkg)
        super().run()


setup(cmdclass={"build_py": BuildPyWithStubs})
