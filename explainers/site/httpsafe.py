"""HTTP that never answers 500 to a client's mistake, and never waits forever for one.

* :class:`SafeStaticFileHandler` serves ``/assets``: a path with a NUL byte or an overlong
  one is a 400, a missing file a 404 (Tornado's own handler raises ``ValueError`` from
  ``os.path.realpath`` on a NUL byte and answers 500).
* :class:`ClientFaultTransform` turns the 500 of a request that is known to be the client's
  fault into a 400, for the handlers this app cannot replace (Bokeh registers its ``/static``
  routes ahead of any extra route; see docs/upstream.md).
* :data:`HTTP_SERVER_KWARGS` bounds how long a connection may take to send its request.
"""

from __future__ import annotations

from urllib.parse import unquote

from tornado.web import HTTPError, OutputTransform, StaticFileHandler

MAX_PATH_CHARS = 1024
#: Seconds a connection may take to send its request headers (also the keep-alive idle
#: time) and its body; then it is closed.  Websockets are not affected once open.
HEADER_TIMEOUT_S = 20.0
BODY_TIMEOUT_S = 20.0
#: The app takes no uploads.
MAX_BODY_BYTES = 1024 * 1024

HTTP_SERVER_KWARGS = {
    "idle_connection_timeout": HEADER_TIMEOUT_S,
    "body_timeout": BODY_TIMEOUT_S,
    "max_body_size": MAX_BODY_BYTES,
}


def bad_path(path: str) -> bool:
    """True for a request path no file can have (NUL bytes, overlong)."""
    return "\x00" in path or "%00" in path or len(path) > MAX_PATH_CHARS


class SafeStaticFileHandler(StaticFileHandler):
    """Tornado's static files, answering 400 or 404 rather than 500 to odd paths."""

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        if bad_path(path):
            raise HTTPError(400, "bad path")
        return super().get_absolute_path(root, path)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        try:
            return super().validate_absolute_path(root, absolute_path)
        except (ValueError, OSError) as exc:
            raise HTTPError(404) from exc


def client_fault(request) -> bool:
    """True when a 500 for ``request`` was caused by the request itself."""
    path = unquote(request.path or "")
    if bad_path(path) or bad_path(request.path or ""):
        return True
    return request.method == "OPTIONS" and "Origin" not in request.headers


class ClientFaultTransform(OutputTransform):
    """Answers 400 instead of 500 when the request was at fault (see :func:`client_fault`)."""

    def __init__(self, request):
        super().__init__(request)
        self.request = request

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if status_code == 500 and client_fault(self.request):
            status_code = 400
            chunk = b"<html><title>400: Bad Request</title><body>400: Bad Request</body></html>"
            if "Content-Length" in headers:
                headers["Content-Length"] = str(len(chunk))
        return status_code, headers, chunk
