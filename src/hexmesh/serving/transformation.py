"""A product's transformation as one viewer may see it: its SQL text or its Python module's name.

SQL names columns, also those a reader does not see, so its text is shown to whoever may see
everything it could name: the product's owners (``control``), and readers who see every column of
every port in clear (nothing hidden, nothing masked, every row). A Python transformation is shown
by its module and function (``transform.py:build``), which names no column, to whoever reads a port.
On a node without ``--auth`` everyone sees it. See docs/adr/0036.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hexmesh.governance import Principal
from hexmesh.product import DeployedProduct
from hexmesh.serving.disclosure import may_control
from hexmesh.serving.node import Node
from hexmesh.serving.standing import readers_plan
from hexmesh.spec import inside

__all__ = ["Code", "transformation"]

#: The most of one SQL file a page shows (a longer one is cut, and says so).
MAX_SQL_CHARS = 20_000


@dataclass(frozen=True)
class Code:
    """``kind`` sql: ``text`` per output port (its file's name, its text); python: ``module`` only."""

    kind: Literal["sql", "python", "none"]
    files: tuple[tuple[str, str, str], ...] = ()
    """SQL: (port, file, text) per output port."""
    module: str = ""


def transformation(node: Node, principal: Principal, product: DeployedProduct) -> Code | None:
    """What ``principal`` may see of the product's code; None when it may see none of it."""
    code = product.spec.transformation
    sees_all = may_control(node, principal, product) or _reads_all(node, principal, product)
    if code is None:
        return Code("none") if sees_all else None
    if code.python is not None:
        reads = sees_all or any(
            readers_plan(node, principal, product, p.name)[0].decision.allowed for p in product.spec.output_ports
        )
        return Code("python", module=code.python) if reads else None
    if not sees_all:
        return None
    ports = [p.name for p in product.spec.output_ports]
    named = {ports[0]: code.sql} if isinstance(code.sql, str) else dict(code.sql or {})
    return Code("sql", tuple((port, file, _text(product, file)) for port, file in named.items()))


def _reads_all(node: Node, principal: Principal, product: DeployedProduct) -> bool:
    for port in product.spec.output_ports:
        plan, _ = readers_plan(node, principal, product, port.name)
        whole = plan.decision.allowed and plan.variant == "rows" and plan.row_filter is None and not plan.min_group
        if not whole or plan.hidden or any(a.kind != "keep" for a in plan.columns.values()):
            return False
    return True


def _text(product: DeployedProduct, file: str) -> str:
    path = inside(product.bundle, file)
    if path is None or not path.is_file():
        return f"-- {file} is not in the deployed bundle"
    text = path.read_text(encoding="utf-8", errors="replace")
    return text if len(text) <= MAX_SQL_CHARS else text[:MAX_SQL_CHARS] + f"\n-- … cut at {MAX_SQL_CHARS} characters"
