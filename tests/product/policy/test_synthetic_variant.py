"""The synthetic variant keeps the policy: suppressed groups stay out, identifiers and private values are made up."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hexmesh.governance import PolicyDecider, Principal, plan_read
from hexmesh.product.policy.variants import VariantCache
from hexmesh.spec.model import DataProductSpec

SECRET = b"synthetic-variant-tests-secret-0123"
STUDENT = Principal("stu", groups=frozenset({"students"}))


def _spec(privacy: list[dict[str, Any]]) -> DataProductSpec:
    return DataProductSpec.model_validate(
        {
            "domain": "health",
            "name": "visits",
            "version": "1.0.0",
            "owner": "health-team",
            "outputPorts": [
                {
                    "name": "by_clinic",
                    "primaryKey": ["visit_id"],
                    "properties": [
                        {"name": "visit_id", "logicalType": "string", "classification": "internal"},
                        {"name": "patient", "logicalType": "string", "classification": "restricted"},
                        {"name": "clinic", "logicalType": "string", "classification": "internal"},
                        {"name": "visits", "logicalType": "integer", "classification": "internal"},
                    ],
                }
            ],
            "policies": {
                "access": [{"id": "students", "allow": {"group": "students"}, "actions": ["readSynthetic"]}],
                "privacy": privacy,
            },
        }
    )


def _rows() -> pa.Table:
    # 20 big clinics (40 visits each) and 30 small ones (1-4 visits): the small ones are suppressed.
    big = [(f"big-clinic-{i:02d}", 40) for i in range(20)]
    small = [(f"tiny-clinic-{i:02d}", 1 + i % 4) for i in range(30)]
    rows = big + small
    return pa.table(
        {
            "visit_id": [f"V{i:06d}" for i in range(len(rows))],
            "patient": [f"patient{i}@clinic.test" for i in range(len(rows))],
            "clinic": [c for c, _ in rows],
            "visits": pa.array([n for _, n in rows], pa.int64()),
        }
    )


def _synthetic(privacy: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    plan = plan_read(PolicyDecider(_spec(privacy)), STUDENT, "by_clinic")
    assert plan.variant == "synthetic"
    source = _rows()
    return source, VariantCache(SECRET).synthetic(("visits", 1), lambda: source, plan)


def test_suppressed_groups_do_not_come_back_as_synthetic_rows() -> None:
    _, synthetic = _synthetic([{"field": "visits", "minimumGroupSize": 5}])
    counts = synthetic.column("visits").to_pylist()
    assert counts and min(counts) >= 5, "rows below the minimum group size were fitted"
    assert len(counts) == 20  # as many rows as the principal could read: the big clinics
    assert not any(str(c).startswith("tiny-clinic") for c in synthetic.column("clinic").to_pylist())


def test_no_real_identifier_or_restricted_value_comes_out() -> None:
    source, synthetic = _synthetic([])
    for column in ("visit_id", "patient", "clinic"):
        real = set(source.column(column).to_pylist())
        assert not real & set(synthetic.column(column).to_pylist()), f"{column}: real values came out"
    assert all(v[0].isupper() and v[1:].isdigit() and len(v) == 7 for v in synthetic.column("visit_id").to_pylist())
