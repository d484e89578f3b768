"""Which governance rule set each deployed version passed, and its warnings (for discovery and audit)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import metadata

__all__ = ["record_ruleset", "ruleset_of", "version_rulesets"]

version_rulesets = Table(
    "version_rulesets",
    metadata,
    Column("product", String(140), nullable=False),
    Column("version", String(64), nullable=False),
    Column("ruleset", Text, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("checked_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("product", "version", name="pk_version_rulesets"),
)

_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def _ensure(engine: Engine) -> None:
    if engine not in _READY:
        metadata.create_all(engine, tables=[version_rulesets])
        _READY.add(engine)


def record_ruleset(engine: Engine, product: str, version: str, ruleset: str, warnings: Sequence[str]) -> None:
    """Remember that ``product`` ``version`` passed ``ruleset`` (the newest check wins)."""
    _ensure(engine)
    with engine.begin() as conn:
        conn.execute(
            delete(version_rulesets).where(version_rulesets.c.product == product, version_rulesets.c.version == version)
        )
        conn.execute(
            insert(version_rulesets).values(
                product=product, version=version, ruleset=ruleset, warnings=list(warnings), checked_us=now_us()
            )
        )


def ruleset_of(engine: Engine, product: str, version: str) -> str | None:
    """The rule set a deployed version passed (``hexmesh-core@1.0.0+acme@3``), None if never checked."""
    _ensure(engine)
    with engine.connect() as conn:
        return conn.execute(
            select(version_rulesets.c.ruleset).where(
                version_rulesets.c.product == product, version_rulesets.c.version == version
            )
        ).scalar()
