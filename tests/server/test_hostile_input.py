"""Numbers past what the node can store are refused at the edge: a 400 problem, never a 500."""

from __future__ import annotations

import pytest

from tests.server.nodes import RunningNode

EVENTS = "/products/sales/shop/ports/orders/events"
HUGE = str(2**64)  # past a 64-bit sequence number: it overflowed the offset store before


@pytest.mark.parametrize("offset", ["9" * 19, str(2**63)])  # longer ones fail the parameter's pattern
def test_a_consumer_offset_beyond_64_bits_is_a_400(node: RunningNode, offset: str) -> None:
    with node.client() as http:
        response = http.put(f"{EVENTS}/consumers/hostile", params={"offset": offset})
        assert response.status_code == 400, response.text
        assert "beyond the last possible event sequence number (9223372036854775807)" in response.json()["detail"]
        assert http.put(f"{EVENTS}/consumers/hostile", params={"offset": str(2**63 - 1)}).status_code == 200


def test_a_unicode_digit_is_not_a_sequence_number(node: RunningNode) -> None:
    with node.client() as http:
        for offset in ("²", HUGE, "9" * 40):
            response = http.put(f"{EVENTS}/consumers/hostile", params={"offset": offset})
            assert response.status_code == 400, response.text
            assert "offset" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"start": HUGE}, {}), ({}, {"Last-Event-ID": "9" * 19})],  # 19 digits: the header's pattern allows it
)
def test_a_subscription_starting_beyond_64_bits_is_a_400(
    node: RunningNode, params: dict[str, str], headers: dict[str, str]
) -> None:
    with node.client() as http:
        response = http.get(EVENTS, params={"follow": "false", **params}, headers=headers)
    assert response.status_code == 400, response.text
    assert "beyond the last possible event sequence number" in response.json()["detail"]


def test_since_equal_to_until_is_an_empty_window_not_an_error(node: RunningNode) -> None:
    moment = "2026-01-01T10:00:00Z"
    with node.client() as http:
        response = http.get(EVENTS, params={"follow": "false", "start": "beginning", "since": moment, "until": moment})
        assert response.status_code == 200, response.text
        assert "data: " not in response.text
        rows = http.get(
            "/products/sales/shop/ports/orders/data", params={"format": "jsonl", "since": moment, "until": moment}
        )
        assert rows.status_code == 200, rows.text
        assert rows.text.strip() == ""


@pytest.mark.parametrize(("params", "headers"), [({"start": ""}, {}), ({}, {"Last-Event-ID": "soon"})])
def test_an_empty_start_or_a_wordy_last_event_id_is_refused_by_the_schema(
    node: RunningNode, params: dict[str, str], headers: dict[str, str]
) -> None:
    with node.client() as http:
        response = http.get(EVENTS, params={"follow": "false", **params}, headers=headers)
        assert response.status_code == 400, response.text
        document = http.get("/openapi.json").json()
    operation = document["paths"]["/products/{domain}/{name}/ports/{port}/events"]["get"]
    parameters = {p["name"].lower(): p["schema"] for p in operation["parameters"]}
    assert parameters["start"]["anyOf"][0]["minLength"] == 1
    assert parameters["last-event-id"]["anyOf"][0]["pattern"].startswith("^([0-9]{1,19}")


@pytest.mark.parametrize("purpose", ["", "   "])
def test_an_empty_purpose_is_a_documented_400(node: RunningNode, purpose: str) -> None:
    with node.client() as http:
        response = http.post("/products/sales/shop/ports/orders/access-requests", json={"purpose": purpose})
        assert response.status_code == 400, response.text
        assert "purpose" in response.json()["detail"]
        schema = http.get("/openapi.json").json()["components"]["schemas"]["AskBody"]["properties"]["purpose"]
    assert schema["minLength"] == 1 and schema["pattern"] == "\\S"
