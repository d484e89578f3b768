"""PostgreSQL-only constructs that clients' catalog queries use, rewritten for DuckDB.

``OPERATOR(pg_catalog.~)``, ``COLLATE pg_catalog.default``, ``pg_catalog.``-qualified function
calls (DuckDB keeps its pg functions unqualified), ``::regclass`` and friends, and the
PostgreSQL names of unaliased result columns (``count``, not ``count_star()``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql.bytealiteral import bytea_literal
from hexmesh.product.sql.extract import typed_extract
from hexmesh.product.sql.interrupt import CALLED_AS, REGTYPE_ARRAY, Writing
from hexmesh.product.sql.jsonagg import json_aggregate

__all__ = ["VERSION", "name_columns", "to_duckdb"]

# What version() answers; SQLAlchemy parses "PostgreSQL X.Y" out of it.
VERSION = "PostgreSQL 15.0 (hexmesh) on x86_64-pc-linux-gnu, served by hexmesh over DuckDB, 64-bit"

_OPERATORS: dict[str, Callable[[exp.Expr, exp.Expr], exp.Expr]] = {
    "~": lambda a, b: exp.RegexpLike(this=a, expression=b),
    "!~": lambda a, b: exp.Not(this=exp.RegexpLike(this=a, expression=b)),
    "~*": lambda a, b: exp.RegexpILike(this=a, expression=b),
    "!~*": lambda a, b: exp.Not(this=exp.RegexpILike(this=a, expression=b)),
    "=": lambda a, b: exp.EQ(this=a, expression=b),
    "<>": lambda a, b: exp.NEQ(this=a, expression=b),
    "<": lambda a, b: exp.LT(this=a, expression=b),
    ">": lambda a, b: exp.GT(this=a, expression=b),
    "<=": lambda a, b: exp.LTE(this=a, expression=b),
    ">=": lambda a, b: exp.GTE(this=a, expression=b),
}
_RENAMED = {
    "json_build_object": "json_object",
    "jsonb_build_object": "json_object",
    "format_type": "hexmesh_format_type",
    "current_setting": "hexmesh_current_setting",
    "obj_description": "hexmesh_obj_description",
    "col_description": "hexmesh_col_description",
}
_PRETTY = {"pg_get_expr": 2, "pg_get_constraintdef": 1, "pg_get_viewdef": 1}
# Object-identifier types: DuckDB has none, an oid is a BIGINT there.
_PLAIN = {
    "TEXT": "TEXT", "NAME": "TEXT", "CHAR": "TEXT", "VARCHAR": "TEXT", "INT4": "INT", "INT2": "SMALLINT",
    "INT8": "BIGINT", "BOOL": "BOOLEAN", "FLOAT8": "DOUBLE", "FLOAT4": "REAL", "TIMESTAMPTZ": "TIMESTAMPTZ",
}  # fmt: skip
# The names PostgreSQL gives a cast's result column: its type's internal name (int4, not integer).
_TYPE_NAMES = {
    "INT": "int4", "BIGINT": "int8", "SMALLINT": "int2", "DOUBLE PRECISION": "float8", "REAL": "float4",
    "BOOLEAN": "bool", "DECIMAL": "numeric", "VARCHAR": "varchar", "CHAR": "bpchar",
}  # fmt: skip
_OID_TYPES = {"REGCLASS", "REGTYPE", "REGPROC", "REGPROCEDURE", "REGNAMESPACE", "REGROLE", "OID", "REGOPER"}


def to_duckdb(tree: exp.Expr) -> str:
    """DuckDB SQL for a statement parsed in the PostgreSQL dialect."""
    name_columns(tree)
    tree = tree.transform(_session, copy=False).transform(_extract, copy=False).transform(_expandarray, copy=False)
    tree = tree.transform(json_aggregate, copy=False).transform(bytea_literal, copy=False)
    _int4_results(tree)
    _rounded_doubles(tree)
    _typed_signs(tree)
    tree = tree.transform(_oid_cast, copy=False).transform(_unqualify, copy=False).transform(_operator, copy=False)
    return tree.sql(dialect=Writing)


#: DuckDB variables the session sets on a statement's cursor when its SQL reads them (session.py).
SESSION_VARIABLES = ("hexmesh_user", "hexmesh_database", "hexmesh_schema", "hexmesh_schemas")
_USER_WORDS = {"user", "current_user", "session_user", "current_role"}


def _variable(name: str) -> exp.Expr:
    return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(name)])


def _session(node: exp.Expr) -> exp.Expr:
    """Who the session is, as PostgreSQL's session functions answer: the caller, its database, its path;
    and PostgreSQL rules of results: unquoted names fold to lower case, round(x, n) is numeric(n),
    avg() of integers and numerics is numeric."""
    if isinstance(node, _NUMBER_CALLS):
        _type_quoted_argument(node)
    if isinstance(node, exp.Alias) and isinstance(node.args.get("alias"), exp.Identifier):
        alias = node.args["alias"]
        if not alias.quoted and alias.name != alias.name.lower():
            node.set("alias", exp.to_identifier(alias.name.lower()))
    if isinstance(node, exp.Round) and isinstance(node.args.get("decimals"), exp.Literal):
        decimals = str(node.args["decimals"].this)
        if decimals.isdigit() and int(decimals) <= 38:
            # PostgreSQL's two-argument round() is numeric's: round(avg(total), 2) prints 5.80, not 5.8.
            rounded = exp.Round(this=node.this, decimals=node.args["decimals"])
            return exp.Cast(this=rounded, to=exp.DataType.build(f"DECIMAL(38, {decimals})"))
    bare = isinstance(node, exp.Cast) and node.to.is_type("decimal") and not node.to.expressions
    if bare and (scale := _literal_scale(node.this)) is not None:
        # '3.0123'::numeric keeps every digit, as PostgreSQL's unconstrained numeric does (the
        # engine's bare DECIMAL is (18,3): it would round the value to 3.012).
        return exp.Cast(this=node.this, to=exp.DataType.build(f"DECIMAL(38, {scale})"))
    if (
        isinstance(node, exp.Avg)
        and not isinstance(node.this, exp.Distinct)
        and not isinstance(node.parent, (exp.Window, exp.Filter))
    ):
        # avg() of an integer or numeric is an exact numeric (a shim picks by the argument's type);
        # a result column's keeps PostgreSQL's display scale per value (sql/quotient.py).
        shim = "hexmesh_shown_avg" if _is_result_column(node) else "hexmesh_avg"
        return exp.Anonymous(this=shim, expressions=[node.this])
    if isinstance(node, exp.Div) and _is_result_column(node):
        _untyped_operand(node)  # '12' / 5 first reads '12' as an integer
        return exp.Anonymous(this="hexmesh_shown_quotient", expressions=[node.left, node.right])
    if isinstance(node, _ARITHMETIC) and (typed := _untyped_operand(node)) is not None:
        return typed
    if isinstance(node, (exp.Sqrt, exp.Ln, exp.Log)) and not isinstance(node.parent, exp.Case):
        return _undefined(node)
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return _variable("hexmesh_user")
    if isinstance(node, exp.Column) and not node.table and not node.this.quoted and node.name.lower() in _USER_WORDS:
        return _variable("hexmesh_user")  # an unquoted keyword, not a column, as in PostgreSQL
    if isinstance(node, (exp.CurrentDatabase, exp.CurrentCatalog)):
        return _variable("hexmesh_database")
    if isinstance(node, exp.CurrentSchema):
        return _variable("hexmesh_schema")
    if isinstance(node, exp.CurrentSchemas):
        return _variable("hexmesh_schemas")
    if isinstance(node, exp.Any) and isinstance(node.this, (exp.Literal, exp.Paren)):
        # = ANY('{r,p,f}'): PostgreSQL reads the string as an array literal.
        literal = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if (items := _array_literal(literal)) is not None:
            return exp.Any(this=exp.Array(expressions=items))
    # '{1,2,3}'::int4[]: the engine reads only its own list syntax from a string.
    array = isinstance(node, exp.Cast) and node.to.is_type("array")
    if isinstance(node, exp.Cast) and array and (elements := _array_literal(node.this)) is not None:
        return exp.Cast(this=exp.Array(expressions=elements), to=_element_scale(node.to, elements))
    if isinstance(node, exp.Cast) and array and isinstance(node.this, exp.Array):
        return exp.Cast(this=node.this, to=_element_scale(node.to, node.this.expressions))
    return node


def _int4_results(tree: exp.Expr) -> None:
    """``length``, ``char_length``, ``octet_length``, ``position`` and ``strpos`` are int4 in PostgreSQL
    (the engine's are bigint); ``octet_length`` of a string counts its UTF-8 bytes (the engine's takes bytes only)."""
    for node in list(tree.find_all(exp.Length, exp.StrPosition, exp.Anonymous)):
        if isinstance(node, exp.Anonymous):
            if node.name.lower() != "octet_length" or len(node.expressions) != 1:
                continue
            node.set("this", "hexmesh_octet_length")
        cast = exp.Cast(to=exp.DataType.build("INT"))
        node.replace(cast)
        cast.set("this", node)


def _rounded_doubles(tree: exp.Expr) -> None:
    """``round(x::float8)`` rounds half to even, as PostgreSQL's ``rint``; the engine's round() rounds half
    away from zero. Only where the argument is a cast to a float type: a double column or expression
    keeps the engine's rounding (docs/sql.md)."""
    for node in list(tree.find_all(exp.Round)):
        argument = inner = node.this
        while isinstance(inner, (exp.Neg, exp.Paren)):  # -2.5::float8 is -(2.5::float8)
            inner = inner.this
        floating = isinstance(inner, exp.Cast) and inner.to.is_type("double", "float")
        if floating and node.args.get("decimals") is None:
            double = exp.Cast(this=argument, to=exp.DataType.build("DOUBLE"))
            node.replace(exp.Anonymous(this="roundbankers", expressions=[double, exp.Literal.number(0)]))


def _typed_signs(tree: exp.Expr) -> None:
    """``sign()`` of an integer or a double is a double in PostgreSQL, of a numeric a numeric (the
    engine's is a small integer): where the argument is a literal or a cast, whose type is known."""
    for node in list(tree.find_all(exp.Sign)):
        inner = node.this
        while isinstance(inner, (exp.Neg, exp.Paren)):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            numeric = any(c in str(inner.this) for c in ".eE")
        elif isinstance(inner, exp.Cast) and inner.to.is_type(*exp.DataType.INTEGER_TYPES, "double", "float"):
            numeric = False
        elif isinstance(inner, exp.Cast) and inner.to.is_type("decimal"):
            numeric = True
        else:
            continue
        cast = exp.Cast(to=exp.DataType.build("DECIMAL(38, 0)" if numeric else "DOUBLE"))
        node.replace(cast)
        cast.set("this", node)


def _extract(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Dot) and node.this.name.lower() == "pg_catalog":
        # pg_catalog.date_part('hour', ts): sqlglot reads the qualified call as an unknown function.
        call, args = node.expression, getattr(node.expression, "expressions", [])
        named = isinstance(call, exp.Anonymous) and call.name.lower() == "date_part" and len(args) == 2
        if named and isinstance(args[0], exp.Literal) and args[0].is_string:
            extract = exp.Extract(this=exp.var(str(args[0].this).upper()), expression=args[1])
            extract.meta[CALLED_AS] = "date_part"
            return typed_extract(extract)
    return typed_extract(node) if isinstance(node, exp.Extract) else node


def _is_result_column(node: exp.Expr) -> bool:
    """Whether ``node`` is a whole column of the statement's result (not inside a subquery or another expression)."""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Alias):
        node, parent = parent, parent.parent
    return isinstance(parent, exp.Select) and parent.parent is None and node in parent.expressions


def _element_scale(to: exp.DataType, elements: list[exp.Expr]) -> exp.DataType:
    """``numeric[]`` of literals: a scale that keeps every element's digits (the engine's bare
    DECIMAL is (18,3), and would round 3.0123 to 3.012); other array types as they are."""
    inner = to.expressions[0] if to.expressions else None
    if not isinstance(inner, exp.DataType) or not inner.is_type("decimal") or inner.expressions:
        return to
    scales = [_literal_scale(e) for e in elements if not isinstance(e, exp.Null)]
    if not scales or any(scale is None for scale in scales):
        return to
    return exp.DataType.build(f"DECIMAL(38, {max(scale or 0 for scale in scales)})[]")


#: Math functions of one number: PostgreSQL reads a quoted literal given to them as double precision
#: (its preferred numeric type), or as numeric where only numeric's exists (``round(x, n)``, ``log(b, x)``).
_NUMBER_CALLS = (
    exp.Abs, exp.Ceil, exp.Floor, exp.Sign, exp.Sqrt, exp.Cbrt, exp.Exp, exp.Ln, exp.Log, exp.Round, exp.Trunc,
    exp.Degrees, exp.Radians,
)  # fmt: skip


def _type_quoted_argument(node: exp.Func) -> None:
    """``abs('x')``: the engine finds several functions for a string and refuses (42725); PostgreSQL
    reads the literal as the function's number type (22P02 ``invalid input syntax for type double
    precision: "x"``, ``abs('-2.5')`` is 2.5)."""
    numeric = node.args.get("decimals") is not None or node.args.get("expression") is not None
    for key in ("this", "expression"):
        literal = node.args.get(key)
        if isinstance(literal, exp.Literal) and literal.is_string:
            to = f"DECIMAL(38, {_literal_scale(literal) or 0})" if numeric else "DOUBLE"
            node.set(key, exp.Cast(this=literal.copy(), to=exp.DataType.build(to)))


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _untyped_operand(node: exp.Binary) -> exp.Expr | None:
    """``'1' + 2``: PostgreSQL reads a quoted literal as the type of the number on the operator's other
    side (``'a' + 1`` is 22P02 invalid input syntax for type integer); the engine finds no single
    operator for a string and a number. None when the operands are not such a pair."""
    for text, number, side in ((node.left, node.right, "this"), (node.right, node.left, "expression")):
        if not (isinstance(text, exp.Literal) and text.is_string):
            continue
        literal = number.this if isinstance(number, exp.Neg) else number
        if not isinstance(literal, exp.Literal) or literal.is_string:
            return None
        digits = str(literal.this)
        if digits.isdigit():
            to = "INTEGER" if int(digits) < 2**31 else "BIGINT"
            if not _INTEGER.fullmatch(str(text.this)):  # the engine would round '2.5' to 3
                name = to.lower()
                raise PgError(
                    SqlState.INVALID_TEXT_REPRESENTATION, f'invalid input syntax for type {name}: "{text.this}"'
                )
        else:
            scale = _literal_scale(text)
            to = f"DECIMAL(38, {10 if scale is None else scale})"
        node.set(side, exp.Cast(this=text.copy(), to=exp.DataType.build(to)))
        return node
    return None


def _undefined(node: exp.Sqrt | exp.Ln | exp.Log) -> exp.Expr:
    """sqrt() of a negative number and the logarithm of zero or of a negative number are errors in
    PostgreSQL (2201F, 2201E), where the engine answers NaN or -Infinity."""
    second = node.args.get("expression") if isinstance(node, exp.Log) else None
    argument: exp.Expr = second if isinstance(second, exp.Expr) else node.this
    if isinstance(node, exp.Sqrt):
        cases = [("<", "cannot take square root of a negative number")]
    else:
        cases = [("=", "cannot take logarithm of zero"), ("<", "cannot take logarithm of a negative number")]
    case = exp.Case()
    for operator, message in cases:
        condition = sqlglot.parse_one(f"x {operator} 0").transform(
            lambda n: argument.copy() if isinstance(n, exp.Column) and n.name == "x" else n
        )
        case = case.when(condition, exp.Anonymous(this="error", expressions=[exp.Literal.string(message)]))
    return case.else_(node)


_NUMBER = re.compile(r"^\s*[+-]?(\d*)(?:\.(\d*))?\s*$")


def _literal_scale(node: exp.Expr) -> int | None:
    """The decimals a numeric literal is written with (``'3.0123'`` or ``3.0123``: 4); None if not one."""
    if isinstance(node, exp.Neg):
        node = node.this
    if not isinstance(node, exp.Literal):
        return None
    match = _NUMBER.match(str(node.this))
    if match is None or not (match.group(1) or match.group(2)):
        return None
    scale = len(match.group(2) or "")
    return scale if scale <= 38 and len(match.group(1)) + scale <= 38 else None


def _array_literal(node: exp.Expr) -> list[exp.Expr] | None:
    """The elements of a one-dimensional PostgreSQL array literal (``'{a,"b c",NULL}'``), or None."""
    if not (isinstance(node, exp.Literal) and node.is_string):
        return None
    text = str(node.this).strip()
    if not (text.startswith("{") and text.endswith("}")) or "{" in text[1:-1]:
        return None
    items: list[exp.Expr] = []
    body = text[1:-1]
    for match in _ELEMENT.finditer(body) if body.strip() else ():
        if match.start() == len(body):
            break  # the empty match after the last element
        quoted, plain = match.group("quoted"), (match.group("plain") or "").strip()
        if quoted is not None:
            items.append(exp.Literal.string(re.sub(r"\\(.)", r"\1", quoted)))
        elif plain.upper() == "NULL":
            items.append(exp.Null())
        elif plain:
            items.append(exp.Literal.string(plain))
    return items


#: One element of an array literal: double-quoted (backslash escapes) or plain up to the next comma.
_ELEMENT = re.compile(r'\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>[^,]*))\s*(?:,|$)')


def _expands(node: exp.Expr) -> exp.Expr | None:
    """The array of ``information_schema._pg_expandarray(array)``, or None."""
    if isinstance(node, exp.Paren):
        node = node.this
    if (
        isinstance(node, exp.Dot)
        and isinstance(node.expression, exp.Anonymous)
        and node.expression.name.lower() == "_pg_expandarray"
        and node.expression.expressions
    ):
        array: exp.Expr = node.expression.expressions[0]
        return array
    return None


def _expandarray(node: exp.Expr) -> exp.Expr:
    """pgjdbc's ``(information_schema._pg_expandarray(indkey)).n``: DuckDB unnests in lockstep."""
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        array = _expands(node.this)
        if array is not None and node.expression.name.lower() in ("n", "x"):
            inner = (
                exp.Anonymous(this="hexmesh_expandarray_n", expressions=[array])
                if node.expression.name.lower() == "n"
                else array
            )
            return exp.Anonymous(this="unnest", expressions=[inner])
    array = _expands(node)
    if array is not None:
        return exp.Anonymous(
            this="unnest", expressions=[exp.Anonymous(this="hexmesh_expandarray", expressions=[array])]
        )
    return node


def _unqualify(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.CurrentVersion) or (isinstance(node, exp.Anonymous) and node.name.lower() == "version"):
        return exp.Literal.string(VERSION)
    if isinstance(node, exp.Anonymous) and len(node.expressions) > _PRETTY.get(node.name.lower(), 99):
        # PostgreSQL's pretty-print flag: DuckDB's versions lack it; a shim takes and ignores it
        # (dropping it would leave a bound parameter without its placeholder).
        name = "hexmesh_" + node.name.lower()
        return exp.Anonymous(this=name, expressions=node.expressions).transform(_unqualify)
    if isinstance(node, exp.Anonymous) and node.name.lower() in _RENAMED:
        return exp.Anonymous(this=_RENAMED[node.name.lower()], expressions=node.expressions).transform(_unqualify)
    if isinstance(node, exp.Collate):
        # DuckDB has no pg_catalog."default" collation; the default is what was meant.
        collated: exp.Expr = node.this.transform(_unqualify)
        return collated
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func) and node.this.name.lower() == "pg_catalog":
        # transform() does not descend into a replacement, so finish the subtree here.
        return node.expression.transform(_unqualify)
    if isinstance(node, exp.Column) and node.args.get("db") is not None:
        # schema.table.column: tables are aliased by their bare name, so drop the schema.
        node.set("db", None)
        node.set("catalog", None)
        return node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func) and node.db.lower() == "pg_catalog":
        node.set("db", None)
        return node
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED:
        # pg_catalog.text and friends: the unqualified type is the same one.
        kind = node.sql(dialect="postgres").split(".")[-1].strip('"').upper()
        plain = _PLAIN.get(kind)
        if plain is not None:
            return exp.DataType.build(plain)
    return node


def _operator(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Operator):
        build = _OPERATORS.get(str(node.args.get("operator", "")).split(".")[-1])
        if build is not None:
            return build(node.this.transform(_operator), node.expression.transform(_operator))
    return node


def _oid_cast(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Cast):
        kind = node.to.sql(dialect="postgres").split(".")[-1].upper()
        if kind == "REGPROC" and isinstance(node.this, exp.Literal) and node.this.is_string:
            return exp.Literal.string(str(node.this.this).split(".")[-1])  # pg_type.typinput holds the name
        if kind == "REGCLASS":
            return exp.Anonymous(this="hexmesh_regclass", expressions=[node.this.transform(_oid_cast)])
        if kind == REGTYPE_ARRAY.upper():
            known = exp.Anonymous(this="hexmesh_type_name", expressions=[exp.column("t")])
            names = exp.Coalesce(
                this=known, expressions=[exp.Cast(this=exp.column("t"), to=exp.DataType.build("TEXT"))]
            )
            lam = exp.Lambda(this=names, expressions=[exp.to_identifier("t")])
            return exp.Anonymous(this="list_transform", expressions=[node.this.transform(_oid_cast), lam])
        if kind == "REGTYPE" and isinstance(node.this, exp.Literal) and node.this.is_string:
            # 'trigger'::regtype: the type's oid, 0 (InvalidOid) for a type this database does not have.
            found = exp.Anonymous(this="to_regtype", expressions=[node.this.copy()])
            return exp.Coalesce(this=found, expressions=[exp.Literal.number(0)])
        if kind in ("TEXT", "VARCHAR") and isinstance(node.this, exp.Cast):
            inner = node.this.to.sql(dialect="postgres").split(".")[-1].upper()
            if inner == "REGTYPE":  # a type's name, as format_type says it (pgcli's column types)
                oid = node.this.this.transform(_oid_cast)
                return exp.Anonymous(this="hexmesh_format_type", expressions=[oid, exp.Null()])
        if kind in _OID_TYPES:
            return exp.Cast(this=node.this.transform(_oid_cast), to=exp.DataType.build("BIGINT"))
    return node


def name_columns(tree: exp.Expr) -> None:
    """Alias unnamed columns as PostgreSQL names them: of the result, and of every CTE and subquery,
    whose columns the statement may name (``count(1)`` is ``count``)."""
    for select in list(tree.find_all(exp.Select)):
        for i, column in enumerate(select.expressions):
            name = _pg_name(column)
            if name is not None:
                select.expressions[i] = exp.alias_(column, name, quoted=True)
                select.expressions[i].parent = select


def _pg_name(node: exp.Expr) -> str | None:
    """The name PostgreSQL gives an unaliased result column; None where the engine names it the same."""
    if isinstance(node, (exp.Alias, exp.Column, exp.Star)):
        return None
    return _figure(node)[0]


def _figure(node: exp.Expr) -> tuple[str, int]:
    """A result column's name and how strongly the expression names it, as PostgreSQL's
    FigureColname decides: a column or a function call names it (2); a cast's type or a CASE
    only if nothing inside does better (1), so ``col::regtype::text`` is ``col`` and
    ``'x'::timestamptz::date`` is ``date``; anything else is ``?column?`` (0)."""
    if isinstance(node, exp.Column):
        return node.name, 2
    if isinstance(node, exp.Paren):
        return _figure(node.this)
    if isinstance(node, exp.Cast):
        inner = _figure(node.this)
        if inner[1] > 1:
            return inner
        written = node.to.sql(dialect="postgres").split("(")[0].upper()
        return _TYPE_NAMES.get(written, written.lower()), 1
    if isinstance(node, exp.Case):
        return "case", 1
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _figure(node.expression)
    if isinstance(node, (exp.Window, exp.Filter)):
        return _figure(node.this)  # row_number() over (...) is row_number, max(x) filter (…) is max
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower(), 2
    if isinstance(node, exp.CurrentVersion):
        return "version", 2
    if node.meta.get(CALLED_AS):
        # As the client called it: date_part(…) and mod(a, b), which sqlglot reads as extract and %.
        return str(node.meta[CALLED_AS]).lower(), 2
    if isinstance(node, exp.Func):
        # Named as the client spelled the call (date_trunc, to_char), not after sqlglot's node
        # (TIMESTAMP_TRUNC, TIME_TO_STR): PostgreSQL's SQL for the node starts with that name.
        called = _CALLED.match(node.sql(dialect="postgres"))
        return (called.group(1) if called else str(node.sql_name())).lower(), 2
    return "?column?", 0


_CALLED = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)\(")
