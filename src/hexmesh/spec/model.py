"""The data product descriptor (``dataproduct.yaml``) as strict pydantic models.

Keys are camelCase and reuse the names of the Open Data Product Standard (``inputPorts``,
``outputPorts``, ``status``, ``tags``) and the Open Data Contract Standard (``properties``,
``logicalType``, ``required``, ``primaryKey``, ``classification``, ``quality``) where the concept
is the same, so import and export are lossless. Cross-field rules (an event-time field that
exists, unique port names...) live in :mod:`hexmesh.spec.consistency` so that every problem is
reported at once with its ``file:line:col``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, StringConstraints, Tag, field_validator, model_validator
from pydantic.alias_generators import to_camel

from hexmesh.spec.address import NAME_PATTERN, PORT_PATTERN
from hexmesh.spec.base import Count, CustomProperty, DurationText, FieldName, SpecModel
from hexmesh.spec.base import check_duration as _check_duration
from hexmesh.spec.constraints import FieldOptions
from hexmesh.spec.duration import parse_duration
from hexmesh.spec.policies import ProductPolicies as Policies
from hexmesh.spec.quality import QUALITY_KINDS, QualityCheck
from hexmesh.spec.sqlname import SqlIdentifier, default_sql_name

__all__ = [
    "CLASSIFICATIONS",
    "DATABASE_SCHEMES",
    "LOGICAL_TYPES",
    "QUALITY_KINDS",
    "Classification",
    "CronTrigger",
    "CustomProperty",
    "DataProductSpec",
    "DatabaseSourceSpec",
    "DriftBound",
    "FieldOptions",
    "FieldSpec",
    "InputPort",
    "LogicalType",
    "OutputPort",
    "Policies",
    "PostgresSourceSpec",
    "QualityCheck",
    "SensorTrigger",
    "Slo",
    "SourceSpec",
    "Transformation",
    "Trigger",
    "Window",
]

LogicalType = Literal["string", "integer", "number", "decimal", "boolean", "date", "timestamp", "time", "binary"]
LOGICAL_TYPES: tuple[str, ...] = get_args(LogicalType)
#: Ordered from least to most sensitive; "tightening" means moving right.
Classification = Literal["public", "internal", "confidential", "personal", "restricted"]
CLASSIFICATIONS: tuple[str, ...] = get_args(Classification)
Status = Literal["proposed", "draft", "active", "deprecated", "retired"]

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=63)]
PortName = Annotated[str, StringConstraints(pattern=PORT_PATTERN, max_length=63)]
# Each number at most nine digits: the major is stored and compared as an integer.
SemVer = Annotated[
    str,
    StringConstraints(
        pattern=r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-[0-9A-Za-z.-]+)?$", max_length=100
    ),
]


class FieldSpec(SpecModel):
    """One field (ODCS: a property) of an output port."""

    name: FieldName
    """Column name; it is a SQL identifier."""
    logical_type: LogicalType
    """string, integer (64-bit), number (double), decimal, boolean, date, timestamp (UTC), time, binary."""
    required: bool = False
    """True when the field may never be null."""
    description: str = ""
    classification: Classification | None = None
    """public < internal < confidential < personal < restricted."""
    classification_reason: str = ""
    """Why the field is classified weaker than the data it is derived from (classification follows
    the data through lineage; see docs/governance.md)."""
    precision: int | None = Field(default=None, ge=1, le=38)
    """Decimal precision (decimal only)."""
    scale: int | None = Field(default=None, ge=0, le=38)
    """Decimal scale (decimal only)."""
    concept: str | None = None
    """IRI of the business concept this field carries (for example https://schema.org/email)."""
    links: list[str] = []
    """Other products' fields this one refers to: dp://domain/product/port#field."""
    tags: list[str] = []
    physical_type: str | None = None
    """The type in the system the data comes from or goes to (ODCS physicalType, e.g. VARCHAR(18));
    documentation: hexmesh stores and serves the logicalType."""
    unique: bool = False
    """No two rows of a run's output share a non-null value (checked before publication)."""
    logical_type_options: FieldOptions | None = None
    """Bounds, lengths, a pattern or allowed values (ODCS logicalTypeOptions), checked before publication."""
    custom_properties: list[CustomProperty] = []


class DriftBound(SpecModel):
    """How far a field's shape may move from one publication to the next before the drift SLO alerts."""

    null_ratio: float | None = Field(default=None, ge=0, le=1)
    """Largest change of a field's share of NULLs, for example 0.05 (five points)."""
    mean: float | None = Field(default=None, ge=0)
    """Largest relative change of a numeric field's mean, for example 0.5 (±50%)."""
    fields: list[FieldName] = []
    """The fields watched (default: every field)."""

    @model_validator(mode="after")
    def _some_bound(self) -> DriftBound:
        if self.null_ratio is None and self.mean is None:
            raise ValueError("drift needs a bound: nullRatio (e.g. 0.05), mean (e.g. 0.5), or both")
        return self


class Slo(SpecModel):
    """Service-level objectives of an output port (promises the observers check)."""

    freshness: DurationText | None = None
    """Maximum age of the newest snapshot, for example 1d."""
    timeliness: DurationText | None = None
    """Maximum p95 of processing time minus event time, for example 2h."""
    completeness: float | None = Field(default=None, ge=0, le=1)
    """Minimum ratio of actual to expected rows per run."""
    expected_rows: Count | None = None
    """Expected rows per run, the denominator of completeness (default: the previous publication's rows)."""
    retention: DurationText | None = None
    """How long published snapshots stay readable (time travel), for example 3y."""
    drift: DriftBound | None = None
    """How far fields' shapes may drift between two publications."""

    @model_validator(mode="after")
    def _durations(self) -> Slo:
        _check_duration(self.freshness)
        _check_duration(self.timeliness)
        _check_duration(self.retention)
        return self

    def freshness_delta(self) -> timedelta | None:
        return parse_duration(self.freshness) if self.freshness else None


class OutputPort(SpecModel):
    """An output port: one temporal, immutable table."""

    name: PortName
    description: str = ""
    mode: Literal["append", "replace"] = "append"
    """append: each run adds rows; replace: each run publishes the complete current state."""
    event_time: FieldName | None = None
    """The date or timestamp field holding event time (for since/until reads)."""
    primary_key: list[FieldName] = []
    properties: list[FieldSpec] = Field(min_length=1)
    """The schema (ODCS name)."""
    slo: Slo | None = None
    quality: list[QualityCheck] = []
    tags: list[str] = []
    custom_properties: list[CustomProperty] = []
    sql_name: SqlIdentifier | None = None
    """The port's table on the SQL port (default <product>__<port>), in the product's sqlSchema."""

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.properties if f.name == name), None)


Format = Literal["csv", "parquet", "json"]


#: A column type a source may force: a logical type, or ``decimal(precision, scale)``.
SOURCE_TYPE = re.compile(r"^(string|integer|number|boolean|date|timestamp|time|decimal\((\d{1,2}),\s*(\d{1,2})\))$")
#: Options only a CSV file has.
CSV_OPTIONS = ("delimiter", "quote", "header", "encoding", "null_values", "empty_as_null", "decimal_separator")
#: Options of text formats (CSV and JSON lines): Parquet files carry their own types.
TEXT_OPTIONS = ("date_format", "timestamp_format", "types")


class SourceSpec(SpecModel):
    """An operational source: files (a file, or a folder of files) in CSV, Parquet or JSON lines.

    CSV defaults are PostgreSQL's ``COPY ... (FORMAT csv)`` and DuckDB's ``read_csv``: comma,
    double quote, a header line, UTF-8, and an empty field is NULL whatever the column's type
    (a quoted empty field ``""`` is an empty string).
    """

    format: Format
    path: str
    """A file or folder; relative to the product folder; ${VAR} expands environment variables."""
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """CSV: the character between fields."""
    quote: str = Field(default='"', min_length=1, max_length=1)
    """CSV: the character around fields that hold a delimiter, a quote (doubled) or a line break."""
    header: bool = True
    """CSV: the first line names the columns (false: columns are f0, f1, ...)."""
    encoding: str = "utf-8"
    """CSV: the files' character encoding, for example latin-1 or cp1252."""
    null_values: list[str] = []
    """CSV: more field values that mean NULL in every column, for example [NA, "\\N"]."""
    empty_as_null: bool = True
    """CSV: an unquoted empty field is NULL in every column; false keeps it as '' in text columns."""
    decimal_separator: Literal[".", ","] = "."
    """CSV: the decimal separator of numbers (',' for 1,98)."""
    date_format: str | None = None
    """Text columns that all match this strptime format become dates, for example %d/%m/%Y."""
    timestamp_format: str | None = None
    """Text columns that all match this strptime format become UTC timestamps, for example %d/%m/%Y %H:%M."""
    types: dict[FieldName, str] = {}
    """Column types instead of guessed ones, for example {total: "decimal(10,2)", zip: string}."""
    settle: DurationText | None = None
    """Ignore files modified less than this long ago (still being written), for example 30s."""

    @field_validator("settle")
    @classmethod
    def _settle(cls, value: str | None) -> str | None:
        return _check_duration(value)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"encoding {value!r} is not known; write utf-8, latin-1, cp1252, utf-16...") from None
        return value

    @field_validator("date_format", "timestamp_format")
    @classmethod
    def _strptime(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"{value!r} is not a strptime format; write directives such as %d/%m/%Y %H:%M:%S")
        return value

    @field_validator("types")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        for column, kind in value.items():
            match = SOURCE_TYPE.match(kind)
            if match is None:
                raise ValueError(
                    f"types.{column}: {kind!r} is not a type; write string, integer, number, boolean, date, "
                    "timestamp, time or decimal(precision,scale)"
                )
            if match.group(2) is not None:
                precision, scale = int(match.group(2)), int(match.group(3))
                if not 1 <= precision <= 38 or scale > precision:
                    raise ValueError(
                        f"types.{column}: {kind} needs 1 <= precision <= 38 and scale <= precision, "
                        "for example decimal(10,2)"
                    )
        return value

    @model_validator(mode="after")
    def _format_options(self) -> SourceSpec:
        given = self.model_fields_set
        wrong = [k for k in CSV_OPTIONS if k in given] if self.format != "csv" else []
        wrong += [k for k in TEXT_OPTIONS if k in given] if self.format == "parquet" else []
        if wrong:
            names = ", ".join(to_camel(k) for k in wrong)
            why = "Parquet files carry their own types" if self.format == "parquet" else "they apply to CSV only"
            raise ValueError(f"{names} cannot apply to a {self.format} source ({why}); remove them")
        return self


SourceMode = Literal["cursor", "cdc"]


class PostgresSourceSpec(SpecModel):
    """A PostgreSQL table or query, read incrementally by a cursor column or by logical replication."""

    postgres: str = Field(min_length=1)
    """Connection URL, for example postgresql://app@db:5432/users; ${VAR} expands environment variables."""
    table: str | None = None
    """A table (or schema.table) to read."""
    query: str | None = None
    """A SELECT to read instead of a table."""
    cursor: FieldName | None = None
    """A column that only grows (an id, or an updated_at timestamp); incremental cursor reads need one."""
    mode: SourceMode = "cursor"
    """cursor (compare a growing column) or cdc (logical replication: inserts, updates and deletes)."""
    slot: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$", max_length=63)] | None = None
    """cdc: the replication slot and publication name; default hexmesh_<domain>_<product>_<major>_<port>."""

    @model_validator(mode="after")
    def _one_relation(self) -> PostgresSourceSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("a postgres source needs exactly one of 'table' or 'query'")
        if self.mode == "cdc" and self.table is None:
            raise ValueError(
                "mode: cdc reads a table's changes by logical replication, and a query cannot be replicated; "
                "name the table (table: users), or read the query with mode: cursor"
            )
        if self.mode != "cdc" and self.slot is not None:
            raise ValueError("'slot' names the replication slot of mode: cdc; remove it, or set mode: cdc")
        if self.mode == "cdc" and self.cursor is not None:
            raise ValueError(
                "mode: cdc reads every change in commit order and needs no cursor column; remove 'cursor' "
                "or use mode: cursor"
            )
        return self

    @property
    def format(self) -> str:
        """``postgres``: lets code that describes file sources describe this one too."""
        return "postgres"

    @property
    def path(self) -> str:
        """The table, or ``query``: never the URL, which may carry a password."""
        return self.table or "query"


#: URL schemes of a ``database:`` source, each read by its own module.
DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite")


class DatabaseSourceSpec(SpecModel):
    """A table or query of a database named by URL (PostgreSQL or SQLite), read by a cursor column.

    The scheme picks the database: ``postgresql://user@host:5432/db`` or ``sqlite:///path/to/file.db``
    (a relative path is relative to the product's folder). Because ``${VAR:-default}`` expands when
    the port is read, one spec can read SQLite by default and PostgreSQL when a variable says so.
    Logical replication (``mode: cdc``) is PostgreSQL's: use ``postgres:`` for it.
    """

    database: str = Field(min_length=1)
    """Connection URL: postgresql://app@db:5432/users or sqlite:///data/users.db; ${VAR} expands."""
    table: str | None = None
    """A table (or schema.table) to read."""
    query: str | None = None
    """A SELECT to read instead of a table."""
    cursor: FieldName | None = None
    """A column that only grows (an id, or an updated_at timestamp); incremental reads need one."""

    @model_validator(mode="after")
    def _one_relation(self) -> DatabaseSourceSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("a database source needs exactly one of 'table' or 'query'")
        scheme = self.database.split("://", 1)[0].lower() if "://" in self.database else ""
        if not self.database.startswith("${") and scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"database URL {self.database.split('@')[-1]!r} has no scheme hexmesh reads; write "
                "postgresql://USER@HOST:5432/DB or sqlite:///path/to/file.db"
            )
        return self

    @property
    def format(self) -> str:
        """``database``: lets code that describes file sources describe this one too."""
        return "database"

    @property
    def path(self) -> str:
        """The table, or ``query``: never the URL, which may carry a password."""
        return self.table or "query"


def _source_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "postgres" if "postgres" in value else "database" if "database" in value else "files"
    if isinstance(value, DatabaseSourceSpec):
        return "database"
    return "postgres" if isinstance(value, PostgresSourceSpec) else "files"


AnySource = Annotated[
    Annotated[SourceSpec, Tag("files")]
    | Annotated[PostgresSourceSpec, Tag("postgres")]
    | Annotated[DatabaseSourceSpec, Tag("database")],
    Discriminator(_source_kind),
]


class Window:
    """How much of an input to read: all history, the last N days of event time, or what is new."""

    def __init__(self, kind: Literal["all", "incremental", "last"], days: timedelta | None = None):
        self.kind = kind
        self.last = days

    @classmethod
    def parse(cls, text: str) -> Window:
        if text in ("all", "incremental"):
            return cls(text)  # type: ignore[arg-type]
        if text.startswith("last "):
            return cls("last", parse_duration(text.removeprefix("last ")))
        raise ValueError(f"window {text!r} is not known; write all, incremental, or last <duration> (last 7d)")


class InputPort(SpecModel):
    """An input port: another product's output port (``from``) or an operational ``source``."""

    name: PortName
    description: str = ""
    from_: str | None = Field(default=None, alias="from")
    """Address of an upstream output port: dp://domain/product[@major]/port."""
    source: AnySource | None = None
    """Files (format + path), a table or query of a database (database URL + table/query + cursor), or postgres."""
    window: str = "all"
    """all | incremental | last <duration>, for example last 7d."""
    purpose: str = ""
    """Why the product reads the upstream port (with ``from``): it reads as its own principal, and grants
    bound to a purpose (an approved access request) apply only to reads for that purpose."""
    properties: list[FieldSpec] = []
    """Optional: the fields each record must have; HTTP ingest refuses events that do not match."""
    custom_properties: list[CustomProperty] = []

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        Window.parse(value)
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> InputPort:
        if (self.from_ is None) == (self.source is None):
            raise ValueError("an input port needs exactly one of 'from' (an upstream port) or 'source'")
        if self.purpose and self.from_ is None:
            raise ValueError("'purpose' says why a product reads an upstream port: use it with 'from', not 'source'")
        if (
            isinstance(self.source, PostgresSourceSpec)
            and self.window == "incremental"
            and self.source.mode == "cursor"
            and self.source.cursor is None
        ):
            raise ValueError("an incremental postgres source needs a cursor column (cursor: updated_at)")
        if isinstance(self.source, DatabaseSourceSpec) and self.window == "incremental" and self.source.cursor is None:
            raise ValueError("an incremental database source needs a cursor column (cursor: id)")
        if isinstance(self.source, PostgresSourceSpec) and self.source.mode == "cdc" and self.window != "incremental":
            raise ValueError(
                "a postgres source with mode: cdc reads each change once; declare window: incremental, "
                f"not {self.window!r}"
            )
        return self

    @property
    def window_spec(self) -> Window:
        return Window.parse(self.window)


class Limits(SpecModel):
    """What one run of a Python transformation may use; the node's settings cap both."""

    memory_mb: int | None = Field(default=None, ge=16, le=1024 * 1024)
    """Writable memory (heap, Arrow buffers) of the transformation's process, in megabytes."""
    cpu_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)
    """CPU time of the transformation's process, in seconds."""


class Transformation(SpecModel):
    """The product's code: SQL (DuckDB dialect) or a Python function; omit for a pass-through."""

    sql: str | dict[PortName, str] | None = None
    """A .sql file (one output port), or a mapping of output port to .sql file."""
    python: str | None = None
    """file.py:function — called with a dict of input Arrow tables; returns one table per port.

    It runs in its own process, which reads only Python's files and the product's bundle, writes
    nowhere, opens no network connection and sees none of the node's settings or secrets. With
    ``engine: spark`` it is called ``build(spark, inputs)`` with Spark DataFrames and returns them
    (a PySpark transformation, docs/adr/0038-pyspark-builds.md)."""
    limits: Limits = Limits()
    """Python only: memoryMb and cpuSeconds for each run (within the node's python_* settings)."""
    engine: Literal["duckdb", "spark"] | None = None
    """The compute engine the transformation runs on; omit for the mesh's default (setting compute_engine)."""

    @model_validator(mode="after")
    def _one_kind(self) -> Transformation:
        if (self.sql is None) == (self.python is None):
            raise ValueError("a transformation needs exactly one of 'sql' or 'python'")
        if self.python is not None and ":" not in self.python:
            raise ValueError(f"python {self.python!r} must be written file.py:function")
        if self.python is None and self.limits != Limits():
            raise ValueError("limits apply to a python transformation; SQL runs within the node's statement limits")
        return self


class CronTrigger(SpecModel):
    """Run on a cron schedule (UTC), for example ``{cron: "0 * * * *"}`` for every hour."""

    cron: str
    upstream: bool = False
    """Also run when an upstream publishes."""

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter  # type: ignore[import-untyped]

        if not croniter.is_valid(value):
            raise ValueError(
                f"cron expression {value!r} is not valid; write five fields: minute hour day month "
                "weekday, for example '0 * * * *' (every hour)"
            )
        return value


class SensorTrigger(SpecModel):
    """Run when a source has something new: landed files, HTTP ingest batches, PostgreSQL rows or changes.

    For example ``{sources: all, debounce: 30s, minInterval: 5m}``.
    """

    sources: Literal["all"] | list[PortName] = "all"
    """The input ports whose sources are watched (all: every input port with a source)."""
    debounce: DurationText = "0s"
    """Wait until the sources have been quiet this long (a burst of files is one run), for example 30s."""
    min_interval: DurationText = "0s"
    """Start sensor runs at least this far apart, for example 5m."""
    upstream: bool = True
    """Also run when an upstream publishes (for products with upstream inputs too)."""

    @model_validator(mode="after")
    def _durations(self) -> SensorTrigger:
        _check_duration(self.debounce)
        _check_duration(self.min_interval)
        return self


def _trigger_kind(value: object) -> str:
    if isinstance(value, str):
        return "named"
    if isinstance(value, dict) and "cron" not in value:
        return "sensor"
    if isinstance(value, SensorTrigger):
        return "sensor"
    return "cron"


#: ``upstream`` (the default): run when an input's upstream publishes; ``manual``: only on request;
#: ``{cron: ...}`` on a schedule; ``{sources: ...}`` when a source has something new (a sensor).
Trigger = Annotated[
    Annotated[Literal["upstream", "manual"], Tag("named")]
    | Annotated[CronTrigger, Tag("cron")]
    | Annotated[SensorTrigger, Tag("sensor")],
    Discriminator(_trigger_kind),
]


class DataProductSpec(SpecModel):
    """A data product: identity, ports, transformation, promises and policies."""

    api_version: Literal["hexmesh/v1"] = "hexmesh/v1"
    kind: Literal["DataProduct"] = "DataProduct"
    domain: Name
    name: Name
    version: SemVer
    status: Status = "active"
    owner: str = Field(min_length=1)
    """Owning team or person (an e-mail address or a team id)."""
    contacts: list[str] = []
    description: str = ""
    docs: str | None = None
    """A Markdown file in the product folder, shown by the discovery port."""
    tags: list[str] = []
    input_ports: list[InputPort] = []
    transformation: Transformation | None = None
    output_ports: list[OutputPort] = Field(min_length=1)
    policies: Policies = Policies()
    trigger: Trigger = "upstream"
    """upstream (run when an input's upstream publishes), manual, {cron: "0 * * * *"}, or a sensor
    {sources: all, debounce: 30s, minInterval: 5m}."""
    retention: Literal["keep", "delete"] = "keep"
    sql_schema: SqlIdentifier | None = None
    """The schema of the product's ports on the SQL port (default: the domain, with - as _)."""
    """What happens to a major version's data when it is retired."""
    custom_properties: list[CustomProperty] = []
    """What the spec has no key for (``hexmesh import`` keeps an open standard's extra keys here)."""

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def output(self, name: str) -> OutputPort | None:
        return next((p for p in self.output_ports if p.name == name), None)

    def sql_name(self, port: OutputPort) -> tuple[str, str]:
        """``(schema, table)`` of ``port`` on the SQL port: declared (sqlSchema, sqlName) or the default."""
        schema, table = default_sql_name(self.domain, self.name, port.name)
        return self.sql_schema or schema, port.sql_name or table
