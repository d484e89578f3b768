"""The Gaussian-copula synthesizer: marginals, correlations (categorical too), schema, seeds, DP fitting."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from hexmesh.governance import PolicyError, fit


def _source(n: int = 4000) -> pa.Table:
    rng = np.random.default_rng(1)
    income = rng.normal(50_000, 10_000, n)
    age = np.clip((income - 20_000) / 1000 + rng.normal(0, 5, n), 18, 90).round().astype(np.int64)
    plan = np.where(income > 55_000, "premium", np.where(rng.random(n) < 0.2, "family", "free"))
    region = rng.choice(["EU", "NA", "APAC"], n, p=[0.5, 0.3, 0.2])
    income_masked = np.where(rng.random(n) < 0.1, np.nan, income)
    return pa.table({"income": pa.array(income_masked, from_pandas=True), "age": age, "plan": plan, "region": region})


def test_marginals_correlations_and_schema_survive() -> None:
    source = _source()
    synthetic = fit(source).sample(4000, seed=7)
    assert synthetic.schema == source.schema
    src, syn = source.to_pydict(), synthetic.to_pydict()
    for name in ("income", "age"):
        a = np.array([v for v in src[name] if v is not None], float)
        b = np.array([v for v in syn[name] if v is not None], float)
        assert abs(np.median(a) - np.median(b)) < 0.05 * np.median(a)
    assert abs(syn["income"].count(None) / 4000 - 0.1) < 0.03
    for name in ("plan", "region"):
        for category in set(src[name]):
            assert abs(src[name].count(category) - syn[name].count(category)) / 4000 < 0.03

    def corr(data: dict[str, list[object]]) -> float:
        pairs = [(i, a) for i, a in zip(data["income"], data["age"], strict=True) if i is not None]
        return float(np.corrcoef(np.array(pairs, float).T)[0, 1])

    assert corr(src) > 0.7 and abs(corr(src) - corr(syn)) < 0.1

    def premium_gap(data: dict[str, list[object]]) -> float:
        incomes = [(p, i) for p, i in zip(data["plan"], data["income"], strict=True) if i is not None]
        rich = [i for p, i in incomes if p == "premium"]
        rest = [i for p, i in incomes if p != "premium"]
        return float(np.mean(rich) - np.mean(rest))  # type: ignore[arg-type]

    # Categorical–numeric dependence survives (independence would give 0). A Gaussian copula
    # smooths a hard threshold like this one, so only part of the gap is kept.
    assert premium_gap(syn) > 0.4 * premium_gap(src)


def test_same_seed_same_rows_and_no_copied_rows() -> None:
    source = _source(500)
    model = fit(source)
    assert model.sample(50, seed=3).equals(model.sample(50, seed=3))
    # Incomes are continuous: a synthetic row equal to a real one would be a copied person.
    original = {r["income"] for r in source.to_pylist() if r["income"] is not None}
    copied = sum(r["income"] in original for r in model.sample(500, seed=4).to_pylist())
    assert copied == 0


def test_dp_fit_needs_bounds_and_stays_useful() -> None:
    source = _source().drop_columns(["income"])
    with pytest.raises(PolicyError, match="public bounds for number column age"):
        fit(source, epsilon=1.0)
    model = fit(source, epsilon=5.0, bounds={"age": (18, 90)})
    sample = model.sample(3000, seed=1)
    assert sample.schema == source.schema
    ages = np.array(sample.column("age").to_pylist(), float)
    assert ages.min() >= 18 and ages.max() <= 90
    assert abs(np.median(ages) - np.median(source.column("age").to_numpy())) < 5


def test_too_few_rows() -> None:
    with pytest.raises(PolicyError, match="at least two rows"):
        fit(pa.table({"a": [1]}))


def _people(n: int = 300) -> pa.Table:
    rng = np.random.default_rng(5)
    return pa.table(
        {
            "ssn": [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}" for _ in range(n)],
            "name": rng.choice(["Ann", "Bob", "Cy", "Dee"], n).tolist(),
            "email": [f"person{i}@mail.test" for i in range(n)],
            "code": [f"CODE{i:05d}" for i in range(n)],  # not declared private: unique, so still made up
            "plan": rng.choice(["free", "premium"], n).tolist(),
            "salary": rng.integers(30_000, 90_000, n),
            "born": rng.integers(1950, 2000, n),
        }
    )


def test_private_and_rare_values_are_made_up_with_their_shape() -> None:
    source = _people()
    model = fit(source, private=frozenset({"ssn", "name", "email", "salary"}))
    synthetic = model.sample(3000, seed=9)
    for column in ("ssn", "name", "email", "code", "salary"):
        real = set(source.column(column).to_pylist())
        made = synthetic.column(column).to_pylist()
        assert not real & set(made), f"{column}: real values came out"
    assert all(len(v) == 11 and v[3] == "-" and v[6] == "-" for v in synthetic.column("ssn").to_pylist())
    assert all(v.count("@") == 1 for v in synthetic.column("email").to_pylist())
    # Common values of columns that are not private keep their meaning: plans and birth years are shared.
    assert set(synthetic.column("plan").to_pylist()) == {"free", "premium"}
    assert set(synthetic.column("born").to_pylist()) & set(source.column("born").to_pylist())
    # The model itself holds none of them: it is what a cache keeps.
    held = {c for m in model.marginals for c in (m.categories or [])}
    assert not held & set(source.column("email").to_pylist()) and not held & set(source.column("code").to_pylist())


def test_a_rare_number_of_a_private_column_never_comes_out() -> None:
    source = pa.table({"salary": pa.array([40_000 + 7 * i for i in range(50)], pa.int64())})
    synthetic = fit(source, private=frozenset({"salary"})).sample(2000, seed=1)
    assert not set(synthetic.column("salary").to_pylist()) & set(source.column("salary").to_pylist())


def test_ids_beyond_2_to_the_53_fit_and_sample_within_their_type() -> None:
    # play_id values past 2^53 cannot be floats exactly: the fit used to stop with ArrowInvalid.
    big = [2**62 + i * 2**40 for i in range(50)] + [2**63 - 1, -(2**63)]
    source = pa.table({"play_id": pa.array(big, pa.int64()), "small": pa.array(range(52), pa.int8())})
    synthetic = fit(source).sample(500, seed=3)
    assert synthetic.schema == source.schema
    ids = synthetic.column("play_id").to_pylist()
    assert all(-(2**63) <= v <= 2**63 - 1 for v in ids)
    assert sum(v > 2**53 for v in ids) > 250  # the bulk of the values stays where the real ones are
    assert all(-128 <= v <= 127 for v in synthetic.column("small").to_pylist())
