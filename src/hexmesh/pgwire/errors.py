"""Errors a backend raises to send a PostgreSQL ErrorResponse, and the SQLSTATE codes we use."""

from __future__ import annotations

__all__ = ["PgError", "SqlState"]


class SqlState:
    """SQLSTATE codes the server itself emits (see PostgreSQL Appendix A)."""

    SUCCESSFUL_COMPLETION = "00000"
    WARNING = "01000"
    DEPRECATED_FEATURE = "01P01"
    CONNECTION_EXCEPTION = "08000"
    CONNECTION_FAILURE = "08006"
    PROTOCOL_VIOLATION = "08P01"
    FEATURE_NOT_SUPPORTED = "0A000"
    INVALID_AUTHORIZATION = "28000"
    INVALID_PASSWORD = "28P01"
    INVALID_TEXT_REPRESENTATION = "22P02"
    INVALID_BINARY_REPRESENTATION = "22P03"
    INVALID_PARAMETER_VALUE = "22023"
    ACTIVE_SQL_TRANSACTION = "25001"
    IN_FAILED_TRANSACTION = "25P02"
    IDLE_IN_TRANSACTION_SESSION_TIMEOUT = "25P03"
    READ_ONLY_TRANSACTION = "25006"
    SYNTAX_ERROR = "42601"
    UNDEFINED_TABLE = "42P01"
    DUPLICATE_PREPARED_STATEMENT = "42P05"
    DUPLICATE_CURSOR = "42P03"
    UNDEFINED_PREPARED_STATEMENT = "26000"
    INVALID_CURSOR_NAME = "34000"
    TOO_MANY_CONNECTIONS = "53300"
    PROGRAM_LIMIT_EXCEEDED = "54000"
    QUERY_CANCELED = "57014"
    ADMIN_SHUTDOWN = "57P01"
    IDLE_SESSION_TIMEOUT = "57P05"
    INTERNAL_ERROR = "XX000"


class PgError(Exception):
    """An error reported to the client as an ErrorResponse with the given SQLSTATE."""

    def __init__(
        self,
        sqlstate: str,
        message: str,
        detail: str | None = None,
        hint: str | None = None,
        *,
        severity: str = "ERROR",
    ) -> None:
        super().__init__(message)
        if len(sqlstate) != 5:
            raise ValueError(f"SQLSTATE must have 5 characters, got {sqlstate!r}")
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.severity = severity

    @property
    def fatal(self) -> bool:
        """Whether the connection is closed after sending this error."""
        return self.severity in ("FATAL", "PANIC")

    def __repr__(self) -> str:
        return f"PgError({self.sqlstate!r}, {self.message!r})"
