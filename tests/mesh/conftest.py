"""A small podcast mesh as index entries, and a validator for OpenLineage events."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from hexmesh.mesh import GOVERNANCE_SCHEMA, ProductEntry, entry_from_spec
from hexmesh.spec import parse_spec
from tests.standards.material import STANDARDS

SHARED = (STANDARDS or Path("/nonexistent")) / "openlineage" / "spec"

SPECS = {
    "users/user-profiles": """
        domain: users
        name: user-profiles
        version: 2.1.0
        owner: users-team@example.com
        description: One row per registered listener, with where they live.
        tags: [source-aligned, users]
        inputPorts:
          - {name: registrations, source: {format: json, path: data}}
        outputPorts:
          - name: profiles
            primaryKey: [user_id]
            properties:
              - {name: user_id, logicalType: string, required: true, concept: "https://schema.org/identifier"}
              - {name: email, logicalType: string, classification: personal, concept: "https://schema.org/email",
                 description: Contact address of the listener}
              - {name: region, logicalType: string, classification: internal}
              - {name: birth_year, logicalType: integer, classification: personal}
        policies:
          privacy:
            - {classification: personal, for: {group: partners}, redact: true}
        """,
    "podcasts/podcast-catalog": """
        domain: podcasts
        name: podcast-catalog
        version: 1.0.0
        owner: catalog-team@example.com
        description: Every podcast series with its publisher and language.
        tags: [source-aligned, catalog]
        inputPorts:
          - {name: export, source: {format: parquet, path: data}}
        outputPorts:
          - name: podcasts
            primaryKey: [podcast_id]
            properties:
              - {name: podcast_id, logicalType: string, required: true, concept: "https://schema.org/PodcastSeries"}
              - {name: title, logicalType: string}
              - {name: language, logicalType: string, concept: "https://schema.org/inLanguage"}
        """,
    "podcasts/play-events": """
        domain: podcasts
        name: play-events
        version: 1.3.0
        status: active
        owner: player-team@example.com
        description: Every play of an episode by a listener, as the player reports it.
        tags: [events, source-aligned]
        inputPorts:
          - {name: logs, source: {format: csv, path: data}}
        outputPorts:
          - name: plays
            primaryKey: [play_id]
            properties:
              - {name: play_id, logicalType: string, required: true}
              - {name: listener_id, logicalType: string, required: true,
                 links: ["dp://users/user-profiles/profiles#user_id"], description: Who listened}
              - {name: podcast_id, logicalType: string, links: ["dp://podcasts/podcast-catalog/podcasts#podcast_id"]}
              - {name: played_at, logicalType: timestamp}
              - {name: seconds_played, logicalType: integer}
        """,
    "podcasts/listener-demographics": """
        domain: podcasts
        name: listener-demographics
        version: 1.0.0
        owner: podcasts-analytics@example.com
        description: Who listens to which podcast, by age band and region, per day.
        tags: [consumer-aligned, marketing]
        inputPorts:
          - {name: plays, from: "dp://podcasts/play-events/plays"}
          - {name: profiles, from: "dp://users/user-profiles/profiles"}
        transformation: {sql: transform.sql}
        outputPorts:
          - name: daily
            primaryKey: [podcast_id, day, region]
            properties:
              - {name: podcast_id, logicalType: string, links: ["dp://podcasts/podcast-catalog/podcasts#podcast_id"]}
              - {name: day, logicalType: date}
              - {name: region, logicalType: string, classification: internal,
                 links: ["dp://users/user-profiles/profiles#region"]}
              - {name: listeners, logicalType: integer}
        """,
    "artists/royalties": """
        domain: artists
        name: royalties
        version: 0.2.0
        status: draft
        owner: finance@example.com
        description: Money owed to each podcast's publisher, per month.
        tags: [finance]
        inputPorts:
          - {name: daily, from: "dp://podcasts/listener-demographics/daily"}
        transformation: {sql: transform.sql}
        outputPorts:
          - name: monthly
            properties:
              - {name: podcast_id, logicalType: string, links: ["dp://podcasts/podcast-catalog/podcasts#podcast_id"]}
              - {name: month, logicalType: date}
              - {name: amount, logicalType: decimal, precision: 12, scale: 2}
        """,
}

DOCS = {
    "podcasts/play-events": "# Play events\n\nA play is counted after thirty seconds of listening.",
    "users/user-profiles": "# Profiles\n\nListeners' profiles, pseudonymised before publication.",
}


def spec_entry(key: str) -> ProductEntry:
    spec = parse_spec(textwrap.dedent(SPECS[key]), f"{key}/dataproduct.yaml")[0]
    return entry_from_spec(spec, docs=DOCS.get(key, ""), node_url="http://node-a:8000")


@pytest.fixture
def entries() -> list[ProductEntry]:
    return [spec_entry(key) for key in SPECS]


def _ol_registry() -> Registry[Any]:
    resources = []
    for path in [*SHARED.glob("*.json"), *SHARED.glob("facets/*.json"), GOVERNANCE_SCHEMA]:
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def validate_event() -> Callable[[dict[str, Any]], None]:
    """Validate an event against OpenLineage.json and every facet against its own schema."""
    if not (SHARED / "OpenLineage.json").is_file():
        # CI runs with shared/ beside the clone: there, missing schemas are a failure.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"the OpenLineage schemas are not at {SHARED}")
    registry = _ol_registry()
    core = registry.contents("https://openlineage.io/spec/2-0-2/OpenLineage.json")
    by_facet: dict[str, Any] = {}
    for uri in list(registry):
        contents = registry.contents(uri)
        for name in contents.get("properties", {}):
            by_facet[name] = contents

    def check(event: dict[str, Any]) -> None:
        jsonschema.Draft202012Validator(core, registry=registry).validate(event)
        facet_groups = [event["run"].get("facets", {}), event["job"].get("facets", {})]
        for dataset in event.get("inputs", []) + event.get("outputs", []):
            facet_groups += [dataset.get("facets", {}), dataset.get("outputFacets", {})]
        for facets in facet_groups:
            for name, facet in facets.items():
                assert name in by_facet, f"facet {name} has no schema"
                validator = jsonschema.Draft202012Validator(by_facet[name], registry=registry)
                validator.validate({name: facet})

    return check
