"""HTTP/1.1 requests to a memory server with the standard library (``http.client``).

A client of ``memory http`` sends one request and reads one JSON answer, over plain HTTP on the server's address
(``base_url``). For that an HTTP client stack is not needed, and importing and setting one up costs a short-lived
process (a Claude Code hook, a one-shot ``memory`` command) about 0.1 s of CPU: this module costs next to nothing.

Failures are told apart as the client needs them: ``Unreachable`` (no connection, nothing was sent), ``Dropped``
(the connection broke after the request may have arrived), ``TimedOut`` (the server did not answer in time).
"""

from __future__ import annotations

import http.client
import json
import select
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: idle keep-alive connections a client keeps for its next requests
KEEP_IDLE = 8
#: the kinds of ``Failure`` that are timeouts
TIMEOUTS = frozenset({"ConnectTimeout", "ReadTimeout", "WriteTimeout"})


class Failure(OSError):
    """A request that got no answer. ``kind`` names the step that failed as httpx names it (ConnectError,
    ConnectTimeout, ReadError, WriteError, RemoteProtocolError, ReadTimeout, WriteTimeout); the message is the
    underlying error's."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(message or kind)
        self.kind = kind


class Unreachable(Failure):
    """No connection could be made (ConnectError, ConnectTimeout): the request was not sent."""


class Dropped(Failure):
    """The connection broke (reset, closed, an answer that is not HTTP) after the request was sent, or while it
    was being sent (ReadError, WriteError, RemoteProtocolError)."""


class TimedOut(Failure):
    """The server took longer than the write or read timeout (WriteTimeout, ReadTimeout)."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, to send a request, and to wait for (each part of) the answer."""

    connect: float
    write: float
    read: float


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def address(url: str) -> tuple[str, int]:
    """Host and port of an ``http://host:port`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http:// URL: {url!r}")
    return parts.hostname, parts.port or 80


def _send(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict[str, str],
          timeouts: Timeouts) -> tuple[http.client.HTTPResponse, bytes]:
    """Send on a connected ``conn`` and read the whole answer; TimedOut or Dropped on failure."""
    if conn.sock is None:
        raise Dropped("ReadError", "the connection is closed")
    writing = True
    try:
        conn.sock.settimeout(timeouts.write)
        conn.request(method, path, body=body, headers=headers)
        writing = False
        conn.sock.settimeout(timeouts.read)
        response = conn.getresponse()
        return response, response.read()
    except TimeoutError as exc:
        conn.close()
        raise TimedOut("WriteTimeout" if writing else "ReadTimeout", str(exc)) from exc
    except http.client.HTTPException as exc:
        conn.close()
        raise Dropped("RemoteProtocolError", _describe(exc)) from exc
    except OSError as exc:
        conn.close()
        raise Dropped("WriteError" if writing else "ReadError", _describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _connect(host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.connect()
    except TimeoutError as exc:
        conn.close()
        raise Unreachable("ConnectTimeout", str(exc)) from exc
    except OSError as exc:
        conn.close()
        raise Unreachable("ConnectError", _describe(exc)) from exc
    return conn


def get(url: str, path: str, headers: dict[str, str], timeout: float) -> Response:
    """One GET on a connection of its own, ``timeout`` for every step (connect, send, each read)."""
    host, port = address(url)
    conn = _connect(host, port, timeout)
    try:
        response, body = _send(conn, "GET", path, None, headers, Timeouts(timeout, timeout, timeout))
        return Response(response.status, body)
    finally:
        conn.close()


class Client:
    """Requests to one server, from any thread; idle connections are kept alive and reused.

    A kept connection that the server closed meanwhile (its keep-alive timeout) is readable (end of file) and is
    dropped before use rather than failing a request.
    """

    def __init__(self, url: str, headers: dict[str, str], timeouts: Timeouts):
        self.host, self.port = address(url)
        self.headers = headers
        self.timeouts = timeouts
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.closed = False

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send one request and read the whole answer (Unreachable, Dropped, TimedOut; RuntimeError once closed)."""
        if self.closed:
            raise RuntimeError("the client is closed")
        conn = self._reuse() or _connect(self.host, self.port, self.timeouts.connect)
        response, data = _send(conn, method, path, body, {**self.headers, **(headers or {})}, self.timeouts)
        if response.will_close:
            conn.close()
        else:
            self._keep(conn)
        return Response(response.status, data)

    def _reuse(self) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            sock = conn.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return conn
            conn.close()  # closed by the server while idle (or it sent something unasked)

    def _keep(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self.closed and len(self._idle) < KEEP_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
