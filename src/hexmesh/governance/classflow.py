"""Classification follows the data: an output field inherits the strongest class of what it is made of.

For a SQL transformation the sources of each output field come from column lineage (sqlglot,
DuckDB dialect, CTEs, joins and ``*`` resolved against the input ports' fields): the field
inherits the strongest classification among its source fields. A count (``count(x)``,
``count(distinct x)``, ``approx_count_distinct(x)``) is a number of rows, not a value of them:
lineage stops there. Every other function (``upper``, ``md5``, ``max``) keeps the class: a hash
of an e-mail is still personal data. For a Python transformation (or SQL that cannot be
parsed) nothing finer is known: every output field inherits the strongest classification of
all the product's inputs.

:func:`findings` is the global rule ``core.classification-follows-data``: an output field that
carries personal or restricted data under a weaker class, with no privacy rule on it and no
``classificationReason`` in the spec, blocks validate and deploy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage

from hexmesh.spec.model import DataProductSpec, OutputPort
from hexmesh.spec.policies import ProductPolicies

__all__ = ["RULE", "Inherited", "findings", "inherited"]

RULE = "core.classification-follows-data"
RANK = {"public": 0, "internal": 1, "confidential": 2, "personal": 3, "restricted": 4}
_PII = ("personal", "restricted")
_COUNTS = (exp.Count, exp.ApproxDistinct, exp.CountIf)

#: Input port -> field -> its classification (None: unclassified).
InputClasses = Mapping[str, Mapping[str, str | None]]


@dataclass(frozen=True)
class Inherited:
    """The strongest classification an output field carries, and the input fields it comes from."""

    classification: str
    sources: tuple[str, ...]
    """``input.field`` of each source with that classification."""
    how: str
    """``lineage`` (SQL column lineage) or ``product`` (every input: Python, or SQL not understood)."""


def inherited(spec: DataProductSpec, inputs: InputClasses, sql: Mapping[str, str]) -> dict[tuple[str, str], Inherited]:
    """What each output field ``(port, field)`` inherits; ``sql``: output port -> its SQL text."""
    out: dict[tuple[str, str], Inherited] = {}
    whole = _strongest({(i, f): c for i, fields in inputs.items() for f, c in fields.items()}, "product")
    for port in spec.output_ports:
        per_field = _sql_sources(port, sql.get(port.name), inputs) if spec.transformation is not None else None
        if spec.transformation is None:  # a pass-through: fields keep their names
            per_field = {f.name: {(i, f.name) for i in inputs if f.name in inputs[i]} for f in port.properties}
        for spec_field in port.properties:
            if per_field is None:
                found = whole
            else:
                sources = per_field.get(spec_field.name, set())
                found = _strongest({s: inputs.get(s[0], {}).get(s[1]) for s in sources}, "lineage")
            if found is not None:
                out[(port.name, spec_field.name)] = found
    return out


def _strongest(classes: Mapping[tuple[str, str], str | None], how: str) -> Inherited | None:
    ranked = [(RANK[c], c, f"{i}.{f}") for (i, f), c in classes.items() if c in RANK]
    if not ranked:
        return None
    top = max(r for r, _, _ in ranked)
    name = next(c for r, c, _ in ranked if r == top)
    return Inherited(name, tuple(sorted(s for r, _, s in ranked if r == top)), how)


def _sql_sources(port: OutputPort, text: str | None, inputs: InputClasses) -> dict[str, set[tuple[str, str]]] | None:
    """Output field -> (input, field) pairs it is computed from; None when the SQL is not understood."""
    if text is None:
        return None
    schema = {name: {f: "TEXT" for f in fields} for name, fields in inputs.items()}
    try:
        tree = parse_one(text, dialect="duckdb")
        return {
            f.name: _leaves(lineage(f.name, tree, schema=schema, dialect="duckdb"), inputs) for f in port.properties
        }
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return None


def _leaves(node: Node, inputs: InputClasses) -> set[tuple[str, str]]:
    expression = node.expression.unalias() if isinstance(node.expression, exp.Alias) else node.expression
    if isinstance(expression, _COUNTS):
        return set()  # how many rows, not what they hold
    if not node.downstream:
        if isinstance(node.expression, exp.Table) and node.expression.name in inputs:
            return {(node.expression.name, node.name.rsplit(".", 1)[-1])}
        return set()
    found: set[tuple[str, str]] = set()
    for child in node.downstream:
        found |= _leaves(child, inputs)
    return found


def findings(
    spec: DataProductSpec, policies: ProductPolicies, carried: Mapping[tuple[str, str], Inherited]
) -> Iterator[tuple[str, str]]:
    """(where, message) for each output field that publishes personal or restricted data under a weaker class."""
    for port in spec.output_ports:
        for spec_field in port.properties:
            got = carried.get((port.name, spec_field.name))
            if got is None or got.classification not in _PII:
                continue
            declared = spec_field.classification
            if declared is not None and RANK[declared] >= RANK[got.classification]:
                continue
            transformed = any(
                r.field == spec_field.name and (not r.ports or port.name in r.ports) and r.minimum_group_size is None
                for r in policies.privacy
            )
            if transformed or spec_field.classification_reason.strip():
                continue
            origin = "its lineage" if got.how == "lineage" else "the product's inputs (no column lineage)"
            yield (
                f"field:{port.name}.{spec_field.name}",
                f"carries {got.classification} data from {', '.join(got.sources)} ({origin}) but is classified "
                f"{declared or 'not at all'}: classify it {got.classification}, add a privacy rule for it "
                "(redact, pseudonymize, generalize or tokenize), or, if it holds no such value, say why in "
                "classificationReason",
            )
