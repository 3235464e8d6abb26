"""gRPC plumbing shared by the service mixins: channels, auth metadata, error mapping.

``Transport`` owns one channel per service, created lazily under a lock (channels are
thread-safe, so RPCs may be issued from several threads); ``close()`` must not race with calls.
Channels use TLS when a CA or a client certificate is given (arguments, else
``$MONOROUTE_TLS_CA`` / ``_CERT`` / ``_KEY`` / ``_SERVER_NAME``, the same variables as the CLI),
plaintext otherwise. A service's bearer token (``$MONOROUTE_<SERVICE>_TOKEN[_FILE]``) is sent on
every call to it when configured (servers check it on mutating RPCs, and on reads with
``--auth-reads``). Every ``grpc.RpcError`` becomes a ``ServiceError`` carrying the status code.
"""

import os
import threading
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple

import grpc

from monoroute_client._pb import pb
from monoroute_client.errors import ServiceError

#: Default addresses (the project's default ports on loopback).
DEFAULT_ADDRESSES = {"trainer": "127.0.0.1:7103", "recorder": "127.0.0.1:7101",
                     "analysis": "127.0.0.1:7102"}

_STUBS: Dict[str, Callable[[grpc.Channel], Any]] = {
    "trainer": lambda ch: pb.trainer_pb2_grpc.TrainerStub(ch),
    "recorder": lambda ch: pb.recorder_pb2_grpc.RecorderStub(ch),
    "analysis": lambda ch: pb.analysis_pb2_grpc.AnalysisStub(ch),
}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value else default


def token_from_env(service: str = "trainer") -> Optional[str]:
    """``$MONOROUTE_<SERVICE>_TOKEN``, else the contents of ``$MONOROUTE_<SERVICE>_TOKEN_FILE``."""
    tok = os.environ.get(f"MONOROUTE_{service.upper()}_TOKEN")
    if tok:
        return tok.strip()
    path = os.environ.get(f"MONOROUTE_{service.upper()}_TOKEN_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return None


def _read_pem(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"{what} {path}: {e.strerror}") from None


class Transport:
    """Addresses, bearer tokens, TLS settings and lazily opened channels of the three services."""

    def __init__(self, trainer: Optional[str] = None, recorder: Optional[str] = None,
                 analysis: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0, recorder_token: Optional[str] = None,
                 analysis_token: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 tls_server_name: Optional[str] = None):
        self.trainer_addr = trainer or _env("MONOROUTE_TRAINER_ADDR", DEFAULT_ADDRESSES["trainer"])
        self.recorder_addr = recorder or _env("MONOROUTE_RECORDER_ADDR",
                                              DEFAULT_ADDRESSES["recorder"])
        self.analysis_addr = analysis or _env("MONOROUTE_ANALYSIS_ADDR",
                                              DEFAULT_ADDRESSES["analysis"])
        self.token = token if token is not None else token_from_env("trainer")
        self.recorder_token = (recorder_token if recorder_token is not None
                               else token_from_env("recorder"))
        self.analysis_token = (analysis_token if analysis_token is not None
                               else token_from_env("analysis"))
        self.tls_ca = tls_ca or os.environ.get("MONOROUTE_TLS_CA") or None
        self.tls_cert = tls_cert or os.environ.get("MONOROUTE_TLS_CERT") or None
        self.tls_key = tls_key or os.environ.get("MONOROUTE_TLS_KEY") or None
        self.tls_server_name = (tls_server_name or os.environ.get("MONOROUTE_TLS_SERVER_NAME")
                                or None)
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together (MONOROUTE_TLS_CERT/_KEY)")
        self._credentials = None
        if self.tls_ca or self.tls_cert:
            self._credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem(self.tls_ca, "tls_ca") if self.tls_ca else None,
                private_key=_read_pem(self.tls_key, "tls_key") if self.tls_key else None,
                certificate_chain=_read_pem(self.tls_cert, "tls_cert") if self.tls_cert else None)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._channels: Dict[str, grpc.Channel] = {}
        self._stubs: Dict[str, Any] = {}

    def address(self, service: str) -> str:
        """The address used for ``service`` ("trainer", "recorder" or "analysis")."""
        return {"trainer": self.trainer_addr, "recorder": self.recorder_addr,
                "analysis": self.analysis_addr}[service]

    def stub(self, service: str) -> Any:
        """The generated stub of ``service`` over its (lazily opened) channel."""
        with self._lock:
            if service not in self._stubs:
                opts = [("grpc.max_receive_message_length", 256 << 20),
                        ("grpc.max_send_message_length", 256 << 20)]
                if self._credentials is not None:
                    if self.tls_server_name:
                        opts.append(("grpc.ssl_target_name_override", self.tls_server_name))
                    ch = grpc.secure_channel(self.address(service), self._credentials,
                                             options=opts)
                else:
                    ch = grpc.insecure_channel(self.address(service), options=opts)
                self._channels[service] = ch
                self._stubs[service] = _STUBS[service](ch)
            return self._stubs[service]

    def metadata(self, service: str, auth: bool) -> Tuple[Tuple[str, str], ...]:
        """The service's bearer-token header whenever a token is configured for it (``auth``
        marks the mutating RPCs, which always need one when the server has a token; reads
        need it only on servers run with --auth-reads, and ignore it otherwise)."""
        del auth  # sent on every call: harmless on reads, required with --auth-reads
        token = {"recorder": self.recorder_token, "analysis": self.analysis_token}.get(
            service, self.token)
        if token:
            return (("authorization", f"Bearer {token.strip()}"),)
        return ()

    def call(self, service: str, method: str, request: Any, auth: bool = False,
             timeout: Optional[float] = None) -> Any:
        """A unary RPC; raises ServiceError."""
        fn = getattr(self.stub(service), method)
        try:
            return fn(request, timeout=timeout or self.timeout,
                      metadata=self.metadata(service, auth))
        except grpc.RpcError as e:
            raise ServiceError(service, method, e.code(), e.details()) from None

    def stream(self, service: str, method: str, request: Any, auth: bool = False,
               timeout: Optional[float] = None) -> Iterator[Any]:
        """A server-streaming RPC as an iterator (``timeout`` None: no deadline)."""
        fn = getattr(self.stub(service), method)
        try:
            for item in fn(request, timeout=timeout, metadata=self.metadata(service, auth)):
                yield item
        except grpc.RpcError as e:
            raise ServiceError(service, method, e.code(), e.details()) from None

    def bidi(self, service: str, method: str, requests: Iterable[Any], auth: bool = False,
             timeout: Optional[float] = None) -> Iterator[Any]:
        """A bidirectional-streaming RPC as an iterator of responses."""
        fn = getattr(self.stub(service), method)
        try:
            for item in fn(iter(requests), timeout=timeout or self.timeout,
                           metadata=self.metadata(service, auth)):
                yield item
        except grpc.RpcError as e:
            raise ServiceError(service, method, e.code(), e.details()) from None

    def close(self) -> None:
        """Closes every channel (later calls reopen them)."""
        with self._lock:
            for ch in self._channels.values():
                ch.close()
            self._channels.clear()
            self._stubs.clear()
