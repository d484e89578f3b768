"""Every table of the state store, in one place: products, versions, ports, runs, publications, locks,
lifecycle records, governance records, data keys, and the schema's version.

The tables are created and migrated together by :func:`hexmesh.infra.state.migrations.migrate`
when a store opens (never lazily by the code that uses them). A change to a table is a new
schema version there, with the step that brings existing databases to it.

Times are integer microseconds since the Unix epoch (UTC): exact, sortable, and identical on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "access_requests",
    "api_tokens",
    "audit_log",
    "cluster",
    "consumer_offsets",
    "control_state",
    "data_keys",
    "emitted",
    "forgotten_subjects",
    "locks",
    "majors",
    "metadata",
    "notices",
    "operator_tokens",
    "pins",
    "policy_revisions",
    "ports",
    "privacy_budget",
    "products",
    "publications",
    "rule_checks",
    "rulesets",
    "runs",
    "schema_version",
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


# -- governance records: API tokens, access requests, the audit log, rule sets, ε budgets -----------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("principal", JSON, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger),
    Column("revoked_us", BigInteger),
)

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("principal", JSON, nullable=False),
    Column("product", String(140), nullable=False),
    Column("port", String(63), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_us", BigInteger, nullable=False),
    Column("decided_by", Text),
    Column("decision_note", Text, nullable=False),
    Column("decided_us", BigInteger),
    Column("expires_us", BigInteger),
    # The policy shape an approval grants (columns, rows), as the owner chose it when approving.
    Column("shape", JSON),
    Index("ix_access_requests_product", "product", "port", "status"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("policy_ids", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_resource", "resource", "at_us"),
    Index("ix_audit_actor", "actor", "at_us"),
)

rulesets = Table(
    "rulesets",
    metadata,
    Column("revision", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

rule_checks = Table(
    "rule_checks",
    metadata,
    Column("product", String(140), nullable=False),
    Column("version", String(64), nullable=False),
    Column("ruleset", Text, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("revision", Integer, nullable=True),
    Column("passed", Boolean, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("checked_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("product", "version", name="pk_rule_checks"),
)

privacy_budget = Table(
    "privacy_budget",
    metadata,
    Column("principal", Text, nullable=False),
    Column("port", String(255), nullable=False),
    Column("limit_epsilon", Float, nullable=False),
    Column("spent_epsilon", Float, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("principal", "port", name="pk_privacy_budget"),
)


# -- encryption at rest: wrapped data keys per subject, and the subjects forgotten -----------------

data_keys = Table(
    "data_keys",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

forgotten_subjects = Table(
    "forgotten_subjects",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("forgotten_us", BigInteger, nullable=False),
)


# -- what every node of a cluster shares (ADR 0025) ----------------------------------------------------

#: One row: the mesh's id (made once) and the fingerprints of what every node must share — HMACs of
#: the master key and the mesh secret (never the secrets), and a digest per governance file.
cluster = Table(
    "cluster",
    metadata,
    Column("singleton", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("mesh_id", String(32), nullable=False),
    Column("master_key_check", String(64)),
    Column("secret_check", String(64)),
    Column("governance", JSON),
    Column("set_by", Text),
    Column("updated_us", BigInteger, nullable=False),
)

#: A product's control state set over the control port: paused, lifecycle overrides (JSON object).
control_state = Table(
    "control_state",
    metadata,
    Column("product", String(140), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

#: The last event sequence each named consumer processed on each stream. Kept beside the log it
#: indexes: here when the log is shared (NATS), in ``<home>/offsets.db`` for the embedded log.
consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("consumer", String(255), nullable=False),
    Column("stream", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("consumer", "stream", name="pk_consumer_offsets"),
)

#: Clear-text operator tokens (``tokens.yaml``, ``HEXMESH_TOKENS``) of the cluster's nodes, as SHA-256
#: hashes: one made on any node acts on every node (never the token itself).
operator_tokens = Table(
    "operator_tokens",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("products", JSON, nullable=False),
    Column("added_by", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

#: The last snapshot of each port whose rows are on the event log (the emitter's position).
emitted = Table(
    "emitted",
    metadata,
    Column("stream", String(255), primary_key=True),
    Column("snapshot_id", BigInteger, nullable=False),
)


# -- the schema's own version (see migrations.py) --------------------------------------------------

#: Policies a product's owners replaced over the control port, one row per revision (never changed).
#: ``policies`` null means "the deployed spec's" (a rollback to them).
policy_revisions = Table(
    "policy_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product", String(140), nullable=False),
    Column("major", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("policies", JSON),
    Column("action", String(16), nullable=False),
    Column("actor", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("product", "major", "revision", name="uq_policy_revisions_revision"),
)


#: One row: the version of this schema the database was last migrated to.
schema_version = Table(
    "schema_version",
    metadata,
    Column("singleton", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("version", Integer, nullable=False),
    Column("migrated_us", BigInteger, nullable=False),
)
