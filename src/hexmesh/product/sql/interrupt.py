"""Stopping a statement's parsing and rewriting when it is cancelled: they run inside the statement timeout.

sqlglot parses and writes SQL in pure Python and cannot be told to stop: an 868 KB ``IN`` list
kept a worker busy for seconds whatever the statement timeout said. The session therefore
parses and writes through dialects that call :func:`checkpoint` at every token and every node:
while a thread runs inside :func:`interruptible`, a cancel (from the client or the statement
timeout) makes the next checkpoint raise :class:`StatementInterrupted`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokenizer_core import TokenType

__all__ = [
    "CALLED_AS",
    "EXTRA_ARGUMENTS",
    "REGTYPE_ARRAY",
    "Reading",
    "StatementInterrupted",
    "Writing",
    "checkpoint",
    "interruptible",
]

_local = threading.local()

#: Where the parser keeps the name a known function was called by (``date_part``, read as an extract).
CALLED_AS = "pg_name"
#: Where the parser keeps the arguments of a call with more than sqlglot's function takes (argtypes.py).
EXTRA_ARGUMENTS = "pg_arguments"

#: The type ``regtype[]`` is read as (sqlglot has none): an array of type oids shown by their names.
REGTYPE_ARRAY = "hexmesh_regtype_array"


class StatementInterrupted(BaseException):
    """The statement was cancelled while it was being parsed or rewritten."""


def checkpoint() -> None:
    """Raise StatementInterrupted if the statement this thread works on was cancelled."""
    stop: threading.Event | None = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise StatementInterrupted


@contextmanager
def interruptible(stop: threading.Event) -> Iterator[None]:
    """Parsing and rewriting in this thread stop at the next checkpoint once ``stop`` is set."""
    previous = getattr(_local, "stop", None)
    _local.stop = stop
    try:
        yield
    finally:
        _local.stop = previous


class Reading(Postgres):
    """PostgreSQL as clients write it, parsed with a checkpoint at every token."""

    # The name a known function was called by: date_part() and extract() are one node to sqlglot.
    ORIGINAL_NAME_META_KEY = CALLED_AS

    class Parser(Postgres.Parser):  # type: ignore[valid-type, misc]  # sqlglot assigns these as class attributes
        def _advance(self, times: int = 1) -> None:
            checkpoint()
            super()._advance(times)

        def _parse_alias(self, this: exp.Expr | None, explicit: bool = False) -> exp.Expr | None:
            # PostgreSQL takes any keyword as a column label after AS; sqlglot all but SELECT
            # (Metabase's privilege query labels a column `as select`).
            if self._next and self._match_pair(TokenType.ALIAS, TokenType.SELECT):
                labelled: exp.Expr = self.expression(exp.Alias(this=this, alias=exp.to_identifier(self._prev.text)))
                return labelled
            parsed: exp.Expr | None = super()._parse_alias(this, explicit)
            return parsed

        def validate_expression(self, expression: Any, args: list[Any] | None = None) -> Any:
            # A call with more arguments than sqlglot's function takes is PostgreSQL's 42883 (argtypes.py),
            # not a syntax error: keep them for the check that says so.
            messages = expression.error_messages(args) if isinstance(expression, exp.Func) else []
            too_many = bool(messages) and all(m.startswith("The number of provided") for m in messages)
            # array_agg's second argument sqlglot drops without a word.
            if args is not None and (too_many or (isinstance(expression, exp.ArrayAgg) and len(args) > 1)):
                expression.meta[EXTRA_ARGUMENTS] = list(args)
                return expression
            return super().validate_expression(expression, args)

        def _parse_date_part(self) -> exp.Expr:
            extract: exp.Expr = super()._parse_date_part()
            extract.meta[CALLED_AS] = "date_part"
            return extract

        def _parse_types(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            # ``oid[]`` and ``regtype[]`` (pgcli's function list): sqlglot reads the type, not its brackets.
            parsed: exp.Expr | None = super()._parse_types(*args, **kwargs)
            if isinstance(parsed, exp.ObjectIdentifier):
                regtype = parsed.name.upper() == "REGTYPE"
                while self._match_pair(TokenType.L_BRACKET, TokenType.R_BRACKET):
                    # regtype[] is shown by the types' names (pgdialect), other identifiers are numbers.
                    parsed = exp.DataType.build(REGTYPE_ARRAY, udt=True) if regtype else exp.DataType.build("BIGINT[]")
            return parsed


class Writing(DuckDB):
    """DuckDB SQL written with a checkpoint at every node."""

    class Generator(DuckDB.Generator):  # type: ignore[valid-type, misc]
        def sql(self, expression: exp.Expr | str | None, key: str | None = None, comment: bool = True) -> str:
            checkpoint()
            result: Any = super().sql(expression, key, comment)
            return str(result)
