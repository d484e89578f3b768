"""Column and row transformations on Arrow tables, and their SQL twin for DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from hexmesh.governance import PolicyDecider, PolicyError, Principal, apply_plan, derive_key, plan_read, plan_schema
from hexmesh.governance.masking import generalize, redact
from hexmesh.governance.pseudonym import detokenize, pseudonymize, tokenize
from hexmesh.governance.rowfilter import resolve_rows
from hexmesh.spec.policies import Generalize
from tests.governance.conftest import ANALYST, OWNER, SECRET, SELLER_EU, SELLER_NOWHERE, STATISTICIAN


def test_redaction_keeps_type_drops_values() -> None:
    out = redact(pa.array(["a", "b", None]))
    assert out.type == pa.string() and out.null_count == 3


def test_generalization_kinds() -> None:
    assert generalize(pa.array([0, 9, 10, 47, None]), Generalize(bands=10)).to_pylist() == [
        "0-9",
        "0-9",
        "10-19",
        "40-49",
        None,
    ]
    days = pa.array([dt.date(2026, 3, 17), dt.date(2025, 12, 31)])
    assert generalize(days, Generalize(truncate="month")).to_pylist() == [dt.date(2026, 3, 1), dt.date(2025, 12, 1)]
    assert generalize(days, Generalize(truncate="year")).to_pylist() == [dt.date(2026, 1, 1), dt.date(2025, 1, 1)]
    assert generalize(pa.array([48.8566, 2.3522]), Generalize(round=1)).to_pylist() == [48.9, 2.4]
    assert generalize(pa.array(["75001", "SW1A 1AA"]), Generalize(prefix=2)).to_pylist() == ["75", "SW"]
    with pytest.raises(PolicyError, match="needs a date"):
        generalize(pa.array([1]), Generalize(truncate="month"))


def test_pseudonyms_are_stable_in_a_scope_and_differ_across_scopes() -> None:
    values = pa.array(["u1", "u2", "u1", None])
    a = derive_key(SECRET, "pseudonymize", "product:x/y")
    b = derive_key(SECRET, "pseudonymize", "product:x/z")
    first, again, other = pseudonymize(values, a), pseudonymize(values, a), pseudonymize(values, b)
    assert first.equals(again) and first[0] == first[2] and first[0] != first[1] and first[3].as_py() is None
    assert set(first.to_pylist()[:2]).isdisjoint(other.to_pylist())
    assert all("u1" not in v for v in first.to_pylist()[:3])


def test_tokens_reverse_only_with_their_key() -> None:
    key = derive_key(SECRET, "tokenize", "product:x/y", 64)
    tokens = tokenize(pa.array(["a@x.com", "b@x.com", "a@x.com"]), key)
    assert tokens[0] == tokens[2]
    assert detokenize(tokens, key).to_pylist() == ["a@x.com", "b@x.com", "a@x.com"]
    with pytest.raises(PolicyError, match="not issued in this scope"):
        detokenize(tokens, derive_key(SECRET, "tokenize", "product:other", 64))
    numbers = tokenize(pa.array([5, 7]), key)
    assert detokenize(numbers, key, pa.int64()).to_pylist() == [5, 7]


def test_row_filter_from_attributes_in_arrow_and_in_duckdb(table: pa.Table) -> None:
    flt = resolve_rows([{"region": "principal.region", "age": [18, 25, 32]}], SELLER_EU)
    arrow = flt.apply(table)
    con = duckdb.connect()
    con.register("listens", table)
    counted = con.execute(f"select count(*) from listens where {flt.sql()}").fetchone()
    assert counted is not None and arrow.num_rows == counted[0] > 0
    assert set(arrow.column("region").to_pylist()) == {"EU"}


def test_missing_attribute_matches_nothing(table: pa.Table) -> None:
    flt = resolve_rows([{"region": "principal.region"}], SELLER_NOWHERE)
    assert flt.apply(table).num_rows == 0 and flt.sql() == "((FALSE))"


def test_sql_literals_are_quoted() -> None:
    tricky = Principal("x", attributes={"region": "EU') OR (1=1"})
    flt = resolve_rows([{"region": "principal.region"}], tricky)
    assert flt.sql() == """(("region" IN ('EU'') OR (1=1')))"""
    con = duckdb.connect()
    con.register("t", pa.table({"region": ["EU", "EU') OR (1=1"]}))
    assert con.execute(f"select region from t where {flt.sql()}").fetchall() == [("EU') OR (1=1",)]


def test_plan_applies_the_same_to_every_caller(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, ANALYST, "daily", purpose="reporting")
    out = apply_plan(table, plan, SECRET)
    assert out.schema == plan_schema(table.schema, plan)
    assert out.column_names == ["user_id", "age", "region", "postcode", "lat", "day", "minutes"]
    assert out.column("age")[0].as_py() == "10-19"
    owner = apply_plan(table, plan_read(decider, OWNER, "daily"), SECRET)
    assert owner.equals(table)


def test_aggregate_only_principals_get_no_rows(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, STATISTICIAN, "daily")
    with pytest.raises(Exception, match="only the aggregate variant"):
        apply_plan(table, plan, SECRET)


def test_pseudonyms_join_within_a_product(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, SELLER_EU, "daily")
    first, second = apply_plan(table, plan, SECRET), apply_plan(table, plan, SECRET)
    joined = first.join(second.select(["user_id"]).group_by("user_id").aggregate([]), "user_id")
    assert joined.num_rows == first.num_rows


def test_fingerprints_say_when_two_callers_see_the_same_bytes(decider: PolicyDecider) -> None:
    from hexmesh.governance import Principal

    other_eu = Principal("sid", groups=frozenset({"sales"}), attributes={"region": "EU"})
    same = plan_read(decider, SELLER_EU, "daily").fingerprint()
    assert same == plan_read(decider, other_eu, "daily").fingerprint()
    assert same != plan_read(decider, SELLER_NOWHERE, "daily").fingerprint()
    assert same != plan_read(decider, ANALYST, "daily", purpose="reporting").fingerprint()
