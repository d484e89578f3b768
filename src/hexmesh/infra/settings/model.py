"""Every setting of a workspace and its node: one field each, with its variable, default and meaning.

To add a setting, add a field to :class:`Settings` with :func:`key` (its default, its ``HEXMESH_*``
variable, one sentence saying what it does), read it as ``settings.<name>`` where it is needed, and
regenerate the reference: ``python -m hexmesh.infra.settings > docs/configuration.md`` (a test checks
that the page is current, and that no module outside this package reads a ``HEXMESH_*`` variable).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hexmesh.errors import WorkspaceError

__all__ = [
    "CLIENT_VARIABLES",
    "DEMO_POSTGRES_ENV",
    "GROUPS",
    "HOME_ENV",
    "NODE_ENV",
    "SETTINGS_FILE",
    "TOKEN_ENV",
    "Settings",
    "key",
    "settings_fields",
    "variable",
]

SETTINGS_FILE = "settings.yaml"
HOME_ENV = "HEXMESH_HOME"
TOKEN_ENV = "HEXMESH_TOKEN"
NODE_ENV = "HEXMESH_NODE"
DEMO_POSTGRES_ENV = "HEXMESH_DEMO_POSTGRES"

#: Sections of the configuration reference, in order: name → what the section is about.
GROUPS: dict[str, str] = {
    "state": "The platform's own records: products, versions, runs, publications, leases, tokens, audit.",
    "tables": "Output ports are Apache Iceberg tables in one catalog; their files live in the warehouse.",
    "storage": (
        "Object storage keeps everything else a product has besides its tables: deployed bundles (by content "
        "digest), quarantined candidates. A local folder by default; any S3-compatible store by URI. The "
        "`s3_*` settings are used by the object storage and by the tables' FileIO alike; each falls back to "
        "the standard `AWS_*` variable named in its row."
    ),
    "events": "The event port's log: embedded by default, NATS JetStream by URL.",
    "cluster": (
        "Several nodes on the same PostgreSQL, object storage and NATS form one cluster: each run and each "
        "port's event emission happens on exactly one node, under a lease renewed by heartbeat."
    ),
    "federation": "Nodes of a mesh find each other's products: peers, announcements, the registry.",
    "governance": "Secrets and rules every node of a mesh must share.",
    "runs": (
        "A product is untrusted input to the node: its paths stay inside its folder (or a source root "
        "allowed here), and its Python code runs in a separate process, without the node's secrets, within "
        "these limits."
    ),
    "serving": "How a node serves its ports.",
    "compute": (
        "Engines run products' transformations over their inputs' Parquet files: DuckDB in process "
        "(the default, with bounded memory), or Apache Spark (`pip install 'hexmesh[spark]'`, Java 17). A product "
        "may name its engine in `transformation.engine`."
    ),
    "lineage": "OpenLineage run events of every run, for Marquez, DataHub or any OpenLineage consumer.",
}

#: Variables the command line and the Python client read (not settings of a workspace).
CLIENT_VARIABLES: dict[str, str] = {
    HOME_ENV: "The workspace folder of a command (`--home`); default `./.hexmesh`. Specs may use `${HEXMESH_HOME}`.",
    TOKEN_ENV: "Your API token: the CLI's `--token` and `hexmesh.connect(...)` send it.",
    NODE_ENV: "The node `hexmesh search --node` asks (http://host:port).",
    DEMO_POSTGRES_ENV: (
        "The PostgreSQL database `hexmesh demo` keeps the registration service's table in (and the example "
        "mesh reads); unset, the table is a SQLite file in the workspace's landing folder."
    ),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: A domain or ``domain/name``, with the spec's name pattern (hexmesh.spec.address, not imported:
#: settings load before any spec is needed).
_PLACED = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*(/[a-z][a-z0-9]*(-[a-z0-9]+)*)?$")


def key(
    default: Any,
    env: str,
    doc: str,
    *,
    group: str,
    shown: str | None = None,
    secret: bool = False,
    fallback: tuple[str, ...] = (),
) -> Any:
    """One setting: ``env`` is its ``HEXMESH_*`` variable, ``doc`` one sentence for the reference.

    ``shown`` is the default as the reference prints it (when it depends on the home); ``secret``
    hides the value wherever settings are shown; ``fallback`` names standard variables (``AWS_*``)
    read when neither the variable nor the settings file sets it.
    """
    metadata = {"env": env, "doc": doc, "group": group, "shown": shown, "secret": secret, "fallback": fallback}
    if isinstance(default, (dict, list)):
        raise TypeError("container defaults are tuples, or None for an empty mapping")
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps things and how its node behaves; embedded defaults under ``home``.

    Load with :meth:`load`: ``<home>/settings.yaml``, then ``HEXMESH_*`` variables (which win).
    Moving to PostgreSQL, S3 or NATS is a setting, not code (docs/configuration.md).
    """

    home: Path

    # -- state --------------------------------------------------------------------------------
    state_url: str = key(
        "",
        "HEXMESH_STATE_URL",
        "The state store: `sqlite:///file` or `postgresql://user@host/db` (shared by a cluster's nodes).",
        group="state",
        shown="sqlite:///<home>/state.db",
    )

    # -- tables -------------------------------------------------------------------------------
    catalog_url: str = key(
        "",
        "HEXMESH_CATALOG_URL",
        "The Iceberg catalog: a SQL catalog at `sqlite:///file` or `postgresql://...`, or an Iceberg REST "
        "catalog at `http(s)://...`.",
        group="tables",
        shown="sqlite:///<home>/catalog.db",
    )
    catalog_type: str = key(
        "",
        "HEXMESH_CATALOG_TYPE",
        "`sql` or `rest`; empty infers it from `catalog_url` (http and https mean `rest`).",
        group="tables",
    )
    catalog_name: str = key(
        "hexmesh",
        "HEXMESH_CATALOG_NAME",
        "The catalog's name (one SQL catalog database can hold several).",
        group="tables",
    )
    catalog_properties: dict[str, str] = key(  # noqa: RUF009 - key() is a dataclasses.field
        None,
        "HEXMESH_CATALOG_PROPERTIES",
        "More pyiceberg catalog properties, passed through as given (e.g. `rest.sigv4-enabled: 'true'`); "
        "in the variable as JSON or `k=v,k=v`. They win over what hexmesh derives from other settings.",
        group="tables",
        shown="{}",
        secret=True,
    )
    warehouse: str = key(
        "",
        "HEXMESH_WAREHOUSE",
        "Where table files are written: `file:///folder` or `s3://bucket/prefix` (with a REST catalog, "
        "the catalog's warehouse name, e.g. `s3://table-bucket/`).",
        group="tables",
        shown="file://<home>/warehouse",
    )

    # -- storage ------------------------------------------------------------------------------
    storage: str = key(
        "",
        "HEXMESH_STORAGE",
        "Object storage for what a product keeps besides its tables (quarantined candidates, bundles): "
        "`file:///folder` or `s3://bucket/prefix` (the bucket must exist).",
        group="storage",
        shown="file://<home>",
    )
    s3_endpoint: str = key(
        "",
        "HEXMESH_S3_ENDPOINT",
        "The S3 endpoint, e.g. `http://127.0.0.1:8333` (empty: AWS S3).",
        group="storage",
        fallback=("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    )
    s3_region: str = key(
        "us-east-1",
        "HEXMESH_S3_REGION",
        "The S3 region (signing needs one, also for S3-compatible servers).",
        group="storage",
        fallback=("AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    s3_access_key_id: str = key(
        "",
        "HEXMESH_S3_ACCESS_KEY_ID",
        "The S3 access key id.",
        group="storage",
        fallback=("AWS_ACCESS_KEY_ID",),
    )
    s3_secret_access_key: str = key(
        "",
        "HEXMESH_S3_SECRET_ACCESS_KEY",
        "The S3 secret access key.",
        group="storage",
        secret=True,
        fallback=("AWS_SECRET_ACCESS_KEY",),
    )
    s3_session_token: str = key(
        "",
        "HEXMESH_S3_SESSION_TOKEN",
        "An S3 session token (temporary credentials).",
        group="storage",
        secret=True,
        fallback=("AWS_SESSION_TOKEN",),
    )
    s3_path_style: bool = key(
        True,
        "HEXMESH_S3_PATH_STYLE",
        "Address buckets as `endpoint/bucket` (true; what S3-compatible servers expect) or as "
        "`bucket.endpoint` (false).",
        group="storage",
    )

    # -- events -------------------------------------------------------------------------------
    events_url: str = key(
        "",
        "HEXMESH_EVENTS_URL",
        "The event log: empty for the embedded one, `nats://host:port` for NATS JetStream.",
        group="events",
    )
    events_namespace: str = key(
        "",
        "HEXMESH_EVENTS_NAMESPACE",
        "The name of this mesh's NATS stream and the first token of its subjects, so that meshes sharing a "
        "NATS server never mix their events.",
        group="events",
        shown="hexmesh-<mesh id> (the id is made once, in the state store)",
    )

    events_nats_user: str = key(
        "",
        "HEXMESH_EVENTS_NATS_USER",
        "The user name a node connects to NATS with (with events_nats_password). NATS carries rows as stored: "
        "keep it private to the nodes (docs/events.md).",
        group="events",
    )
    events_nats_password: str = key(
        "", "HEXMESH_EVENTS_NATS_PASSWORD", "The password of events_nats_user.", group="events", secret=True
    )
    events_nats_token: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TOKEN",
        "A NATS authorization token (token authentication).",
        group="events",
        secret=True,
    )
    events_nats_nkey: str = key(
        "",
        "HEXMESH_EVENTS_NATS_NKEY",
        "A file holding the NKey seed (`SU…`) a node signs the NATS server's challenge with.",
        group="events",
    )
    events_nats_creds: str = key(
        "",
        "HEXMESH_EVENTS_NATS_CREDS",
        "A NATS credentials file (`.creds`: a user JWT and its NKey seed), for servers in operator/JWT mode.",
        group="events",
    )
    events_nats_tls_ca: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TLS_CA",
        "The CA certificate (PEM) NATS's TLS certificate is checked against.",
        group="events",
    )
    events_nats_tls_cert: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TLS_CERT",
        "A client certificate (PEM) for NATS servers that verify clients (with events_nats_tls_key).",
        group="events",
    )
    events_nats_tls_key: str = key(
        "", "HEXMESH_EVENTS_NATS_TLS_KEY", "The private key (PEM) of events_nats_tls_cert.", group="events"
    )

    # -- cluster ------------------------------------------------------------------------------
    node_name: str = key(
        "",
        "HEXMESH_NODE_NAME",
        "This node's name in leases, runs and logs.",
        group="cluster",
        shown="the host name",
    )
    placement: tuple[str, ...] = key(
        (),
        "HEXMESH_PLACEMENT",
        "Which products this node runs and emits events for: domains (`sales`) or products (`sales/shop`), "
        "comma-separated; empty runs all. Every node serves reads of every product.",
        group="cluster",
        shown="all",
    )
    lease_seconds: float = key(
        15.0,
        "HEXMESH_LEASE_SECONDS",
        "How long a run's or an emitter's lease lasts without a heartbeat: a killed node's work moves to "
        "another node after at most this long. Heartbeats come every third of it.",
        group="cluster",
    )

    # -- federation ---------------------------------------------------------------------------
    peers: tuple[str, ...] = key(
        (),
        "HEXMESH_PEERS",
        "Base URLs of other nodes of the mesh, comma-separated (their registries are federated; their "
        "products can be inputs).",
        group="federation",
    )
    peer_token: str = key(
        "",
        "HEXMESH_PEER_TOKEN",
        "The API token this node reads peers' discovery and ports with (its service identity there).",
        group="federation",
        secret=True,
    )
    peer_credentials: dict[str, str] = key(  # noqa: RUF009 - key() is a dataclasses.field
        None,
        "HEXMESH_PEER_CREDENTIALS",
        "Where this node finds the token its products read a peer's ports with (inputs across nodes): peer "
        "base URL → `env:VARIABLE` or the path of a file holding the token; a key `domain/name@URL` gives one "
        "product its own token. A peer without an entry is read with peer_token.",
        group="federation",
        shown="{}",
    )
    mesh_token: str = key(
        "",
        "HEXMESH_MESH_TOKEN",
        "The token nodes announce themselves to each other with.",
        group="federation",
        secret=True,
    )
    mesh_refresh: float = key(
        10.0, "HEXMESH_MESH_REFRESH", "Seconds between two refreshes of the federated registry.", group="federation"
    )
    semantic: bool = key(
        False,
        "HEXMESH_SEMANTIC",
        "Semantic search over the registry (needs the `semantic` extra).",
        group="federation",
    )
    peer_networks: tuple[str, ...] = key(
        (),
        "HEXMESH_PEER_NETWORKS",
        "CIDR ranges announced peers must resolve to, comma-separated (empty: any routable address).",
        group="federation",
    )
    announce_interval: float = key(
        30.0,
        "HEXMESH_ANNOUNCE_INTERVAL",
        "Seconds before the same peer URL may be announced again.",
        group="federation",
    )
    max_announced: int = key(
        256, "HEXMESH_MAX_ANNOUNCED", "How many announced peers one node follows.", group="federation"
    )

    # -- governance ---------------------------------------------------------------------------
    master_key: str = key(
        "",
        "HEXMESH_MASTER_KEY",
        "The master key wrapping per-subject data keys (32 bytes, base64url). Every node of a cluster needs "
        "the same one.",
        group="governance",
        shown="`<home>/keys/master.key`, made on first use",
        secret=True,
    )
    secret: str = key(
        "",
        "HEXMESH_SECRET",
        "The mesh secret pseudonyms and token keys derive from (at least 16 bytes). Every node of a cluster "
        "needs the same one.",
        group="governance",
        shown="`<home>/mesh.secret`, made on first use",
        secret=True,
    )
    governance: str = key(
        "",
        "HEXMESH_GOVERNANCE",
        "The mesh's governance folder (`*.cedar`, `policies.yaml`, `rules.yaml`). Every node of a cluster "
        "needs the same rules.",
        group="governance",
        shown="<home>/governance",
    )
    tokens: str = key(
        "",
        "HEXMESH_TOKENS",
        "Operator tokens, `secret=governance,other=owner:sales/shop|sales/big` (also `<home>/tokens.yaml`).",
        group="governance",
        secret=True,
    )

    # -- runs ---------------------------------------------------------------------------------
    source_roots: tuple[str, ...] = key(
        (),
        "HEXMESH_SOURCE_ROOTS",
        "Folders a product's file sources may read besides its own folder, comma-separated; a path "
        "elsewhere (absolute, `..`, or through a symlink) is refused. A root may not contain the home.",
        group="runs",
        shown="<home>/landing",
    )
    python_memory_mb: int = key(
        2048,
        "HEXMESH_PYTHON_MEMORY_MB",
        "Writable memory (heap, Arrow buffers) a Python transformation's process may use, in megabytes (0: no "
        "limit); a product's `transformation.limits.memoryMb` may ask for less. Going over fails the run.",
        group="runs",
    )
    python_cpu_seconds: int = key(
        600,
        "HEXMESH_PYTHON_CPU_SECONDS",
        "CPU seconds a Python transformation's process may use (0: no limit); a product's "
        "`transformation.limits.cpuSeconds` may ask for less. Going over fails the run.",
        group="runs",
    )
    example_seconds: int = key(
        60,
        "HEXMESH_EXAMPLE_SECONDS",
        "Seconds (CPU and wall clock) one Python example of a product's README may take when `hexmesh deploy` runs "
        "it in the sandbox; a longer one is stopped and reported failed, the deploy stands.",
        group="runs",
    )

    # -- serving ------------------------------------------------------------------------------
    files_cache_mb: int = key(
        1024,
        "HEXMESH_FILES_CACHE_MB",
        "Megabytes of pinned Parquet downloads a node keeps in `<home>/cache/files` (least recently used "
        "go first; 0 keeps only files in use).",
        group="serving",
    )
    tables_cache_mb: int = key(
        4096,
        "HEXMESH_TABLES_CACHE_MB",
        "Megabytes of S3 table data files the SQL port copies to `<home>/cache/tables` so DuckDB scans them "
        "with its own Parquet reader (data files never change; least recently used go first; 0 reads S3 "
        "through Arrow on every statement).",
        group="serving",
    )
    sql_max_connections: int = key(
        64,
        "HEXMESH_SQL_MAX_CONNECTIONS",
        "Sessions the SQL port serves at once; the next client gets 53300 (a slot is taken before it logs in).",
        group="serving",
    )
    sql_max_statement_bytes: int = key(
        1024 * 1024,
        "HEXMESH_SQL_MAX_STATEMENT_BYTES",
        "The longest SQL statement the SQL port accepts, in bytes (0: no limit); a longer one gets 54000.",
        group="serving",
    )
    sql_statements_per_principal: int = key(
        8,
        "HEXMESH_SQL_STATEMENTS_PER_PRINCIPAL",
        "Statements one principal runs at once on the SQL port, over all its sessions (0: no limit); more "
        "wait their turn, within the statement timeout.",
        group="serving",
    )

    # -- compute ------------------------------------------------------------------------------
    compute_engine: str = key(
        "duckdb",
        "HEXMESH_COMPUTE_ENGINE",
        "The engine a product's transformation runs on unless its spec names one (`transformation.engine`): "
        "`duckdb` (in process) or `spark`.",
        group="compute",
    )
    compute_memory_limit: str = key(
        "2GB",
        "HEXMESH_COMPUTE_MEMORY_LIMIT",
        "The memory DuckDB may use for one run's transformation (e.g. `2GB`, `512MB`; empty: DuckDB's default, "
        "80% of the machine); what does not fit spills to compute_spill_dir.",
        group="compute",
    )
    compute_spill_dir: str = key(
        "",
        "HEXMESH_COMPUTE_SPILL_DIR",
        "Where a transformation spills what does not fit in compute_memory_limit.",
        group="compute",
        shown="<home>/compute/spill",
    )
    compute_threads: int = key(
        0,
        "HEXMESH_COMPUTE_THREADS",
        "Threads DuckDB uses for one run's transformation (0: one per core).",
        group="compute",
    )

    spark_master: str = key(
        "local[2]",
        "HEXMESH_SPARK_MASTER",
        "The Spark master products on the `spark` engine run on: `local[N]` (in this process's JVM), "
        "`spark://host:7077` (a standalone cluster) or `sc://host:15002` (a Spark Connect server).",
        group="compute",
    )
    spark_executor_memory: str = key(
        "1g",
        "HEXMESH_SPARK_EXECUTOR_MEMORY",
        "Memory of each Spark executor (`spark.executor.memory`).",
        group="compute",
    )

    # -- lineage ------------------------------------------------------------------------------
    openlineage_url: str = key(
        "",
        "HEXMESH_OPENLINEAGE_URL",
        "Where every run's OpenLineage events go: an HTTP endpoint (Marquez: `http://host:5000/api/v1/lineage`) "
        "or a file of JSON lines (`file:///path/events.jsonl`); empty: none are sent.",
        group="lineage",
    )
    openlineage_namespace: str = key(
        "hexmesh",
        "HEXMESH_OPENLINEAGE_NAMESPACE",
        "The OpenLineage namespace of this node's jobs and of its ports (datasets named by their dp:// address).",
        group="lineage",
    )
    openlineage_api_key: str = key(
        "",
        "HEXMESH_OPENLINEAGE_API_KEY",
        "Sent as `Authorization: Bearer <key>` to the HTTP endpoint, when it needs one.",
        group="lineage",
        secret=True,
    )

    def __post_init__(self) -> None:
        from hexmesh.infra.settings.loading import coerce

        home = Path(self.home).expanduser().resolve()
        object.__setattr__(self, "home", home)
        for item in settings_fields():
            value = getattr(self, item.name)
            if value is None and item.name == "catalog_properties":
                value = {}
            object.__setattr__(self, item.name, coerce(item, value, item.metadata["env"]))
        derived = {
            "state_url": f"sqlite:///{home / 'state.db'}",
            "catalog_url": f"sqlite:///{home / 'catalog.db'}",
            "warehouse": (home / "warehouse").as_uri(),
            "storage": home.as_uri(),
            "node_name": socket.gethostname(),
        }
        for name, value in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        for root in self.source_root_paths:
            if home == root or home.is_relative_to(root):
                raise WorkspaceError(
                    f"source root {root} contains the node's home {home}, whose keys and tokens no product "
                    f"may read; name a folder beside it or inside it instead (for example {home / 'landing'})"
                )
        self._check_cluster()

    def _check_cluster(self) -> None:
        for entry in self.placement:
            if not _PLACED.match(entry):
                raise WorkspaceError(
                    f"placement entry {entry!r} ({variable('placement')}) names neither a domain (sales) nor a "
                    "product (sales/shop): use lower-case names with '-', separated by one '/'"
                )
        if self.lease_seconds < 1:
            raise WorkspaceError(
                f"lease_seconds ({variable('lease_seconds')}) is {self.lease_seconds:g}; a lease shorter than a second "
                "would be lost between two heartbeats: use 1 or more (default 15)"
            )

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def load(cls, home: str | Path | None = None) -> Settings:
        """Settings for ``home``, else ``$HEXMESH_HOME``, else ``./.hexmesh``: file, then environment."""
        from hexmesh.infra.settings.loading import load

        return load(cls, home)

    @classmethod
    def defaults(cls, home: Path) -> Settings:
        """The embedded defaults under ``home``: no settings file, no environment."""
        return cls(home=home)

    def merged(self, values: dict[str, Any], origin: str = SETTINGS_FILE) -> Settings:
        """These settings with ``values`` (as a settings file gives them) on top."""
        from hexmesh.infra.settings.loading import parse_values

        return dataclasses.replace(self, **parse_values(values, origin))

    # -- derived --------------------------------------------------------------------------------

    @property
    def files_cache_bytes(self) -> int:
        return self.files_cache_mb * 1024 * 1024

    @property
    def source_root_paths(self) -> tuple[Path, ...]:
        """Where file sources may read besides a product's folder (``<home>/landing`` by default)."""
        if not self.source_roots:
            return (self.home / "landing",)
        return tuple(Path(root).expanduser().resolve() for root in self.source_roots)

    @property
    def compute_spill(self) -> Path:
        return Path(self.compute_spill_dir).expanduser() if self.compute_spill_dir else self.home / "compute" / "spill"

    @property
    def compute_runs(self) -> Path:
        """Runs' private working folders (inputs linked or staged as Parquet, outputs before commit)."""
        return self.home / "compute" / "runs"

    @property
    def bundles(self) -> Path:
        """Deployed product versions, copied so a run never depends on a working copy."""
        return self.home / "bundles"

    @property
    def governance_folder(self) -> Path:
        """The governance folder (it may not exist): ``governance`` or ``<home>/governance``."""
        return Path(self.governance).expanduser() if self.governance else self.home / "governance"

    def peer_credential(self, peer: str, product: str) -> str:
        """The token ``product`` (``domain/name``) reads ``peer``'s ports with: its own entry in
        peer_credentials, else the peer's, else peer_token ("" when none is set: it reads anonymously)."""
        entries = self.peer_credentials
        peer = peer.rstrip("/")
        source = entries.get(f"{product}@{peer}") or entries.get(peer)
        if not source:
            return self.peer_token
        if source.startswith("env:"):
            name = source.removeprefix("env:")
            value = os.environ.get(name, "").strip()
            if not value:
                raise WorkspaceError(
                    f"peer_credentials names the variable {name!r} for {peer}, but it is not set: export the token "
                    f"{product} reads that node with"
                )
            return value
        path = Path(source).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WorkspaceError(
                f"peer_credentials names the token file {str(path)!r} for {peer}, which cannot be read "
                f"({exc.strerror or exc}); write the token {product} reads that node with there"
            ) from None
        if not value:
            raise WorkspaceError(f"the token file {str(path)!r} for {peer} (peer_credentials) is empty")
        return value

    def runs_here(self, product: str) -> bool:
        """Whether this node's placement includes ``product`` (``domain/name``)."""
        if not self.placement:
            return True
        domain = product.split("/", 1)[0]
        return product in self.placement or domain in self.placement

    def ensure(self) -> Settings:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.warehouse.startswith("file://"):
            Path(self.warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return self

    def shown(self) -> dict[str, Any]:
        """Every setting's value as ``hexmesh settings`` prints it: secrets say only whether they are set."""
        out: dict[str, Any] = {"home": str(self.home)}
        for item in settings_fields():
            value = getattr(self, item.name)
            if item.metadata["secret"]:
                value = {k: "(set)" for k in value} if isinstance(value, dict) else ("(set)" if value else "")
            out[item.name] = list(value) if isinstance(value, tuple) else value
        return out


def variable(name: str) -> str:
    """The ``HEXMESH_*`` variable of setting ``name`` (for messages that tell a user what to set)."""
    return str(next(f for f in settings_fields() if f.name == name).metadata["env"])


def settings_fields() -> list[dataclasses.Field[Any]]:
    """The settings (every field but ``home``), in declaration order."""
    found = [f for f in dataclasses.fields(Settings) if f.name != "home"]
    for item in found:
        assert _NAME.match(item.name) and item.metadata["group"] in GROUPS, item.name
    return found
