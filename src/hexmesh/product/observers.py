"""Hooks other planes attach to a product's life (lineage emitters, event logs, schedulers).

The product layer only calls the hooks; what they do (OpenLineage, CloudEvents, triggering
downstream runs) is decided by the layers above, which register them on the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hexmesh.product.deployed import DeployedProduct
    from hexmesh.product.runner import RunResult

__all__ = ["BatchObserver", "RunObserver"]


class RunObserver(Protocol):
    """Told when a run starts, publishes, is skipped or fails. Must not raise."""

    def run_started(self, product: DeployedProduct, run_id: str) -> None: ...

    def run_finished(self, product: DeployedProduct, result: RunResult) -> None: ...

    def run_failed(self, product: DeployedProduct, run_id: str, error: BaseException) -> None: ...


class BatchObserver(Protocol):
    """Optionally also told when a run of every product (``run --all``) starts and ends."""

    def batch_started(self, batch_id: str) -> None: ...

    def batch_finished(self, batch_id: str, failed: list[str]) -> None: ...
