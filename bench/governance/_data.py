"""A product, principals and rows shared by the policy benchmarks (the test fixtures, at scale)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from hexmesh.governance import MeshPolicies, PolicyDecider
from tests.governance.conftest import POLICIES, make_spec

MESH_CEDAR = {
    "restricted.cedar": """
        @id("mesh:no-restricted-columns")
        forbid(principal, action, resource is Column)
        when { resource.classification == "restricted" } unless { principal in Group::"podcasts-team" };
    """
}


def decider() -> PolicyDecider:
    return PolicyDecider(make_spec(**POLICIES), mesh=MeshPolicies(cedar=MESH_CEDAR))


def rows(n: int, users: int = 100_000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    user = rng.integers(0, users, n)
    days = np.datetime64("2026-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    return pa.table(
        {
            "user_id": pa.array(np.char.add("u", user.astype(str))),
            "email": pa.array(np.char.add(np.char.add("user", user.astype(str)), "@example.com")),
            "age": pa.array(rng.integers(18, 90, n), pa.int64()),
            "region": pa.array(np.array(["EU", "NA", "APAC"])[rng.integers(0, 3, n)]),
            "postcode": pa.array(rng.integers(10000, 99999, n).astype(str)),
            "lat": pa.array(rng.uniform(-60, 70, n)),
            "day": pa.array(days.astype(dt.date), pa.date32()),
            "minutes": pa.array(rng.exponential(30, n)),
        }
    )
