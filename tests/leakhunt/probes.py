"""One probe per port: everything a principal can get out of the port, and yes/no questions about hidden values.

A probe returns a :class:`Seen`: the text of every answer (rows, documents, pages, errors) and
:class:`Oracle` pairs — the same question asked about a canary and about a decoy that exists
nowhere. Any difference between the two answers (status, rows, message) tells the caller
something about a hidden value, and counts as a leak like the value itself.

To add a way of reaching data (a new route, a table function, a variant), add what it answers
to the probe of its port, or register a new port with :func:`probe`. Probes run once per
(port, principal) and are shared by every mechanism's cell of the matrix.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

import hexmesh
import hexmesh.client
from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import Workspace
from tests.leakhunt.mesh import CANARIES, LeakMesh

__all__ = ["PROBES", "Oracle", "Seen", "decoy", "probe"]


@dataclass(frozen=True)
class Oracle:
    """A yes/no question about one hidden value, asked twice: about the canary, and about a decoy."""

    mechanism: str
    question: str
    canary: str
    decoy: str

    @property
    def differs(self) -> bool:
        return self.canary != self.decoy


@dataclass
class Seen:
    """What one principal got out of one port."""

    texts: list[str] = field(default_factory=list)
    oracles: list[Oracle] = field(default_factory=list)

    def add(self, *texts: str) -> None:
        self.texts.extend(texts)

    def leaked(self, mechanism: str) -> list[str]:
        """The canaries of ``mechanism`` that came back, by value (anywhere in an answer)."""
        found = set()
        for text in self.texts:
            found |= {c for c in CANARIES[mechanism] if c in text}
        return sorted(found)

    def answered(self, mechanism: str) -> list[str]:
        """The yes/no questions about ``mechanism``'s hidden values whose answers told canary from decoy."""
        return [o.question for o in self.oracles if o.mechanism == mechanism and o.differs]


Probe = Callable[[LeakMesh, str], Seen]
PROBES: dict[str, Probe] = {}


def probe(port: str) -> Callable[[Probe], Probe]:
    """Register the probe of ``port`` (one per port; the matrix runs each once per principal)."""

    def register(function: Probe) -> Probe:
        PROBES[port] = function
        return function

    return register


def decoy(canary: str) -> str:
    """A value shaped like ``canary`` that no table holds."""
    return canary.replace("cnry", "dcoy")


def _answer(response: httpx.Response, value: str) -> str:
    """An HTTP answer as a comparable string: status and body, the asked value and request paths blanked."""
    body = response.text.replace(value, "<value>")
    body = re.sub(r'"instance":\s*"[^"]*"', "", body)
    return f"{response.status_code} {body}"


#: (mechanism, port address path, column, canary): what oracles ask about on HTTP ports and the client.
QUESTIONS: list[tuple[str, str, str, str]] = [
    ("masked", "leak/vault/ports/people", "note", "cnrymasked0001"),
    ("masked", "leak/vault/ports/people", "margin", "cnrymargin0001"),
    ("pseudonym", "leak/vault/ports/people", "person_id", "cnrypseudo0001"),
    ("row-filter", "leak/vault/ports/people", "city", "cnryrowfilter0003"),
    ("sealed", "leak/vault/ports/people", "email", "cnrysealed0001@leak.test"),
    ("forgotten", "leak/vault/ports/people", "email", "cnryforgotten0001@leak.test"),
    ("no-grant", "leak/vault/ports/ledger", "entry", "cnrynogrant0001"),
    ("aggregate-only", "leak/vault/ports/totals", "label", "cnryaggregate0001"),
    ("synthetic-only", "leak/vault/ports/twins", "code", "cnrysynthetic0001"),
    ("retired-major", "leak/archive/ports/records", "code", "cnryretired0001"),
]
PORTS = ["leak/vault/ports/people", "leak/vault/ports/ledger", "leak/vault/ports/totals", "leak/vault/ports/twins"]
PORTS += ["leak/archive/ports/records", "leak/other/ports/things"]
# Every live major is served by name (issue 17 item 4); the retired one must be gone from every port.
PORTS += ["leak/archive@1/ports/records", "leak/archive@2/ports/records"]


def _json_text(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text}"


# -- input ports -------------------------------------------------------------------------------

#: Whose product reads the vault through an input port: the owner team of the product each principal
#: would deploy (the analyst's team is its group; a product never holds a person's attributes).
_INPUT_OWNERS = {
    "anonymous": "anonymous@leak.test",
    "analyst": "analysts",
    "other-owner": "bob@other.test",
    "operator": "ops@leak.test",
    "owner": "vault-owner@leak.test",  # a sanity check only: the owner team's product reads everything
}
_INPUT_SPEC = """
domain: leak
name: {name}
version: 1.0.0
owner: {owner}
description: Reads {address} through an input port, as the product's own principal.
inputPorts:
  - {{name: src, from: "{address}"{purpose}}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: seen
    properties:
      - {{name: v, logicalType: string, classification: internal}}
"""
_INPUT_READS = [
    "dp://leak/vault/people",
    "dp://leak/vault/ledger",
    "dp://leak/vault/totals",
    "dp://leak/vault/twins",
    "dp://leak/archive@1/records",
]


def _plan_refusal(workspace: Workspace, folder: Path) -> str:
    return workspace.plan([folder])[0].refusal or "deployable"


#: A PySpark build (ADR 0038) that returns every input row as JSON, as the SQL probe's query does.
_PYSPARK_BUILD = """
from pyspark.sql import functions as fn


def build(spark, inputs):
    return inputs["src"].select(fn.to_json(fn.struct("*")).alias("v"))
"""


@probe("input")
def input_port(mesh: LeakMesh, who: str) -> Seen:
    """A product owned by ``who``'s team reads each vault port through an input port (deploy, run, its
    published rows, every refusal): it gets what its principal may read from outside, never more."""
    with Workspace.open(mesh.home) as workspace:
        return _through_inputs(mesh, who, workspace, "input")


@probe("pyspark-input")
def pyspark_input_port(mesh: LeakMesh, who: str) -> Seen:
    """The input probe with a PySpark build on a Spark Connect server (docs/adr/0038-pyspark-builds.md)."""
    from hexmesh.infra.settings import Settings
    from tests.sparkcluster import connect_server

    with connect_server(mesh.root / f"connect-{who}") as url:
        settings = Settings.load(mesh.home).merged({"spark_master": url})
        with Workspace(settings) as workspace:
            return _through_inputs(mesh, who, workspace, "pyspark")


def _through_inputs(mesh: LeakMesh, who: str, workspace: Workspace, kind: str) -> Seen:
    seen = Seen()
    owner = _INPUT_OWNERS[who]
    code = "{python: build.py:build, engine: spark}" if kind == "pyspark" else "{sql: transform.sql}"
    for n, address in enumerate(_INPUT_READS):
        name = f"{kind}-{who}-{n}"
        folder = mesh.root / "inputs" / name
        folder.mkdir(parents=True, exist_ok=True)
        for purpose in ("", ", purpose: research"):
            spec = _INPUT_SPEC.format(name=name, owner=owner, address=address, purpose=purpose)
            spec = spec.replace("transformation: {sql: transform.sql}", f"transformation: {code}")
            if kind == "pyspark":  # Python has no column lineage; a probe claims what passes the rule, as anyone may
                spec = spec.replace("classification: internal}", "classification: internal, classificationReason: x}")
            (folder / "dataproduct.yaml").write_text(spec, encoding="utf-8")
            (folder / "transform.sql").write_text("select to_json(s)::varchar as v from src as s\n")
            (folder / "build.py").write_text(_PYSPARK_BUILD, encoding="utf-8")
            seen.add(_called(functools.partial(_plan_refusal, workspace, folder)))
            try:
                workspace.deploy([folder])
                seen.add(str(workspace.run(f"leak/{name}", force=True)))
                seen.add(str(workspace.read(f"dp://leak/{name}/seen").to_pylist()))
            except HexmeshError as exc:
                seen.add(str(exc))
            if workspace.runtime.state.versions(f"leak/{name}"):
                break  # deployed: the version is immutable, the first read said it all
        seen.add(str(workspace.runtime.state.runs(f"leak/{name}", limit=100)))
    return seen


# -- files ---------------------------------------------------------------------------------------


@probe("files")
def files(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with mesh.http(who) as http:
        for port in PORTS:
            base = f"/products/{port}"
            listing = http.get(f"{base}/snapshots")
            seen.add(_json_text(listing))
            for variant in ("rows", "synthetic"):
                for fmt in ("jsonl", "csv", "parquet", "arrow"):
                    answer = http.get(f"{base}/data", params={"format": fmt, "variant": variant})
                    seen.add(_cells(answer, fmt))
            pinned = [s["data_url"] for s in listing.json()] if listing.status_code == 200 else []
            owner_pins = _owner_pins(mesh, port)
            first = owner_pins[0].split("/snapshots/")[1].split("/")[0] if owner_pins else None
            for url in {*pinned, *owner_pins}:  # every snapshot, past ones too (time travel)
                for fmt in ("jsonl", "parquet"):
                    seen.add(_cells(http.get(url, params={"format": fmt}), fmt))
                if first is not None:  # what an incremental reader gets (a product on another node)
                    seen.add(_cells(http.get(url, params={"format": "parquet", "after": first}), "parquet"))
            as_of = http.get(f"{base}/data", params={"format": "jsonl", "as_of": "2020-01-01T00:00:00Z"})
            seen.add(_json_text(as_of))
        for mechanism, port, column, canary in QUESTIONS:
            base = f"/products/{port}"
            variant = "synthetic" if mechanism == "synthetic-only" else "rows"
            for path in (f"{base}/data", *_owner_pins(mesh, port)[:1]):
                answers = []
                for value in (canary, decoy(canary)):
                    params = {"format": "jsonl", "filter": f"{column} = '{value}'", "variant": variant}
                    answer = http.get(path, params=params)
                    seen.add(answer.text)
                    answers.append(_answer(answer, value))
                seen.oracles.append(Oracle(mechanism, f"GET {path}?filter={column} = …", *answers))
            # Naming the hidden column (a projection) may be refused, never answered with its values.
            seen.add(http.get(f"{base}/data", params={"format": "jsonl", "columns": column}).text)
    return seen


_PINS: dict[str, list[str]] = {}


def _owner_pins(mesh: LeakMesh, port: str) -> list[str]:
    """Every snapshot URL of ``port`` (as its owner lists them): a caller could guess them."""
    if port not in _PINS:
        with mesh.http("owner") as http:
            answer = http.get(f"/products/{port}/snapshots")
        _PINS[port] = [s["data_url"].split("/products/", 1)[1] for s in answer.json()] if answer.is_success else []
    return [f"/products/{p}" for p in _PINS[port]]


def _cells(response: httpx.Response, fmt: str) -> str:
    """Every cell of a table answer (any format) as text, or the error."""
    if response.status_code != 200 or fmt in ("jsonl", "csv"):
        return f"{response.status_code} {response.text}"
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    buffer = pa.BufferReader(response.content)
    table = pq.read_table(buffer) if fmt == "parquet" else ipc.open_stream(response.content).read_all()
    return json.dumps(table.to_pylist(), default=str)


# -- events --------------------------------------------------------------------------------------


@probe("events")
def events(mesh: LeakMesh, who: str) -> Seen:
    from websockets.sync.client import connect as ws_connect

    seen = Seen()
    with mesh.http(who) as http:
        for port in PORTS:
            base = f"/products/{port}/events"
            seen.add(http.get(base, params={"follow": "false", "start": "beginning"}).text)
            # A processing-time start and an event-time window (issue 17) reach the same rows.
            window = {"start": "2000-01-01T00:00:00Z", "since": "2000-01-01T00:00:00Z", "until": "2100-01-01"}
            seen.add(http.get(base, params={"follow": "false", **window}).text)
            seen.add(http.get(base + "/consumers/leak", params={}).text)
            url = mesh.url.replace("http", "ws", 1) + base + "/ws?start=beginning&limit=40"
            try:
                with ws_connect(url, additional_headers=mesh.headers(who), open_timeout=30) as socket:
                    while True:
                        try:
                            seen.add(str(socket.recv(timeout=2)))
                        except TimeoutError:
                            break
            except Exception as exc:  # a closed socket is an answer too
                seen.add(str(exc))
        for product in ("leak/vault", "leak/archive"):
            seen.add(http.get(f"/products/{product}/events", params={"follow": "false"}).text)
    return seen


# -- discovery and observability ----------------------------------------------------------------


@probe("discovery")
def discovery(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with mesh.http(who) as http:
        for path in (
            "/",
            "/products/leak/vault",
            "/products/leak/archive",
            "/products/leak/archive@1",
            "/products/leak/archive@2",
            "/products/leak/other",
            "/openapi.json",
        ):
            seen.add(_json_text(http.get(path)))
        # The same products in the open standards (issue 14): shaped like the DCAT document.
        for product in ("leak/vault", "leak/archive", "leak/other"):
            for fmt in ("odps", "odcs", "dpds", "dcs"):
                seen.add(http.get(f"/products/{product}/standards/{fmt}").text)
            seen.add(http.get(f"/products/{product}", headers={"Accept": "application/odcs+yaml"}).text)
            for port in PORTS:
                if port.startswith(product + "/"):
                    name = port.rsplit("/", 1)[1]
                    seen.add(http.get(f"/products/{product}/standards/odcs", params={"port": name}).text)
    return seen


@probe("observability")
def observability(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with mesh.http(who) as http:
        for product in ("leak/vault", "leak/archive", "leak/archive@1", "leak/archive@2", "leak/other"):
            seen.add(_json_text(http.get(f"/products/{product}/observability")))
        seen.add(_json_text(http.get("/metrics")))
    return seen


# -- the Python client ---------------------------------------------------------------------------


@probe("client")
def client(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    node = hexmesh.connect(mesh.url, token=mesh.tokens.get(who) or "")
    with node:
        for port in PORTS:
            domain, name, _, port_name = port.split("/")
            product = node.product(f"{domain}/{name}")
            handle = product.port(port_name)
            calls: list[Callable[[], object]] = [
                handle.read,
                handle.snapshots,
                product.describe,
                product.observability,
                functools.partial(_events, handle),
            ]
            for call in calls:
                seen.add(_called(call))
        for mechanism, port, column, canary in QUESTIONS:
            domain, name, _, port_name = port.split("/")
            handle = node.product(f"{domain}/{name}").port(port_name)
            answers = []
            for value in (canary, decoy(canary)):
                got = _called(functools.partial(handle.read, filter=f"{column} = '{value}'"))
                seen.add(got)
                answers.append(re.sub(r'"instance":\s*"[^"]*"', "", got.replace(value, "<value>")))
            seen.oracles.append(Oracle(mechanism, f"client read(filter={column} = …) on {port}", *answers))
    return seen


def _events(handle: hexmesh.client.Port) -> list[dict[str, object]]:
    return list(handle.subscribe("beginning", follow=False, limit=40))


def _called(call: Callable[[], object]) -> str:
    try:
        result = call()
    except (HexmeshError, httpx.HTTPError) as exc:
        return f"error {exc}"
    to_pylist = getattr(result, "to_pylist", None)
    return json.dumps(to_pylist() if to_pylist else result, default=str)


# -- SQL -----------------------------------------------------------------------------------------

TABLES = [
    "leak.vault__people",
    "leak.vault__people_synthetic",
    "leak.vault__ledger",
    "leak.vault__totals",
    "leak.vault__twins",
    "leak.vault__twins_synthetic",
    "leak.archive__records",
    "leak.archive__records_v1",
    "leak.other__things",
]
#: (mechanism, table, column, canary): the SQL port's yes/no questions.
SQL_QUESTIONS = [
    ("masked", "leak.vault__people", "note", "cnrymasked0001"),
    ("masked", "leak.vault__people", "margin", "cnrymargin0001"),
    ("pseudonym", "leak.vault__people", "person_id", "cnrypseudo0001"),
    ("row-filter", "leak.vault__people", "city", "cnryrowfilter0003"),
    ("sealed", "leak.vault__people", "email", "cnrysealed0001@leak.test"),
    ("forgotten", "leak.vault__people", "email", "cnryforgotten0001@leak.test"),
    ("no-grant", "leak.vault__ledger", "entry", "cnrynogrant0001"),
    ("aggregate-only", "leak.vault__totals", "label", "cnryaggregate0001"),
    ("synthetic-only", "leak.vault__twins_synthetic", "code", "cnrysynthetic0001"),
    ("retired-major", "leak.archive__records_v1", "code", "cnryretired0001"),
]


@probe("sql")
def sql(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    try:
        connection = psycopg.connect(mesh.dsn(who), autocommit=True, connect_timeout=30)
    except psycopg.Error as exc:
        seen.add(str(exc))
        return seen
    with connection:
        statements = [f"select * from {t}" for t in TABLES]
        statements += [
            "select table_schema, table_name, column_name from information_schema.columns",
            "select * from duckdb_views()",
            "select * from duckdb_settings()",
            "select name, value from duckdb_settings() where value like '%/%'",
            "select current_setting('home_directory'), current_setting('temp_directory')",
            "select current_setting('secret_directory'), current_setting('extension_directory')",
            "select current_setting('data_directory'), current_setting('config_file')",
            "show all",
            "select count(*) from leak.vault__totals",
        ]
        for statement in statements:
            seen.add(_run(connection, statement))
        for mechanism, table, column, canary in SQL_QUESTIONS:
            answers = []
            for value in (canary, decoy(canary)):
                got = _run(connection, f"select count(*) from {table} where {column} = '{value}'")
                seen.add(got)
                answers.append(got.replace(value, "<value>"))
            seen.oracles.append(Oracle(mechanism, f"SQL count(*) where {column} = … on {table}", *answers))
    return seen


def _run(connection: psycopg.Connection[tuple[object, ...]], statement: str) -> str:
    try:
        return repr(connection.execute(statement).fetchall())
    except psycopg.Error as exc:
        return f"error {exc.sqlstate} {exc}"


# -- the web UI, the mesh API (lineage, search), the audit log -----------------------------------


def ui_client(mesh: LeakMesh, who: str) -> httpx.Client:
    token = mesh.tokens.get(who)
    return httpx.Client(base_url=mesh.url, cookies={"hexmesh_token": token} if token else {}, timeout=60)


@probe("ui")
def ui(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with ui_client(mesh, who) as http:
        for path in (
            "/ui",
            "/ui/products/leak/vault",
            "/ui/products/leak/archive",
            "/ui/graph",
            "/ui/lineage",
            "/ui/lineage?port=dp://leak/vault/people",
            "/ui/slo",
            "/ui/nodes",
            "/ui/me",
            # Each port's preview and profile: the principal's own shaped rows, or the refusal.
            *(f"/ui/products/leak/vault/ports/{port}/preview" for port in ("people", "ledger", "totals", "twins")),
            "/ui/products/leak/archive/ports/records/preview",
            "/ui/products/leak/other/ports/things/preview",
        ):
            seen.add(_json_text(http.get(path)))
        # An aggregate-only reader's private profile (noisy counts, charged to its budget); others are refused.
        private = http.post(
            "/ui/products/leak/vault/ports/totals/preview", data={"token": ""}, headers={"Origin": mesh.url}
        )
        seen.add(private.text)
        for mechanism, canary in _some_canaries():
            answers = []
            for value in (canary, decoy(canary)):
                page = http.get("/ui", params={"q": value})
                seen.add(page.text.replace(value, "<value>"))  # the page repeats what was asked
                answers.append(f"{page.status_code} {sorted(set(re.findall(r'/ui/products/[a-z0-9/-]+', page.text)))}")
            seen.oracles.append(Oracle(mechanism, f"UI search for {canary}", *answers))
    return seen


@probe("lineage")
def lineage(mesh: LeakMesh, who: str) -> Seen:
    from hexmesh.lifecycle import Workspace
    from hexmesh.mesh import run_event

    seen = Seen()
    with mesh.http(who) as http:
        for product in ("leak/vault", "leak/archive"):
            seen.add(_json_text(http.get(f"/api/lineage/{product}")))
            seen.add(_json_text(http.get(f"/api/lineage/{product}/columns")))
        for port in ("dp://leak/vault/people", "dp://leak/vault/ledger", "dp://leak/archive/records"):
            seen.add(_json_text(http.get("/api/impact", params={"port": port})))  # what breaks, as each may see
        for path in ("/api/graph.jsonld", "/api/graph.ttl", "/api/graph/concepts"):
            seen.add(_json_text(http.get(path)))
    # The OpenLineage events of the vault's runs, as a transport would send them (the same for everyone).
    with Workspace.open(mesh.home) as workspace:
        vault = workspace.deployed()["leak/vault"]
        for run in workspace.runtime.state.runs("leak/vault", limit=10):
            seen.add(json.dumps(run_event("COMPLETE", vault.spec, run.id, bundle=vault.bundle), default=str))
    return seen


@probe("search")
def search(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with mesh.http(who) as http:
        seen.add(_json_text(http.get("/api/registry")))
        seen.add(_json_text(http.get("/api/peers")))
        seen.add(_json_text(http.post("/api/registry/refresh")))
        seen.add(_json_text(http.get("/api/search", params={"q": "leak"})))
        asked = http.get("/api/search", params={"q": "cnrysource0001"})  # a source folder's name
        seen.add(asked.text.replace("cnrysource0001", "<value>"), _hits(asked))  # the answer repeats what was asked
        for mechanism, canary in _some_canaries():
            answers = []
            for value in (canary, decoy(canary)):
                answer = http.get("/api/search", params={"q": value})
                seen.add(answer.text.replace(value, "<value>"))  # the answer repeats what was asked
                answers.append(_hits(answer))
            seen.oracles.append(Oracle(mechanism, f"search for {canary}", *answers))
    return seen


@probe("audit")
def audit(mesh: LeakMesh, who: str) -> Seen:
    seen = Seen()
    with mesh.http(who) as http:
        for product in ("leak/vault", "leak/archive", "leak/other"):
            for fmt in ("json", "csv"):
                answer = http.get(f"/products/{product}/control/audit", params={"format": fmt, "limit": 100_000})
                seen.add(_without_what_callers_typed(answer))
    return seen


def _hits(response: httpx.Response) -> str:
    """A search answer as the products it found: suggestions and corrections come from the index's
    vocabulary (metadata), which two made-up words may hit differently."""
    if response.status_code != 200:
        return f"{response.status_code} {response.text}"
    return json.dumps(sorted(str(hit.get("key")) for hit in response.json().get("hits", [])))


def _without_what_callers_typed(response: httpx.Response) -> str:
    """The audit log records what callers sent (filters, SQL), canaries of the oracles included: those
    fields echo the callers, not the data, so they are left out of the comparison."""
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("application/json"):
        return f"{response.status_code} {re.sub(r'(filter|sql)[^,]*', '', response.text)}"
    entries = response.json()
    for entry in entries:
        details = entry.get("details") or {}
        for typed in ("filter", "sql", "request"):
            details.pop(typed, None)
    return json.dumps(entries)


def _some_canaries() -> Iterable[tuple[str, str]]:
    for mechanism, values in CANARIES.items():
        yield mechanism, sorted(values)[0]
