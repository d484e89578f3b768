"""Inputs across nodes (docs/adr/0033): a product on node B reads an output port node A serves.

Two real ``hexmesh serve`` processes on loopback, each with its own embedded workspace. A serves
with ``--auth``; B's products read A as their own principals there (tokens A issued, named in B's
``peer_credentials``), so A's grants, masks and row filters shape what B receives.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hexmesh.errors import HexmeshError
from hexmesh.governance import product_principal
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.remote import PeerUnavailableError
from tests.server.nodes import RunningNode, free_port, serve

PROFILES = """
domain: users
name: user-profiles
version: 1.0.0
owner: users-team@example.com
description: Listeners; analytics/activity reads the EU ones, e-mails masked.
inputPorts:
  - {name: raw, source: {format: csv, path: data}, window: incremental}
transformation: {sql: transform.sql}
outputPorts:
  - name: profiles
    eventTime: seen_at
    properties:
      - {name: user_id, logicalType: string, required: true, classification: internal}
      - {name: email, logicalType: string, classification: confidential}
      - {name: region, logicalType: string, classification: internal}
      - {name: seen_at, logicalType: timestamp, required: true, classification: internal}
policies:
  access:
    - {id: activity, allow: {product: analytics/activity}, ports: [profiles], rows: {region: EU}}
  privacy:
    - {field: email, mask: redact}
"""

CONSUMER = """
domain: analytics
name: {name}
version: 1.0.0
owner: analytics-team@example.com
description: Reads the users' profiles from the users' node.
inputPorts:
  - {{name: profiles, from: dp://users/user-profiles/profiles, window: {window}}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: seen
    properties:
      - {{name: user_id, logicalType: string, classification: internal}}
      - {{name: email, logicalType: string, classification: internal}}
      - {{name: region, logicalType: string, classification: internal}}
"""

SEEN = "select user_id, email, region from profiles\n"
SQL = "select user_id, email, region, cast(seen_at as timestamp) as seen_at from raw\n"


def _people(first: int, count: int) -> str:
    """People u<first>…; odd ones in the EU; seen 2 days ago when n % 4 is 1 or 2, else 30 days ago."""
    now = datetime.now(UTC)
    seen = {n: now - timedelta(days=2 if n % 4 in (1, 2) else 30) for n in range(first, first + count)}
    rows = [f"{'EU' if n % 2 else 'US'},u{n},person{n}@users.test,{at:%Y-%m-%d %H:%M:%S}\n" for n, at in seen.items()]
    return "region,user_id,email,seen_at\n" + "".join(rows)


def _product(folder: Path, spec: str, sql: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
    (folder / "transform.sql").write_text(sql, encoding="utf-8")
    return folder


@dataclass
class TwoNodes:
    a: RunningNode
    a_home: Path
    a_port: int
    b: Workspace
    b_home: Path
    profiles: Path
    root: Path

    def publish(self, first: int, count: int) -> None:
        """A's product publishes ``count`` more people (every other one in the EU)."""
        (self.profiles / "data" / f"people-{first}.csv").write_text(_people(first, count), encoding="utf-8")
        workspace = Workspace.open(self.a_home)
        try:
            assert workspace.run("users/user-profiles@1").status == "succeeded"
        finally:
            workspace.close()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[TwoNodes]:
    """Node A serving users/user-profiles (with --auth); B's workspace, peered with A, holding no product yet."""
    profiles = _product(tmp_path / "profiles", PROFILES, SQL)
    (profiles / "data").mkdir()
    (profiles / "data" / "people-1.csv").write_text(_people(1, 6), encoding="utf-8")
    a_home = tmp_path / "a"
    workspace = Workspace.open(a_home)
    try:
        workspace.deploy([profiles])
        workspace.run("users/user-profiles")
        # A's operator issues B's products their identities on A.
        for name in ("activity", "sneaky"):
            secret, _ = workspace.stewardship.create_token(
                product_principal(f"analytics/{name}", "analytics-team@example.com"), name=f"node B: {name}"
            )
            (tmp_path / f"{name}.token").write_text(secret + "\n", encoding="utf-8")
    finally:
        workspace.close()
    port = free_port()
    with serve(a_home, "--auth", port=port) as a:
        b_home = tmp_path / "b"
        b_home.mkdir()
        credentials = {f"analytics/{n}@{a.url}": str(tmp_path / f"{n}.token") for n in ("activity", "sneaky")}
        (b_home / "settings.yaml").write_text(
            f"peers: [{a.url}]\npeer_credentials: {credentials!r}\n".replace("'", '"'), encoding="utf-8"
        )
        b = Workspace(Settings.load(b_home))
        try:
            yield TwoNodes(a, a_home, port, b, b_home, profiles, tmp_path)
        finally:
            b.close()


def _seen(workspace: Workspace, key: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = workspace.read(f"{key}/seen").sort_by("user_id").to_pylist()
    return rows


def test_a_product_on_b_reads_a_port_of_a_as_a_shapes_it_for_its_principal(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])

    first = nodes.b.run("analytics/activity")

    assert first.status == "succeeded"
    # A's row filter (EU only) and mask (e-mails redacted) apply to B's product as to any consumer.
    assert _seen(nodes.b, "analytics/activity") == [
        {"user_id": f"u{n}", "email": None, "region": "EU"} for n in sorted((1, 3, 5), key=lambda n: f"u{n}")
    ]
    # Incremental across nodes: the next run reads only what A published since the pinned snapshot.
    nodes.publish(7, 4)
    second = nodes.b.run("analytics/activity")
    assert second.status == "succeeded"
    assert second.rows == {"seen": 2}  # u7, u9
    assert sorted(str(r["user_id"]) for r in _seen(nodes.b, "analytics/activity")) == ["u1", "u3", "u5", "u7", "u9"]
    assert nodes.b.run("analytics/activity").status == "skipped"  # nothing new on A: nothing to do


def test_a_product_without_a_grant_on_a_is_refused_at_plan_naming_the_access_request(nodes: TwoNodes) -> None:
    sneaky = _product(nodes.root / "sneaky", CONSUMER.format(name="sneaky", window="incremental"), SEEN)

    plans = nodes.b.plan([sneaky])

    problems = " ".join(plans[0].problems)
    assert f"from the node {nodes.a.url} as DataProduct:analytics/sneaky" in problems
    assert "which may not read it" in problems
    assert "hexmesh access request dp://users/user-profiles/profiles --purpose <purpose> --for analytics/sneaky" in (
        problems
    )
    with pytest.raises(HexmeshError, match="Ask for access on that node"):
        nodes.b.deploy([sneaky])


def test_a_down_fails_the_run_naming_it_b_keeps_serving_and_the_next_run_recovers(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])
    assert nodes.b.run("analytics/activity").status == "succeeded"
    with serve(nodes.b_home) as b:
        nodes.a.process.terminate()
        nodes.a.process.wait(timeout=15)

        with pytest.raises(PeerUnavailableError) as failed:
            nodes.b.run("analytics/activity")

        assert f"from the node {nodes.a.url}, which does not answer" in str(failed.value)
        assert "retried on its next trigger" in str(failed.value)
        served = httpx.get(f"{b.url}/products/analytics/activity/ports/seen/data", params={"format": "jsonl"})
        assert served.status_code == 200
        assert served.text.count("\n") == 3  # B's own port serves its last good snapshot
        with serve(nodes.a_home, "--auth", port=nodes.a_port):
            nodes.publish(7, 2)
            recovered = nodes.b.run("analytics/activity")
    assert recovered.status == "succeeded"
    assert recovered.rows == {"seen": 1}  # u7: from where the last good run stopped


def test_bs_scheduler_runs_the_product_when_a_publishes(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])
    scheduler = nodes.b.scheduler()

    first = scheduler.tick()  # never read: A's latest snapshot is news
    assert [(a.product, a.status) for a in first] == [("analytics/activity", "succeeded")]
    assert scheduler.tick() == []  # polled again: nothing new on A

    nodes.publish(7, 2)
    after = scheduler.tick()

    assert [(a.product, a.status) for a in after] == [("analytics/activity", "succeeded")]
    assert after[0].reason == f"new snapshot of dp://users/user-profiles/profiles on {nodes.a.url}"


def test_a_last_7d_window_across_nodes_reads_the_last_7_days_of_event_time(nodes: TwoNodes) -> None:
    recent = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="last 7d"), SEEN)
    nodes.b.deploy([recent])

    assert nodes.b.run("analytics/activity").status == "succeeded"

    # EU (A's row filter) and seen in the last 7 days: u1 and u5 (u3 was seen 30 days ago).
    assert [r["user_id"] for r in _seen(nodes.b, "analytics/activity")] == ["u1", "u5"]


def test_an_input_no_peer_serves_names_the_peers_asked(nodes: TwoNodes) -> None:
    lost = CONSUMER.format(name="activity", window="incremental").replace("users/user-profiles", "users/nowhere")
    folder = _product(nodes.root / "lost", lost, SEEN)

    with pytest.raises(HexmeshError, match="users/nowhere is neither deployed nor in this batch, and no peer"):
        nodes.b.plan([folder])


def test_bs_lineage_and_knowledge_graph_show_the_edge_across_nodes(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])
    # B's registry federates A's products with a token of its own there (here: the product's).
    token = (nodes.root / "activity.token").read_text(encoding="utf-8").strip()
    with (nodes.b_home / "settings.yaml").open("a", encoding="utf-8") as settings:
        settings.write(f"peer_token: {token}\n")

    with serve(nodes.b_home) as b:
        lineage = httpx.get(f"{b.url}/api/lineage/analytics/activity", timeout=30).json()
        turtle = httpx.get(f"{b.url}/api/graph.ttl", timeout=30).text

    assert lineage["upstream"] == ["users/user-profiles"]
    assert lineage["nodes"] == {"analytics/activity": b.url, "users/user-profiles": nodes.a.url}
    assert lineage["across"] == [["users/user-profiles", "analytics/activity"]]
    assert f"hm:servedBy <{nodes.a.url}>" in turtle


def test_a_new_major_on_a_does_not_reach_b_which_keeps_reading_the_major_it_read(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])
    assert nodes.b.run("analytics/activity").status == "succeeded"
    # A publishes a breaking major 2 (everyone in the EU now) and more of major 1.
    second = _product(nodes.root / "profiles-2", PROFILES.replace("version: 1.0.0", "version: 2.0.0"), "")
    (second / "transform.sql").write_text(
        "select user_id, email, 'EU' as region, cast(seen_at as timestamp) as seen_at from raw\n", encoding="utf-8"
    )
    (second / "data").mkdir()
    (second / "data" / "people.csv").write_text(_people(100, 4), encoding="utf-8")
    a = Workspace.open(nodes.a_home)
    try:
        a.deploy([second])
        assert a.run("users/user-profiles@2").status == "succeeded"
    finally:
        a.close()
    nodes.publish(7, 2)

    result = nodes.b.run("analytics/activity")

    assert result.rows == {"seen": 1}  # u7 of major 1; nothing of major 2
    assert [r["user_id"] for r in _seen(nodes.b, "analytics/activity")] == ["u1", "u3", "u5", "u7"]
    positions = nodes.b.runtime.state.runs("analytics/activity", limit=1)[0].details["inputs"]["profiles"]
    assert (positions["peer"], positions["major"]) == (nodes.a.url, 1)
    # A full refresh reads everything again, of the same major.
    assert nodes.b.run("analytics/activity", full_refresh=True).rows == {"seen": 4}
    assert [r["user_id"] for r in _seen(nodes.b, "analytics/activity")] == ["u1", "u3", "u5", "u7"]


def test_a_product_without_a_token_for_a_is_told_how_to_get_one(nodes: TwoNodes) -> None:
    stranger = _product(nodes.root / "stranger", CONSUMER.format(name="stranger", window="incremental"), SEEN)

    problems = " ".join(nodes.b.plan([stranger])[0].problems)

    assert f"from the node {nodes.a.url}, which refused a read without a token" in problems
    assert "hexmesh token create analytics/stranger --kind DataProduct --group analytics-team@example.com" in problems
    assert "peer_credentials" in problems


def test_a_major_a_retired_fails_bs_run_saying_so(nodes: TwoNodes) -> None:
    activity = _product(nodes.root / "activity", CONSUMER.format(name="activity", window="incremental"), SEEN)
    nodes.b.deploy([activity])
    assert nodes.b.run("analytics/activity").status == "succeeded"
    second = _product(nodes.root / "profiles-2", PROFILES.replace("version: 1.0.0", "version: 2.0.0"), SQL)
    (second / "data").mkdir()
    (second / "data" / "people.csv").write_text(_people(100, 2), encoding="utf-8")
    a = Workspace.open(nodes.a_home)
    try:
        a.deploy([second])
        a.run("users/user-profiles@2")
        a.retire("users/user-profiles", major=1, force=True)
    finally:
        a.close()

    with pytest.raises(HexmeshError) as failed:
        nodes.b.run("analytics/activity")

    message = str(failed.value)
    gone = f"reads dp://users/user-profiles/profiles major 1 from the node {nodes.a.url}, which no longer serves it"
    assert gone in message
    assert "dp://users/user-profiles@<major>/profiles" in message
