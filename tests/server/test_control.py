"""The control port: tokens, pause/resume, runs, policies, lifecycle and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.server.nodes import OWNER_TOKEN, TOKEN, RunningNode, add_orders, build_workspace, serve

CONTROL = "/products/sales/shop/control"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_workspace(tmp_path_factory.mktemp("control"), big=False)


@pytest.fixture(scope="module")
def control_node(mesh: tuple[Path, Path]) -> Iterator[RunningNode]:
    with serve(mesh[0]) as running:
        yield running


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Bearer {OWNER_TOKEN}"}, 403),
    ],
)
def test_privileged_actions_need_the_right_token(
    control_node: RunningNode, headers: dict[str, str], status: int
) -> None:
    with control_node.client() as http:
        response = http.post(f"{CONTROL}/pause", headers=headers)
        audit = http.get(f"{CONTROL}/audit", headers=AUTH).json()
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert audit[-2]["action"] == "control.pause" and audit[-2]["decision"] == "refused"
    assert audit[-1]["action"] == "control.read-audit"  # the read itself, last


def test_pause_refuses_runs_until_resumed(control_node: RunningNode, mesh: tuple[Path, Path]) -> None:
    with control_node.client() as http:
        assert http.post(f"{CONTROL}/pause", headers=AUTH).json()["paused"] is True
        refused = http.post(f"{CONTROL}/runs", headers=AUTH)
        assert http.post(f"{CONTROL}/resume", headers=AUTH).json()["paused"] is False
        add_orders(mesh[1], "2026-01-03", 2, 500)
        run = http.post(f"{CONTROL}/runs", headers=AUTH)
        audit = http.get(f"{CONTROL}/audit", headers=AUTH).json()
    assert refused.status_code == 409 and "paused" in refused.json()["detail"]
    assert run.status_code == 200 and run.json()["status"] == "succeeded"
    assert run.json()["rows"] == {"orders": 2}
    actions = [(e["action"], e["decision"]) for e in audit]
    assert ("control.run", "refused") in actions and ("control.run", "ok") in actions


def test_a_full_refresh_over_the_control_port_recomputes_from_all_input_and_keeps_history(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    every_row = sum(len(f.read_text().splitlines()) - 1 for f in (mesh[1] / "data").glob("*.csv"))
    snapshots = "/products/sales/shop/ports/orders/snapshots"
    with control_node.client() as http:
        before = http.get(snapshots).json()
        plain = http.post(f"{CONTROL}/runs", headers=AUTH).json()  # nothing new: skipped
        refreshed = http.post(f"{CONTROL}/runs", params={"full_refresh": True}, headers=AUTH)
        after = http.get(snapshots).json()
        audit = http.get(f"{CONTROL}/audit", headers=AUTH).json()
    assert plain["status"] == "skipped"
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "succeeded"
    assert refreshed.json()["rows"] == {"orders": every_row}
    assert len(after) == len(before) + 1  # a new snapshot; the earlier ones stay readable
    assert [s["snapshot_id"] for s in after[: len(before)]] == [s["snapshot_id"] for s in before]
    assert ("control.full-refresh", "ok") in [(e["action"], e["decision"]) for e in audit]


def test_a_backfill_over_the_control_port_recomputes_its_window_as_the_owner_or_an_operator_asks(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    from hexmesh.governance import Principal
    from hexmesh.lifecycle import Workspace
    from hexmesh.product.policy import tokens

    with Workspace.open(mesh[0]) as workspace:
        db = workspace.runtime.state.db
        owner, _ = tokens.create_token(db, Principal("shop-team@example.com", "User"), name="backfilling owner")
        stranger, _ = tokens.create_token(db, Principal("eve@example.com", "User"), name="backfilling stranger")
    as_owner = {"Authorization": f"Bearer {owner}"}
    window = {"since": "2026-01-01", "until": "2026-01-02"}
    data = "/products/sales/shop/ports/orders/data"
    with control_node.client() as http:
        before = http.get(data, params={"format": "jsonl"}).text.splitlines()
        anonymous = http.post(f"{CONTROL}/backfill", json=window)
        refused = http.post(f"{CONTROL}/backfill", json=window, headers={"Authorization": f"Bearer {stranger}"})
        reversed_ = http.post(f"{CONTROL}/backfill", json={"since": "2026-01-02", "until": "2026-01-01"}, headers=AUTH)
        garbled = http.post(f"{CONTROL}/backfill", json={"since": "yesterday", "until": "2026-01-01"}, headers=AUTH)
        done = http.post(f"{CONTROL}/backfill", json=window, headers=as_owner)
        by_operator = http.post(f"{CONTROL}/backfill", json=window, headers=AUTH)
        after = http.get(data, params={"format": "jsonl"}).text.splitlines()
        offered = http.get(CONTROL, headers=AUTH).json()["hexmesh:offers"]
        log = http.get(f"{CONTROL}/audit", headers=AUTH, params={"limit": 50}).json()
    assert anonymous.status_code == 401 and refused.status_code == 403
    assert reversed_.status_code == 400 and "must be before until" in reversed_.json()["detail"]
    assert garbled.status_code == 400 and "since" in garbled.text
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    every_row = sum(len(f.read_text().splitlines()) - 1 for f in (mesh[1] / "data").glob("*.csv"))
    assert done.json()["rows"] == {"orders": every_row}  # recomputed from all input; only the window is kept
    assert by_operator.status_code == 200
    assert sorted(after) == sorted(before)  # the window's rows replaced by the same rows recomputed, none added
    assert any(o["hexmesh:target"]["@id"].endswith("/control/backfill") for o in offered)
    backfills = [(e["actor"], e["decision"], e["details"]["detail"]) for e in log if e["action"] == "control.backfill"]
    assert [(actor, decision) for actor, decision, _ in backfills] == [
        ("anonymous", "refused"),
        ("User:eve@example.com", "refused"),
        ("env-token-1", "failed"),  # the reversed window, with the error (the garbled one never reached the port)
        ("User:shop-team@example.com", "ok"),
        ("env-token-1", "ok"),
    ]
    assert "must be before until" in backfills[2][2]["error"]
    owner_did = backfills[3][2]
    assert owner_did["since"].startswith("2026-01-01") and owner_did["until"].startswith("2026-01-02")
    assert owner_did["run_id"] == done.json()["run_id"]


def test_a_backfill_is_refused_while_the_product_is_paused_or_running(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    from hexmesh.lifecycle import Workspace

    window = {"since": "2026-01-01", "until": "2026-01-02"}
    with control_node.client() as http:
        http.post(f"{CONTROL}/pause", headers=AUTH)
        paused = http.post(f"{CONTROL}/backfill", json=window, headers=AUTH)
        http.post(f"{CONTROL}/resume", headers=AUTH)
        with Workspace.open(mesh[0]) as workspace:  # a run of sales/shop holds the product
            state = workspace.runtime.state
            assert state.acquire_lock("run:sales/shop@0", "a-run-elsewhere", 60_000_000) is None  # version 0.1.0
            try:
                running = http.post(f"{CONTROL}/backfill", json=window, headers=AUTH)
            finally:
                state.release_lock("run:sales/shop@0", "a-run-elsewhere")
        log = http.get(f"{CONTROL}/audit", headers=AUTH, params={"limit": 20}).json()
    assert paused.status_code == 409 and "paused" in paused.json()["detail"]
    assert running.status_code == 409 and "already running" in running.json()["detail"]
    decided = [(e["action"], e["decision"]) for e in log]
    assert ("control.backfill", "refused") in decided and ("control.backfill", "failed") in decided


def test_policies_are_replaced_by_owners_not_by_operator_tokens(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    from hexmesh.governance import Principal
    from hexmesh.lifecycle import Workspace
    from hexmesh.product.policy import tokens

    with Workspace.open(mesh[0]) as workspace:
        owner, _ = tokens.create_token(workspace.runtime.state.db, Principal("shop-team@example.com"))
    privacy = [{"field": "customer_id", "pseudonymize": {"scope": "domain"}}]  # the personal field keeps its rule
    policies = {"access": [{"allow": {"group": "finance"}, "ports": ["orders"]}], "privacy": privacy}
    with control_node.client() as http:
        operator = http.put(f"{CONTROL}/policies", headers=AUTH, json=policies)
        replaced = http.put(f"{CONTROL}/policies", headers={"Authorization": f"Bearer {owner}"}, json=policies)
        read = http.get(f"{CONTROL}/policies", headers=AUTH).json()
    assert operator.status_code == 403  # who may read the data is the owners' call, not the platform's
    assert replaced.status_code == 200 and (read["source"], read["revision"]) == ("control", 1)
    assert read["access"] == policies["access"] and read["privacy"] == privacy


def test_lifecycle_moves_only_along_allowed_transitions(control_node: RunningNode) -> None:
    with control_node.client() as http:
        active = http.post(f"{CONTROL}/lifecycle", headers=AUTH, json={"to": "active"})
        jump = http.post(f"{CONTROL}/lifecycle", headers=AUTH, json={"to": "proposed"})
        unknown = http.post(f"{CONTROL}/lifecycle", headers=AUTH, json={"to": "gone"})
        described = http.get("/products/sales/shop").json()
    assert active.json()["lifecycle"] == "active"
    assert jump.status_code == 409 and "Allowed: deprecated" in jump.json()["detail"]
    assert unknown.status_code == 400
    assert described["hexmesh:lifecycle"] == "active"


def test_control_actions_join_access_decisions_in_the_hash_chained_log(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    from hexmesh.infra.state import audit
    from hexmesh.lifecycle import Workspace

    with control_node.client() as http:
        before = http.get(f"{CONTROL}/audit", headers=AUTH, params={"limit": 100_000}).json()
        http.post(f"{CONTROL}/resume", headers=AUTH)
        after = http.get(f"{CONTROL}/audit", headers=AUTH, params={"limit": 100_000}).json()
        table = pq.read_table(
            pa.BufferReader(http.get(f"{CONTROL}/audit", headers=AUTH, params={"format": "parquet"}).content)
        )
        csv = http.get(f"{CONTROL}/audit", headers=AUTH, params={"format": "csv", "limit": 1})
    assert after[: len(before)] == before  # nothing before is rewritten
    resumed, read = after[len(before) :][:2]
    assert (resumed["action"], resumed["actor"], resumed["resource"]) == (
        "control.resume",
        "env-token-1",
        "dp://sales/shop",
    )
    assert read["action"] == "control.read-audit"  # reading the log is audited too
    assert {"seq", "at", "actor", "action", "resource", "purpose", "decision", "policy_ids"} <= set(table.column_names)
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.strip().splitlines()) == 2
    with Workspace.open(mesh[0]) as workspace:
        db = workspace.runtime.state.db
        assert audit.verify(db) is None
        logged = [e.seq for e in audit.query(db, under="dp://sales/shop")]
        assert logged[: len(after)] == [e["seq"] for e in after]  # the port reads the one log hexmesh audit reads


def test_an_api_token_acts_where_a_policy_lets_its_principal_control(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    from hexmesh.governance import Principal
    from hexmesh.lifecycle import Workspace
    from hexmesh.product.policy import tokens

    with Workspace.open(mesh[0]) as workspace:
        db = workspace.runtime.state.db
        owner, _ = tokens.create_token(db, Principal("shop-team@example.com", "User"), name="the owner")
        stranger, _ = tokens.create_token(db, Principal("eve@example.com", "User"), name="not the owner")
        revoked, info = tokens.create_token(db, Principal("shop-team@example.com", "User"), name="revoked")
        tokens.revoke_token(db, info.id)
    with control_node.client() as http:
        paused = http.post(f"{CONTROL}/pause", headers={"Authorization": f"Bearer {owner}"})
        refused = http.post(f"{CONTROL}/pause", headers={"Authorization": f"Bearer {stranger}"})
        gone = http.post(f"{CONTROL}/pause", headers={"Authorization": f"Bearer {revoked}"})
        http.post(f"{CONTROL}/resume", headers={"Authorization": f"Bearer {owner}"})
        log = http.get(f"{CONTROL}/audit", headers={"Authorization": f"Bearer {owner}"}).json()
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert refused.status_code == 403 and "only its owner (shop-team@example.com)" in refused.json()["detail"]
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    who = [(e["actor"], e["action"], e["decision"]) for e in log]
    assert ("User:shop-team@example.com", "control.pause", "ok") in who
    assert ("User:eve@example.com", "control.pause", "refused") in who


def test_deprecation_and_retirement_go_through_the_lifecycle_plane(
    control_node: RunningNode, mesh: tuple[Path, Path]
) -> None:
    """Runs last in this module: it retires the product."""
    from hexmesh.lifecycle import Workspace

    with control_node.client() as http:
        http.post(f"{CONTROL}/lifecycle", headers=AUTH, json={"to": "active"})
        deprecated = http.post(
            f"{CONTROL}/lifecycle",
            headers=AUTH,
            json={"to": "deprecated", "sunset": "2027-03-01", "successor": "dp://sales/shop-v2"},
        )
        described = http.get("/products/sales/shop")
    assert deprecated.json()["lifecycle"] == "deprecated"
    assert described.headers["Sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
    with Workspace.open(mesh[0]) as workspace:
        state = workspace.lifecycle_state("sales/shop")
    assert (state.status, str(state.sunset), state.successor) == ("deprecated", "2027-03-01", "dp://sales/shop-v2")
    with control_node.client() as http:
        retired = http.post(f"{CONTROL}/lifecycle", headers=AUTH, json={"to": "retired"})
        gone = http.get("/products/sales/shop/ports/orders/data", params={"format": "csv"})
    assert retired.status_code == 200, retired.text
    assert gone.status_code == 404 and "retired" in gone.text
