"""``hexmesh test``: run a contract's checks against a live output port, like ``datacontract test``.

The contract (ODCS or the Data Contract Specification) is read as ``hexmesh import`` reads it,
so it runs exactly the checks an imported product would: the schema (each field present, of a
compatible type), ``required``, ``unique`` and the primary key, ``logicalTypeOptions``, every
quality rule, and the SLAs hexmesh checks (freshness, latency, retention) — as of a time. The
rows are read through the governed read path as the caller's principal: a contract is tested
on what its reader sees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import NotFoundError
from hexmesh.infra.compute import LockedDuckDB
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.quality import run_checks
from hexmesh.spec import DataProductSpec, OutputPort, parse_address, parse_duration
from hexmesh.standards import Options, import_documents
from hexmesh.standards.scaffold import is_placeholder

__all__ = ["ContractCheck", "ContractReport", "Publication", "check_port", "contract_port"]


@dataclass
class ContractCheck:
    name: str
    kind: str
    passed: bool
    detail: str


@dataclass
class ContractReport:
    contract: str
    port: str
    as_of: str | None
    rows: int
    checks: list[ContractCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass(frozen=True)
class Publication:
    """When a snapshot of the port was published, as the caller may know it."""

    snapshot_id: int
    published: datetime


def contract_port(contract: Path, address: str) -> tuple[OutputPort, tuple[str, ...]]:
    """The port the contract describes for ``address`` (by name when it has several), and its names."""
    parsed = parse_address(address)
    if parsed.port is None:
        raise NotFoundError(f"{address} names no port; write dp://<domain>/<product>/<port>")
    products = import_documents([contract], Options(domain=parsed.domain, owner=parsed.domain))
    spec: DataProductSpec = products[0].spec
    ports = [p for p in spec.output_ports if not is_placeholder(p.custom_properties, True)]
    chosen = next((p for p in ports if p.name == parsed.port), ports[0] if len(ports) == 1 else None)
    if chosen is None:
        names = ", ".join(p.name for p in ports) or "none"
        raise NotFoundError(f"{contract} describes no table {parsed.port!r} (it describes: {names})")
    aliases = tuple(
        str(c.value) for c in chosen.custom_properties if c.property in ("odcs.name", "dcs.key") and c.value
    )
    return chosen, (chosen.name, *aliases)


def check_port(
    contract: Path,
    address: str,
    table: pa.Table,
    publications: list[Publication],
    *,
    as_of: datetime | None = None,
    snapshots_alive: set[int] | None = None,
) -> ContractReport:
    """Every check of ``contract`` on ``table`` (the port's rows as of ``as_of``, as the caller sees them)."""
    port, names = contract_port(contract, address)
    moment = as_of or datetime.now(UTC)
    checks = _schema(port, table)
    served = {f.name for f in port.properties if f.name in table.column_names}
    if served:
        # Checks on fields the port does not serve cannot run: each says so (the schema check failed already).
        runnable = [q for q in port.quality if set(q.columns) <= served]
        for skipped in (q for q in port.quality if not set(q.columns) <= served):
            missing = ", ".join(sorted(set(skipped.columns) - served))
            checks.append(ContractCheck(skipped.label, skipped.kind, False, f"not run: the port serves no {missing}"))
        narrowed = port.model_copy(
            update={
                "properties": [f for f in port.properties if f.name in served],
                "primary_key": [k for k in port.primary_key if k in served],
                "quality": runnable,
            }
        )
        projected = table.select([f.name for f in narrowed.properties])
        for result in run_checks(narrowed, projected, LockedDuckDB(), moment, aliases=names):
            checks.append(ContractCheck(result.check, result.kind, result.passed, result.detail))
    checks += _slas(port, table, publications, moment, snapshots_alive)
    return ContractReport(str(contract), address, as_of.isoformat() if as_of else None, table.num_rows, checks)


_WIDER = {("integer", "number"), ("integer", "decimal"), ("decimal", "number")}


def _kind(arrow: pa.DataType) -> str:
    if pa.types.is_integer(arrow):
        return "integer"
    if pa.types.is_floating(arrow):
        return "number"
    if pa.types.is_decimal(arrow):
        return "decimal"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    if pa.types.is_time(arrow):
        return "time"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return "binary"
    return "string"


def _schema(port: OutputPort, table: pa.Table) -> list[ContractCheck]:
    """Each declared field is served, with a type its readers can take as the contract's."""
    found = []
    declared = arrow_schema(port)
    for spec_field in port.properties:
        name = f"schema({spec_field.name})"
        if spec_field.name not in table.column_names:
            found.append(ContractCheck(name, "schema", False, f"the port serves no field {spec_field.name}"))
            continue
        served = _kind(table.schema.field(spec_field.name).type)
        wanted = _kind(declared.field(spec_field.name).type)
        ok = served == wanted or (served, wanted) in _WIDER
        detail = f"{served}" + ("" if ok else f", the contract says {spec_field.logical_type}")
        found.append(ContractCheck(name, "schema", ok, detail))
    return found


def _slas(
    port: OutputPort,
    table: pa.Table,
    publications: list[Publication],
    moment: datetime,
    alive: set[int] | None,
) -> list[ContractCheck]:
    slo = port.slo
    if slo is None:
        return []
    seen = [p for p in publications if p.published <= moment]
    found = []
    if slo.freshness:
        limit = parse_duration(slo.freshness)
        if not seen:
            found.append(ContractCheck("freshness", "sla", False, "nothing was published by then"))
        else:
            age = moment - seen[-1].published
            detail = f"newest snapshot {age.total_seconds():.0f}s old; promised at most {slo.freshness}"
            found.append(ContractCheck("freshness", "sla", age <= limit, detail))
    if slo.timeliness and port.event_time and port.event_time in table.column_names and seen and table.num_rows:
        newest = table.column(port.event_time).to_pylist()
        latest = max((v for v in newest if v is not None), default=None)
        if latest is not None:
            latest = latest if isinstance(latest, datetime) else datetime(latest.year, latest.month, latest.day)
            latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
            lag = seen[-1].published - latest
            detail = f"newest event {lag.total_seconds():.0f}s before it was published; promised {slo.timeliness}"
            found.append(ContractCheck("latency", "sla", lag <= parse_duration(slo.timeliness), detail))
    if slo.retention and alive is not None:
        start = moment - parse_duration(slo.retention)
        needed = [p for p in seen if p.published < start][-1:] + [p for p in seen if p.published >= start]
        gone = [p for p in needed if p.snapshot_id not in alive]
        detail = (
            f"{len(gone)} snapshot(s) of the last {slo.retention} unreadable" if gone else "every snapshot readable"
        )
        found.append(ContractCheck("retention", "sla", not gone, detail))
    return found
