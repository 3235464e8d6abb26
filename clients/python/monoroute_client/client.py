"""``Client``: one object for the three monoroute gRPC services (trainer, recorder, analysis).

Addresses default to ``MONOROUTE_TRAINER_ADDR`` / ``MONOROUTE_RECORDER_ADDR`` /
``MONOROUTE_ANALYSIS_ADDR``, then to 127.0.0.1:7103 / 7101 / 7102. The trainer's bearer token
(SubmitJob / CancelJob, when the trainer has one) comes from ``token=``,
``$MONOROUTE_TRAINER_TOKEN`` or the file named by ``$MONOROUTE_TRAINER_TOKEN_FILE``; the
recorder's (CreateRun, Record, DeleteRun, FinishRun) from ``recorder_token=``,
``$MONOROUTE_RECORDER_TOKEN`` or ``$MONOROUTE_RECORDER_TOKEN_FILE``; the analysis service's
(Ablate) from ``analysis_token=`` or ``$MONOROUTE_ANALYSIS_TOKEN[_FILE]``. TLS: ``tls_ca=``
(CA bundle), ``tls_cert=`` / ``tls_key=`` (client certificate for mutual TLS),
``tls_server_name=`` (name to verify), else ``$MONOROUTE_TLS_CA`` / ``_CERT`` / ``_KEY`` /
``_SERVER_NAME``; plaintext when neither a CA nor a certificate is set. Failed RPCs
raise ``ServiceError`` with the gRPC status code. Calls may be made from several threads;
``close()`` must not race with them. ``pathway`` / ``contexts`` read the pathway explorer's JSON
API over HTTP (``explorer=`` URL, else ``$MONOROUTE_EXPLORER_URL``; see ``explorer.py``).
"""

from typing import Any, Optional

from monoroute_client._transport import Transport
from monoroute_client.analysis import AnalysisMethods
from monoroute_client.explorer import ExplorerMethods
from monoroute_client.recorder import RecorderMethods
from monoroute_client.trainer import TrainerMethods


class Client(TrainerMethods, RecorderMethods, AnalysisMethods, ExplorerMethods):
    """Every RPC of the trainer, recorder and analysis services as typed methods.

    Use as a context manager (``with Client() as c: ...``) or call ``close()``.
    """

    def __init__(self, trainer: Optional[str] = None, recorder: Optional[str] = None,
                 analysis: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0, recorder_token: Optional[str] = None,
                 analysis_token: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 tls_server_name: Optional[str] = None, explorer: Optional[str] = None):
        """Addresses as "host:port" (None: environment, then defaults); ``token`` /
        ``recorder_token`` / ``analysis_token``: bearer tokens (None: environment); TLS files
        (None: environment); ``timeout`` in seconds is the default deadline of unary calls and
        of GetCounts / QueryEvents / Record. ValueError for an unreadable TLS file or a
        certificate without its key. ``explorer``: the explorer's URL (``--http-listen``)."""
        self._transport = Transport(trainer, recorder, analysis, token, timeout, recorder_token,
                                    analysis_token, tls_ca, tls_cert, tls_key, tls_server_name)
        self._explorer = explorer

    @property
    def trainer_addr(self) -> str:
        return self._transport.trainer_addr

    @property
    def recorder_addr(self) -> str:
        return self._transport.recorder_addr

    @property
    def analysis_addr(self) -> str:
        return self._transport.analysis_addr

    @property
    def token(self) -> Optional[str]:
        return self._transport.token

    def stub(self, service: str) -> Any:
        """The generated gRPC stub of "trainer", "recorder" or "analysis" (raw access)."""
        return self._transport.stub(service)

    def close(self) -> None:
        """Closes the channels."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
