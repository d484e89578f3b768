"""HTTP ingest on a running node: events are checked, stored durably, and read once by the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.governance import Principal
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens
from hexmesh.server.routes.ingest import MAX_BODY_BYTES
from tests.server.nodes import OWNER_TOKEN, TOKEN, RunningNode, serve

SPEC = """
domain: ops
name: events
version: 1.0.0
owner: ops@example.com
inputPorts:
  - name: raw
    source: {format: json, path: landing}
    window: incremental
    properties:
      - {name: id, logicalType: integer, required: true}
      - {name: kind, logicalType: string}
      - {name: at, logicalType: timestamp}
transformation: {sql: transform.sql}
outputPorts:
  - name: events
    properties:
      - {name: id, logicalType: integer, required: true}
      - {name: kind, logicalType: string}
"""
SQL = "select id, kind from raw"
URL = "/products/ops/events/ingest/raw"


def deployed(root: Path) -> Path:
    folder = root / "products" / "events"
    folder.mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(SPEC.lstrip())
    (folder / "transform.sql").write_text(SQL)
    with Workspace.open(root / "home") as workspace:
        workspace.deploy([folder])
    return root / "home"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return deployed(tmp_path)


@pytest.fixture
def node(home: Path) -> Iterator[RunningNode]:
    with serve(home) as running:
        yield running


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One node for the refusal tests: none of them may store anything."""
    with serve(deployed(tmp_path_factory.mktemp("refusing"))) as running:
        yield running


def landed(home: Path) -> list[Path]:
    folder = home.parent / "products" / "events" / "landing"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def ids(home: Path) -> list[int]:
    with Workspace.open(home) as workspace:
        return sorted(workspace.read("dp://ops/events/events").column("id").to_pylist())


def test_posted_events_are_accepted_stored_and_read_exactly_once(node: RunningNode, home: Path) -> None:
    with node.client() as http:
        first = http.post(URL, json=[{"id": 1, "kind": "a", "at": "2026-01-01T10:00:00Z"}, {"id": 2}])
        lines = "\n".join(json.dumps({"id": n, "kind": "b"}) for n in (3, 4)) + "\n"
        second = http.post(URL, content=lines, headers={"content-type": "application/x-ndjson"})
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 2 and first.json()["input"] == "raw"
    assert second.status_code == 202 and second.json()["accepted"] == 2
    stored = landed(home)
    assert [p.name for p in stored] == sorted([first.json()["file"], second.json()["file"]])
    with Workspace.open(home) as workspace:
        assert workspace.run("ops/events").rows == {"events": 4}
        assert workspace.run("ops/events").status == "skipped"  # each event is read once
    with node.client() as http:
        assert http.post(URL, json={"id": 5}).status_code == 202  # one object is a batch of one
    with Workspace.open(home) as workspace:
        assert workspace.run("ops/events").rows == {"events": 1}
    assert ids(home) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b'[{"id": 1}', {"content-type": "application/json"}, 400, "not valid JSON"),
        (b'{"id": 1}\nnot json\n', {"content-type": "application/x-ndjson"}, 400, "line 2 is not valid JSON"),
        (b"", {"content-type": "application/json"}, 400, "the body is empty"),
        (b"[]", {"content-type": "application/json"}, 400, "no events to ingest"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "event 0 is a int, not a JSON object"),
        (b'[{"kind": "a"}]', {"content-type": "application/json"}, 400, "event 0: 'id' is required and missing"),
        (b'[{"id": "one"}]', {"content-type": "application/json"}, 400, "'id' is 'one', not a integer"),
        (b'[{"id": 1, "at": "soon"}]', {"content-type": "application/json"}, 400, "not an ISO 8601 timestamp"),
        (b"id,kind\n1,a\n", {"content-type": "text/csv"}, 415, "content type 'text/csv' is not accepted"),
    ],
)
def test_bad_bodies_are_refused_with_a_problem_and_nothing_is_stored(
    refusing: RunningNode,
    body: bytes,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    with refusing.client() as http:
        answer = http.post(URL, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert says in answer.json()["detail"]
    assert landed(refusing.home) == []


def test_a_body_over_the_limit_is_413_and_unknown_inputs_are_refused(refusing: RunningNode) -> None:
    with refusing.client() as http:
        big = http.post(URL, content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
        unknown = http.post("/products/ops/events/ingest/nope", json=[{"id": 1}])
        missing = http.post("/products/ops/nothing/ingest/raw", json=[{"id": 1}])
    assert big.status_code == 413 and "split" in big.json()["detail"]
    assert unknown.status_code == 404 and "has no input port 'nope'" in unknown.json()["detail"]
    assert missing.status_code == 404
    assert landed(refusing.home) == []


def test_with_auth_on_ingest_needs_the_owners_or_a_governance_token(home: Path) -> None:
    with serve(home, "--auth") as running, running.client() as http:
        anonymous = http.post(URL, json=[{"id": 1}])
        # Nothing about products is told to a caller without a token: not that one is missing (404).
        nowhere = http.post(URL.replace("/ingest/", "-nope/ingest/", 1), json=[{"id": 1}])
        assert nowhere.status_code == 401, nowhere.text
        other = http.post(URL, json=[{"id": 1}], headers={"authorization": f"Bearer {OWNER_TOKEN}"})
        assert landed(home) == []
        allowed = http.post(URL, json=[{"id": 1}], headers={"authorization": f"Bearer {TOKEN}"})
    assert anonymous.status_code == 401 and other.status_code == 403
    assert allowed.status_code == 202
    with Workspace.open(home) as workspace:
        logged = audit.query(workspace.runtime.state.db, action="control.ingest")
    assert [e.decision for e in logged] == ["refused", "refused", "refused", "ok"]
    assert [e.actor for e in logged] == ["anonymous", "anonymous", "env-token-2", "env-token-1"]


def test_with_auth_on_the_owners_api_token_ingests(home: Path) -> None:
    with Workspace.open(home) as workspace:
        db = workspace.runtime.state.db
        owner = workspace.deployed()["ops/events"].spec.owner
        secret, _ = tokens.create_token(db, Principal(owner, "User"), name="the owner's pipeline")
        reader, _ = tokens.create_token(db, Principal("ann@example.com", "User"), name="not the owner")
    with serve(home, "--auth") as running, running.client() as http:
        refused = http.post(URL, json=[{"id": 1}], headers={"authorization": f"Bearer {reader}"})
        assert landed(home) == []
        accepted = http.post(URL, json=[{"id": 1}], headers={"authorization": f"Bearer {secret}"})
    assert refused.status_code == 403 and accepted.status_code == 202, (refused.text, accepted.text)
    assert len(landed(home)) == 1
