"""The plugin's settings (``MCP_MEMORY_PGVECTOR_*``) and the connection string shown with its password masked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mcp_memory.config import Setting, Settings, as_choice, as_int, as_optional_str
from mcp_memory.errors import ConfigError

DSN_VARIABLE = "MCP_MEMORY_PGVECTOR_DSN"
INDEX_KINDS = ("exact", "hnsw")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def as_identifier(text: str) -> str:
    """A PostgreSQL name: letters, digits and underscores, not starting with a digit, at most 63 characters."""
    value = text.strip()
    if not _IDENTIFIER.match(value):
        raise ValueError("must be a name of letters, digits and underscores (at most 63, not starting with a digit)")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting(DSN_VARIABLE, "PostgreSQL connection string of the shared database (postgresql://user:password@host/db "
            "or libpq key=value); required by the pgvector store", None, as_optional_str, secret=True, key="dsn"),
    Setting("MCP_MEMORY_PGVECTOR_SCHEMA", "PostgreSQL schema holding the store's tables (one store per schema)",
            "mcp_memory", as_identifier, key="schema"),
    Setting("MCP_MEMORY_PGVECTOR_POOL_SIZE", "most connections one process opens to the database", 4,
            as_int(1, 100), key="pool_size"),
    Setting("MCP_MEMORY_PGVECTOR_INDEX", "vector search: exact (scan every selected row) or hnsw (approximate "
            "index, built once)", "exact", as_choice(*INDEX_KINDS), key="index"),
    Setting("MCP_MEMORY_PGVECTOR_EF_SEARCH", "hnsw.ef_search of HNSW queries: higher finds more true neighbours, "
            "slower", 100, as_int(1, 1000), key="ef_search"),
    Setting("MCP_MEMORY_PGVECTOR_DUPLICATE_SEARCH", "the near-duplicate check before each store: exact (scan the "
            "project's rows; always exact) or index (through the HNSW index when MCP_MEMORY_PGVECTOR_INDEX=hnsw: "
            "much faster on a large store, could miss a duplicate the index does not reach)", "exact",
            as_choice("exact", "index"), key="duplicate_search"),
    Setting("MCP_MEMORY_PGVECTOR_CONNECT_TIMEOUT", "seconds to wait for the server when connecting", 10,
            as_int(1, 600), key="connect_timeout"),
    Setting("MCP_MEMORY_PGVECTOR_TEXT_SEARCH", "PostgreSQL text search configuration of lexical search (english, "
            "simple, german ...); used when the schema is created, then recorded", "english", as_identifier,
            key="text_search"),
)


@dataclass(frozen=True)
class PgConfig:
    """Everything a store needs to connect, resolved from the settings and the factory's ``location``."""

    dsn: str
    schema: str
    pool_size: int
    index: str
    ef_search: int
    duplicate_search: str
    connect_timeout: int
    text_search: str

    @property
    def shown(self) -> str:
        """Where the store lives, safe to show: the DSN with its password masked, and the schema."""
        return f"{mask_dsn(self.dsn)} schema={self.schema}"


def section(settings: Settings | None) -> Any:
    return (settings or Settings()).section(SETTINGS)


def load_config(settings: Settings | None, location: str | None) -> PgConfig:
    """The store's configuration; ``location`` (a DSN) overrides the setting. ConfigError without any DSN."""
    values = section(settings)
    dsn = (location or "").strip() or values.dsn
    if not dsn:
        raise ConfigError(f"the pgvector store needs a database: set {DSN_VARIABLE} to a PostgreSQL connection "
                          "string such as postgresql://user:password@host:5432/dbname (the database needs the "
                          "pgvector extension)")
    return PgConfig(dsn=dsn, schema=values.schema, pool_size=values.pool_size, index=values.index,
                    ef_search=values.ef_search, duplicate_search=values.duplicate_search,
                    connect_timeout=values.connect_timeout,
                    text_search=values.text_search)


def mask_dsn(dsn: str) -> str:
    """The DSN as ``postgresql://user:***@host:port/dbname``: never the password, whatever form it came in."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a malformed DSN must still be shown without its secrets
        return "postgresql://(unparsable connection string)"
    user = str(parts.get("user") or "")
    secret = ":***" if parts.get("password") else ""
    host = str(parts.get("host") or "")
    port = f":{parts['port']}" if parts.get("port") else ""
    dbname = str(parts.get("dbname") or "")
    auth = f"{user}{secret}@" if user or secret else ""
    if host.startswith("/") or "," in host:  # a socket directory or several hosts
        return f"postgresql://{auth}/{dbname}?host={host}{port.replace(':', '&port=')}"
    return f"postgresql://{auth}{host}{port}/{dbname}"
