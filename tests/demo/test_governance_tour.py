"""The demo's governance tour: masking, an access request and a synthetic variant, through the real policies."""

from __future__ import annotations

from typing import Any

from hexmesh.demo import DemoResult
from hexmesh.demo.governance import CONSUMER, PURPOSE, governance_tour
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import requests, tokens


def test_the_tour_masks_asks_approves_and_shows_a_synthetic_variant(
    demo: tuple[Workspace, DemoResult, list[Any]],
) -> None:
    workspace, _, _ = demo
    said: list[Any] = []
    tour = governance_tour(workspace, said.append)

    # Masking: the owner sees real ids and e-mail addresses; the analyst sees pseudonyms and decades, no e-mail.
    assert "email" in tour.owner_view.column_names and "email" in tour.hidden
    owner_ids = tour.owner_view["user_id"].to_pylist()
    consumer_ids = tour.consumer_view["user_id"].to_pylist()
    assert all(i.startswith("u") for i in owner_ids)
    assert all(i.startswith("p_") for i in consumer_ids) and not set(owner_ids) & set(consumer_ids)
    decades = tour.consumer_view["birth_year"].to_pylist()
    assert all(b is None or (b.endswith("9") and "-" in b) for b in decades)
    assert set(tour.consumer_view["country"].to_pylist()) == {None}
    assert tour.consumer_view.num_rows == tour.owner_view.num_rows > 0

    # The access request: refused first, then approved by the owner for one purpose, then allowed.
    assert "Ask for access" in tour.refused
    (request,) = [r for r in requests.list_requests(workspace.runtime.state.db) if r.id == tour.request_id]
    assert (request.status, request.purpose, request.principal.id) == ("approved", PURPOSE, CONSUMER.id)
    assert tour.granted.num_rows > 0
    assert set(tour.granted["ip_address"].to_pylist()) == {None}

    # The synthetic variant has the analyst's columns (still masked) and shares close to the real ones.
    assert tour.synthetic.column_names == tour.consumer_view.column_names and tour.synthetic.num_rows > 0
    assert "email" not in tour.synthetic.column_names
    assert set(tour.synthetic["country"].to_pylist()) == {None}
    for column, shares in tour.real_shares.items():
        for value, share in shares.items():
            assert abs(tour.synthetic_shares[column].get(value, 0.0) - share) < 0.25, (column, value)

    # Every step was decided by the policies and audited under the analyst's name.
    entries = audit.query(workspace.runtime.state.db, actor=CONSUMER.key)
    assert {e.action for e in entries} >= {"demo.read", "access.request"}
    assert any(e.decision == "deny" for e in entries) and any(e.decision == "allow" for e in entries)
    assert said  # and it was shown
    made = tokens.list_tokens(workspace.runtime.state.db, CONSUMER.id)
    assert made and all(t.revoked_us is not None for t in made)  # the tour's credential does not outlive it


def test_the_tour_tells_the_same_story_when_run_again(demo: tuple[Workspace, DemoResult, list[Any]]) -> None:
    workspace, _, _ = demo
    first = governance_tour(workspace, lambda _: None)
    again = governance_tour(workspace, lambda _: None)
    assert "Ask for access" in again.refused and again.request_id != first.request_id
    assert again.consumer_view.equals(first.consumer_view)
