"""Which tables the SQL port shows: one per output port of every deployed major version.

Naming scheme (docs/sql.md): schema = the product's ``sqlSchema`` (default its domain), table =
the port's ``sqlName`` (default ``<product>__<port>``), with ``-`` turned into ``_`` so that psql
and BI tools need no quoting (hexmesh.spec.sqlname). The newest deployed major version has the
plain name; every other deployed major adds ``_v<major>`` (``podcasts.play_events__plays_v1``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa

from hexmesh.infra.state import PortRecord, VersionRecord
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import served_schema
from hexmesh.spec import DataProductSpec, OutputPort
from hexmesh.spec.sqlname import sql_identifier

__all__ = ["PortTable", "TableCatalog", "port_table_name", "sql_identifier"]


def port_table_name(spec: DataProductSpec, port: str, *, major_suffix: int | None = None) -> str:
    """``schema.table`` of a port on the SQL port; older majors carry ``_v<major>``."""
    suffix = f"_v{major_suffix}" if major_suffix is not None else ""
    output = spec.output(port)
    assert output is not None, port
    schema, table = spec.sql_name(output)
    return f"{schema}.{table}{suffix}"


@dataclass(frozen=True)
class PortTable:
    """One output port, as the SQL port shows it."""

    schema: str
    name: str
    product: DeployedProduct
    port: OutputPort
    record: PortRecord

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def address(self) -> str:
        return f"dp://{self.product.key}@{self.product.record.major}/{self.port.name}"

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        # Read on every statement; the port's declared fields never change for this table.
        # As served: a restricted field reads as null once its subject is forgotten, even if required.
        return served_schema(self.port, arrow_schema(self.port))


class TableCatalog:
    """Lists the port tables of a workspace; specs are parsed once per deployed version."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._products: dict[tuple[str, str, str], DeployedProduct] = {}
        self._lock = threading.Lock()
        # The tables of the last read, and what they were read at: the deployments' generation and the retired majors.
        self._read: tuple[tuple[int, ...], frozenset[tuple[str, int]], list[PortTable]] | None = None

    def tables(self) -> list[PortTable]:
        """Every port table of a major that serves, as the state store says now (new deployments show up).

        Read on every connect: two small queries tell whether anything was deployed or retired
        since the last read (``deployments_generation``, ``retired``); only then are the versions
        and ports read again. A retired major is not a table at all: the plain name goes to the
        newest major that still serves, as ``dp://`` addresses without a major do.
        """
        state = self.runtime.state
        generation = state.deployments_generation()
        retired = frozenset(self.retired())
        with self._lock:
            if self._read is not None and self._read[:2] == (generation, retired):
                return list(self._read[2])  # a copy: sessions share the tables, not the list
        # Read outside the lock: what is recorded meanwhile has a newer generation, so the next connect reads again.
        tables = self._read_tables(retired)
        with self._lock:
            self._read = (generation, retired, tables)
        return list(tables)

    def _read_tables(self, retired: frozenset[tuple[str, int]]) -> list[PortTable]:
        newest: dict[str, int] = {}
        seen = set(retired)
        out: list[PortTable] = []
        # versions() is ordered newest first, so the first record of a major is its newest.
        for record in self.runtime.state.versions():
            if (record.product, record.major) in seen:
                continue
            seen.add((record.product, record.major))
            newest.setdefault(record.product, record.major)
            product = self._product(record)
            suffix = "" if newest[record.product] == record.major else f"_v{record.major}"
            for port in product.spec.output_ports:
                port_record = self.runtime.state.port(product.key, record.major, port.name)
                if port_record is None:
                    continue
                schema, table = product.spec.sql_name(port)
                out.append(
                    PortTable(
                        schema,
                        table + suffix,
                        product,
                        port,
                        port_record,
                    )
                )
        return out

    def retired(self) -> set[tuple[str, int]]:
        """Every retired (product, major): read per statement, so an open session stops serving one too."""
        return self.runtime.state.retired()

    def _product(self, record: VersionRecord) -> DeployedProduct:
        key = (record.product, record.version, record.spec_hash)
        with self._lock:
            cached = self._products.get(key)
            if cached is None:
                cached = DeployedProduct(record)
                _ = cached.spec  # parse once, now
                self._products[key] = cached
            return cached
