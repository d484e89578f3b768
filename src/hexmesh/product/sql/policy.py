"""The one policy step every statement of the SQL port passes through.

The session calls :meth:`QueryPolicy.decide` for every statement it is asked to describe or
execute (queries, catalog queries, prepared statements, COPY sources, SET/SHOW/BEGIN), before
DuckDB sees it. The policy may allow it, refuse it (SQLSTATE 42501) or rewrite the port tables
it reads: hide columns, replace a column by an expression, add a row filter. Port data is only
reachable through the tables the session resolves, so there is no path around this step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import pyarrow as pa
from sqlglot import exp

from hexmesh.product.sql.catalog import PortTable

__all__ = [
    "AllowAll",
    "CatalogFilter",
    "PolicyDecision",
    "QueryPolicy",
    "QueryRequest",
    "StatementKind",
    "TableAccess",
    "TableRewrite",
]

StatementKind = Literal["query", "command", "describe"]


@dataclass(frozen=True)
class TableAccess:
    """A port table a statement reads, and the snapshot it will read."""

    table: PortTable
    as_of: datetime
    snapshot_id: int


@dataclass(frozen=True)
class QueryRequest:
    """What the policy sees: who asks, the statement (parsed when it is a query) and its tables."""

    principal: object
    user: str
    sql: str
    kind: StatementKind
    statement: exp.Expr | None
    tables: tuple[TableAccess, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    """The session's settings (``hexmesh.purpose``, ``hexmesh.epsilon``, client settings)."""


@dataclass(frozen=True)
class TableRewrite:
    """How one table is shown to this query.

    ``transform`` maps a column to a SQL expression (DuckDB dialect) over the table's own
    columns, e.g. ``{"email": "md5(email)"}``; ``row_filter`` is a SQL predicate. ``source``
    replaces the snapshot's rows (an Arrow table or dataset of the table's schema, or a subset of
    its columns): synthetic variants are served this way.
    """

    hide: frozenset[str] = frozenset()
    transform: Mapping[str, str] = field(default_factory=dict)
    row_filter: str | None = None
    source: object | None = None


@dataclass(frozen=True)
class PolicyDecision:
    """Allow (optionally with table rewrites, keyed by ``schema.table``) or refuse."""

    refusal: str | None = None
    rewrites: Mapping[str, TableRewrite] = field(default_factory=dict)
    answer: pa.Table | None = None
    """The statement's result, computed by the policy (differentially private aggregates)."""

    @classmethod
    def allow(cls) -> PolicyDecision:
        return cls()

    @classmethod
    def refuse(cls, reason: str) -> PolicyDecision:
        return cls(refusal=reason)


class QueryPolicy(Protocol):
    """Decides, for every statement, whether and how it runs."""

    def decide(self, request: QueryRequest) -> PolicyDecision: ...


@runtime_checkable
class CatalogFilter(Protocol):
    """Optional: what a session's catalog (information_schema, pg_catalog) may show its principal."""

    def catalog_view(self, principal: object, tables: Sequence[PortTable]) -> Mapping[str, frozenset[str] | None]:
        """Hidden columns per ``schema.table``; None hides the whole table. Absent tables show fully."""
        ...


class AllowAll:
    """The policy of a node served without ``--auth``: every principal reads every port."""

    def decide(self, request: QueryRequest) -> PolicyDecision:
        # A synthetic variant is fitted by the policy sidecar; without it there is nothing to serve,
        # and the real rows must never pass for synthetic ones.
        synthetic = [a.table.qualified for a in request.tables if a.table.name.endswith("_synthetic")]
        if synthetic:
            return PolicyDecision.refuse(
                f"{synthetic[0]} is a synthetic variant, which this node serves only when it enforces "
                "policies (`hexmesh serve` without --no-auth; the policy sidecar fits it)"
            )
        return PolicyDecision.allow()
