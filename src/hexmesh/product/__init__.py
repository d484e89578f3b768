"""The data product container: the runtime of one hexagon.

Input ports, the transformation, the quality gate and output ports (with bitemporal reads).
"""

from typing import TYPE_CHECKING

from hexmesh.lazy import lazy_names

if TYPE_CHECKING:
    from hexmesh.product.deployed import DeployedProduct, table_id
    from hexmesh.product.ports import OutputPortReader, ReadRequest
    from hexmesh.product.runner import ABANDONED, RunResult, run_product
    from hexmesh.product.runtime import Runtime

#: Where each name lives: imported when first used, so a command imports only what it calls
#: (`hexmesh list` needs no engine; docs/adr/0011, STYLE.md 15).
_WHERE = {
    "ABANDONED": "hexmesh.product.runner",
    "DeployedProduct": "hexmesh.product.deployed",
    "OutputPortReader": "hexmesh.product.ports",
    "ReadRequest": "hexmesh.product.ports",
    "RunResult": "hexmesh.product.runner",
    "Runtime": "hexmesh.product.runtime",
    "run_product": "hexmesh.product.runner",
    "table_id": "hexmesh.product.deployed",
}


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "ABANDONED",
    "DeployedProduct",
    "OutputPortReader",
    "ReadRequest",
    "RunResult",
    "Runtime",
    "run_product",
    "table_id",
]
