"""ODCS-shaped checks in the quality gate: metrics with operators, SQL with mustBe*, unique fields,
logicalTypeOptions. Each one fails the run with its own name when the data breaks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import QualityGateError, SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.spec import QualityCheck
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

# orders_csv(1, 6): customers c1..c6, amount 10.0 each.
FAILING = {
    "nullValues": (
        "- {metric: nullValues, field: amount, mustBe: 0}",
        "order_id,customer,ordered_at,amount\n1,c1,2026-01-01 01:00:00,\n2,c2,2026-01-01 02:00:00,1\n",
        "nullValues(amount)",
    ),
    "nullValues percent": (
        "- {metric: nullValues, field: amount, unit: percent, mustBeLessThan: 10}",
        "order_id,customer,ordered_at,amount\n1,c1,2026-01-01 01:00:00,\n2,c2,2026-01-01 02:00:00,1\n",
        "nullValues(amount)",
    ),
    "missingValues": (
        "- {metric: missingValues, field: customer, missingValues: [n/a, null], mustBe: 0}",
        "order_id,customer,ordered_at,amount\n1,n/a,2026-01-01 01:00:00,1\n",
        "missingValues(customer)",
    ),
    "invalidValues list": (
        "- {metric: invalidValues, field: customer, validValues: [c1, c2], mustBe: 0}",
        orders_csv(1, 6),
        "invalidValues(customer)",
    ),
    "invalidValues pattern": (
        "- {metric: invalidValues, field: customer, pattern: 'c[12]', mustBeLessOrEqualTo: 1}",
        orders_csv(1, 6),
        "invalidValues(customer)",
    ),
    "duplicateValues": (
        "- {metric: duplicateValues, field: customer, mustBe: 0}",
        orders_csv(1, 9),
        "duplicateValues(customer)",
    ),
    "rowCount": ("- {metric: rowCount, mustBeGreaterThan: 100}", orders_csv(1, 3), "rowCount"),
    "sql between": (
        "- {sql: 'select max(amount) from {object}', mustBeBetween: [0, 5]}",
        orders_csv(1, 3, amount=9),
        "sql",
    ),
}


def product(make: ProductFactory, check: str, csv: str, field_extra: str = "") -> Path:
    spec = ORDERS_SPEC.replace("      - range: {field: amount, min: 0}", "      " + check)
    if field_extra:
        spec = spec.replace("{name: customer, logicalType: string, classification: personal}", field_extra)
    return make("orders", spec, {"transform.sql": ORDERS_SQL, "data/a.csv": csv})


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_broken_contract_check_fails_the_run_by_name(
    workspace: Workspace, make_product: ProductFactory, case: str
) -> None:
    check, csv, label = FAILING[case]
    workspace.deploy([product(make_product, check, csv)])
    with pytest.raises(QualityGateError, match="nothing was published"):
        workspace.run("sales/orders")
    (run,) = workspace.runtime.state.runs("sales/orders")
    failing = [c["check"] for c in run.details["checks"] if not c["passed"]]
    assert failing == [label]
    assert workspace.reader("dp://sales/orders/orders").publications() == []


def test_contract_checks_that_hold_let_the_run_publish(workspace: Workspace, make_product: ProductFactory) -> None:
    checks = "\n      ".join(
        [
            "- {metric: nullValues, field: amount, mustBe: 0}",
            "- {metric: invalidValues, field: customer, pattern: 'c[0-9]', mustBe: 0}",
            "- {metric: duplicateValues, fields: [order_id, customer], mustBe: 0}",
            "- {metric: rowCount, mustBeGreaterOrEqualTo: 6}",
            "- {sql: 'select count(*) from orders where amount < 0', mustBe: 0}",
        ]
    )
    workspace.deploy([product(make_product, checks, orders_csv(1, 6))])
    result = workspace.run("sales/orders")
    assert result.status == "succeeded"
    assert all(c.passed for c in result.checks)
    details = {c.check: c.detail for c in result.checks}
    assert details["rowCount"] == "6 row(s); must be >= 6.0"


def test_unique_fields_and_logical_type_options_are_enforced(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    field = (
        "{name: customer, logicalType: string, classification: personal, unique: true, "
        "logicalTypeOptions: {maxLength: 1, pattern: 'c[0-9]'}}"
    )
    workspace.deploy([product(make_product, "- range: {field: amount, min: 0}", orders_csv(1, 9), field)])
    with pytest.raises(QualityGateError) as caught:
        workspace.run("sales/orders")
    message = str(caught.value)
    assert "unique(customer)" in message
    assert "logicalTypeOptions.maxLength(customer)" in message
    assert "logicalTypeOptions.pattern(customer)" not in message


def test_bounds_on_dates_compare_as_dates(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = ORDERS_SPEC.replace(
        "{name: ordered_at, logicalType: timestamp, required: true}",
        "{name: ordered_at, logicalType: timestamp, required: true, "
        "logicalTypeOptions: {exclusiveMaximum: '2026-01-01 03:00:00+00:00'}}",
    )
    workspace.deploy([make_product("orders", spec, {"transform.sql": ORDERS_SQL, "data/a.csv": orders_csv(1, 5)})])
    with pytest.raises(QualityGateError, match=r"logicalTypeOptions.exclusiveMaximum\(ordered_at\)"):
        workspace.run("sales/orders")


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"metric": "nullValues", "field": "x"}, "needs an operator"),
        ({"metric": "nullValues", "mustBe": 0}, "needs the field"),
        ({"metric": "invalidValues", "field": "x", "mustBe": 0}, "validValues or a pattern"),
        ({"notNull": ["x"], "mustBe": 0}, "compares the value of a metric or sql check"),
        ({"sql": "select 1", "mustBe": 1, "mustBeLessThan": 3}, "one operator"),
        ({"metric": "rowCount", "mustBeBetween": [5, 1]}, "smaller number first"),
    ],
)
def test_malformed_contract_checks_say_what_to_fix(check: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QualityCheck.model_validate(check)


def test_options_that_do_not_fit_the_type_are_spec_errors(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = ORDERS_SPEC.replace(
        "{name: amount, logicalType: number}", "{name: amount, logicalType: number, logicalTypeOptions: {maxLength: 3}}"
    )
    folder = make_product("orders", spec, {"transform.sql": ORDERS_SQL})
    with pytest.raises(SpecError, match=r"dataproduct.yaml:\d+:\d+: maxLength only apply to string fields"):
        workspace.validate([folder])
