"""The SQL port's QueryPolicy: every table a statement reads, as its principal may see it.

For each port table the statement reads, the sidecar plans the read and the policy answers:

- ``rows``: the table is replaced by the principal's view (``sql_projection``): hidden columns
  are gone, redaction and generalization are SQL expressions, the row filter and minimum group
  sizes a WHERE. Pseudonyms and tokens (and anything without a SQL form) are computed with
  ``apply_plan`` on the snapshot once per plan fingerprint and read instead of the snapshot.
  Because the view replaces the table *inside* the query, ``SELECT *``, CTEs, subqueries,
  UNION, joins, aggregates, ORDER BY and error messages can only name what the view has.
- ``aggregate``: the statement must be a differentially private aggregate (:mod:`.dp`); the
  policy computes it with OpenDP, charges the budget, and the statement never reaches DuckDB.
- ``<table>_synthetic``: synthetic rows fitted on what the principal may see.
- anything else: refused with 42501 and how to ask for access.

The session's catalog (information_schema, pg_catalog, psql's ``\\d``) shows only the tables and
columns a principal may read. Every decision is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import pyarrow as pa

from hexmesh.governance import (
    ANONYMOUS,
    BudgetExhaustedError,
    GovernanceError,
    PolicyError,
    Principal,
    ReadPlan,
    private_aggregate,
    sql_projection,
)
from hexmesh.governance.rowfilter import quote_identifier
from hexmesh.product.policy.dp import DpSyntaxError, parse_dp
from hexmesh.product.policy.opening import open_table
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.product.sealing import epoch
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.policy import PolicyDecision, QueryRequest, TableAccess, TableRewrite
from hexmesh.product.sql.snapshots import SnapshotSource

__all__ = ["SqlPolicy", "as_principal"]

_SYNTHETIC = "_synthetic"


def as_principal(value: object) -> Principal:
    """The governance principal a session authenticated as; anything else is anonymous."""
    return value if isinstance(value, Principal) else ANONYMOUS


def _is_synthetic(table: PortTable) -> bool:
    base = table.product.spec.sql_name(table.port)[1]
    stem = table.name.removesuffix(_SYNTHETIC)
    return table.name.endswith(_SYNTHETIC) and stem in (base, f"{base}_v{table.product.record.major}")


def _denied(table: PortTable, plan: ReadPlan) -> str:
    why = "; ".join(plan.decision.reasons)
    return (
        f"{plan.decision.principal} may not read {table.qualified.removesuffix(_SYNTHETIC)} ({why}). "
        f"Ask for access: hexmesh access request {table.address} --purpose <purpose>"
    )


class SqlPolicy:
    """A :class:`~hexmesh.product.sql.QueryPolicy` and catalog filter backed by a :class:`PolicySidecar`."""

    def __init__(self, sidecar: PolicySidecar) -> None:
        self.sidecar = sidecar
        self.snapshots = SnapshotSource(sidecar.runtime, native=False)

    # -- QueryPolicy --------------------------------------------------------------------

    def decide(self, request: QueryRequest) -> PolicyDecision:
        principal = as_principal(request.principal)
        purpose = request.settings.get("hexmesh.purpose", "")
        rewrites: dict[str, TableRewrite] = {}
        for access in request.tables:
            table = access.table
            plan = self.sidecar.plan(table.product, principal, table.port.name, purpose=purpose)
            details = {"sql": request.sql[:2000], "table": table.qualified, "snapshot": access.snapshot_id}
            if request.kind == "query":
                self.sidecar.record(plan, via="sql", details=details)
            if not plan.decision.allowed:
                return PolicyDecision.refuse(_denied(table, plan))
            if _is_synthetic(table):
                rows = self.sidecar.variants.synthetic(self._key(access), partial(self._load, access), plan)
                rewrites[table.qualified] = TableRewrite(hide=frozenset(plan.hidden), source=rows)
            elif plan.variant == "aggregate":
                return self._aggregate(request, access, plan)
            elif plan.variant == "synthetic":
                return PolicyDecision.refuse(
                    f"{plan.decision.principal} may only read the synthetic variant of {table.qualified}: "
                    f"query {table.qualified}{_SYNTHETIC}"
                )
            else:
                rewrites[table.qualified] = self._rows(access, plan)
        return PolicyDecision(rewrites=rewrites)

    def _rows(self, access: TableAccess, plan: ReadPlan) -> TableRewrite:
        schema = access.table.arrow_schema
        hide = frozenset(plan.hidden)
        if any(a.kind in ("pseudonymize", "tokenize") for a in plan.columns.values()):
            # Keyed transforms run in Python: once per snapshot and plan, not once per query.
            rows = self.sidecar.variants.masked(self._key(access), lambda: self._load(access), plan)
            return TableRewrite(hide=hide, source=rows)
        try:
            projection = sql_projection(plan, schema)
        except PolicyError:
            rows = self.sidecar.variants.masked(self._key(access), lambda: self._load(access), plan)
            return TableRewrite(hide=hide, source=rows)
        names = [n for n in plan.columns if n in schema.names]
        transform = {}
        for name, select in zip(names, projection.select, strict=True):
            expression = select.removesuffix(f" AS {quote_identifier(name)}")
            if plan.columns[name].kind != "keep":
                transform[name] = expression
        return TableRewrite(hide=hide, transform=transform, row_filter=projection.where)

    def _aggregate(self, request: QueryRequest, access: TableAccess, plan: ReadPlan) -> PolicyDecision:
        table = access.table
        if len(request.tables) != 1:
            return PolicyDecision.refuse(f"{plan.decision.principal} may only aggregate {table.qualified}, alone")
        try:
            epsilon = float(request.settings.get("hexmesh.epsilon", "0.1"))
            statement = parse_dp(request.statement, epsilon)
        except (DpSyntaxError, ValueError) as exc:
            who = plan.decision.principal
            return PolicyDecision.refuse(f"{who} has aggregate-only access to {table.qualified}; {exc}")
        schema = statement.schema()
        if request.kind != "query":
            return PolicyDecision(answer=schema.empty_table())  # describing spends no budget
        data = self._load(access)
        values: list[object] = []
        try:
            for query in statement.queries:
                values.append(private_aggregate(data, plan, query, self.sidecar.ledger).value)
        except BudgetExhaustedError as exc:
            return PolicyDecision.refuse(str(exc))
        except GovernanceError as exc:
            return PolicyDecision.refuse(str(exc))
        arrays = [pa.array([v], type=f.type) for v, f in zip(values, schema, strict=True)]
        return PolicyDecision(answer=pa.Table.from_arrays(arrays, schema=schema))

    def _key(self, access: TableAccess) -> tuple[str, ...]:
        # A forget changes what a sealed port's rows open to: cached variants must not outlive it.
        shredded = [str(n) for n in epoch(self.sidecar.runtime, access.table.port)]
        return (*access.table.record.table_id, str(access.snapshot_id), *shredded)

    def _load(self, access: TableAccess) -> pa.Table:
        source = self.snapshots.dataset(access.table, access.snapshot_id)
        table = source if isinstance(source, pa.Table) else source.to_table()
        return open_table(self.sidecar.runtime, access.table.port, table)  # restricted fields, as plaintext

    # -- CatalogFilter ------------------------------------------------------------------

    def catalog_view(self, principal: object, tables: Sequence[PortTable]) -> Mapping[str, frozenset[str] | None]:
        """Hide the tables a principal may not read, and the columns it may not see."""
        who = as_principal(principal)
        view: dict[str, frozenset[str] | None] = {}
        for table in tables:
            plan = self.sidecar.plan(table.product, who, table.port.name)
            view[table.qualified] = frozenset(plan.hidden) if plan.decision.allowed else None
        return view
