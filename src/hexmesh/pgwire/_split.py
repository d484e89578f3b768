"""Splitting a simple-Query string into statements, respecting quotes and comments."""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool) -> int:
    """Index just past the closing quote of a literal starting at sql[i]."""
    i += 1
    while True:
        end = sql.find(quote, i)
        if backslash:
            slash = sql.find("\\", i)
            if 0 <= slash < end or (end < 0 <= slash):
                i = slash + 2
                continue
        if end < 0:
            return len(sql)
        if end + 1 < len(sql) and sql[end + 1] == quote:
            i = end + 2
            continue
        return end + 1


def _skip_block_comment(sql: str, i: int) -> int:
    # PostgreSQL block comments nest.
    depth, i = 1, i + 2
    while i < len(sql) and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _skip_token(sql: str, i: int) -> int:
    """Index after the quoted literal or comment at i, or i + 1 for an ordinary character."""
    ch = sql[i]
    if ch == "'":
        escaped = i > 0 and sql[i - 1] in "eE" and (i < 2 or not sql[i - 2].isalnum())
        return _skip_quoted(sql, i, "'", escaped)
    if ch == '"':
        return _skip_quoted(sql, i, '"', False)
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end + 1
    if sql.startswith("/*", i):
        return _skip_block_comment(sql, i)
    if ch == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
        match = _DOLLAR_TAG.match(sql, i)
        if match:
            end = sql.find(match.group(0), match.end())
            return len(sql) if end < 0 else end + len(match.group(0))
    return i + 1


# Where a statement may end or a quoted part or comment may start; everything else is skipped in C.
_SPECIAL = re.compile(r"[;'\"$]|--|/\*")


def split_statements(sql: str) -> list[str]:
    """Statements of a query string, without trailing semicolons; blank ones are dropped."""
    out: list[str] = []
    start = i = 0
    while True:
        found = _SPECIAL.search(sql, i)
        if found is None:
            break
        i = found.start()
        if sql[i] == ";":
            out.append(sql[start:i])
            start = i = i + 1
            continue
        i = _skip_token(sql, i)
    out.append(sql[start:])
    return [s.strip() for s in out if not is_blank(s)]


def is_blank(sql: str) -> bool:
    """Whether a statement contains nothing but whitespace and comments."""
    i = 0
    while i < len(sql):
        if sql[i].isspace():
            i += 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            i = _skip_token(sql, i)
        else:
            return False
    return True


def first_keyword(sql: str) -> str:
    """Upper-cased first word of a statement, skipping comments and parentheses."""
    i = 0
    while i < len(sql):
        if sql[i].isspace() or sql[i] == "(":
            i += 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            i = _skip_token(sql, i)
        else:
            match = re.match(r"[A-Za-z_]+", sql[i:])
            return match.group(0).upper() if match else ""
    return ""
