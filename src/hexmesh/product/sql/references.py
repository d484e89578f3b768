"""Which column names a SQL statement can read: sealed columns it never names need not be opened.

Opening a restricted column costs one AES-GCM call per value (product/sealing.py), so readers
open only the sealed columns a statement may use: a transformation's SQL over its input ports,
a SQL-port query over its port tables. The answer errs on the side of opening: every
identifier counts, whatever it names, and any way to read columns without naming them gives
"all" (None).
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import ScopeType, traverse_scope

from hexmesh.product.sql.interrupt import checkpoint

__all__ = ["referenced_names", "sql_references"]

#: Nodes that read columns they do not name: ``COLUMNS(...)``, ``#1``, PIVOT/UNPIVOT (they
#: group by every other column), SUMMARIZE/DESCRIBE, and statements sqlglot does not model.
_UNNAMED = (exp.Columns, exp.PositionalColumn, exp.Pivot, exp.Summarize, exp.Describe, exp.Command)


@lru_cache(maxsize=1024)
def sql_references(sql: str, dialect: str) -> frozenset[str] | None:
    """:func:`referenced_names` of every statement in ``sql``; None (all) when it does not parse.

    Remembered per text: runs and policies pass the same SQL again and again.
    """
    try:
        trees = sqlglot.parse(sql, read=dialect)
    except SqlglotError:
        return None  # the engine will say what is wrong; meanwhile assume it reads everything
    names: set[str] = set()
    for tree in trees:
        if tree is None:
            continue
        found = referenced_names(tree)
        if found is None:
            return None
        names |= found
    return frozenset(names)


def referenced_names(tree: exp.Expr) -> frozenset[str] | None:
    """Every identifier in ``tree``, lower-cased (SQL matches them without case); None: it may read any column.

    None for ``*`` and ``t.*`` (``count(*)`` is fine), a table or alias used as a value
    (``to_json(t)``, ``select t from t``), NATURAL joins, and the nodes in ``_UNNAMED``.
    """
    if _reads_rows_whole(tree):
        return None
    names: set[str] = set()
    for node in tree.walk():
        checkpoint()
        if isinstance(node, _UNNAMED):
            return None
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            return None
        if isinstance(node, exp.Anonymous) and node.name.lower() == "columns":
            return None
        if isinstance(node, exp.Join) and str(node.args.get("method") or "").upper() == "NATURAL":
            return None
        if isinstance(node, exp.Identifier):
            names.add(node.name.lower())
    return frozenset(names)


def _reads_rows_whole(tree: exp.Expr) -> bool:
    """Whether an unqualified column names a table or alias visible where it stands (the row as a value)."""
    sources = {t.name.lower() for t in tree.find_all(exp.Table)}
    sources |= {str(a.name).lower() for a in tree.find_all(exp.TableAlias)}
    if not any(not c.table and c.name.lower() in sources for c in tree.find_all(exp.Column)):
        return False  # no column is named like any source: scoping (slow on long statements) cannot say yes
    try:
        scopes = traverse_scope(tree)
    except Exception:  # a tree sqlglot cannot scope: assume the worst, open everything
        return True
    for scope in scopes:
        visible = {name.lower() for name in scope.sources}
        outer = scope
        # A subquery in an expression (or a lateral one) sees the sources of the queries around it.
        while outer.parent is not None and outer.scope_type in (ScopeType.SUBQUERY, ScopeType.UDTF):
            outer = outer.parent
            visible |= {name.lower() for name in outer.sources}
        if any(not column.table and column.name.lower() in visible for column in scope.columns):
            return True
    return False
