"""The privacy-budget ledger of a workspace: ε charged on the state store, refused with a clear error once spent."""

from __future__ import annotations

from sqlalchemy import Engine

from hexmesh.governance import BudgetExhaustedError
from hexmesh.governance.privacy import exhausted_message
from hexmesh.infra.state.privacy_budget import BudgetStore

__all__ = ["StateLedger"]


class StateLedger:
    """A :class:`~hexmesh.governance.privacy.BudgetLedger` whose budgets persist in the state database."""

    def __init__(self, db: Engine, default_limit: float = 1.0) -> None:
        self.store = BudgetStore(db, default_limit)

    def charge(self, principal: str, port: str, epsilon: float) -> float:
        """Spend ``epsilon`` and return what is left; BudgetExhaustedError (nothing spent) when it is not left."""
        if not self.store.try_charge(principal, port, epsilon):
            left = self.store.remaining(principal, port)
            raise BudgetExhaustedError(exhausted_message(principal, port, epsilon, left))
        return self.store.remaining(principal, port)

    def remaining(self, principal: str, port: str) -> float:
        return self.store.remaining(principal, port)

    def set_limit(self, principal: str, port: str, limit: float) -> None:
        """The owner's control action: the total ε this principal may ever spend on this port."""
        self.store.set_limit(principal, port, limit)
