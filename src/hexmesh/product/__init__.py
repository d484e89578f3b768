"""The data product container: the runtime of one hexagon.

Input ports, the transformation, the quality gate and output ports (with bitemporal reads).
"""

from hexmesh.product.deployed import DeployedProduct, table_id
from hexmesh.product.ports import OutputPortReader, ReadRequest
from hexmesh.product.runner import ABANDONED, RunResult, run_product
from hexmesh.product.runtime import Runtime

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
