"""The generated modules, shipped inside the package (``monoroute_client._gen``).

Generated at build time by ``build_stubs.py`` (``pip install`` runs it; the in-tree test suite
too) and never looked up in a source checkout at import time. ``pb`` bundles them:
``pb.trainer_pb2``, ``pb.trainer_pb2_grpc``, ``pb.trainer_types`` (typed dataclasses), and the
same for recorder and analysis. Import-time only; no state.
"""

import types

try:
    from monoroute_client._gen.monoroute.analysis.v1 import (analysis_pb2, analysis_pb2_grpc,
                                                             analysis_types)
    from monoroute_client._gen.monoroute.recorder.v1 import (recorder_pb2, recorder_pb2_grpc,
                                                             recorder_types)
    from monoroute_client._gen.monoroute.trainer.v1 import (trainer_pb2, trainer_pb2_grpc,
                                                            trainer_types)
except ImportError as e:  # a source checkout whose stubs were never generated
    raise ImportError(
        "monoroute_client: the generated gRPC stubs (monoroute_client/_gen) are missing: install "
        "the package (pip install --no-build-isolation clients/python) or, to use it in-tree, run "
        f"/usr/bin/python3 clients/python/build_stubs.py ({e})") from e

#: The generated modules as one namespace.
pb = types.SimpleNamespace(
    trainer_pb2=trainer_pb2, trainer_pb2_grpc=trainer_pb2_grpc, trainer_types=trainer_types,
    recorder_pb2=recorder_pb2, recorder_pb2_grpc=recorder_pb2_grpc,
    recorder_types=recorder_types,
    analysis_pb2=analysis_pb2, analysis_pb2_grpc=analysis_pb2_grpc,
    analysis_types=analysis_types)
