"""The leak-hunt mesh: products whose hidden values are canaries, principals with tokens, a served node.

Every hiding mechanism has its own canary values, planted only where that mechanism hides them:

=================  ====================================================================================
mechanism          where its canaries live (and who may not see them)
=================  ====================================================================================
no-grant           ``leak/vault/ledger.entry``: no policy grants anyone but the owner this port
masked             ``leak/vault/people.note`` (redacted) and ``.margin`` (excluded for analysts)
pseudonym          ``leak/vault/people.person_id`` (pseudonymized for everyone but the owner)
row-filter         ``leak/vault/people.city`` of the US rows (analysts read region = their region, EU)
sealed             ``leak/vault/people.email`` (restricted: encrypted at rest, redacted for readers)
forgotten          the e-mail of ``subject-forgotten``, forgotten after publishing (nobody, not even
                   the owner, may read it again)
aggregate-only     ``leak/vault/totals.label`` (analysts may only ask DP aggregates)
synthetic-only     ``leak/vault/twins.code`` (analysts may only read the synthetic variant)
retired-major      ``leak/archive@1/records.code`` (major 1 is retired; major 2 serves other values)
server-metadata    the vault's source folders (``data/cnrysource000N``), the node's home folder and the
                   server's working directory: only the owner may see where data comes from, and no
                   caller sees the server's paths or settings
=================  ====================================================================================

Principals: ``anonymous`` (no token), ``analyst`` (ann, group analysts, region EU: the grants above),
``other-owner`` (bob, who owns ``leak/other`` and has no grant on the vault), ``operator`` (ops, who
administers the node and has no data grant). The owner of the vault has a token too, for checks
that the data is really there (a probe that finds nothing because nothing was published proves nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hexmesh.governance import Principal
from hexmesh.infra.keys import KeyStore, master_key
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens
from tests import children
from tests.server.nodes import free_port

__all__ = [
    "CANARIES",
    "MECHANISMS",
    "PRINCIPALS",
    "LeakMesh",
    "build_mesh",
    "serve_mesh",
]

MECHANISMS = (
    "no-grant",
    "masked",
    "pseudonym",
    "row-filter",
    "sealed",
    "forgotten",
    "aggregate-only",
    "synthetic-only",
    "retired-major",
    "server-metadata",
)
PRINCIPALS = ("anonymous", "analyst", "other-owner", "operator")

_N = 12  # people rows; every third is in the US (hidden from EU analysts)


def _people() -> list[dict[str, str]]:
    rows = []
    for n in range(1, _N + 1):
        us = n % 3 == 0
        rows.append(
            {
                "person_id": f"cnrypseudo{n:04d}",
                "email": f"cnrysealed{n:04d}@leak.test",
                "note": f"cnrymasked{n:04d}",
                "margin": f"cnrymargin{n:04d}",
                "region": "US" if us else "EU",
                "city": f"cnryrowfilter{n:04d}" if us else "Lyon",
                "seen_at": f"2026-01-{1 + n % 9:02d} 10:00:00",
            }
        )
    rows.append(
        {
            "person_id": "subject-forgotten",
            "email": "cnryforgotten0001@leak.test",
            "note": "cnrymasked9999",
            "margin": "cnrymargin9999",
            "region": "EU",
            "city": "Lyon",
            "seen_at": "2026-01-05 10:00:00",
        }
    )
    return rows


#: mechanism -> every hidden value planted for it.
CANARIES: dict[str, frozenset[str]] = {
    "no-grant": frozenset(f"cnrynogrant{n:04d}" for n in range(1, 7)),
    "masked": frozenset(v for r in _people() for v in (r["note"], r["margin"])),
    "pseudonym": frozenset(f"cnrypseudo{n:04d}" for n in range(1, _N + 1)),
    "row-filter": frozenset(f"cnryrowfilter{n:04d}" for n in range(3, _N + 1, 3)),
    "sealed": frozenset(f"cnrysealed{n:04d}@leak.test" for n in range(1, _N + 1)),
    "forgotten": frozenset({"cnryforgotten0001@leak.test"}),
    "aggregate-only": frozenset(f"cnryaggregate{n:04d}" for n in range(1, 9)),
    "synthetic-only": frozenset(f"cnrysynthetic{n:04d}" for n in range(1, 31)),
    "retired-major": frozenset(f"cnryretired{n:04d}" for n in range(1, 7)),
    "server-metadata": frozenset({*(f"cnrysource{n:04d}" for n in range(1, 5)), "cnryhome0001", "cnrycwd0001"}),
}

_VAULT = """
domain: leak
name: vault
version: 1.0.0
owner: vault-owner@leak.test
description: The leak hunt's vault; every hidden value in it is a canary.
inputPorts:
  - {name: people_raw, source: {format: csv, path: data/cnrysource0001}}
  - {name: ledger_raw, source: {format: csv, path: data/cnrysource0002}}
  - {name: totals_raw, source: {format: csv, path: data/cnrysource0003}}
  - {name: twins_raw, source: {format: csv, path: data/cnrysource0004}}
transformation:
  sql: {people: people.sql, ledger: ledger.sql, totals: totals.sql, twins: twins.sql}
outputPorts:
  - name: people
    eventTime: seen_at
    primaryKey: [person_id]
    properties:
      - {name: person_id, logicalType: string, required: true, classification: personal, tags: [subject]}
      - {name: email, logicalType: string, classification: restricted}
      - {name: note, logicalType: string, classification: confidential}
      - {name: margin, logicalType: string, classification: confidential}
      - {name: region, logicalType: string, classification: internal}
      - {name: city, logicalType: string, classification: internal}
      - {name: seen_at, logicalType: timestamp, required: true, classification: internal}
  - name: ledger
    primaryKey: [entry]
    properties:
      - {name: entry, logicalType: string, classification: confidential}
      - {name: amount, logicalType: integer, classification: internal}
  - name: totals
    properties:
      - {name: label, logicalType: string, classification: confidential}
      - {name: amount, logicalType: integer, classification: internal}
  - name: twins
    properties:
      - {name: code, logicalType: string, classification: confidential}
      - {name: score, logicalType: number, classification: internal}
policies:
  access:
    - {id: analysts, allow: {group: analysts}, ports: [people], columns: {exclude: [margin, email]},
       rows: {region: principal.region}}
    - {id: analysts-totals, allow: {group: analysts}, ports: [totals], actions: [readAggregate]}
    - {id: analysts-twins, allow: {group: analysts}, ports: [twins], actions: [readSynthetic]}
  privacy:
    - {field: person_id, pseudonymize: {scope: product}}
    - {field: note, redact: true}
    - {field: email, redact: true}
"""
_VAULT_SQL = {
    "people.sql": "select person_id, email, note, margin, region, city, cast(seen_at as timestamp) as seen_at "
    "from people_raw",
    "ledger.sql": "select entry, cast(amount as integer) as amount from ledger_raw",
    "totals.sql": "select label, cast(amount as integer) as amount from totals_raw",
    "twins.sql": "select code, cast(score as double) as score from twins_raw",
}

_ARCHIVE = """
domain: leak
name: archive
version: {version}
owner: vault-owner@leak.test
description: Records kept by the vault's owners; major 1 is retired.
inputPorts:
  - {{name: raw, source: {{format: csv, path: data}}}}
transformation:
  sql: transform.sql
outputPorts:
  - name: records
    primaryKey: [code]
    properties:
      - {{name: code, logicalType: string, classification: internal}}
      - {{name: {column}, logicalType: integer, classification: internal}}
policies:
  access:
    - {{id: analysts, allow: {{group: analysts}}}}
"""

_OTHER = """
domain: leak
name: other
version: 1.0.0
owner: bob@other.test
description: Another team's product; its owner has no grant on the vault.
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation:
  sql: transform.sql
outputPorts:
  - name: things
    properties:
      - {name: thing, logicalType: string, classification: internal}
"""

_GOVERNANCE = """
# Discovery metadata is public (as in the example mesh): shaping must hold for anonymous callers too.
access:
  - {id: public-discovery, allow: {anyone: true}, actions: [discover]}
"""

#: The tokens' principals (the owner is for sanity checks only: it is not a matrix principal).
IDENTITIES = {
    "owner": Principal("vault-owner@leak.test"),
    "analyst": Principal("ann@leak.test", groups=frozenset({"analysts"}), attributes={"region": "EU"}),
    "other-owner": Principal("bob@other.test"),
    "operator": Principal("ops@leak.test", "ServiceAccount", roles=frozenset({"operator", "governance"})),
}


def _csv(rows: list[dict[str, str]]) -> str:
    header = list(rows[0])
    return "\n".join([",".join(header), *(",".join(r[h] for h in header) for r in rows)]) + "\n"


def _write(folder: Path, spec: str, sql: str | dict[str, str], files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
    for name, text in ({"transform.sql": sql} if isinstance(sql, str) else sql).items():
        (folder / name).write_text(text, encoding="utf-8")
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def _vault(root: Path) -> Path:
    ledger = [{"entry": f"cnrynogrant{n:04d}", "amount": str(n)} for n in range(1, 7)]
    totals = [{"label": f"cnryaggregate{n:04d}", "amount": str(10 * n)} for n in range(1, 9)]
    twins = [{"code": f"cnrysynthetic{n:04d}", "score": f"{n * 1.5:.1f}"} for n in range(1, 31)]
    folder = _write(
        root / "vault",
        _VAULT,
        _VAULT_SQL,
        {
            "data/cnrysource0001/people.csv": _csv(_people()),
            "data/cnrysource0002/ledger.csv": _csv(ledger),
            "data/cnrysource0003/totals.csv": _csv(totals),
            "data/cnrysource0004/twins.csv": _csv(twins),
        },
    )
    return folder


@dataclass
class LeakMesh:
    """The built workspace, its served node and a token per principal (``anonymous``: None)."""

    root: Path
    home: Path
    url: str = ""
    sql_port: int = 0
    tokens: dict[str, str | None] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def http(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(who), timeout=60)

    def dsn(self, who: str) -> str:
        password = self.tokens.get(who) or ""
        return f"host=127.0.0.1 port={self.sql_port} user=leak dbname=hexmesh sslmode=require password={password}"


def build_mesh(root: Path) -> LeakMesh:
    """Write, deploy and run the leak-hunt products; retire archive@1; forget one subject; make tokens."""
    home = root / "cnryhome0001"
    (home / "governance").mkdir(parents=True)
    (home / "governance" / "policies.yaml").write_text(_GOVERNANCE, encoding="utf-8")
    # The owner's Iceberg distribution names its table's location (the owner may read its own table
    # files): kept out of the canary home, whose paths no caller may see.
    (root / "warehouse").mkdir()
    (home / "settings.yaml").write_text(f"warehouse: {(root / 'warehouse').as_uri()}\n", encoding="utf-8")
    vault = _vault(root / "products")
    archive1 = _write(
        root / "products" / "archive-1",
        _ARCHIVE.format(version="1.0.0", column="weight"),
        "select code, cast(weight as integer) as weight from raw",
        {"data/raw.csv": _csv([{"code": f"cnryretired{n:04d}", "weight": str(n)} for n in range(1, 7)])},
    )
    archive2 = _write(
        root / "products" / "archive-2",
        _ARCHIVE.format(version="2.0.0", column="size"),
        "select code, cast(size as integer) as size from raw",
        {"data/raw.csv": _csv([{"code": f"fresh{n:04d}", "size": str(n)} for n in range(1, 7)])},
    )
    other = _write(
        root / "products" / "other",
        _OTHER,
        "select thing from raw",
        {"data/raw.csv": "thing\nwidget\ngadget\n"},
    )
    workspace = Workspace.open(home)
    try:
        workspace.deploy([vault, archive1, other])
        for key in ("leak/vault", "leak/archive", "leak/other"):
            workspace.run(key)
        workspace.deploy([archive2])
        workspace.run("leak/archive")
        workspace.retire("leak/archive@1", force=True)
        db = workspace.runtime.state.db
        KeyStore(db, master_key(workspace.settings)).forget("subject-forgotten")
        made: dict[str, str | None] = {"anonymous": None}
        for who, principal in IDENTITIES.items():
            made[who] = tokens.create_token(db, principal, name=f"leak hunt: {who}")[0]
    finally:
        workspace.close()
    return LeakMesh(root, home, tokens=made)


@contextmanager
def serve_mesh(mesh: LeakMesh, *extra: str) -> Iterator[LeakMesh]:
    """``hexmesh serve`` (auth on, HTTP and SQL, ``extra`` options) over the mesh until the block ends."""
    http_port, sql_port = free_port(), free_port()
    log_path = mesh.root / "serve.log"
    log = log_path.open("wb")
    cwd = mesh.root / "cnrycwd0001"  # the server's working directory is a canary too
    cwd.mkdir(exist_ok=True)
    process = children.start(
        [
            str(Path(sys.executable).parent / "hexmesh"),
            "serve",
            "--http-port",
            str(http_port),
            "--sql-port",
            str(sql_port),
            "--home",
            str(mesh.home),
            "--no-schedule",
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith("HEXMESH_")},
    )
    mesh.url, mesh.sql_port = f"http://127.0.0.1:{http_port}", sql_port
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text())
            try:
                if httpx.get(mesh.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        _wait_for_events(mesh)
        yield mesh
    finally:
        children.stop(process, timeout=15)
        log.close()


def _wait_for_events(mesh: LeakMesh) -> None:
    """Until the emitter has put the vault's people on the log (the owner sees them)."""
    with mesh.http("owner") as client:
        for _ in range(300):
            answer = client.get("/products/leak/vault/ports/people/events", params={"follow": "false"})
            if answer.status_code == 200 and answer.text.count("data: {") >= _N + 1:
                return
            time.sleep(0.1)
    raise RuntimeError("the node never emitted the vault's rows")
