"""Mesh experience plane: the index of products, search, knowledge graph and lineage.

Everything here is an index built from products' own discovery documents (or specs): when it
is unavailable, products still serve.
"""

from hexmesh.mesh.documents import DocumentError, entry_from_document
from hexmesh.mesh.emit import FileTransport, HttpTransport, OpenLineageObserver, Transport, lineage_observer
from hexmesh.mesh.entries import (
    SLO_STATUSES,
    FieldEntry,
    InputEntry,
    PortEntry,
    ProductEntry,
    entry_from_spec,
)
from hexmesh.mesh.graph import ConceptUse, JoinPath, JoinStep, KnowledgeGraph
from hexmesh.mesh.impact import Affected, Impact, impact
from hexmesh.mesh.lineage import (
    ColumnLineage,
    ColumnSource,
    LineageError,
    ProductLineage,
    column_lineage,
    input_schemas,
    product_column_lineage,
)
from hexmesh.mesh.openlineage import GOVERNANCE_SCHEMA, run_event
from hexmesh.mesh.query import FILTERS, Query, SearchSyntaxError, parse_query
from hexmesh.mesh.rdf import to_jsonld, to_turtle
from hexmesh.mesh.registry import IngestReport, Registry
from hexmesh.mesh.search import FACETS, Hit, SearchIndex, SearchResult
from hexmesh.mesh.snippets import PortAccess, Snippet, port_access, snippets

__all__ = [
    "FACETS",
    "FILTERS",
    "GOVERNANCE_SCHEMA",
    "SLO_STATUSES",
    "Affected",
    "ColumnLineage",
    "ColumnSource",
    "ConceptUse",
    "DocumentError",
    "FieldEntry",
    "FileTransport",
    "Hit",
    "HttpTransport",
    "Impact",
    "IngestReport",
    "InputEntry",
    "JoinPath",
    "JoinStep",
    "KnowledgeGraph",
    "LineageError",
    "OpenLineageObserver",
    "PortAccess",
    "PortEntry",
    "ProductEntry",
    "ProductLineage",
    "Query",
    "Registry",
    "SearchIndex",
    "SearchResult",
    "SearchSyntaxError",
    "Snippet",
    "Transport",
    "column_lineage",
    "entry_from_document",
    "entry_from_spec",
    "impact",
    "input_schemas",
    "lineage_observer",
    "parse_query",
    "port_access",
    "product_column_lineage",
    "run_event",
    "snippets",
    "to_jsonld",
    "to_turtle",
]
