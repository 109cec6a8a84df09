"""The http plugin's settings (declared through ``memory_settings``) and the view the plugin reads them through."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_memory.config import Setting, Settings, as_bool, as_int, as_optional_str, as_str, list_items


def as_host_names(text: str) -> frozenset[str]:
    """Comma-separated host names (no scheme, no port), lower-cased; IPv6 addresses with or without brackets."""
    names = set()
    for part in list_items(text):
        name = part.lower()
        if not name:
            continue
        if "/" in name or (name.count(":") == 1 and not name.startswith("[")):
            raise ValueError(f"must list host names without scheme or port ({part!r} is not one)")
        names.add(name.strip("[]"))
    return frozenset(names)


def as_origins(text: str) -> frozenset[str]:
    """Comma-separated origins (``scheme://host[:port]``), lower-cased, without a trailing slash."""
    origins = set()
    for part in list_items(text):
        origin = part.lower().rstrip("/")
        if not origin:
            continue
        scheme, sep, rest = origin.partition("://")
        if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(f"must list origins such as https://app.example.com:8443 ({part!r} is not one)")
        origins.add(origin)
    return frozenset(origins)


#: 8 MiB. The largest single memory (MCP_MEMORY_MAX_CONTENT_LENGTH = 100,000 characters of content, and as much
#: metadata) is at most 1.2 MB of JSON even when every character is escaped as \uXXXX (6 bytes), and about
#: 0.4 MB of plain UTF-8 (4 bytes a character at most): 8 MiB holds such a memory, or a batch of several, many
#: times over, while a runaway or hostile body is refused before it fills the server's memory.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024

HTTP_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_HTTP_ENABLED", "allow HTTP coordination at all (use a running memory server, or become one)", True,
            as_bool, key="enabled"),
    Setting("MCP_MEMORY_HTTP_AUTO_START", "become the HTTP server when none runs", False, as_bool, key="auto_start"),
    Setting("MCP_HTTP_HOST", "address the HTTP server listens on (a non-loopback address needs MCP_API_KEY)",
            "127.0.0.1", as_str, key="host"),
    Setting("MCP_HTTP_PORT", "port of the HTTP server", 8000, as_int(1, 65535), key="port"),
    Setting("MCP_API_KEY", "key every HTTP request must carry (Authorization: Bearer, or X-API-Key)", None,
            as_optional_str, secret=True, key="api_key"),
    Setting("MCP_HTTP_ALLOWED_HOSTS", "host names accepted in the Host header besides localhost, 127.0.0.1, [::1] "
            "and the listening address (comma-separated)", frozenset(), as_host_names, key="allowed_hosts"),
    Setting("MCP_HTTP_ALLOWED_ORIGINS", "browser origins accepted besides http(s)://<an accepted host>[:port] "
            "(comma-separated, e.g. https://tools.example.com)", frozenset(), as_origins, key="allowed_origins"),
    Setting("MCP_HTTP_MAX_BODY_BYTES", "largest request body accepted, in bytes (8 MiB by default)",
            DEFAULT_MAX_BODY_BYTES, as_int(1024, 2**31), key="max_body_bytes"),
)


@dataclass(frozen=True)
class HttpSettings:
    """The resolved values of ``HTTP_SETTINGS``."""

    enabled: bool = True
    auto_start: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    allowed_hosts: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def of(cls, settings: Settings) -> HttpSettings:
        """Read them from ``settings`` (a bad value is a ConfigError naming its variable)."""
        return cls(**settings.section(HTTP_SETTINGS))

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"
