"""Shared fixtures: a product with personal and restricted fields, its rows, and some principals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, create_engine

from hexmesh.governance import PolicyDecider, Principal
from hexmesh.infra.state.migrations import migrate
from hexmesh.spec.model import DataProductSpec

SECRET = b"mesh-secret-for-tests-0123456789"


def spec_dict(**policies: Any) -> dict[str, Any]:
    return {
        "domain": "podcasts",
        "name": "listens",
        "version": "1.0.0",
        "owner": "podcasts-team",
        "outputPorts": [
            {
                "name": "daily",
                "slo": {"freshness": "1d"},
                "properties": [
                    {
                        "name": "user_id",
                        "logicalType": "string",
                        "classification": "internal",
                        "concept": "https://schema.org/identifier",
                        "tags": ["subject"],
                    },
                    {"name": "email", "logicalType": "string", "classification": "restricted"},
                    {"name": "age", "logicalType": "integer", "classification": "personal"},
                    {"name": "region", "logicalType": "string", "classification": "internal"},
                    {"name": "postcode", "logicalType": "string", "classification": "personal"},
                    {"name": "lat", "logicalType": "number", "classification": "confidential"},
                    {"name": "day", "logicalType": "date", "classification": "public"},
                    {"name": "minutes", "logicalType": "number", "classification": "internal"},
                ],
            },
            {"name": "totals", "properties": [{"name": "n", "logicalType": "integer", "classification": "public"}]},
        ],
        "policies": policies or {"access": [], "privacy": []},
    }


def make_spec(**policies: Any) -> DataProductSpec:
    return DataProductSpec.model_validate(spec_dict(**policies))


POLICIES: dict[str, Any] = {
    "access": [
        {
            "id": "analysts",
            "allow": {"group": "analytics"},
            "ports": ["daily"],
            "purposes": ["reporting"],
            "columns": {"exclude": ["email"]},
        },
        {"id": "regional", "allow": {"group": "sales"}, "ports": ["daily"], "rows": {"region": "principal.region"}},
        {"id": "stats", "allow": {"group": "statisticians"}, "ports": ["daily"], "actions": ["readAggregate"]},
        {
            "id": "samples",
            "allow": {"group": "students"},
            "ports": ["daily"],
            "actions": ["readSynthetic"],
            "columns": {"include": ["age", "region", "minutes"]},
        },
        {"id": "catalog", "allow": {"anyone": True}, "actions": ["discover"]},
    ],
    "privacy": [
        {"id": "age-band", "field": "age", "for": {"group": "analytics"}, "generalize": "decade"},
        {"id": "user-hash", "field": "user_id", "mask": "hash"},
        {"id": "postcode", "field": "postcode", "generalize": {"prefix": 2}},
        {"id": "lat", "field": "lat", "generalize": {"round": 1}},
        {"id": "email-token", "field": "email", "tokenize": True},
    ],
}

OWNER = Principal("podcasts-team", groups=frozenset({"podcasts-team"}))
ANALYST = Principal("ann", groups=frozenset({"analytics"}))
SELLER_EU = Principal("sam", groups=frozenset({"sales"}), attributes={"region": "EU"})
SELLER_NOWHERE = Principal("sue", groups=frozenset({"sales"}))
STATISTICIAN = Principal("stan", groups=frozenset({"statisticians"}))
STUDENT = Principal("stu", groups=frozenset({"students"}))
STRANGER = Principal("eve")


@pytest.fixture
def spec() -> DataProductSpec:
    return make_spec(**POLICIES)


@pytest.fixture
def decider(spec: DataProductSpec) -> PolicyDecider:
    return PolicyDecider(spec)


def rows(n: int = 200) -> pa.Table:
    regions = ["EU", "NA", "APAC"]
    return pa.table(
        {
            "user_id": [f"u{i % 50}" for i in range(n)],
            "email": [f"user{i % 50}@example.com" for i in range(n)],
            "age": pa.array([18 + (i * 7) % 60 for i in range(n)], pa.int64()),
            "region": [regions[i % 3] for i in range(n)],
            "postcode": [f"{10000 + i * 37}" for i in range(n)],
            "lat": [48.0 + (i % 100) / 97 for i in range(n)],
            "day": pa.array([dt.date(2026, 1 + i % 12, 1 + i % 28) for i in range(n)], pa.date32()),
            "minutes": [float(i % 90) for i in range(n)],
        }
    )


@pytest.fixture
def table() -> pa.Table:
    return rows()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    # A generous lock timeout: the concurrency tests must not fail on a busy machine.
    db = create_engine(f"sqlite:///{tmp_path / 'state.db'}", connect_args={"timeout": 60})
    migrate(db)  # what a StateStore does when it opens
    yield db
    db.dispose()
