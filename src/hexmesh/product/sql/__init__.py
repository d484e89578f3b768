"""The SQL output port: every deployed product's output ports over the PostgreSQL protocol.

See docs/sql.md for the naming scheme, time travel, limits and the policy hook.
"""

from hexmesh.product.sql.catalog import PortTable, sql_identifier
from hexmesh.product.sql.policy import (
    AllowAll,
    PolicyDecision,
    QueryPolicy,
    QueryRequest,
    TableAccess,
    TableRewrite,
)
from hexmesh.product.sql.port import SqlPort, SqlPortConfig, sql_service, start_sql_port
from hexmesh.product.sql.session import SqlSession

__all__ = [
    "AllowAll",
    "PolicyDecision",
    "PortTable",
    "QueryPolicy",
    "QueryRequest",
    "SqlPort",
    "SqlPortConfig",
    "SqlSession",
    "TableAccess",
    "TableRewrite",
    "sql_identifier",
    "sql_service",
    "start_sql_port",
]
