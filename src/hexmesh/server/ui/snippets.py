"""Copy-paste connection snippets for one output port, from its discovery document.

Only what the document provides is used: the SQL DSN and table (when the node serves SQL),
the files and events URLs, and the Iceberg table location. A way the node does not offer is
left out rather than shown broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Snippet", "port_access", "snippets"]


@dataclass(frozen=True)
class Snippet:
    """One tab of the connection panel; ``language`` names the code's syntax."""

    id: str
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class PortAccess:
    """Where one port is served, as read from its ``dcat:Dataset``."""

    port: str
    sql_dsn: str | None = None
    sql_table: str | None = None
    parquet: str | None = None
    csv: str | None = None
    events: str | None = None
    iceberg: str | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("@id") or value.get("@value")
    return value if isinstance(value, str) and value else None


def port_access(dataset: dict[str, Any]) -> PortAccess:
    """The endpoints of a port, from its discovery ``dcat:Dataset`` (missing ones are None)."""
    found: dict[str, str | None] = {}
    for dist in dataset.get("dcat:distribution") or []:
        if not isinstance(dist, dict):
            continue
        title = str(dist.get("dct:title", ""))
        url = _text(dist.get("dcat:downloadURL")) or _text(dist.get("dcat:accessURL"))
        if title.startswith("SQL"):
            found["sql_dsn"], found["sql_table"] = url, _text(dist.get("hexmesh:table"))
        elif title == "files (parquet)":
            found["parquet"] = url
        elif title == "files (csv)":
            found["csv"] = url
        elif title.startswith("events (Server-Sent"):
            found["events"] = url
        elif title.startswith("Apache Iceberg"):
            found["iceberg"] = url
    return PortAccess(port=str(dataset.get("dct:title", "port")), **found)


def _jdbc(dsn: str) -> tuple[str, str | None]:
    parts = urlsplit(dsn)
    return f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}", parts.username


def snippets(access: PortAccess) -> list[Snippet]:
    """The snippets for one port, in the order the panel shows them."""
    out: list[Snippet] = []
    query = f"select * from {access.sql_table} limit 100" if access.sql_table else None
    if access.sql_dsn and query:
        dsn, q = access.sql_dsn, query
        out.append(Snippet("sql", "SQL", "sql", q + ";"))
        out.append(Snippet("psql", "psql", "shell", f"psql {json.dumps(dsn)} \\\n  -c '{q}'"))
        engine = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
        out.append(
            Snippet(
                "pandas",
                "pandas",
                "python",
                "import pandas as pd\nimport sqlalchemy\n\n"
                f"engine = sqlalchemy.create_engine({engine!r})\n"
                f"df = pd.read_sql({q!r}, engine)",
            )
        )
    elif access.csv:
        out.append(
            Snippet(
                "pandas",
                "pandas",
                "python",
                f"import pandas as pd\n\ndf = pd.read_csv({access.csv!r})",
            )
        )
    if access.parquet:
        out.append(
            Snippet(
                "polars",
                "polars",
                "python",
                f"import polars as pl\n\ndf = pl.read_parquet({access.parquet!r})",
            )
        )
    if access.sql_dsn and query:
        url, user = _jdbc(access.sql_dsn)
        out.append(
            Snippet(
                "spark",
                "Spark",
                "python",
                'df = (spark.read.format("jdbc")\n'
                f'      .option("url", {json.dumps(url)})\n'
                f'      .option("user", {json.dumps(user or "hexmesh")})\n'
                f'      .option("query", {json.dumps(query)})\n'
                "      .load())",
            )
        )
    elif access.iceberg:
        out.append(
            Snippet(
                "spark",
                "Spark",
                "python",
                "# The port is an Apache Iceberg table; read its published snapshots:\n"
                f'df = spark.read.format("iceberg").load({json.dumps(access.iceberg)})',
            )
        )
    if access.parquet:
        curl = f'curl -o {access.port}.parquet "{access.parquet}"'
        if access.events:
            curl += f'\n\n# follow new snapshots as they are published\ncurl -N "{access.events}"'
        out.append(Snippet("curl", "curl", "shell", curl))
    return out
