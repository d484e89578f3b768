"""Connect snippets, run as a user runs them: against ``hexmesh serve --auth`` with a real API token.

The snippets come from ``hexmesh connect --json`` (the UI's source too); each one is run as printed,
with ``$HEXMESH_TOKEN`` set, and must return the port's rows. The JDBC URL and the ODBC connection
string are given to pgjdbc (tests/product/sql/clients/JdbcQuery.java) and psqlODBC (isql) with the token.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.mesh import port_access, snippets
from tests.product.sql.test_clients import JDBC_JAR, PROBE
from tests.server.ui.nodes import ServedNode, served

ORDERS = "dp://sales/shop/orders"


def token(home: Path, principal: str) -> str:
    result = CliRunner().invoke(app, ["token", "create", principal, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return next(word for word in result.output.split() if word.startswith("hxm_"))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    root = tmp_path_factory.mktemp("snippets")
    init_product(root / "shop", domain="sales", name="shop", owner="me@example.com")
    with Workspace.open(root / "ws") as workspace:
        workspace.deploy([root / "shop"])
        workspace.run("sales/shop")
    with served(root / "ws", "--auth") as running:
        yield running


@pytest.fixture(scope="module")
def owner(node: ServedNode) -> str:
    return token(node.home, "me@example.com")


def connect(node: ServedNode, secret: str, *options: str) -> dict[str, str]:
    """``hexmesh connect --json`` for the orders port: snippet id → code."""
    result = CliRunner().invoke(app, ["connect", ORDERS, "--node", node.url, "--token", secret, "--json", *options])
    assert result.exit_code == 0, result.output
    (port,) = json.loads(result.output)
    assert port["port"] == ORDERS
    return {s["id"]: s["code"] for s in port["snippets"]}


def run(code: str, language: str, secret: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HEXMESH_TOKEN", "PGPASSWORD")}
    if secret is not None:
        env["HEXMESH_TOKEN"] = secret
    command = ["sh", "-c", code] if language == "shell" else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_sql_snippets_ask_for_tls_and_carry_the_token_as_password(node: ServedNode, owner: str) -> None:
    code = connect(node, owner)
    assert list(code) == ["sql", "psql", "psycopg", "python", "pandas", "spark", "curl", "jdbc", "odbc"]
    dsn = f"postgresql://127.0.0.1:{node.sql_port}/hexmesh?sslmode=require"
    assert code["psql"].startswith(f"PGPASSWORD=\"$HEXMESH_TOKEN\" psql '{dsn}'")
    assert f"psycopg.connect({dsn!r}, password=os.environ.get('HEXMESH_TOKEN'))" in code["psycopg"]
    assert code["jdbc"].startswith(f"jdbc:postgresql://127.0.0.1:{node.sql_port}/hexmesh?sslmode=require\n")
    assert "SSLMode=require;" in code["odbc"] and "Pwd=<your API token>" in code["odbc"]
    assert '--fail -L -H "Authorization: Bearer $HEXMESH_TOKEN"' in code["curl"]
    assert owner not in json.dumps(code)  # the token is read from the environment, never printed


@pytest.mark.parametrize(("snippet", "language"), [("psycopg", "python"), ("python", "python"), ("pandas", "python")])
def test_each_python_snippet_reads_the_rows(
    node: ServedNode, owner: str, tmp_path: Path, snippet: str, language: str
) -> None:
    done = run(connect(node, owner)[snippet], language, owner, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "3 rows"


def test_the_psql_snippet_reads_the_rows(node: ServedNode, owner: str, tmp_path: Path) -> None:
    done = run(connect(node, owner)["psql"], "shell", owner, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(3 rows)" in done.stdout


def test_the_curl_snippet_downloads_the_rows_and_fails_loudly_without_a_token(
    node: ServedNode, owner: str, tmp_path: Path
) -> None:
    download = connect(node, owner)["curl"].split("\n\n")[0]  # not the events stream: it never ends
    done = run(download, "shell", owner, tmp_path)
    assert done.returncode == 0, done.stderr
    assert pq.read_table(tmp_path / "orders.parquet").num_rows == 3
    (tmp_path / "orders.parquet").unlink()
    refused = run(download, "shell", None, tmp_path)
    assert refused.returncode == 22  # curl --fail: the HTTP error is an error, not a file
    assert not (tmp_path / "orders.parquet").exists()


def test_a_purpose_is_stated_in_every_snippet(node: ServedNode, owner: str, tmp_path: Path) -> None:
    code = connect(node, owner, "--purpose", "it's reporting")
    assert code["sql"].startswith("set hexmesh.purpose = 'it''s reporting';\n")
    assert "purpose=it%27s%20reporting" in code["curl"] and "purpose=it%27s%20reporting" in code["pandas"]
    assert "port.read(purpose=\"it's reporting\", to='pandas')" in code["python"]
    done = run(code["psql"], "shell", owner, tmp_path)  # the owner may state any purpose
    assert done.returncode == 0, done.stderr
    assert "(3 rows)" in done.stdout


def test_connect_names_the_ports_when_one_is_missing(node: ServedNode, owner: str) -> None:
    result = CliRunner().invoke(app, ["connect", "dp://sales/shop/nope", "--node", node.url, "--token", owner])
    assert result.exit_code != 0
    assert "sales/shop has no output port 'nope'; its ports are orders" in result.output


def test_a_document_without_endpoints_gives_no_snippets() -> None:
    assert snippets(port_access({"dct:title": "o"})) == []
    only_files = port_access(
        {
            "@id": "http://n:1/products/d/p/ports/o",
            "dct:identifier": "dp://d/p/o",
            "dct:title": "o",
            "dcat:distribution": [{"dct:title": "files (parquet)", "dcat:downloadURL": "http://n:1/x?format=parquet"}],
        }
    )
    assert [s.id for s in snippets(only_files)] == ["python", "pandas", "spark", "curl"]
    assert "hexmesh.connect('http://n:1').port('dp://d/p/o')" in snippets(only_files)[0].code


@pytest.mark.slow
def test_the_spark_snippet_reads_the_rows(node: ServedNode, owner: str, tmp_path: Path) -> None:
    done = run(connect(node, owner)["spark"], "python", owner, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "3 rows"


@pytest.mark.parametrize("purpose", ["it's reporting", 'a $HOME "quoted" `x` \\ purpose', "plain"])
def test_the_psql_snippet_passes_the_purpose_to_sql_unchanged_by_the_shell(purpose: str) -> None:
    access = port_access(
        {
            "dct:title": "o",
            "dcat:distribution": [
                {
                    "dct:title": "SQL",
                    "dcat:accessURL": "postgresql://h:1/hexmesh?sslmode=require",
                    "hexmesh:table": "d.p__o",
                }
            ],
        }
    )
    psql = next(s.code for s in snippets(access, purpose=purpose) if s.id == "psql")
    words = shlex.split(psql.replace("\\\n", " "))
    literal = "'" + purpose.replace("'", "''") + "'"
    assert words[words.index("-c") + 1] == f"set hexmesh.purpose = {literal}"


def test_a_port_the_caller_may_only_ask_for_gets_no_snippet_but_the_way_to_ask(node: ServedNode) -> None:
    stranger = token(node.home, "eve@example.com")
    stub = {"@id": f"{node.url}/products/sales/shop/ports/orders", "dct:identifier": ORDERS, "dct:title": "orders"}
    assert snippets(port_access(stub | {"hexmesh:access": "request"})) == []
    shown = CliRunner().invoke(app, ["connect", ORDERS, "--node", node.url, "--token", stranger])
    assert shown.exit_code == 0, shown.output
    assert f"you may not read this port yet: hexmesh access request {ORDERS} --purpose" in shown.output
    assert "psql" not in shown.output


QUERY = "select order_id from sales.shop__orders order by order_id"


@pytest.mark.skipif(shutil.which("java") is None or not JDBC_JAR.exists(), reason="needs java and pgjdbc")
def test_the_jdbc_snippet_connects_with_the_token_and_reads_the_rows(node: ServedNode, owner: str) -> None:
    url, user, password = connect(node, owner)["jdbc"].splitlines()
    assert user.startswith("user: any name") and password.startswith("password: your API token")
    query = PROBE.with_name("JdbcQuery.java")
    done = subprocess.run(
        ["java", "-cp", str(JDBC_JAR), str(query), url, "anyone", owner, QUERY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "rows 3"
    refused = subprocess.run(
        ["java", "-cp", str(JDBC_JAR), str(query), url, "anyone", "hxm_not-a-token", QUERY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0 and "rows" not in refused.stdout


@pytest.mark.skipif(shutil.which("isql") is None, reason="needs unixodbc and odbc-postgresql")
def test_the_odbc_snippet_connects_with_the_token_and_reads_the_rows(node: ServedNode, owner: str) -> None:
    dsn = connect(node, owner)["odbc"]
    assert dsn.endswith(";Pwd=<your API token>")
    done = subprocess.run(
        ["isql", "-v", "-k", dsn.replace("<your API token>", owner), "-b", "-d,"],
        input="select count(*) as orders from sales.shop__orders\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.strip()][-1] == "3", done.stdout
