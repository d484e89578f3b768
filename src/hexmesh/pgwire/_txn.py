"""Transaction status tracking for ReadyForQuery (I idle, T in transaction, E failed)."""

from __future__ import annotations

import re

from ._split import first_keyword
from .errors import PgError, SqlState

_ROLLBACK_TO = re.compile(r"^\s*ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\b", re.IGNORECASE)
_ENDS = {"COMMIT", "END", "ROLLBACK", "ABORT"}


class Transaction:
    """Follows BEGIN/COMMIT/ROLLBACK by statement keyword; the backend does the real work."""

    def __init__(self) -> None:
        self.status = b"I"

    def before(self, sql: str) -> tuple[str, str | None]:
        """SQL to actually run and a forced tag; raises 25P02 inside a failed transaction."""
        if self.status != b"E":
            return sql, None
        keyword = first_keyword(sql)
        if keyword in ("COMMIT", "END"):
            # Committing a failed transaction rolls it back, as PostgreSQL reports.
            return "ROLLBACK", "ROLLBACK"
        if keyword in ("ROLLBACK", "ABORT"):
            return sql, None
        raise PgError(
            SqlState.IN_FAILED_TRANSACTION,
            "current transaction is aborted, commands ignored until end of transaction block",
        )

    def succeeded(self, sql: str) -> None:
        """Update the status after a statement completed."""
        keyword = first_keyword(sql)
        if keyword in ("BEGIN", "START"):
            self.status = b"T"
        elif keyword in _ENDS and not _ROLLBACK_TO.match(sql):
            self.status = b"I"
        elif keyword == "ROLLBACK" and self.status == b"E":
            self.status = b"T"

    def failed(self) -> None:
        """An error inside a transaction block aborts it."""
        if self.status == b"T":
            self.status = b"E"
