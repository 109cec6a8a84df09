"""The web pages, shipped in this package (no CDN: they work offline): the dashboard at ``/``, the API docs at
``/docs`` (rendered in the browser from ``/openapi.json``) and their files at ``/static/``.

The pages hold no data: they read everything through the REST API with the API key the user types in, so they
are served without the key (see ``auth.OPEN_PATHS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

#: Only this origin's own files and API; no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

PAGES = {"/": "index.html", "/docs": "docs.html"}


def _page(name: str) -> Any:
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / name, media_type="text/html", headers=SECURITY_HEADERS)
    return page


def install_pages(app: FastAPI) -> None:
    """Serve the dashboard at ``/``, the API docs at ``/docs`` and their files at ``/static/``."""
    for path, name in PAGES.items():
        app.add_api_route(path, _page(name), methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
