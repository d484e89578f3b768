"""The name a port has on the SQL port: ``<schema>.<table>``, declared or derived.

By default the schema is the product's domain and the table ``<product>__<port>``, both with
``-`` as ``_`` so that psql and BI tools need no quoting. A product may declare ``sqlSchema``
(for all its ports) and a port ``sqlName`` (its table), so existing queries keep working when a
table becomes a data product. Every major but the newest adds ``_v<major>`` (the SQL port's
catalog does that part).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["RESERVED_SCHEMAS", "SqlIdentifier", "default_sql_name", "sql_identifier"]

#: Schemas of the SQL engine itself: a product may not take them.
RESERVED_SCHEMAS = ("main", "temp", "system", "information_schema", "hexmesh_pg")


def sql_identifier(name: str) -> str:
    """A lower-case identifier that needs no quotes: ``play-events`` → ``play_events``."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _sql_name(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"{name!r} is not a SQL name that needs no quotes; write at most 63 lower-case letters, digits "
            f"and _, not starting with a digit ({sql_identifier(name).lstrip('0123456789')[:63] or 'orders'!r})"
        )
    if name in RESERVED_SCHEMAS or name.startswith("pg_"):
        reserved = ", ".join(RESERVED_SCHEMAS)
        raise ValueError(f"{name!r} is a name of the SQL engine itself (reserved: {reserved}, pg_*); choose another")
    return name


#: A name on the SQL port: lower case, no quotes needed, at most PostgreSQL's 63 characters.
SqlIdentifier = Annotated[str, AfterValidator(_sql_name)]


def default_sql_name(domain: str, product: str, port: str) -> tuple[str, str]:
    """``(schema, table)`` of a port that declares nothing: the domain, and ``<product>__<port>``."""
    return sql_identifier(domain), sql_identifier(f"{product}__{port}")
