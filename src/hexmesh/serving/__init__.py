"""The serving plane: one workspace served by a node, behind the :class:`Node` facade.

The node looks products up, builds their discovery documents, emits their events, and decides
(through the policy sidecar) what each caller may read or learn; :class:`MeshHub` is the node's
view of the mesh and :class:`Visibility` the part of it one caller may see. The surfaces
(``hexmesh.server``, ``hexmesh serve``) parse, call these, and render.
"""

from hexmesh.product import OutputPortReader, ReadRequest
from hexmesh.serving.hub import MeshHub, ProductView, concept_index
from hexmesh.serving.node import Document, Node, NodeOptions, Service
from hexmesh.serving.peering import authorize_announcement
from hexmesh.serving.visibility import Visibility, visibility

__all__ = [
    "Document",
    "MeshHub",
    "Node",
    "NodeOptions",
    "OutputPortReader",
    "ProductView",
    "ReadRequest",
    "Service",
    "Visibility",
    "authorize_announcement",
    "concept_index",
    "visibility",
]
