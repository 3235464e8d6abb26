"""``ServiceError``: the one exception type of a failed monoroute RPC."""

from typing import Any


class ServiceError(RuntimeError):
    """A failed RPC.

    Attributes:
        service: "trainer", "recorder" or "analysis".
        method: the RPC name, e.g. "GetRun".
        code: the gRPC status code (a ``grpc.StatusCode``), e.g. ``NOT_FOUND``.
        details: the server's message (names the field or file at fault).

    ``str(e)`` reads ``recorder.GetRun: NOT_FOUND: run 'x' not found``.
    """

    def __init__(self, service: str, method: str, code: Any, details: str):
        super().__init__(f"{service}.{method}: {getattr(code, 'name', code)}: {details}")
        self.service = service
        self.method = method
        self.code = code
        self.details = details

    @property
    def code_name(self) -> str:
        """The status code's name, e.g. "NOT_FOUND"."""
        return getattr(self.code, "name", str(self.code))
