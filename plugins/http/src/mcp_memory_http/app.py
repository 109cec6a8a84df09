"""The FastAPI app: the REST API over a ``MemoryAPI``, server-sent events, the MCP tools at ``/mcp``, the dashboard
at ``/`` and the API docs at ``/docs`` (served from this package: they work offline).

Every request passes ``RequestGuard`` (Host, Origin, body size) and then the API key check before any route runs.
Errors are ``{"error": <name>, "detail": <message>}`` with a 4xx status for bad input, so bad input never gets a 500.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from mcp_memory.config import Settings
from mcp_memory.errors import MemoryServiceError
from mcp_memory.logging import get_logger

from . import __version__
from .auth import ApiKeyMiddleware
from .dashboard import install_pages
from .events import EventBus, PublishingService
from .guard import RequestGuard
from .identity import StoreIdentity, configured_store
from .mcp_endpoint import McpEndpoint
from .routes import api_router
from .settings import HttpSettings
from .wire import error_body, http_error_name, status_of

log = get_logger(__name__)


def _known_fields(request: Request, path: tuple[Any, ...]) -> list[str]:
    """The fields of the body model at ``path`` (an unknown field's location), for the error message."""
    model = getattr(getattr(getattr(request.scope.get("route"), "body_field", None), "field_info", None),
                    "annotation", None)
    for part in path:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        model = next((t for t in _types(annotation) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return sorted(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _types(annotation: Any) -> list[Any]:
    """``annotation`` and the types inside it (``Optional[list[X]]`` gives X too)."""
    found, stack = [], [annotation]
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(getattr(item, "__args__", ()))
    return found


def describe_validation(request: Request, exc: RequestValidationError) -> str:
    """One clause per problem: ``n_results: Input should be a valid integer``, ``unknown field 'colour' ...``."""
    parts = []
    for item in exc.errors():
        loc = tuple(item.get("loc", ()))
        where, path = (loc[0], loc[1:]) if loc else ("body", ())
        name = ".".join(str(p) for p in path) or str(where)
        if item.get("type") == "extra_forbidden":
            if where == "query":
                route = request.scope.get("route")
                known = sorted(p.alias for p in getattr(getattr(route, "dependant", None), "query_params", ()))
                parts.append(f"unknown query parameter {name!r} (known: {', '.join(known) or 'none'})")
            else:
                known = _known_fields(request, path[:-1])
                parts.append(f"unknown field {name!r}" + (f" (known: {', '.join(known)})" if known else ""))
        elif item.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'parse error')})")
        else:
            parts.append(f"{name}: {item.get('msg')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MemoryServiceError)
    async def service_error(_request: Request, exc: MemoryServiceError) -> JSONResponse:
        return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("InvalidInputError", describe_validation(request, exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(http_error_name(exc.status_code), str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error in a request", error=f"{type(exc).__name__}: {exc}")
        return JSONResponse(error_body("InternalError", f"unexpected server error ({type(exc).__name__}); "
                                                        "see the server log"), status_code=500)


def create_app(service: Any, settings: Settings, bus: EventBus | None = None, with_mcp: bool = True,
               store: StoreIdentity | None = None) -> FastAPI:
    """Build the app over an opened service (the caller owns the service and closes it). ``store`` is what
    ``/api/health`` says is served (default: the store ``settings`` select)."""
    http = HttpSettings.of(settings)
    svc = service if isinstance(service, PublishingService) else PublishingService(service, bus or EventBus())
    mcp = McpEndpoint(svc, settings, http) if with_mcp else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if mcp is not None:
                await stack.enter_async_context(mcp.running())
            yield
            svc.bus.close()

    app = FastAPI(title="mcp-memory", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Long-term memory for AI assistants: the memory service over REST (every read takes "
                              "project and all_projects), server-sent events at /api/events, and MCP at /mcp.")
    app.include_router(api_router(svc, http, store or configured_store(settings), svc.bus))
    if mcp is not None:
        app.router.routes.append(Route("/mcp", endpoint=mcp))
    install_pages(app)
    app.add_middleware(ApiKeyMiddleware, api_key=http.api_key)
    app.add_middleware(RequestGuard, http=http,  # added last: runs first
                       body_limits={"/api/documents": (settings.max_document_bytes, "MCP_MEMORY_MAX_DOCUMENT_BYTES")})
    _install_error_handlers(app)
    app.state.service = svc
    app.state.bus = svc.bus
    return app
