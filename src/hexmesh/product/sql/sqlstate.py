"""Engine errors as PostgreSQL reports them: its SQLSTATE, its words, nothing of the engine.

DuckDB's messages start with a class name ("Binder Error: "), suggest engine settings the port
refuses ("SET threads=X", "SET error_on_division_by_zero=false"), and list candidates that may
name the engine's own relations ("Did you mean "pg_sequences"?"). sqlglot's name its Python
classes. A client gets what PostgreSQL would say where the cases match, and the first line of
the engine's message otherwise, with those parts removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import duckdb
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql.argtypes import FUNCTION_HINT, OPERATOR_HINT, Lookup, column_types, type_of
from hexmesh.product.sql.vetted import function_name

__all__ = ["syntax_error", "translate"]

# The engine names an operator as a function (``+(VARCHAR, INTEGER)``; LIKE is ``~~``).
_OPERATOR = re.compile(r"[-+*/%<>=~!@#^&|`?]+")
_CLASS = re.compile(r"^(?:[A-Z][A-Za-z]*(?: [A-Za-z]+)*) Error: ")
# Sentences pointing at engine settings or functions a client cannot use on the SQL port.
_ENGINE_ADVICE = re.compile(r"\s*(?:Use |Or use |or SET |Possible solutions)[^\n]*(?:SET |TRY\(|ANY_VALUE)[^\n]*")

_PG_TYPES = {
    "INT8": "smallint", "INT16": "smallint", "INT32": "integer", "INT64": "bigint", "INTEGER": "integer",
    "BIGINT": "bigint", "SMALLINT": "smallint", "DOUBLE": "double precision", "FLOAT": "real",
    "VARCHAR": "character varying", "STRING_LITERAL": "unknown", "INTEGER_LITERAL": "integer",
    "BOOLEAN": "boolean", "BOOL": "boolean", "DATE": "date",
    "TIMESTAMP": "timestamp without time zone", "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "DECIMAL": "numeric", "INTERVAL": "interval", "BLOB": "bytea", "UUID": "uuid", "TIME": "time without time zone",
}  # fmt: skip

Rule = tuple[type[duckdb.Error], re.Pattern[str], str, Callable[[re.Match[str]], str]]


def _signature(signature: str) -> tuple[str, list[str]]:
    name, _, args = signature.partition("(")
    return name, [_PG_TYPES.get(a.strip().split("(")[0], a.strip().lower()) for a in args.rstrip(")").split(",") if a]


def _routine(signature: str, problem: str) -> str:
    """What PostgreSQL says of a call with no (or no single) match: an operator is named as one,
    ``operator does not exist: text + integer``, a function as ``function sum(text) does not exist``."""
    name, inner = _signature(signature)
    if _OPERATOR.fullmatch(name) and len(inner) == 2:
        return f"operator {problem}: {inner[0]} {name} {inner[1]}"
    return f"function {name}({', '.join(inner)}) {problem}"


_RULES: list[Rule] = [
    (
        duckdb.CatalogException,
        re.compile(r'(?:Table|View) with name "?([^"!\s]+)"? does not exist'),
        SqlState.UNDEFINED_TABLE,
        lambda m: f'relation "{m[1]}" does not exist',
    ),
    (
        duckdb.CatalogException,
        re.compile(r"(?:Scalar |Aggregate |Table |Pragma )?(?:Function|Macro Function) with name (\S+) does not exist"),
        "42883",
        lambda m: f"function {m[1]}() does not exist",
    ),
    (
        duckdb.CatalogException,
        re.compile(r'Type with name "?([^"!\s]+)"? does not exist'),
        "42704",
        lambda m: f'type "{m[1].lower()}" does not exist',
    ),
    (
        duckdb.BinderException,
        re.compile(r'Referenced column "(.+?)" (?:was )?not found'),
        "42703",
        lambda m: f'column "{m[1]}" does not exist',
    ),
    (
        duckdb.BinderException,
        # A port table reads from a source the session registers (a values list to the engine).
        re.compile(r'(?:Table|Values list) "(.+?)" does not have a column named "(.+?)"'),
        "42703",
        lambda m: f"column {m[1]}.{m[2]} does not exist",
    ),
    (
        duckdb.BinderException,
        re.compile(r'Referenced table "(.+?)" not found'),
        SqlState.UNDEFINED_TABLE,
        lambda m: f'missing FROM-clause entry for table "{m[1]}"',
    ),
    (
        duckdb.BinderException,
        re.compile(r'Ambiguous reference to (?:column name|table) "(.+?)"'),
        "42702",
        lambda m: f'column reference "{m[1]}" is ambiguous',
    ),
    (
        duckdb.BinderException,
        re.compile(r'column "(.+?)" must appear in the GROUP BY clause'),
        "42803",
        lambda m: f'column "{m[1]}" must appear in the GROUP BY clause or be used in an aggregate function',
    ),
    (
        duckdb.BinderException,
        re.compile(r"No function matches the given name and argument types '(.+?)'"),
        "42883",
        lambda m: _routine(m[1], "does not exist"),
    ),
    (
        duckdb.BinderException,
        re.compile(r'Could not choose a best candidate function for the function call "(.+?)"'),
        "42725",
        lambda m: _routine(m[1], "is not unique"),
    ),
    (
        duckdb.BinderException,
        re.compile(r"ORDER term out of range"),
        "42P10",
        lambda m: "ORDER BY position is not in select list",
    ),
    (
        duckdb.ConversionException,
        re.compile(r"Could not convert string (['\"])(.*)\1 to (\w+)"),
        SqlState.INVALID_TEXT_REPRESENTATION,
        lambda m: f'invalid input syntax for type {_PG_TYPES.get(m[3], m[3].lower())}: "{m[2]}"',
    ),
    (
        duckdb.ConversionException,
        re.compile(r"Type VARCHAR with value '(.*)' can't be cast to the destination type \w+\[\]"),
        SqlState.INVALID_TEXT_REPRESENTATION,
        lambda m: f'malformed array literal: "{m[1]}"',
    ),
    (
        duckdb.ConversionException,
        re.compile(r"out of range for the destination type (\w+)"),
        "22003",
        lambda m: f"{_PG_TYPES.get(m[1], m[1].lower())} out of range",
    ),
    (
        duckdb.ConversionException,
        re.compile(r'(?:date|time|timestamp) field value out of range: "(.*)"'),
        "22008",
        lambda m: f'date/time field value out of range: "{m[1]}"',
    ),
    (
        duckdb.ConversionException,
        re.compile(r'invalid (date|timestamp|time) field format: "(.*?)"'),
        "22007",
        lambda m: f'invalid input syntax for type {m[1]}: "{m[2]}"',
    ),
    (
        duckdb.OutOfRangeException,
        re.compile(r"Overflow in \w+ of (\w+)"),
        "22003",
        lambda m: f"{_PG_TYPES.get(m[1], m[1].lower())} out of range",
    ),
    (duckdb.Error, re.compile(r"Division by zero"), "22012", lambda m: "division by zero"),
    (duckdb.Error, re.compile(r"cannot take square root of a negative number"), "2201F", lambda m: m[0]),
    (duckdb.Error, re.compile(r"cannot take logarithm of (?:zero|a negative number)"), "2201E", lambda m: m[0]),
    (
        duckdb.InvalidInputException,
        re.compile(r"More than one row returned by a subquery"),
        "21000",
        lambda m: "more than one row returned by a subquery used as an expression",
    ),
]

# When no rule matches: the SQLSTATE by the engine's error class.
_BY_CLASS: list[tuple[type[duckdb.Error], str]] = [
    (duckdb.CatalogException, SqlState.UNDEFINED_TABLE),
    (duckdb.ParserException, SqlState.SYNTAX_ERROR),
    (duckdb.ConversionException, SqlState.INVALID_TEXT_REPRESENTATION),
    (duckdb.OutOfRangeException, "22003"),
    (duckdb.NotImplementedException, SqlState.FEATURE_NOT_SUPPORTED),
    (duckdb.InvalidInputException, "22023"),
    (duckdb.TypeMismatchException, "42804"),
    (duckdb.ConstraintException, "23000"),
    (duckdb.InternalException, SqlState.INTERNAL_ERROR),
]


#: PostgreSQL's hints for a call it finds no (or no single) function or operator for.
_HINTS = {
    ("42883", "function"): FUNCTION_HINT,
    ("42883", "operator"): OPERATOR_HINT,
    ("42725", "function"): "Could not choose a best candidate function. You might need to add explicit type casts.",
    ("42725", "operator"): "Could not choose a best candidate operator. You might need to add explicit type casts.",
}


def _plain(text: str) -> str:
    """The first line of an engine message, without its class name, suggestions and engine advice."""
    first = _CLASS.sub("", text.strip()).split("\n", 1)[0]
    first = _ENGINE_ADVICE.sub("", first)
    return re.sub(r"\s*Did you mean .*$", "", first).strip().rstrip("!") or "error in the SQL engine"


def translate(exc: duckdb.Error, tree: exp.Expr | None = None, lookup: Lookup | None = None) -> PgError:
    """A DuckDB error as the PostgreSQL error a client expects (``tree``: the client's statement,
    ``lookup``: its port tables, whose column types an error may name)."""
    error = _translate(exc)
    if tree is not None and error.sqlstate == "42803":
        return _grouping_error(error, tree)
    if tree is not None and error.sqlstate == "42883":
        return _typed_call(error, tree, column_types(tree, lookup) if lookup is not None else {})
    return error


_CALL = re.compile(r"function (\w+)\((.*)\) does not exist")
_OPERATOR_ERROR = re.compile(r"operator does not exist: (.+?) ([-+*/%<>=~!@#^&|`?]+) (.+)")
_BINARY: dict[str, type[exp.Binary]] = {
    "+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod, "||": exp.DPipe, "=": exp.EQ,
    "<>": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE,
}  # fmt: skip
_STRINGS = ("text", "character varying")


def _typed_call(error: PgError, tree: exp.Expr, columns: Mapping[str, str]) -> PgError:
    """The argument types PostgreSQL names, as the statement shows them: the engine names none for a
    function it does not know, and calls every string ``character varying`` (``'a'::text + 1``)."""
    called = _CALL.fullmatch(error.message)
    operator = _OPERATOR_ERROR.fullmatch(error.message)
    if called is not None:
        name, engine = called[1].lower(), [t for t in called[2].split(", ") if t]
        calls = [_arguments(node) for node in tree.find_all(exp.Func) if function_name(node) == name]
        found = {_agree([type_of(a, columns) for a in args], engine) for args in calls}
        found.discard(None)
        if len(found) != 1:
            return error
        shown = ", ".join(found.pop() or ())
        return PgError(error.sqlstate, f"function {name}({shown}) does not exist", hint=error.hint)
    kind = _BINARY.get(operator[2]) if operator is not None else None
    if operator is None or kind is None:
        return error
    engine = [operator[1], operator[3]]
    pairs = {_agree([type_of(n.left, columns), type_of(n.right, columns)], engine) for n in tree.find_all(kind)}
    pairs.discard(None)
    if len(pairs) != 1:
        return error
    left, right = pairs.pop() or ("", "")
    return PgError(error.sqlstate, f"operator does not exist: {left} {operator[2]} {right}", hint=error.hint)


def _arguments(node: exp.Func) -> list[exp.Expr]:
    """A call's arguments in order (sqlglot keeps those of a known function by name)."""
    values = [node.args.get(key) for key in node.arg_types]
    flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
    return [v for v in flat if isinstance(v, exp.Expr)]


def _agree(shown: list[str | None], engine: list[str]) -> tuple[str, ...] | None:
    """The types of one call as PostgreSQL names them, if the call can be the one the engine refused:
    each argument's type as the statement shows it, else the engine's (none for an unknown function)."""
    if engine and len(shown) != len(engine):
        return None
    merged: list[str] = []
    for i, mine in enumerate(shown):
        theirs = engine[i] if engine else None
        if mine is not None and (theirs is None or mine == theirs or {mine, theirs} <= set(_STRINGS)):
            merged.append(mine)
        elif mine is None and theirs is not None:
            merged.append(theirs)
        else:
            return None
    return tuple(merged)


def _grouping_error(error: PgError, tree: exp.Expr) -> PgError:
    """PostgreSQL names the column by the FROM item it comes from (``orders__orders.order_id``): so
    does the port when the statement reads one FROM item; the engine names the column alone."""
    match = re.match(r'column "([^".]+)" (must appear .*)', error.message)
    selects = list(tree.find_all(exp.Select))
    if match is None or len(selects) != 1:
        return error
    first = selects[0].args.get("from_") or selects[0].args.get("from")
    if not isinstance(first, exp.From) or selects[0].args.get("joins"):
        return error
    return PgError(
        error.sqlstate, f'column "{first.this.alias_or_name}.{match[1]}" {match[2]}', error.detail, error.hint
    )


def _translate(exc: duckdb.Error) -> PgError:
    text = str(exc)
    if isinstance(exc, duckdb.InterruptException):
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return PgError(
            "53200",
            f"out of memory: {_plain(text)}",
            hint="The query needs more memory than one SQL session may use: aggregate, filter or select fewer columns.",
        )
    if isinstance(exc, duckdb.PermissionException):
        return PgError("42501", f"permission denied: {_plain(text)}")
    for kind, pattern, state, message in _RULES:
        match = pattern.search(text) if isinstance(exc, kind) else None
        if match is not None:
            words = message(match)
            return PgError(state, words, hint=_HINTS.get((state, words.split(" ", 1)[0])))
    if isinstance(exc, duckdb.BinderException):
        plain = _plain(text)
        return PgError("42703" if "column" in plain.lower() else "42883", plain)
    if isinstance(exc, duckdb.InvalidInputException) and "configuration" in text:
        return PgError("42501", f"permission denied: {_plain(text)}")
    state = next((s for kind, s in _BY_CLASS if isinstance(exc, kind)), "22000")
    return PgError(state, _plain(text) if state != SqlState.INTERNAL_ERROR else f"internal error: {_plain(text)}")


def syntax_error(exc: SqlglotError, sql: str) -> PgError:
    """A parse error of client SQL as PostgreSQL words it: ``syntax error at or near "x"``."""
    if isinstance(exc, TokenError):
        quote = next((q for q in ("'", '"', "$$") if sql.count(q) % 2), None)
        what = {"'": "quoted string", '"': "quoted identifier", "$$": "dollar-quoted string"}.get(quote or "", "")
        if what:
            at = sql.rfind(quote or "")
            return PgError(SqlState.SYNTAX_ERROR, f'unterminated {what} at or near "{sql[at : at + 20]}"')
        return PgError(SqlState.SYNTAX_ERROR, "syntax error")
    first = exc.errors[0] if isinstance(exc, ParseError) and exc.errors else {}
    near = str(first.get("highlight") or "").strip()
    description = str(first.get("description") or "")
    unfinished = description.startswith(("Required keyword", "Expecting")) and sql.rstrip().endswith(near)
    if not near or unfinished:
        return PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
    return PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{near}"')
