"""Lineage: which products feed which (from input ports), and which columns feed which (from SQL).

Column lineage parses a product's DuckDB SQL with sqlglot, expands ``*`` from the input ports'
schemas, and follows every output column through CTEs, subqueries, joins and aliases down to
the input-port columns it is computed from.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from hexmesh.errors import HexmeshError
from hexmesh.mesh.entries import ProductEntry
from hexmesh.spec import DataProductSpec, inside, parse_address

__all__ = [
    "ColumnLineage",
    "ColumnSource",
    "LineageError",
    "ProductLineage",
    "column_lineage",
    "input_schemas",
    "product_column_lineage",
]


class LineageError(HexmeshError):
    """A transformation's SQL cannot be analysed for column lineage."""

    http_status = 422


@dataclass(frozen=True)
class ColumnSource:
    """An input-port column: ``input`` is the table name the SQL reads (the input port)."""

    input: str
    column: str


@dataclass(frozen=True)
class ColumnLineage:
    """Where one output column comes from; ``kind`` is IDENTITY, TRANSFORMATION or AGGREGATION."""

    output: str
    sources: tuple[ColumnSource, ...]
    kind: str


def column_lineage(
    sql: str, schema: Mapping[str, Sequence[str]] | None = None, *, dialect: str = "duckdb"
) -> list[ColumnLineage]:
    """For each output column of ``sql``, the input columns that feed it.

    ``schema`` maps input table names to their column names; it is needed to expand ``*`` and to
    resolve unqualified columns when several tables are joined.

    Raises:
        LineageError: the SQL does not parse, or a column cannot be resolved.
    """
    tables: dict[str, object] = {
        name: {column: "unknown" for column in columns} for name, columns in (schema or {}).items()
    }
    try:
        parsed = sqlglot.parse_one(sql, dialect=dialect)
        tables.update(_referenced_columns(parsed, tables))
        query = qualify(parsed, schema=tables or None, dialect=dialect, validate_qualify_columns=False)
        if not isinstance(query, exp.Query):
            raise LineageError(f"the transformation is a {query.key.upper()} statement, not a query")
        results = []
        for name in query.named_selects:
            if name == "*":
                raise LineageError(
                    "the query selects * from a table whose columns are unknown; "
                    "pass the input ports' schemas to expand it"
                )
            node = lineage(name, query, schema=tables, dialect=dialect)
            results.append(ColumnLineage(name, _sources(node), _kind(node)))
        return results
    except SqlglotError as exc:
        raise LineageError(f"cannot analyse the SQL: {str(exc).splitlines()[0]}") from None


def _referenced_columns(parsed: exp.Expr, known: dict[str, object]) -> dict[str, object]:
    """Columns the query reads from input tables whose schema was not given.

    DuckDB lets a projection use an earlier alias, so ``upper(country) as country, ...
    upper(country)`` is ambiguous to sqlglot without the table's columns. A name that a
    projection uses inside its own alias, or that is qualified by the table, is the table's.
    """
    found: dict[str, dict[str, str]] = {}
    for scope in traverse_scope(parsed):
        tables = {
            alias: source.name
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table) and source.name not in known
        }
        if not tables:
            continue
        only = next(iter(tables.values())) if len(scope.sources) == 1 else None
        aliases = {
            select.alias: select for select in getattr(scope.expression, "selects", []) if isinstance(select, exp.Alias)
        }
        for column in scope.columns:
            table = tables.get(column.table) if column.table else only
            alias = aliases.get(column.name)
            lateral = alias is not None and column.find_ancestor(exp.Alias) is not alias
            if table and not (lateral and not column.table):
                found.setdefault(table, {})[column.name] = "unknown"
    return dict(found)


def _sources(node: Node) -> tuple[ColumnSource, ...]:
    found: dict[tuple[str, str], None] = {}
    for item in node.walk():
        if not item.downstream and isinstance(item.expression, exp.Table):
            column = item.name.rsplit(".", 1)[-1].strip('"')
            found[(item.expression.name, column)] = None
    return tuple(ColumnSource(table, column) for table, column in sorted(found))


def _kind(node: Node) -> str:
    kind = "IDENTITY"
    for item in node.walk():
        expression = item.expression.unalias() if isinstance(item.expression, exp.Alias) else item.expression
        if isinstance(expression, exp.Table | exp.Column):
            continue
        if expression.find(exp.AggFunc):
            return "AGGREGATION"
        kind = "TRANSFORMATION"
    return kind


def input_schemas(spec: DataProductSpec, entries: Mapping[str, ProductEntry]) -> dict[str, list[str]]:
    """Input-port name to column names, for inputs whose upstream product is in ``entries``."""
    schemas = {}
    for port in spec.input_ports:
        if port.from_ is None:
            continue
        address = parse_address(port.from_)
        upstream = entries.get(address.product_key)
        found = upstream.port(address.port or "") if upstream else None
        if found is not None:
            schemas[port.name] = [f.name for f in found.fields]
    return schemas


def product_column_lineage(
    spec: DataProductSpec, bundle: Path, schema: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[ColumnLineage]]:
    """Column lineage of every output port computed by SQL in ``bundle`` (its deployed folder)."""
    sql = spec.transformation.sql if spec.transformation else None
    if sql is None:
        return {}
    files = {spec.output_ports[0].name: sql} if isinstance(sql, str) else dict(sql)
    paths = {port: inside(bundle, file) for port, file in files.items()}
    return {port: column_lineage(path.read_text(encoding="utf-8"), schema) for port, path in paths.items() if path}


class ProductLineage:
    """Product-level lineage: edges from each upstream output port to the reading product."""

    def __init__(self, entries: Iterable[ProductEntry]) -> None:
        self.edges: list[tuple[str, str]] = []
        #: The node serving each product (its discovery port's base URL), where the index knows it.
        self.nodes: dict[str, str] = {}
        self._up: dict[str, list[str]] = defaultdict(list)
        self._down: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            if entry.node_url:
                self.nodes[entry.key] = entry.node_url
            for port in entry.inputs:
                if port.from_ is None:
                    continue
                upstream = parse_address(port.from_).product_key
                if upstream not in self._up[entry.key]:
                    self._up[entry.key].append(upstream)
                    self._down[upstream].append(entry.key)
                    self.edges.append((upstream, entry.key))

    def across(self, edge: tuple[str, str]) -> bool:
        """Whether ``edge`` crosses nodes: its two products are served by different nodes (an input
        read over the upstream node's files port, docs/adr/0033)."""
        up, down = self.nodes.get(edge[0]), self.nodes.get(edge[1])
        return up is not None and down is not None and up != down

    def upstream(self, key: str, *, transitive: bool = True) -> list[str]:
        """Products ``key`` reads from, nearest first."""
        return self._walk(self._up, key, transitive)

    def downstream(self, key: str, *, transitive: bool = True) -> list[str]:
        """Products that read from ``key``, nearest first."""
        return self._walk(self._down, key, transitive)

    @staticmethod
    def _walk(graph: Mapping[str, list[str]], key: str, transitive: bool) -> list[str]:
        seen: dict[str, None] = {}
        queue = deque(graph.get(key, []))
        while queue:
            node = queue.popleft()
            if node in seen or node == key:
                continue
            seen[node] = None
            if transitive:
                queue.extend(graph.get(node, []))
        return list(seen)
