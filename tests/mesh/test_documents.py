"""Index entries: from specs, from discovery documents, and rejection of malformed ones."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from hexmesh.mesh import DocumentError, ProductEntry, Registry, entry_from_document

DCAT = {
    "@context": {
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "hexmesh": "https://hexmesh.dev/ns#",
        "foaf": "http://xmlns.com/foaf/0.1/",
    },
    "@id": "http://node-b:8000/products/podcasts/play-events",
    "@type": "dcat:DataService",
    "dct:identifier": "dp://podcasts/play-events",
    "dct:title": "play-events",
    "dct:description": {"@value": "Every play of an episode.", "@language": "en"},
    "hexmesh:domain": "podcasts",
    "dcat:version": "1.3.0",
    "hexmesh:lifecycle": "deprecated",
    "dcat:keyword": ["events"],
    "dct:publisher": {"@type": "foaf:Agent", "foaf:name": "player-team@example.com"},
    "hexmesh:readme": "<h1>Play events</h1><p>Counted after 30&nbsp;s.</p>",
    "hexmesh:lineage": {
        "hexmesh:inputPorts": [
            {
                "hexmesh:name": "logs",
                "hexmesh:from": None,
                "hexmesh:source": {"format": "csv", "path": "x"},
            }
        ]
    },
    "dcat:servesDataset": [
        {
            "@type": "dcat:Dataset",
            "dct:identifier": "dp://podcasts/play-events/plays",
            "dct:title": "plays",
            "hexmesh:primaryKey": ["play_id"],
            "hexmesh:sloStatus": {"hexmesh:status": "amber"},
            "hexmesh:schema": [
                {
                    "hexmesh:name": "play_id",
                    "hexmesh:logicalType": "string",
                    "hexmesh:required": True,
                },
                {
                    "hexmesh:name": "listener_id",
                    "hexmesh:logicalType": "string",
                    "hexmesh:concept": {"@id": "https://schema.org/identifier"},
                    "hexmesh:links": ["dp://users/user-profiles/profiles#user_id"],
                    "hexmesh:classification": "personal",
                },
            ],
        }
    ],
}


def test_entry_round_trips_through_json(entries: list[ProductEntry]) -> None:
    for entry in entries:
        again = entry_from_document(json.loads(json.dumps(entry.to_dict())))
        assert again == entry


def test_dcat_discovery_document_is_read() -> None:
    entry = entry_from_document(DCAT, node_url="http://node-b:8000")
    assert (entry.key, entry.version, entry.status) == (
        "podcasts/play-events",
        "1.3.0",
        "deprecated",
    )
    assert entry.owner == "player-team@example.com"
    assert entry.description == "Every play of an episode."
    assert "Counted after 30" in entry.docs and "<p>" not in entry.docs
    assert entry.slo_status == "at-risk"
    assert entry.inputs[0].source == "csv:x"
    field = entry.ports[0].fields[1]
    assert (field.concept, field.classification) == ("https://schema.org/identifier", "personal")
    assert field.links == ("dp://users/user-profiles/profiles#user_id",)
    assert entry.node_url == "http://node-b:8000"


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DCAT)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["dct:identifier"], "not an address", "'not an address' names no domain"),
        (["dct:identifier"], _DELETE, "$.identifier: 'http://node-b:8000/products"),
        (["dcat:version"], {"a": 1}, "expected text"),
        (["dcat:version"], [[1]], "expected text"),
        (["hexmesh:lifecycle"], "exploding", "'exploding' is not one of proposed"),
        (["dcat:servesDataset"], [], "at least one output port"),
        (["dcat:servesDataset", 0, "hexmesh:schema"], [], "at least one field"),
        (["dcat:servesDataset", 0, "hexmesh:schema", 1, "hexmesh:links"], ["users#x"], "links[0]"),
        (
            ["dcat:servesDataset", 0, "hexmesh:schema", 1, "hexmesh:classification"],
            "secret",
            "secret",
        ),
        (
            ["dcat:servesDataset", 0, "hexmesh:schema", 1, "hexmesh:name"],
            "drop table;",
            "valid name",
        ),
        (
            ["dcat:servesDataset", 0, "hexmesh:schema", 0, "hexmesh:required"],
            "maybe",
            "true or false",
        ),
        (["dcat:servesDataset", 0, "hexmesh:schema", 0], "a string", "expected an object"),
        (["dct:description"], "x" * 300_000, "the limit is"),
    ],
)
def test_malformed_documents_are_rejected_with_the_path(path: list[Any], value: Any, reason: str) -> None:
    with pytest.raises(DocumentError) as caught:
        entry_from_document(_broken(path, value), source="http://node-b:8000")
    assert reason in str(caught.value)
    assert "from http://node-b:8000" in str(caught.value)
    assert caught.value.http_status == 422


def test_not_an_object_is_rejected() -> None:
    with pytest.raises(DocumentError, match=r"\$: expected an object, got a list"):
        entry_from_document([1, 2])


def test_one_bad_document_does_not_break_the_index(
    entries: list[ProductEntry], caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(entries)
    before = registry.get("podcasts/play-events")
    bad = _broken(["dcat:servesDataset"], "nope")
    with caplog.at_level(logging.WARNING, logger="hexmesh.mesh.registry"):
        report = registry.ingest([bad, DCAT, {"@id": 5}], node_url="http://node-b:8000")
    assert report.accepted == ["podcasts/play-events"]
    assert len(report.rejected) == 2
    assert "rejected" in caplog.text
    assert len(registry) == len(entries)
    updated = registry.get("podcasts/play-events")
    assert updated is not None and before is not None
    assert updated.status == "deprecated" and updated.last_seen is not None


def test_unreachable_node_is_marked_stale_not_dropped(entries: list[ProductEntry]) -> None:
    registry = Registry(entries)
    registry.ingest([DCAT], node_url="http://node-b:8000")
    assert registry.mark_stale("http://node-b:8000") == ["podcasts/play-events"]
    entry = registry.get("podcasts/play-events")
    assert entry is not None and entry.stale
    registry.ingest([DCAT], node_url="http://node-b:8000")
    recovered = registry.get("podcasts/play-events")
    assert recovered is not None and not recovered.stale
