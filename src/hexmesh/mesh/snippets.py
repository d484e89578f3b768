"""Connect snippets for one output port: the one source of the UI's, the CLI's and the docs' snippets.

They are made from the port's discovery ``dcat:Dataset`` alone, so a peer's port gets them too:
the SQL DSN and table (when the node serves SQL), the files and events URLs, the port's address
and its node. A way the document does not offer is left out rather than shown broken.

Every snippet carries the caller's API token the way its tool expects it, read from
``$HEXMESH_TOKEN`` (never written into the snippet): the password of the SQL port (which takes a
password only over TLS, so the DSN of a node with ``--auth`` says ``sslmode=require``), a bearer
header for the files port. A ``purpose`` is stated where the tool can: ``SET hexmesh.purpose``
before the query, ``purpose=`` on a URL, ``read(purpose=…)`` in the Python client.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from hexmesh.infra.settings.model import TOKEN_ENV

__all__ = ["TOKEN_ENV", "PortAccess", "Snippet", "port_access", "snippets"]


@dataclass(frozen=True)
class Snippet:
    """One way to connect; ``language`` names the code's syntax (sql, shell, python, text)."""

    id: str
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class PortAccess:
    """Where one port is served, as read from its ``dcat:Dataset``."""

    port: str
    address: str | None = None
    node: str | None = None
    sql_dsn: str | None = None
    sql_table: str | None = None
    parquet: str | None = None
    csv: str | None = None
    events: str | None = None
    readable: bool = True
    """False for a port the caller may only ask for (``hexmesh:access: request``): nothing to connect to."""


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
    here = _text(dataset.get("@id"))
    node = here.split("/products/")[0] if here and "/products/" in here else None
    address = _text(dataset.get("dct:identifier"))
    readable = dataset.get("hexmesh:access") != "request"
    return PortAccess(
        port=str(dataset.get("dct:title", "port")), address=address, node=node, readable=readable, **found
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shell_word(text: str) -> str:
    """``text`` as one shell word a person can read: "…" around SQL literals, else shlex's quoting."""
    if "'" in text and not any(c in text for c in '"$`\\!'):
        return f'"{text}"'
    return shlex.quote(text)


def _with_purpose(url: str, purpose: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}purpose={quote(purpose)}" if purpose else url


def _sslmode(dsn: str) -> str | None:
    modes = parse_qs(urlsplit(dsn).query).get("sslmode")
    return modes[0] if modes else None


def _sql(dsn: str, table: str, purpose: str) -> list[Snippet]:
    query = f"select * from {table} limit 100"
    setup = f"set hexmesh.purpose = {_sql_literal(purpose)}" if purpose else ""
    statements = " ".join(f"-c {_shell_word(s)}" for s in (setup, query) if s)
    state = f"    conn.execute({setup!r})\n" if setup else ""
    return [
        Snippet("sql", "SQL", "sql", (f"{setup};\n" if setup else "") + f"{query};"),
        Snippet("psql", "psql", "shell", f'PGPASSWORD="${TOKEN_ENV}" psql {shlex.quote(dsn)} \\\n  {statements}'),
        Snippet(
            "psycopg",
            "psycopg",
            "python",
            "import os\n\nimport psycopg\n\n"
            f"with psycopg.connect({dsn!r}, password=os.environ.get({TOKEN_ENV!r})) as conn:\n"
            f"{state}    rows = conn.execute({query!r}).fetchall()\n"
            "print(len(rows), 'rows')",
        ),
    ]


def _drivers(dsn: str) -> list[Snippet]:
    """What a JDBC or ODBC tool (DBeaver, Tableau, Excel) asks for."""
    parts, mode = urlsplit(dsn), _sslmode(dsn)
    where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
    return [
        Snippet(
            "jdbc",
            "JDBC",
            "text",
            f"jdbc:postgresql://{where}" + (f"?sslmode={mode}" if mode else "") + "\n"
            f"user: any name (the token says who you are)\npassword: your API token (${TOKEN_ENV})",
        ),
        Snippet(
            "odbc",
            "ODBC",
            "text",
            f"Driver={{PostgreSQL Unicode}};Server={parts.hostname};Port={parts.port or 5432};"
            f"Database={parts.path.lstrip('/')};"
            + (f"SSLMode={mode};" if mode else "")
            + "Uid=hexmesh;Pwd=<your API token>",
        ),
    ]


def _files(parquet: str, purpose: str) -> list[Snippet]:
    url = _with_purpose(parquet, purpose)
    read = (
        f"token = os.environ.get({TOKEN_ENV!r}, '')\n"
        f"pdf = pd.read_parquet({url!r}, storage_options={{'Authorization': f'Bearer {{token}}'}})\n"
    )
    return [
        Snippet(
            "pandas",
            "pandas",
            "python",
            "import os\n\nimport pandas as pd\n\n" + read.replace("pdf =", "df =") + "print(len(df), 'rows')",
        ),
        Snippet(
            "spark",
            "Spark",
            "python",
            "# Spark's own readers send no token over HTTP: read the files port, then hand it to Spark.\n"
            "import os\n\nimport pandas as pd\nfrom pyspark.sql import SparkSession\n\n"
            "spark = SparkSession.builder.getOrCreate()\n" + read + "df = spark.createDataFrame(pdf)\n"
            "print(df.count(), 'rows')",
        ),
    ]


def _curl(access: PortAccess, parquet: str, purpose: str) -> Snippet:
    header = f'-H "Authorization: Bearer ${TOKEN_ENV}"'
    code = f'curl --fail -L {header} -o {access.port}.parquet "{_with_purpose(parquet, purpose)}"'
    if access.events:
        follow = _with_purpose(access.events, purpose)
        code += f'\n\n# follow new snapshots as they are published\ncurl --fail -N {header} "{follow}"'
    return Snippet("curl", "curl", "shell", code)


def _client(node: str, address: str, purpose: str) -> Snippet:
    stated = f"purpose={purpose!r}, " if purpose else ""
    return Snippet(
        "python",
        "hexmesh client",
        "python",
        f"import hexmesh\n\n# the token: ${TOKEN_ENV} (or hexmesh.connect(..., token='hxm_…'))\n"
        f"port = hexmesh.connect({node!r}).port({address!r})\n"
        f"df = port.read({stated}to='pandas')\nprint(len(df), 'rows')",
    )


def snippets(access: PortAccess, *, purpose: str = "") -> list[Snippet]:
    """The snippets for one port, in the order the UI shows them; ``purpose`` is stated in each."""
    out: list[Snippet] = []
    if not access.readable:
        return out
    if access.sql_dsn and access.sql_table:
        out += _sql(access.sql_dsn, access.sql_table, purpose)
    if access.node and access.address:
        out.append(_client(access.node, access.address, purpose))
    if access.parquet:
        out += _files(access.parquet, purpose)
        out.append(_curl(access, access.parquet, purpose))
    if access.sql_dsn and access.sql_table:
        out += _drivers(access.sql_dsn)
    return out
