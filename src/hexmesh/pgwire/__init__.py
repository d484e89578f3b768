"""A standalone PostgreSQL v3 wire-protocol server library (asyncio) over Arrow results."""

from __future__ import annotations

from ._split import split_statements
from .auth import (
    AuthenticationError,
    Authenticator,
    AuthMethod,
    PasswordAuthenticator,
    TrustAuthenticator,
)
from .backend import (
    BackendFactory,
    CommandResult,
    Description,
    Notice,
    Result,
    RowsResult,
    Session,
    SessionContext,
)
from .errors import PgError, SqlState
from .scram import ScramError, ScramExchange, ScramVerifier
from .server import Limits, PgServer
from .types import PG_OID_METADATA_KEY, PG_TYPMOD_METADATA_KEY, Oid, PgType, array_oid, arrow_to_pg, oid_to_arrow

__all__ = [
    "PG_OID_METADATA_KEY",
    "PG_TYPMOD_METADATA_KEY",
    "AuthMethod",
    "AuthenticationError",
    "Authenticator",
    "BackendFactory",
    "CommandResult",
    "Description",
    "Limits",
    "Notice",
    "Oid",
    "PasswordAuthenticator",
    "PgError",
    "PgServer",
    "PgType",
    "Result",
    "RowsResult",
    "ScramError",
    "ScramExchange",
    "ScramVerifier",
    "Session",
    "SessionContext",
    "SqlState",
    "TrustAuthenticator",
    "array_oid",
    "arrow_to_pg",
    "oid_to_arrow",
    "split_statements",
]
