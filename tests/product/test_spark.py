"""The Spark engine: the same answers as DuckDB on a real standalone cluster, and clear failures."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest

from hexmesh.errors import SpecError, TransformError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.sparkcluster import connect_server
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

TOTALS_SPEC = """
domain: sales
name: totals
version: 1.0.0
owner: sales@example.com
description: Orders per customer and day.
inputPorts:
  - name: orders
    from: dp://sales/orders/orders
    window: all
transformation:
  sql: transform.sql
outputPorts:
  - name: daily
    mode: replace
    properties:
      - {name: customer, logicalType: string, classificationReason: synthetic customer codes c0..c6}
      - {name: day, logicalType: date}
      - {name: orders, logicalType: integer}
      - {name: customers, logicalType: integer}
      - {name: amount, logicalType: number}
      - {name: rank, logicalType: integer, classificationReason: "a position; no customer data"}
      - {name: per_minute, logicalType: number}
"""
TOTALS_SQL = """
with daily as (
    select customer, cast(timezone('UTC', ordered_at) as date) as day, count(*) as orders,
        count(distinct customer) as customers, round(sum(amount) / 3.0, 2) as amount
    from orders
    where amount >= 0
    group by all
)
select *, row_number() over (partition by day order by orders desc, customer) as rank,
    round(orders / 60.0, 3) as per_minute
from daily
"""


def on_spark(spec: str) -> str:
    return spec.replace("  sql: transform.sql", "  sql: transform.sql\n  engine: spark", 1)


def mesh(make_product: ProductFactory, engine: str) -> list[Path]:
    """An orders product read from CSV, and a downstream aggregate over its published snapshot."""
    spec = on_spark if engine == "spark" else (lambda s: s)
    orders = make_product(
        f"{engine}/orders",
        spec(ORDERS_SPEC),
        {
            "transform.sql": ORDERS_SQL,
            "data/day1.csv": orders_csv(1, 40),
            "data/day2.csv": orders_csv(41, 30, "2026-01-02"),
        },
    )
    totals = make_product(f"{engine}/totals", spec(TOTALS_SPEC), {"transform.sql": TOTALS_SQL})
    return [orders, totals]


@pytest.fixture
def spark_workspace(tmp_path: Path, spark_master: str) -> Iterator[Workspace]:
    settings = Settings.defaults(tmp_path / "spark-ws").merged({"spark_master": spark_master})
    with Workspace(settings) as workspace:
        yield workspace


def rows(workspace: Workspace, address: str) -> list[dict[str, object]]:
    table: pa.Table = workspace.read(address)
    return sorted(table.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


@pytest.mark.spark
@pytest.mark.slow
def test_spark_publishes_what_duckdb_publishes(
    workspace: Workspace, spark_workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy(mesh(make_product, "duckdb"))
    spark_workspace.deploy(mesh(make_product, "spark"))
    workspace.run_all()
    spark_workspace.run_all()
    for address in ("dp://sales/orders/orders", "dp://sales/totals/daily"):
        expected = rows(workspace, address)
        assert expected, address
        assert rows(spark_workspace, address) == expected, address
    (run,) = spark_workspace.runtime.state.runs("sales/totals")
    assert run.details["engine"] == "spark"


# The Connect side runs in a process of its own: pyspark's Connect client does not import in a
# process where a classic session (the other Spark tests') has started a JVM.
_CONNECTED = """
import json, sys
from pathlib import Path
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
home, url, folders, addresses = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")
with Workspace(Settings.defaults(Path(home)).merged({"spark_master": url})) as workspace:
    workspace.deploy([Path(f) for f in folders])
    workspace.run_all()
    (run,) = workspace.runtime.state.runs("sales/totals")
    rows = {a: [[str(v) for v in r.values()] for r in workspace.read(a).to_pylist()] for a in addresses}
    print(json.dumps({"engine": run.details.get("engine"), "error": run.error, "rows": rows}))
"""


@pytest.mark.spark
@pytest.mark.slow
def test_a_spark_connect_server_publishes_what_duckdb_publishes(
    tmp_path: Path, workspace: Workspace, make_product: ProductFactory
) -> None:
    # The Connect server from the pyspark wheel; hexmesh is only its gRPC client (no JVM of its own).
    addresses = ["dp://sales/orders/orders", "dp://sales/totals/daily"]
    workspace.deploy(mesh(make_product, "duckdb"))
    workspace.run_all()
    expected = {a: sorted([str(v) for v in r.values()] for r in workspace.read(a).to_pylist()) for a in addresses}
    with connect_server(tmp_path / "connect") as url:
        folders = ",".join(str(f) for f in mesh(make_product, "spark"))
        done = subprocess.run(
            [sys.executable, "-c", _CONNECTED, str(tmp_path / "connect-ws"), url, folders, ",".join(addresses)],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert (answer["engine"], answer["error"]) == ("spark", None)
    for address in addresses:
        assert expected[address], address
        assert sorted(answer["rows"][address]) == expected[address], address


@pytest.mark.spark
@pytest.mark.slow
def test_a_query_spark_refuses_publishes_nothing_and_the_next_run_succeeds(
    spark_workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product(
        "orders", on_spark(ORDERS_SPEC), {"transform.sql": "select nope\nfrom raw", "data/a.csv": orders_csv(1, 3)}
    )
    spark_workspace.deploy([folder])
    with pytest.raises(TransformError, match=r"transform\.sql: Spark refused the query: .*nope"):
        spark_workspace.run("sales/orders")
    assert spark_workspace.reader("dp://sales/orders/orders").publications() == []
    (folder / "transform.sql").write_text(ORDERS_SQL)
    spec = folder / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    spark_workspace.deploy([folder])
    assert spark_workspace.run("sales/orders").rows == {"orders": 3}


@pytest.mark.parametrize(("scheme", "what"), [("spark", "Spark master"), ("sc", "Spark Connect server")])
def test_an_unreachable_master_is_named_and_nothing_is_published(
    tmp_path: Path, orders: Path, scheme: str, what: str
) -> None:
    pytest.importorskip("pyspark")
    with socket_closed() as port:
        url = f"{scheme}://127.0.0.1:{port}"
        settings = Settings.defaults(tmp_path / "ws").merged({"compute_engine": "spark", "spark_master": url})
        with Workspace(settings) as workspace:
            workspace.deploy([orders])
            with pytest.raises(TransformError, match=rf"{what} {url} is unreachable .* spark_master"):
                workspace.run("sales/orders")
            assert workspace.reader("dp://sales/orders/orders").publications() == []


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "select order_id from raw\nwhere hash_me(customer) > 0",
            r"transform\.sql:2: function HASH_ME\(\) does not carry over",
        ),
        (
            "select * from read_parquet('/etc/passwd.parquet')",
            r"transform\.sql:1: reads .*READ_PARQUET.* not an input port",
        ),
        ("select 1 as order_id;\nselect 2 as order_id", "exactly one query"),
    ],
)
def test_sql_that_does_not_carry_over_to_spark_is_a_validate_error(
    workspace: Workspace, make_product: ProductFactory, sql: str, message: str
) -> None:
    folder = make_product("orders", on_spark(ORDERS_SPEC), {"transform.sql": sql, "data/a.csv": orders_csv(1, 2)})
    with pytest.raises(SpecError, match=message):
        workspace.deploy([folder])


@contextmanager
def socket_closed() -> Iterator[int]:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    yield port


def test_restricted_fields_in_clear_never_go_to_spark(tmp_path: Path) -> None:
    from tests.product.policy.test_upstream import EMAILS, PROFILES, _product

    people = "user_id,email,region\n" + "".join(f"u{n},{EMAILS[n - 1]},EU\n" for n in range(1, 4))
    profiles = _product(tmp_path / "profiles", PROFILES, "select * from raw\n", people)
    mailing = PROFILES.replace("name: profiles\nversion", "name: mailing\nversion", 1).replace(
        "  - {name: raw, source: {format: csv, path: data}}\ntransformation: {sql: transform.sql}",
        "  - {name: profiles, from: dp://users/profiles/profiles}\ntransformation: {sql: transform.sql, engine: spark}",
    )
    consumer = _product(tmp_path / "mailing", mailing, "select user_id, email, region from profiles\n")
    settings = Settings.defaults(tmp_path / "ws").merged({"spark_master": "spark://127.0.0.1:9"})
    with Workspace(settings) as workspace:
        workspace.deploy([profiles, consumer])
        workspace.run("users/profiles")
        with pytest.raises(
            TransformError, match=r"reads restricted fields in clear \(profiles: email\).*engine: duckdb"
        ):
            workspace.run("users/mailing")
        assert workspace.reader("dp://users/mailing/profiles").publications() == []


def test_the_default_engine_leaves_python_and_restricted_fields_in_process(tmp_path: Path) -> None:
    """With compute_engine: spark, what may not go to Spark runs on duckdb instead, and says so."""
    from tests.product.policy.test_upstream import EMAILS, PROFILES, _product

    people = "user_id,email,region\n" + "".join(f"u{n},{EMAILS[n - 1]},EU\n" for n in range(1, 4))
    python = PROFILES.replace("transformation: {sql: transform.sql}", "transformation: {python: build.py:build}")
    profiles = _product(tmp_path / "profiles", python, "", people)
    (profiles / "build.py").write_text("def build(inputs):\n    return inputs['raw']\n", encoding="utf-8")
    mailing = PROFILES.replace("name: profiles\nversion", "name: mailing\nversion", 1).replace(
        "  - {name: raw, source: {format: csv, path: data}}", "  - {name: profiles, from: dp://users/profiles/profiles}"
    )
    consumer = _product(tmp_path / "mailing", mailing, "select user_id, email, region from profiles\n")
    unreachable = {"compute_engine": "spark", "spark_master": "spark://127.0.0.1:9"}
    with Workspace(Settings.defaults(tmp_path / "ws").merged(unreachable)) as workspace:
        workspace.deploy([profiles, consumer])
        said: list[str] = []
        for key in ("users/profiles", "users/mailing"):
            assert workspace.run(key, progress=said.append).status == "succeeded"
            (run,) = workspace.runtime.state.runs(key)
            assert run.details["engine"] == "duckdb"
        assert "restricted fields in clear: running on duckdb, not the default spark" in said
