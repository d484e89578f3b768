"""The policy sidecar: governance wired into the product runtime, for every port of a node.

See :mod:`.door` (the one door to a port's data: a principal's shaped view of a
:class:`~.read.PortRead` as Arrow or as Parquet files for engines), :mod:`.sidecar` (policy
deciders, plans, tokens, audit), :mod:`.arrow` (files, events, client, discovery) and :mod:`.sql`
(the SQL port's QueryPolicy).
"""

from hexmesh.product.policy.arrow import discoverable_schema, governed_batches, governed_table
from hexmesh.product.policy.discovery_view import discovery_view, reads_every_row, slo_checks
from hexmesh.product.policy.door import (
    PortRead,
    ShapedFiles,
    Window,
    shaped_batches,
    shaped_files,
    shaped_table,
    unrestricted_table,
)
from hexmesh.product.policy.requests import decide_access, request_access
from hexmesh.product.policy.secret import governance_folder, load_governance, mesh_secret
from hexmesh.product.policy.sidecar import PolicySidecar, one_request
from hexmesh.product.policy.sql import SqlPolicy, as_principal

__all__ = [
    "PolicySidecar",
    "PortRead",
    "ShapedFiles",
    "SqlPolicy",
    "Window",
    "as_principal",
    "decide_access",
    "discoverable_schema",
    "discovery_view",
    "governance_folder",
    "governed_batches",
    "governed_table",
    "load_governance",
    "mesh_secret",
    "one_request",
    "reads_every_row",
    "request_access",
    "shaped_batches",
    "shaped_files",
    "shaped_table",
    "slo_checks",
    "unrestricted_table",
]
