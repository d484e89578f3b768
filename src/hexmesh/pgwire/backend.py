"""The interface a host application implements to answer SQL: Session, results, context."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from .errors import SqlState

__all__ = [
    "BackendFactory",
    "CommandResult",
    "Description",
    "Notice",
    "Result",
    "RowsResult",
    "Session",
    "SessionContext",
]


@dataclass(frozen=True)
class CommandResult:
    """A statement that returns no rows; tag is the CommandComplete tag, e.g. "INSERT 0 3".

    ``reported``: parameters whose new values the client is told (ParameterStatus), as PostgreSQL
    reports ``TimeZone`` or ``DateStyle`` after a ``SET`` changes them.
    """

    tag: str
    reported: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RowsResult:
    """Rows as Arrow batches; the server appends the row count to command (e.g. "SELECT 5")."""

    schema: pa.Schema
    batches: Iterable[pa.RecordBatch]
    command: str = "SELECT"

    def close(self) -> None:
        """Release the batch source (closes a RecordBatchReader or generator)."""
        closer = getattr(self.batches, "close", None)
        if callable(closer):
            closer()


Result = CommandResult | RowsResult


@dataclass(frozen=True)
class Description:
    """What Describe reports: parameter type OIDs, and result schema (None: no rows)."""

    param_types: Sequence[int]
    schema: pa.Schema | None


@dataclass(frozen=True)
class Notice:
    """A NoticeResponse queued by the backend."""

    message: str
    sqlstate: str = SqlState.WARNING
    severity: str = "NOTICE"
    detail: str | None = None
    hint: str | None = None


@dataclass
class SessionContext:
    """What the backend knows about its connection; notice() is safe from any thread."""

    user: str
    database: str
    parameters: Mapping[str, str]
    principal: object
    process_id: int
    # Seconds; the backend may change it (e.g. on SET statement_timeout), None disables it.
    statement_timeout: float | None = None
    _notices: deque[Notice] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def notice(
        self,
        message: str,
        *,
        sqlstate: str = SqlState.WARNING,
        severity: str = "NOTICE",
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Queue a NoticeResponse; it is sent before the current command completes."""
        with self._lock:
            self._notices.append(Notice(message, sqlstate, severity, detail, hint))

    def take_notices(self) -> list[Notice]:
        """Remove and return the queued notices (used by the server)."""
        with self._lock:
            items = list(self._notices)
            self._notices.clear()
        return items


class Session(Protocol):
    """One client connection's SQL engine; every method but cancel() runs in a worker thread."""

    def describe(self, sql: str, param_types: Sequence[int]) -> Description:
        """Parameter types (resolve 0 = unspecified where possible) and result schema."""
        ...

    def execute(self, sql: str, params: Sequence[object]) -> Result:
        """Run one statement; raise PgError for errors the client should see."""
        ...

    def cancel(self) -> None:
        """Abort the running execute() or batch fetch; called from another thread."""
        ...

    def close(self) -> None:
        """Release resources; the connection is gone."""
        ...


BackendFactory = Callable[[SessionContext], Session]
