#!/usr/bin/env bash
# Generates the Python gRPC stubs of proto/monoroute/**/*.proto into monoroute_client/_gen/ with
# Debian's python3-grpc-tools. Optional: the package generates them itself on first import.
set -euo pipefail
cd "$(dirname "$0")"
exec /usr/bin/python3 -c 'from monoroute_client import _stubs; print(_stubs.ensure_generated(force=True))'
