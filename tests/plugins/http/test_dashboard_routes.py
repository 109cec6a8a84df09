"""The pages' server side: the dashboard and the API docs with their files served without the key (and no CDN),
/api/stats/timeline, the wheel's files.

The pages themselves are driven in a real browser by tests/integration/test_dashboard.py.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx2
import pytest

from mcp_memory_http.dashboard import STATIC_DIR

ASSETS = {"app.js": "javascript", "api.js": "javascript", "chart.js": "javascript", "docs.js": "javascript",
          "style.css": "text/css"}
HTTP_PLUGIN = Path(__file__).parents[3] / "plugins" / "http"


@pytest.mark.parametrize("path,script", [("/", "app.js"), ("/docs", "docs.js")])
def test_the_pages_and_their_assets_need_no_key(keyed_server, path, script):
    page = httpx2.get(keyed_server.url + path, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="/static/{script}">' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert httpx2.head(keyed_server.url + path, timeout=10).status_code == 200
    for name, kind in ASSETS.items():
        asset = httpx2.get(f"{keyed_server.url}/static/{name}", timeout=10)
        assert asset.status_code == 200 and kind in asset.headers["content-type"], name
        assert asset.text == (STATIC_DIR / name).read_text()
    assert httpx2.get(keyed_server.url + "/static/missing.js", timeout=10).status_code == 404


def test_no_page_loads_anything_from_another_site():
    """Everything the pages need is in this package: /docs works offline (Swagger UI from a CDN did not)."""
    for name in (*ASSETS, "index.html", "docs.html"):
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text) and "cdn" not in text.lower(), name
        assert not re.search(r"""(import|fetch)\(?\s*["'](https?:)?//""", text), name


@pytest.mark.parametrize("path", ["/static/../api/stats", "/static/..%2fapi/stats", "/static//api/stats"])
def test_the_open_static_prefix_reaches_no_api_route(keyed_server, path):
    """The key is skipped only for /static/...: a path that climbs out of it must not answer data."""
    conn = http.client.HTTPConnection("127.0.0.1", keyed_server.port, timeout=10)
    try:
        conn.request("GET", path)  # sent as is, without the client normalising the dots
        response = conn.getresponse()
        body = response.read().decode()
    finally:
        conn.close()
    assert response.status in (401, 404), (path, response.status, body[:200])
    assert "total_memories" not in body


def test_the_timeline_needs_the_key(keyed_server):
    assert httpx2.get(keyed_server.url + "/api/stats/timeline", timeout=10).status_code == 401


def test_timeline_counts_memories_per_calendar_day(server):
    """Absolute dates, so the counts hold even if midnight passes during the test."""
    today = datetime.now(timezone.utc).date()
    midnight = datetime.combine(today, datetime.min.time(), timezone.utc)
    at = {  # created_at -> how many
        (midnight - timedelta(days=3) + timedelta(minutes=30)).timestamp(): 2,
        (midnight - timedelta(days=6) + timedelta(hours=12)).timestamp(): 1,
        (midnight - timedelta(days=45)).timestamp(): 1,  # outside the 30-day window
    }
    for created, n in at.items():
        for i in range(n):  # the first of each day in project "timeline", the others global
            response = httpx2.post(f"{server.url}/api/memories", timeout=30,
                                   json={"content": f"timeline memory {created} {i}", "created_at": created,
                                         "project": "timeline" if i == 0 else None})
            assert response.status_code == 201, response.text

    def counts(**params):
        response = httpx2.get(f"{server.url}/api/stats/timeline", params=params, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return body, {d["date"]: d["count"] for d in body["days"]}

    body, utc = counts(days=30)
    assert len(body["days"]) == 30 and body["days"] == sorted(body["days"], key=lambda d: d["date"])
    d3, d4, d6 = (str(today - timedelta(days=n)) for n in (3, 4, 6))
    assert utc[d3] == 2 and utc[d4] == 0 and utc[d6] == 1
    assert str(today - timedelta(days=45)) not in utc and body["total"] == sum(utc.values())
    # one hour west of UTC, 00:30 UTC is still the evening before
    _, west = counts(days=30, utc_offset_minutes=-60)
    assert west[d3] == 0 and west[d4] == 2 and west[d6] == 1
    _, short = counts(days=5)
    assert d6 not in short and short[d3] == 2
    _, only_global = counts(days=30, project="global")
    assert only_global[d3] == 1 and only_global[d6] == 0


@pytest.mark.parametrize("params,status", [({"days": 0}, 400), ({"days": 400}, 400),
                                           ({"utc_offset_minutes": 2000}, 400), ({"days": "x"}, 422),
                                           ({"weeks": 2}, 422)])
def test_timeline_rejects_bad_parameters(server, params, status):
    response = httpx2.get(f"{server.url}/api/stats/timeline", params=params, timeout=10)
    assert response.status_code == status and response.json()["error"] == "InvalidInputError"


@pytest.mark.slow
def test_a_built_wheel_ships_the_dashboard(tmp_path):
    """A non-editable install gets the static files (declared as package data)."""
    source = tmp_path / "http"
    shutil.copytree(HTTP_PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(source), "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("mcp_memory_http-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ["index.html", "docs.html", *ASSETS]:
        assert f"mcp_memory_http/static/{name}" in names
