"""The quality gate: a failing check publishes nothing, keeps the candidate, and says why."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hexmesh.errors import QualityGateError
from hexmesh.lifecycle import Workspace
from hexmesh.product.authority import Actor
from tests.stacks import Stack
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

CHECKS = {
    "notNull": ("- notNull: [customer]", "order_id,customer,ordered_at,amount\n1,,2026-01-01 01:00:00,1\n"),
    "unique": ("- unique: [customer]", orders_csv(1, 9)),
    "acceptedValues": ("- acceptedValues: {field: customer, values: [c1, c2]}", orders_csv(1, 3)),
    "range": ("- range: {field: amount, max: 5}", orders_csv(1, 3, amount=6)),
    "rowCount": ("- rowCount: {min: 10}", orders_csv(1, 3)),
    "freshness": ("- freshness: {maxAge: 1d}", orders_csv(1, 3)),
    "sql": ("- sql: select count(*) = 0 from orders where amount > 5", orders_csv(1, 3, amount=9)),
    "primaryKey": ("- rowCount: {min: 1}", orders_csv(1, 3) + "1,c1,2026-01-01 05:00:00,3\n"),
}


def product(make: ProductFactory, check: str, csv: str) -> Path:
    spec = ORDERS_SPEC.replace("      - range: {field: amount, min: 0}", "      " + check)
    return make("orders", spec, {"transform.sql": ORDERS_SQL, "data/a.csv": csv})


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_each_check_kind_blocks_publication(workspace: Workspace, make_product: ProductFactory, kind: str) -> None:
    check, csv = CHECKS[kind]
    workspace.deploy([product(make_product, check, csv)])
    with pytest.raises(QualityGateError, match="nothing was published") as caught:
        workspace.run("sales/orders")
    assert workspace.reader("dp://sales/orders/orders").publications() == []
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "failed"
    failing = [c for c in run.details["checks"] if not c["passed"]]
    assert [c["kind"] for c in failing] == ["unique" if kind == "primaryKey" else kind]
    quarantine = Path(run.details["quarantine"]) / "orders.parquet"
    assert pq.read_table(quarantine).num_rows >= 1
    assert str(quarantine.parent) in str(caught.value)


def test_failing_checks_report_example_rows(workspace: Workspace, make_product: ProductFactory) -> None:
    workspace.deploy([product(make_product, "- range: {field: amount, max: 5}", orders_csv(1, 3, amount=6))])
    with pytest.raises(QualityGateError) as caught:
        workspace.run("sales/orders")
    assert "3 row(s) outside [None, 5.0]" in str(caught.value)
    assert "'order_id': 1" in str(caught.value)


def test_the_last_good_snapshot_keeps_serving(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = product(make_product, "- range: {field: amount, max: 50}", orders_csv(1, 3, amount=6))
    workspace.deploy([folder])
    workspace.run("sales/orders")
    (folder / "data" / "b.csv").write_text(orders_csv(10, 2, amount=99))
    with pytest.raises(QualityGateError):
        workspace.run("sales/orders")
    assert workspace.read("dp://sales/orders/orders").num_rows == 3
    statuses = [r.status for r in workspace.runtime.state.runs("sales/orders")]
    assert statuses == ["failed", "succeeded"]


def test_passing_checks_are_recorded(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    result = workspace.run("sales/orders")
    assert {c.check: c.passed for c in result.checks} == {"primaryKey": True, "range(amount)": True}


SEALED_SPEC = """
domain: crm
name: contacts
version: 1.0.0
owner: crm@example.com
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation: {sql: transform.sql}
outputPorts:
  - name: contacts
    primaryKey: [contact_id]
    properties:
      - {name: contact_id, logicalType: string, required: true, classification: personal, tags: [subject]}
      - {name: email, logicalType: string, classification: restricted}
      - {name: score, logicalType: integer, classification: internal}
    quality:
      - range: {field: score, max: 5}
      - sql: select count(*) = 0 from contacts where cast(email as integer) > 0
policies:
  privacy:
    - {field: contact_id, pseudonymize: {scope: product}}
    - {field: email, redact: true}
"""


def test_failed_checks_keep_no_plaintext_of_sealed_fields(workspace: Workspace, make_product: ProductFactory) -> None:
    # The finding: a failed check stored a restricted e-mail in plaintext in the run record.
    csv = "contact_id,email,score\nc1,alice.secret@mail.test,9\nc2,bob.secret@mail.test,1\n"
    folder = make_product("contacts", SEALED_SPEC, {"transform.sql": "select * from raw", "data/a.csv": csv})
    workspace.deploy([folder])
    with pytest.raises(QualityGateError) as caught:
        workspace.run("crm/contacts")
    (run,) = workspace.runtime.state.runs("crm/contacts")
    failing = [c for c in run.details["checks"] if not c["passed"]]
    assert {c["kind"] for c in failing} == {"range", "sql"}  # the cast names an e-mail in DuckDB's error
    kept = str(run.details) + str(caught.value)
    assert "secret@mail.test" not in kept and "alice.secret" not in kept
    (range_check,) = [c for c in failing if c["kind"] == "range"]
    assert range_check["examples"] == [{"contact_id": "c1", "email": "[sealed]", "score": 9}]
    # The quarantined candidate is sealed too: its e-mails are ciphertext under the subject's key.
    quarantined = pq.read_table(Path(run.details["quarantine"]) / "contacts.parquet")
    assert not any("secret@mail.test" in str(v) for v in quarantined.column("email").to_pylist())


@pytest.mark.parametrize(
    "query",
    [
        "select count(*) = 0 from read_csv('/etc/passwd')",
        "select count(*) = 0 from read_text('../../keys/master.key')",
    ],
)
def test_a_sql_check_cannot_read_files_outside_the_port(
    workspace: Workspace, make_product: ProductFactory, query: str
) -> None:
    key = workspace.settings.home / "keys" / "master.key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("never-shown-master-key", encoding="utf-8")
    workspace.deploy([product(make_product, f'- sql: "{query}"', orders_csv(1, 3))])
    with pytest.raises(QualityGateError) as caught:
        workspace.run("sales/orders")
    assert "never-shown-master-key" not in str(caught.value) and "root:" not in str(caught.value)
    (run,) = workspace.runtime.state.runs("sales/orders")
    (failing,) = [c for c in run.details["checks"] if not c["passed"]]
    assert "disabled" in str(failing).lower() or "permission" in str(failing).lower(), failing
    assert workspace.reader("dp://sales/orders/orders").publications() == []


def test_the_refused_candidate_is_kept_in_object_storage(
    stack: Stack, tmp_path: Path, make_product: ProductFactory
) -> None:
    """On each stack: a folder under the home, or the S3 bucket of the `storage` setting."""
    with Workspace(stack.settings(tmp_path / "ws")) as workspace:
        workspace.deploy([product(make_product, "- range: {field: amount, max: 5}", orders_csv(1, 3, amount=6))])
        with pytest.raises(QualityGateError) as caught:
            workspace.run("sales/orders")
        (run,) = workspace.runtime.state.runs("sales/orders")
        where = workspace.runtime.storage.locate(f"quarantine/{run.id}")
        assert run.details["quarantine"] in where and run.details["quarantine"] in str(caught.value)
        assert where.startswith("s3://storage/" if stack.s3 else "file://")
        kept = workspace.runtime.storage.get(f"quarantine/{run.id}/orders.parquet")
        assert pq.read_table(pa.BufferReader(kept)).column("amount").to_pylist() == [6.0, 6.0, 6.0]


def test_forget_removes_the_subject_s_example_rows_from_run_records(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    csv = "contact_id,email,score\nsubject-4711,alice.secret@mail.test,9\nsubject-0815,bob.secret@mail.test,8\n"
    folder = make_product("contacts", SEALED_SPEC, {"transform.sql": "select * from raw", "data/a.csv": csv})
    workspace.deploy([folder])
    with pytest.raises(QualityGateError):
        workspace.run("crm/contacts")
    (before,) = workspace.runtime.state.runs("crm/contacts")
    assert "subject-4711" in str(before.details) and "subject-4711" in (before.error or "")
    workspace.stewardship.forget("subject-4711", Actor("root:test"))
    (after,) = workspace.runtime.state.runs("crm/contacts")
    assert "subject-4711" not in str(after.details) and "subject-4711" not in (after.error or "")
    assert "subject-0815" in str(after.details)  # the other subject's example is kept
    (forgotten,) = [e for e in workspace.stewardship.audit() if e.action.endswith("forget")]
    assert "'run_records': 1" in str(forgotten.details)  # the audit says how many records were rewritten
