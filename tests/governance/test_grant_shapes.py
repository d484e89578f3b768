"""An approval grants a named policy shape the owner chose, never more (issue 11 item 5)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from hexmesh.governance import PolicyDecider, PolicyError, Principal, apply_plan, plan_read
from hexmesh.governance.grants import AccessRequest, approve, shape_of
from tests.governance.conftest import OWNER, POLICIES, SECRET, make_spec

RESEARCHER = Principal("rita")
DAY_US = 86_400 * 1_000_000


def _granted(shape: str | None) -> PolicyDecider:
    spec = make_spec(**POLICIES)
    own = {rule.id: rule for rule in PolicyDecider(spec).policies.access if rule.id}
    request = AccessRequest("r-1", RESEARCHER, spec.key, "daily", "research", "", "pending", 0)
    control = PolicyDecider(spec).decide(OWNER, "control", "daily")
    approved = approve(request, OWNER, control, "ok", 1, 300 * DAY_US, shape_of(spec, own, "daily", shape))
    return PolicyDecider(spec, grants=[(approved.id, approved.grant_rule())])


def _read(decider: PolicyDecider, table: pa.Table) -> dict[str, list[Any]]:
    plan = plan_read(decider, RESEARCHER, "daily", purpose="research", now=2)
    seen: dict[str, list[Any]] = apply_plan(table, plan, SECRET).to_pydict()
    return seen


def test_the_default_shape_keeps_restricted_fields_sealed_and_every_mask(table: pa.Table) -> None:
    # The finding: an approved research request read the restricted e-mail in plaintext, raw ids and exact ages.
    seen = _read(_granted(None), table)
    assert "email" not in seen
    assert not set(seen["user_id"]) & set(table.column("user_id").to_pylist())  # hashed, as for everyone
    # `age-band` is a privacy rule `for: analytics`: a grant holder gets it too, never the exact ages.
    assert all(isinstance(a, str) and "-" in a for a in seen["age"])  # decades, not ages
    assert set(seen["postcode"]) <= {p[:2] for p in table.column("postcode").to_pylist()}


def test_a_named_shape_copies_that_rule_s_columns_and_rows(table: pa.Table) -> None:
    seen = _read(_granted("regional"), table)  # regional: all columns, rows of the principal's region
    assert seen["region"] == []  # the researcher has no region attribute: no row matches
    seen = _read(_granted("analysts"), table)  # analysts: every column but email
    assert "email" not in seen and len(seen["region"]) == table.num_rows


def test_an_unknown_or_non_read_shape_is_refused_with_the_shapes_there_are() -> None:
    spec = make_spec(**POLICIES)
    own = {rule.id: rule for rule in PolicyDecider(spec).policies.access if rule.id}
    with pytest.raises(PolicyError, match=r"'everything' is not a policy shape .*shapes: analysts, regional\)"):
        shape_of(spec, own, "daily", "everything")
    with pytest.raises(PolicyError, match="'stats' is not a policy shape"):
        shape_of(spec, own, "daily", "stats")  # aggregate-only: it grants no rows
