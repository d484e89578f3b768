"""PySpark transformations (``def build(spark, inputs)`` on engine: spark): same answers as DuckDB, confined.

The build runs in the Python sandbox with a Spark Connect session whose only channel is hexmesh's
door (infra/compute/sparkdoor.py); hexmesh starts the Connect server on the session's standalone
cluster for each run (docs/adr/0038-pyspark-builds.md).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.errors import SpecError, TransformError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.product.test_spark import TOTALS_SPEC, TOTALS_SQL, rows
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "pyspark_totals"


def orders(make_product: ProductFactory, name: str) -> Path:
    files = {
        "transform.sql": ORDERS_SQL,
        "data/day1.csv": orders_csv(1, 40),
        "data/day2.csv": orders_csv(41, 30, "2026-01-02"),
    }
    return make_product(name, ORDERS_SPEC, files)


def pyspark_totals(tmp_path: Path, build: str | None = None) -> Path:
    """The example PySpark product (tests/fixtures/pyspark_totals), its build replaced by ``build`` if given."""
    folder = tmp_path / "pyspark-totals"
    shutil.copytree(EXAMPLE, folder)
    if build is not None:
        (folder / "build.py").write_text(build, encoding="utf-8")
    return folder


@pytest.fixture
def cluster_workspace(tmp_path: Path, spark_master: str) -> Iterator[Workspace]:
    # A classic session of the other Spark tests holds the workers' cores; the run's Connect server needs them.
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    settings = Settings.defaults(tmp_path / "spark-ws").merged({"spark_master": spark_master})
    with Workspace(settings) as workspace:
        yield workspace


@pytest.mark.spark
@pytest.mark.slow
def test_a_pyspark_build_publishes_what_its_duckdb_sql_twin_publishes(
    tmp_path: Path, workspace: Workspace, cluster_workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy(
        [
            orders(make_product, "duckdb/orders"),
            make_product("duckdb/totals", TOTALS_SPEC, {"transform.sql": TOTALS_SQL}),
        ]
    )
    workspace.run_all()
    cluster_workspace.deploy([orders(make_product, "spark/orders"), pyspark_totals(tmp_path)])
    cluster_workspace.run_all()
    expected = rows(workspace, "dp://sales/totals/daily")
    assert expected
    assert rows(cluster_workspace, "dp://sales/totals/daily") == expected
    (run,) = cluster_workspace.runtime.state.runs("sales/totals")
    assert run.details["engine"] == "spark"


# Each line is one attempt to reach past the build's inputs; the sandbox or the door stops it.
ESCAPES = {
    "open('/etc/passwd').read()": r"Permission denied: '/etc/passwd'",
    "__import__('socket').create_connection(('127.0.0.1', 5432), 2)": r"\[Errno 13\] Permission denied( \|\||$)",
    "spark.read.text('/etc/passwd').collect()": r"refused the plan: reading '/etc/passwd' is not allowed",
    "spark.sql('select * from text.`/etc/passwd`').collect()": r"refused the plan: sql_command .*DataFrame API",
    "inputs['orders'].selectExpr(\"java_method('java.lang.System', 'getenv', 'HOME')\").collect()": (
        r"refused the plan: expression .*java_method"
    ),
    "inputs['orders'].select(fn.udf(lambda v: v)('customer')).collect()": r"refused the plan: .*UDFs run on",
    "inputs['orders'].write.parquet('/tmp/hexmesh-leak')": r"refused the plan: writing '/tmp/hexmesh-leak'",
}


@pytest.mark.spark
@pytest.mark.slow
def test_a_build_reaches_nothing_but_its_inputs_and_publishes_nothing(
    tmp_path: Path, cluster_workspace: Workspace, make_product: ProductFactory
) -> None:
    # One run tries every escape (a Connect server per run is slow to start); the build fails with all they said.
    attempts = "".join(
        f"    try:\n        {line}\n        said.append('ESCAPED: ' + {line!r})\n"
        f"    except Exception as exc:\n        said.append(str(exc).replace('hexmesh refused', 'door refused'))\n"
        for line in ESCAPES
    )
    build = (
        "from pyspark.sql import functions as fn\n\n\ndef build(spark, inputs):\n    said = []\n"
        f"{attempts}    raise RuntimeError(' || '.join(said))\n"
    )
    cluster_workspace.deploy([orders(make_product, "orders"), pyspark_totals(tmp_path, build)])
    cluster_workspace.run("sales/orders")
    with pytest.raises(TransformError) as failed:
        cluster_workspace.run("sales/totals")
    said = str(failed.value)
    assert "ESCAPED" not in said
    for message in ESCAPES.values():
        assert re.search(message, said), (message, said)
    assert cluster_workspace.reader("dp://sales/totals/daily").publications() == []
    assert not Path("/tmp/hexmesh-leak").exists()


@pytest.mark.spark
@pytest.mark.slow
def test_a_failing_build_publishes_nothing_and_says_why(
    tmp_path: Path, cluster_workspace: Workspace, make_product: ProductFactory
) -> None:
    failing = "def build(spark, inputs):\n    return inputs['orders'].select('no_such_column')\n"
    cluster_workspace.deploy([orders(make_product, "orders"), pyspark_totals(tmp_path, failing)])
    cluster_workspace.run("sales/orders")
    with pytest.raises(TransformError, match=r"build\.py.*(no_such_column|UNRESOLVED_COLUMN)"):
        cluster_workspace.run("sales/totals")
    assert cluster_workspace.reader("dp://sales/totals/daily").publications() == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            "def transform(spark, inputs):\n    return None\n",
            r"build\.py defines no function 'build'.*def build\(spark, inputs\)",
        ),
        ("def build(inputs):\n    return inputs\n", r"build\.py:1: build\(inputs\) must take \(spark, inputs\)"),
        ("def build(spark, inputs, extra):\n    return inputs\n", r"build\(spark, inputs, extra\) must take"),
        ("def build(spark, inputs:\n", r"build\.py does not parse"),
    ],
)
def test_a_build_without_build_spark_inputs_is_a_validate_error(
    tmp_path: Path, workspace: Workspace, build: str, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        workspace.validate([pyspark_totals(tmp_path, build)])


def test_engine_spark_without_pyspark_is_a_validate_error(
    tmp_path: Path, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(SpecError, match=r"engine: spark needs pyspark.*pip install 'hexmesh\[spark\]'"):
        workspace.validate([pyspark_totals(tmp_path)])


def test_the_example_build_validates(tmp_path: Path, workspace: Workspace, make_product: ProductFactory) -> None:
    loaded = workspace.validate([orders(make_product, "orders"), pyspark_totals(tmp_path)])
    assert {item.spec.key for item in loaded} == {"sales/orders", "sales/totals"}


def test_restricted_fields_in_clear_never_go_to_a_pyspark_build(tmp_path: Path) -> None:
    """ADR 0029's rule holds for PySpark (ADR 0038): the run fails before anything reaches Spark."""
    from tests.product.policy.test_upstream import EMAILS, PROFILES, _product

    people = "user_id,email,region\n" + "".join(f"u{n},{EMAILS[n - 1]},EU\n" for n in range(1, 4))
    profiles = _product(tmp_path / "profiles", PROFILES, "select * from raw\n", people)
    mailing = PROFILES.replace("name: profiles\nversion", "name: mailing\nversion", 1).replace(
        "  - {name: raw, source: {format: csv, path: data}}\ntransformation: {sql: transform.sql}",
        "  - {name: profiles, from: dp://users/profiles/profiles}\n"
        "transformation: {python: build.py:build, engine: spark}",
    )
    # A Python build has no column lineage: each field says why it holds no restricted value.
    for field in ("tags: [subject]}", "name: region, logicalType: string, classification: internal}"):
        mailing = mailing.replace(field, field[:-1] + ", classificationReason: copied as is and not from email}")
    consumer = _product(tmp_path / "mailing", mailing, "", "")
    (consumer / "build.py").write_text("def build(spark, inputs):\n    return inputs['profiles']\n", encoding="utf-8")
    settings = Settings.defaults(tmp_path / "ws").merged({"spark_master": "spark://127.0.0.1:9"})
    with Workspace(settings) as workspace:
        workspace.deploy([profiles, consumer])
        workspace.run("users/profiles")
        with pytest.raises(TransformError, match=r"reads restricted fields in clear \(profiles: email\)"):
            workspace.run("users/mailing")
        assert workspace.reader("dp://users/mailing/profiles").publications() == []
