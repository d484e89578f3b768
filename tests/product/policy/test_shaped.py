"""Filters and event-time windows act on the caller's shaped view, never on the values it may not see."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from hexmesh.errors import ReadError
from hexmesh.governance import PolicyDecider, Principal, ReadPlan, apply_plan, plan_read
from hexmesh.product.policy.shaped import UnservedColumnError, shape_request
from hexmesh.product.ports import ReadRequest
from tests.governance.conftest import SECRET, make_spec

SPEC = make_spec(
    access=[
        {"id": "analysts", "allow": {"group": "analysts"}, "ports": ["daily"], "columns": {"exclude": ["lat"]}},
        {"id": "synth", "allow": {"group": "synth"}, "ports": ["daily"], "actions": ["readSynthetic"]},
    ],
    privacy=[
        {"field": "user_id", "pseudonymize": {"scope": "product"}},
        {"field": "age", "generalize": {"bands": 10}},
        {"field": "day", "generalize": {"truncate": "month"}},
        {"field": "email", "redact": True},
    ],
)
ANALYST = Principal("ann", groups=frozenset({"analysts"}))
OWNER = Principal("podcasts-team")
_PORT = SPEC.output("daily")
assert _PORT is not None
PORT = _PORT
assert PORT is not None

TABLE = pa.table(
    {
        "user_id": ["u1", "u2", "u3"],
        "email": ["a@x.test", "b@x.test", "c@x.test"],
        "age": [23, 37, 41],
        "region": ["EU", "US", "EU"],
        "postcode": ["1000", "2000", "3000"],
        "lat": [1.5, 2.5, 3.5],
        "day": [dt.date(2026, 1, 3), dt.date(2026, 2, 14), dt.date(2026, 2, 20)],
        "minutes": [10.0, 20.0, 30.0],
    }
)


def _plan(principal: Principal) -> ReadPlan:
    return plan_read(PolicyDecider(SPEC), principal, "daily")


def _read(principal: Principal, **request: object) -> pa.Table:
    """What the files port does: scan with the stored part, shape, then filter the shaped rows."""
    plan = _plan(principal)
    shaped = shape_request(plan, PORT, ReadRequest(**request))  # type: ignore[arg-type]
    assert shaped.stored.filter is None and shaped.after is not None  # these filters name shaped columns
    return shaped.after(apply_plan(TABLE, plan, SECRET))


def test_a_filter_on_a_pseudonymized_column_compares_pseudonyms_not_the_real_ids() -> None:
    assert _read(ANALYST, filter="user_id = 'u1'").num_rows == 0  # the real id answers nothing
    pseudonym = apply_plan(TABLE, _plan(ANALYST), SECRET).column("user_id")[0].as_py()
    found = _read(ANALYST, filter=f"user_id = '{pseudonym}'")
    assert found.column("user_id").to_pylist() == [pseudonym]


def test_a_filter_on_a_generalized_or_redacted_column_sees_bands_and_nulls() -> None:
    assert _read(ANALYST, filter="age = 23").num_rows == 0
    assert _read(ANALYST, filter="age = '20-29'").num_rows == 1
    assert _read(ANALYST, filter="email = 'a@x.test'").num_rows == 0
    assert _read(ANALYST, filter="email is null").num_rows == 3


def test_a_filter_on_a_hidden_column_is_refused_like_one_that_does_not_exist() -> None:
    with pytest.raises(UnservedColumnError) as hidden:
        shape_request(_plan(ANALYST), PORT, ReadRequest(filter="lat > 2"))
    with pytest.raises(UnservedColumnError) as missing:
        shape_request(_plan(ANALYST), PORT, ReadRequest(filter="lot > 2"))
    assert str(hidden.value).replace("lat", "X") == str(missing.value).replace("lot", "X")
    assert "lat" not in str(missing.value)  # the hint lists only the columns the caller may read


def test_parts_on_columns_read_in_clear_are_pushed_down_into_the_scan() -> None:
    shaped = shape_request(_plan(ANALYST), PORT, ReadRequest(filter="region = 'EU' and minutes > 5"))
    assert shaped.stored.filter == "region = 'EU' and minutes > 5" and shaped.after is None
    mixed = shape_request(_plan(ANALYST), PORT, ReadRequest(filter="region = 'EU' and user_id = 'u1'"))
    assert mixed.stored.filter is None and mixed.after is not None
    assert mixed.details == {"filter": "region = 'EU' and user_id = 'u1'"}


def test_the_owner_filters_every_value_it_reads_including_sealed_ones_after_opening() -> None:
    shaped = shape_request(_plan(OWNER), PORT, ReadRequest(filter="email = 'b@x.test'"))
    assert shaped.stored.filter is None  # sealed at rest: compared after opening, not in the scan
    assert shaped.after is not None and shaped.after(TABLE).column("user_id").to_pylist() == ["u2"]


def test_an_event_time_window_on_a_generalized_column_acts_on_the_months() -> None:
    port = PORT.model_copy(update={"event_time": "day"})
    window = ReadRequest(since=dt.datetime(2026, 2, 10, tzinfo=dt.UTC))
    shaped = shape_request(_plan(ANALYST), port, window)
    assert shaped.stored.since is None and shaped.after is not None
    shown = shaped.after(apply_plan(TABLE, _plan(ANALYST), SECRET))
    assert shown.num_rows == 0  # the analyst sees 2026-02-01 for both February days: before the 10th
    owner = shape_request(_plan(OWNER), port, window)  # the owner reads days in clear: pushed down
    assert owner.stored.since == window.since and owner.after is None


def test_the_synthetic_variant_is_filtered_after_it_is_made() -> None:
    synthetic = Principal("syd", groups=frozenset({"synth"}))
    shaped = shape_request(_plan(synthetic), PORT, ReadRequest(filter="region = 'EU'"), synthetic=True)
    assert shaped.stored.filter is None and shaped.after is not None


def test_a_filter_that_cannot_be_parsed_says_how_to_write_one() -> None:
    with pytest.raises(ReadError, match="joined by and/or"):
        shape_request(_plan(ANALYST), PORT, ReadRequest(filter="region ==== 'EU'"))
