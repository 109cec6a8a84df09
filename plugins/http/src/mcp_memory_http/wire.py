"""What travels over HTTP: error bodies and status codes, both ways, shared by server and client."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from mcp_memory import errors

#: Service errors and the status each one answers with; anything else is a 500.
STATUS: dict[type[errors.MemoryServiceError], int] = {
    errors.InvalidInputError: 400,
    errors.ConfigError: 400,
    errors.NotFoundError: 404,
    errors.EmbeddingError: 422,
    errors.PluginError: 503,
    errors.StorageError: 503,
}

_KNOWN: list[type[errors.MemoryServiceError]] = [errors.MemoryServiceError, *STATUS]
_CLASSES: dict[str, type[errors.MemoryServiceError]] = {cls.__name__: cls for cls in _KNOWN}


def status_of(exc: errors.MemoryServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(error: str, detail: str) -> dict[str, str]:
    """The JSON body of every error answer: ``{"error": <name>, "detail": <message>}``."""
    return {"error": error, "detail": detail}


def http_error_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return "HTTPError"


def to_exception(status: int, body: Any) -> errors.MemoryServiceError:
    """Turn an error answer back into the service error it came from (client side)."""
    name = body.get("error") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    message = str(detail or body or HTTPStatus(status).phrase)
    cls = _CLASSES.get(str(name))
    if cls is None:
        if status == 401:
            return errors.ConfigError(f"the memory server refused the API key: {message}; set the same "
                                      "MCP_API_KEY as the server")
        if status in (403, 421):
            return errors.ConfigError(f"the memory server refused this request: {message}")
        if status == 404:
            cls = errors.NotFoundError
        elif 400 <= status < 500:
            cls = errors.InvalidInputError
        else:
            cls = errors.StorageError
            message = f"the memory server failed ({status}): {message}"
    return cls(message)


async def respond(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, error: str, detail: str,
                  headers: tuple[tuple[bytes, bytes], ...] = (), close: bool = False, more: bool = False) -> None:
    """Send a JSON error answer from ASGI middleware (``close``: end the connection after it). With ``more`` the
    answer is all sent but the response stays open until the caller sends an empty last body."""
    body = json.dumps(error_body(error, detail)).encode()
    extra = [*headers, *([(b"connection", b"close")] if close else [])]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": body, "more_body": more})
