"""Encryption at rest end to end: sealed in the Parquet files, plaintext on every port, shredded by ``hexmesh forget``.

One workspace with ``people/profiles`` (``email`` restricted, ``user_id`` the subject) published
in two snapshots, a downstream product whose SQL uses the email, and a real node (HTTP files,
events and client, SQL port over the PostgreSQL protocol) in a subprocess.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

import hexmesh
from hexmesh.errors import HexmeshError, ReadError
from hexmesh.infra.keys import MASTER_KEY_FILE, generate_master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.server.nodes import HEXMESH, RunningNode, free_port, serve

SPEC = """
domain: people
name: profiles
version: 1.0.0
owner: people@example.com
description: Registered people, with a restricted e-mail address.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: transform.sql
outputPorts:
  - name: profiles
    mode: append
    eventTime: joined_at
    primaryKey: [user_id]
    slo: {freshness: 1d}
    properties:
      - {name: user_id, logicalType: string, required: true, classification: internal, tags: [subject]}
      - {name: joined_at, logicalType: timestamp, required: true, classification: internal}
      - {name: email, logicalType: string, required: true, classification: restricted}
      - {name: country, logicalType: string, classification: internal}
policies:
  privacy:
    - {field: email, for: {group: analytics}, mask: hash}
"""
SQL = "select user_id, cast(joined_at as timestamp) as joined_at, email, country from raw\n"

DOWNSTREAM = """
domain: people
name: mail-domains
version: 1.0.0
owner: people@example.com
description: The mail domain of every profile (the transformation reads the restricted email).
inputPorts:
  - name: profiles
    from: dp://people/profiles/profiles
    window: all
transformation:
  sql: transform.sql
outputPorts:
  - name: domains
    mode: replace
    primaryKey: [user_id]
    slo: {freshness: 1d}
    properties:
      - {name: user_id, logicalType: string, required: true, classification: internal}
      - {name: mail_domain, logicalType: string, classification: internal, classificationReason: the domain part only}
"""
DOWNSTREAM_SQL = "select user_id, split_part(email, '@', 2) as mail_domain from profiles\n"

EMAILS = {f"u{n}": f"person{n}.secret@mail{n}.example" for n in range(1, 7)}
FORGET = "u2"
PROFILES = "/products/people/profiles/ports/profiles"


def _csv(ids: list[int], day: str) -> str:
    lines = ["user_id,joined_at,email,country"]
    lines += [f"u{n},{day} 10:0{n}:00,{EMAILS[f'u{n}']},C{n}" for n in ids]
    return "\n".join(lines) + "\n"


def _write(folder: Path, spec: str, sql: str, data: dict[str, str] | None = None) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
    (folder / "transform.sql").write_text(sql, encoding="utf-8")
    for name, text in (data or {}).items():
        (folder / "data" / name).write_text(text, encoding="utf-8")
    return folder


@dataclass
class Mesh:
    home: Path
    profiles: Path
    node: RunningNode
    client: hexmesh.client.Node
    snapshots: list[int]
    first_published: str  # ISO time just after the first snapshot was published

    def workspace(self) -> Workspace:
        return Workspace(Settings.load(self.home))

    def forget(self, subject: str) -> str:
        done = subprocess.run(
            [HEXMESH, "forget", subject, "--home", str(self.home)], capture_output=True, text=True, check=True
        )
        return done.stdout


def _emails(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {row["user_id"]: row["email"] for row in rows}


def _data_files(workspace: Workspace) -> list[Path]:
    reader = workspace.reader("dp://people/profiles/profiles")
    files = workspace.runtime.tables.data_files(reader.record.table_id, reader.publications()[-1].snapshot_id)
    return [Path(f.file_path.removeprefix("file://")) for f in files]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp("sealed")
    home = root / "home"
    profiles = _write(root / "profiles", SPEC, SQL, {"day1.csv": _csv([1, 2, 3], "2026-01-01")})
    downstream = _write(root / "mail-domains", DOWNSTREAM, DOWNSTREAM_SQL)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)  # the workspace's own key file, made on first use
        workspace = Workspace(Settings.load(home))
        try:
            workspace.deploy([profiles, downstream])
            workspace.run("people/profiles")
            time.sleep(0.01)
            first_published = workspace.reader("dp://people/profiles/profiles").publications()[-1]
            (profiles / "data" / "day2.csv").write_text(_csv([4, 5], "2026-01-02"), encoding="utf-8")
            workspace.run("people/profiles")
            workspace.run("people/mail-domains")
            snapshots = [p.snapshot_id for p in workspace.reader("dp://people/profiles/profiles").publications()]
        finally:
            workspace.close()
        from hexmesh.infra.state import from_us

        after_first = from_us(first_published.published_us).isoformat()
        sql_port = free_port()
        with serve(home, "--sql-port", str(sql_port)) as node:
            client = hexmesh.connect(node.url)
            yield Mesh(home, profiles, node, client, snapshots, after_first)
            client.close()


def _events(mesh: Mesh, count: int) -> list[dict[str, Any]]:
    """Every row event of the port, waiting (with a generous deadline) for the node's emitter."""
    deadline = time.monotonic() + 120
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        port = mesh.client.port("dp://people/profiles/profiles")
        found = [e for e in port.subscribe(start="beginning", follow=False) if e["type"].endswith("row.published")]
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(f"only {len(found)} of {count} row events were emitted")


def _http_rows(mesh: Mesh, path: str, **params: Any) -> list[dict[str, Any]]:
    import json

    with httpx.Client(base_url=mesh.node.url, timeout=60, follow_redirects=True) as http:
        response = http.get(path, params={"format": "jsonl", **params})
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines() if line]


def _every_surface(mesh: Mesh, *, past: bool) -> dict[str, dict[str, Any]]:
    """user_id → email on every port; ``past``: as of the first snapshot instead of the latest."""
    seen: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)
        workspace = mesh.workspace()
        try:
            request = ReadRequest(as_of=_dt(mesh.first_published)) if past else ReadRequest()
            seen["python"] = _emails(workspace.read("dp://people/profiles/profiles", request).to_pylist())
        finally:
            workspace.close()
    port = mesh.client.port("dp://people/profiles/profiles")
    as_of = mesh.first_published if past else None
    seen["client"] = _emails(port.read(as_of=as_of).to_pylist())
    snapshot = mesh.snapshots[0] if past else mesh.snapshots[-1]
    seen["files"] = _emails(_http_rows(mesh, f"{PROFILES}/snapshots/{snapshot}/data"))
    with httpx.Client(base_url=mesh.node.url, timeout=60, follow_redirects=True) as http:
        response = http.get(f"{PROFILES}/snapshots/{snapshot}/data", params={"format": "parquet"})
        assert response.status_code == 200, response.text
        seen["parquet"] = _emails(pq.read_table(_buffer(response.content)).to_pylist())
    clause = f" for system_time as of '{mesh.first_published}'" if past else ""
    seen["sql"] = _emails(mesh.client.sql(f"select user_id, email from people.profiles__profiles{clause}").to_pylist())
    events = _events(mesh, 5)
    cut = 3 if past else 5  # the first snapshot's rows are the first three events
    seen["events"] = _emails([e["data"] for e in events[:cut]])
    return seen


def _dt(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def _buffer(content: bytes) -> Any:
    import pyarrow as pa

    return pa.BufferReader(content)


def test_restricted_values_are_sealed_in_the_parquet_files(mesh: Mesh) -> None:
    key_file = mesh.home / MASTER_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # made once, readable only by its owner
    workspace = mesh.workspace()
    try:
        files = _data_files(workspace)
    finally:
        workspace.close()
    assert files
    for path in files:
        raw = path.read_bytes()
        for email in EMAILS.values():
            assert email.encode() not in raw and b"secret@" not in raw
        stored = pq.read_table(path).column("email").to_pylist()
        assert all(value.startswith("hxm1:") for value in stored)
        assert pq.read_table(path).schema.field("email").type in ("string", "large_string")  # the declared type


def test_every_port_serves_plaintext_and_the_transformation_sees_it(mesh: Mesh) -> None:
    latest = {f"u{n}": EMAILS[f"u{n}"] for n in range(1, 6)}
    past = {f"u{n}": EMAILS[f"u{n}"] for n in range(1, 4)}
    for surface, emails in _every_surface(mesh, past=False).items():
        assert emails == latest, surface
    for surface, emails in _every_surface(mesh, past=True).items():
        assert emails == past, surface
    domains = mesh.client.port("dp://people/mail-domains/domains").read().to_pylist()
    assert {r["user_id"]: r["mail_domain"] for r in domains}["u2"] == "mail2.example"


def test_forget_shreds_the_subject_everywhere_and_in_past_snapshots(mesh: Mesh) -> None:
    workspace = mesh.workspace()
    try:
        before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _data_files(workspace)}
    finally:
        workspace.close()
    assert "key destroyed" in mesh.forget(FORGET)
    for past in (False, True):
        expected = {f"u{n}": EMAILS[f"u{n}"] for n in range(1, 4 if past else 6)} | {FORGET: None}
        for surface, emails in _every_surface(mesh, past=past).items():
            assert emails == expected, (surface, past)
    # History is immutable: the files are byte-for-byte what they were.
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before} == before


def test_a_run_with_a_forgotten_subject_is_refused_and_publishes_nothing(mesh: Mesh) -> None:
    (mesh.profiles / "data" / "day3.csv").write_text(_csv([2, 6], "2026-01-03"), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)
        workspace = mesh.workspace()
        try:
            count = len(workspace.reader("dp://people/profiles/profiles").publications())
            with pytest.raises(HexmeshError) as refused:
                workspace.run("people/profiles")
            message = str(refused.value)
            assert "forgotten" in message and "Nothing was published" in message and "transformation" in message
            assert EMAILS[FORGET] not in message
            assert len(workspace.reader("dp://people/profiles/profiles").publications()) == count
            # Dropping the forgotten subject's rows in the transformation makes the run go through.
            (mesh.profiles / "transform.sql").write_text(SQL.strip() + f" where user_id <> '{FORGET}'\n")
            spec = mesh.profiles / "dataproduct.yaml"
            spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"))
            workspace.deploy([mesh.profiles])
            workspace.run("people/profiles")
            rows = _emails(workspace.read("dp://people/profiles/profiles").to_pylist())
        finally:
            workspace.close()
    assert rows["u6"] == EMAILS["u6"] and rows[FORGET] is None


def test_a_backfill_carries_a_forgotten_subjects_sealed_rows_unreadable(mesh: Mesh) -> None:
    from datetime import date

    from hexmesh.product.backfill import EventWindow
    from hexmesh.product.runner import run_product

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)
        workspace = mesh.workspace()
        try:
            reader = workspace.reader("dp://people/profiles/profiles")
            # The forgotten subject's day lies outside the window: its stored row is kept as it is.
            window = EventWindow(date(2026, 1, 2), date(2026, 1, 4))
            result = run_product(workspace.runtime, "people/profiles", backfill=window)
            assert result.status == "succeeded"
            rows = _emails(workspace.read("dp://people/profiles/profiles").to_pylist())
            files = _data_files(workspace)
        finally:
            workspace.close()
    assert rows == {u: EMAILS[u] for u in EMAILS if u != FORGET} | {FORGET: None}
    assert reader.record.table_id  # the same table: history stays, nothing rewritten
    for path in files:
        assert not any(email.encode() in path.read_bytes() for email in EMAILS.values())


def test_a_wrong_master_key_is_refused_clearly(mesh: Mesh) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEXMESH_MASTER_KEY", generate_master_key())
        workspace = mesh.workspace()
        try:
            with pytest.raises(HexmeshError, match="master key is not the one") as wrong:
                workspace.read("dp://people/profiles/profiles")
        finally:
            workspace.close()
    assert "HEXMESH_MASTER_KEY" in str(wrong.value)
    # Nothing was lost: the right key still opens every value.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)
        workspace = mesh.workspace()
        try:
            assert _emails(workspace.read("dp://people/profiles/profiles").to_pylist())["u1"] == EMAILS["u1"]
        finally:
            workspace.close()


def test_a_filter_on_a_restricted_field_says_why_it_cannot_apply(mesh: Mesh) -> None:
    workspace = mesh.workspace()
    try:
        with pytest.raises(ReadError, match="restricted field"):
            workspace.read("dp://people/profiles/profiles", ReadRequest(filter=f"email = '{EMAILS['u1']}'"))
        # A projection of the restricted field alone still opens it (its subject is read along).
        only = workspace.read("dp://people/profiles/profiles", ReadRequest(columns=("email",)))
    finally:
        workspace.close()
    assert only.column_names == ["email"] and EMAILS["u1"] in only.column("email").to_pylist()
