"""Tables of the platform's own records: products, versions, ports, runs, publications, locks.

Times are integer microseconds since the Unix epoch (UTC): exact, sortable, and identical on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "locks",
    "majors",
    "metadata",
    "notices",
    "pins",
    "ports",
    "products",
    "publications",
    "runs",
    "versions",
]

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("domain", String(63), nullable=False),
    Column("name", String(63), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("domain", "name", name="uq_products_key"),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("spec_text", Text, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("bundle", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("deployed_us", BigInteger, nullable=False),
    UniqueConstraint("product_id", "version", name="uq_versions_version"),
)

ports = Table(
    "ports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("major", Integer, nullable=False),
    Column("name", String(63), nullable=False),
    Column("table_id", Text, nullable=False),
    Column("baseline_snapshot", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("product_id", "major", "name", name="uq_ports_name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("major", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("error", Text),
    Column("details", JSON, nullable=False),
    Index("ix_runs_product", "product_id", "started_us"),
)

publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("port_id", ForeignKey("ports.id"), nullable=False),
    Column("snapshot_id", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("published_us", BigInteger, nullable=False),
    Index("ix_publications_port", "port_id", "published_us"),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)

# -- lifecycle (issue 7): additive tables; nothing above changes ----------------------------

#: One row per product major that left the default "active" state: deprecation and retirement.
majors = Table(
    "majors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("major", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("sunset", String(32)),
    Column("successor", Text),
    Column("reason", Text),
    Column("updated_us", BigInteger, nullable=False),
    Column("details", JSON, nullable=False),
    UniqueConstraint("product_id", "major", name="uq_majors_major"),
)

#: Messages to a consumer product about an upstream it reads (deprecated, retired, ...).
notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer_id", ForeignKey("products.id"), nullable=False),
    Column("upstream", String(140), nullable=False),
    Column("major", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_notices_consumer", "consumer_id", "created_us"),
)

#: The upstream major each input port of each deployed version reads (fixed at deploy).
pins = Table(
    "pins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("port", String(63), nullable=False),
    Column("upstream", String(140), nullable=False),
    Column("major", Integer, nullable=False),
    UniqueConstraint("product_id", "version", "port", name="uq_pins_port"),
)
