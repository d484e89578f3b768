"""A quoted literal cast to bytea, read as PostgreSQL reads it.

PostgreSQL reads ``'\\xffaa'::bytea`` as two bytes (hex format) and ``'ab\\001'::bytea`` as three
(escape format: ``\\\\`` a backslash, ``\\ooo`` an octal byte). The engine reads ``\\xHH`` as one
escaped byte and the rest as characters, so ``'\\xffaa'`` was three bytes. The port decodes the
literal itself and hands the engine the bytes as hex.
"""

from __future__ import annotations

import re

from sqlglot import exp

from hexmesh.pgwire import PgError, SqlState

__all__ = ["bytea_literal", "decode_bytea"]

_OCTAL = re.compile(r"\\([0-3][0-7]{2})")


def bytea_literal(node: exp.Expr) -> exp.Expr:
    """``unhex('…')`` for a string literal cast to bytea; any other node as it is."""
    if not (isinstance(node, exp.Cast) and node.to.is_type("varbinary")):
        return node
    literal = node.this
    if not (isinstance(literal, exp.Literal) and literal.is_string):
        return node
    data = decode_bytea(literal.this)
    return exp.Anonymous(this="unhex", expressions=[exp.Literal.string(data.hex())])


def decode_bytea(text: str) -> bytes:
    """The bytes PostgreSQL's ``byteain`` reads from ``text``; its SQLSTATE where it refuses them."""
    if text.startswith("\\x"):
        return _hex(text[2:])
    out = bytearray()
    at = 0
    while at < len(text):
        char = text[at]
        if char != "\\":
            out += char.encode()
            at += 1
        elif text.startswith("\\\\", at):
            out += b"\\"
            at += 2
        elif match := _OCTAL.match(text, at):
            out.append(int(match.group(1), 8))
            at += 4
        else:
            raise PgError(SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type bytea")
    return bytes(out)


def _hex(digits: str) -> bytes:
    pairs = []
    at = 0
    while at < len(digits):
        if digits[at] in " \t\n\r":  # PostgreSQL skips white space between pairs
            at += 1
            continue
        pair = digits[at : at + 2]
        for digit in pair:
            if digit not in "0123456789abcdefABCDEF":
                raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid hexadecimal digit: "{digit}"')
        if len(pair) < 2:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE, "invalid hexadecimal data: odd number of digits")
        pairs.append(pair)
        at += 2
    return bytes.fromhex("".join(pairs))
