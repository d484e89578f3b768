"""The stored privacy budgets: ε spent per principal and port, with per-pair limits.

Only the bookkeeping lives here; what a spent budget means (a refusal, and its message) is the
policy's: :class:`hexmesh.product.policy.StateLedger` turns a refused charge into an error.
"""

from __future__ import annotations

from sqlalchemy import (
    Engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import privacy_budget

__all__ = ["BudgetStore", "privacy_budget"]


class BudgetStore:
    """ε budgets in the state database: charges are atomic and never overdraw."""

    def __init__(self, db: Engine, default_limit: float = 1.0) -> None:
        self.db = db
        self.default_limit = default_limit

    def _row(self, principal: str, port: str) -> None:
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(privacy_budget).values(
                        principal=principal,
                        port=port,
                        limit_epsilon=self.default_limit,
                        spent_epsilon=0.0,
                        updated_us=now_us(),
                    )
                )
        except IntegrityError:
            pass  # it exists

    def set_limit(self, principal: str, port: str, limit: float) -> None:
        """The owner's control action: the total ε this principal may ever spend on this port."""
        if limit < 0:
            raise ValueError(f"a privacy budget cannot be negative ({limit})")
        self._row(principal, port)
        with self.db.begin() as conn:
            conn.execute(
                update(privacy_budget)
                .where(privacy_budget.c.principal == principal, privacy_budget.c.port == port)
                .values(limit_epsilon=limit, updated_us=now_us())
            )

    def try_charge(self, principal: str, port: str, epsilon: float) -> bool:
        """Spend ``epsilon`` if it is left (True); else spend nothing (False)."""
        self._row(principal, port)
        with self.db.begin() as conn:
            # One conditional UPDATE: two concurrent queries cannot both pass the check.
            changed = conn.execute(
                update(privacy_budget)
                .where(
                    privacy_budget.c.principal == principal,
                    privacy_budget.c.port == port,
                    privacy_budget.c.spent_epsilon + epsilon <= privacy_budget.c.limit_epsilon + 1e-9,
                )
                .values(spent_epsilon=privacy_budget.c.spent_epsilon + epsilon, updated_us=now_us())
            ).rowcount
        return bool(changed)

    def remaining(self, principal: str, port: str) -> float:
        with self.db.connect() as conn:
            row = conn.execute(
                select(privacy_budget).where(privacy_budget.c.principal == principal, privacy_budget.c.port == port)
            ).first()
        if row is None:
            return self.default_limit
        return max(0.0, float(row.limit_epsilon) - float(row.spent_epsilon))
