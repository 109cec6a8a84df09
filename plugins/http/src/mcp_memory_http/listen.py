"""The listening socket and the name of the server mode: all that detection needs of the server, without the
server stack (FastAPI, uvicorn), which loads only in the process that serves."""

from __future__ import annotations

import socket
import sys

HTTP_SERVER = "http_server"


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen now, so that of several processes racing for the port exactly one wins."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":  # allow TIME_WAIT reuse; never a second listener (not SO_REUSEPORT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
