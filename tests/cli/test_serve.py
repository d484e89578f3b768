"""``hexmesh serve`` as a user runs it: one process serving HTTP and SQL for the workspace."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.lifecycle import Workspace, init_product


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, *options: str, spec: Callable[[str], str] | None = None) -> Iterator[tuple[int, int]]:
    """``hexmesh serve`` over the scaffolded sales/shop (its spec text rewritten by ``spec``), run once."""
    home = tmp_path / "ws"
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    if spec is not None:
        descriptor = tmp_path / "shop" / "dataproduct.yaml"
        descriptor.write_text(spec(descriptor.read_text()))
    with Workspace.open(home) as workspace:
        workspace.deploy([tmp_path / "shop"])
        workspace.run("sales/shop")
    http_port, sql_port = free_port(), free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hexmesh.cli.main",
            "serve",
            "--http-port",
            str(http_port),
            "--sql-port",
            str(sql_port),
            "--home",
            str(home),
            *options,
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield http_port, sql_port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def client(tmp_path: Path, *options: str, spec: Callable[[str], str] | None = None) -> Iterator[httpx.Client]:
    """An HTTP client of :func:`serving`'s node."""
    with (
        serving(tmp_path, *options, spec=spec) as (http_port, _),
        httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=30) as http,
    ):
        yield http


def with_policies(policies: str) -> Callable[[str], str]:
    """A ``spec`` rewrite for :func:`serving`: the scaffold's ``policies`` replaced by ``policies``."""
    return lambda text: text.split("\npolicies:")[0] + policies


def token(home: Path, principal: str) -> str:
    result = CliRunner().invoke(app, ["token", "create", principal, "--home", str(home), "--quiet"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("hxm_") and len(secret.split()) == 1, result.output  # only the secret: $(...) works
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_with_auth_the_sql_port_wants_a_token_over_tls(tmp_path: Path) -> None:
    with serving(tmp_path, "--auth") as (_, sql_port):
        dsn = f"postgresql://me@127.0.0.1:{sql_port}/hexmesh"
        with pytest.raises(psycopg.OperationalError, match="TLS|SSL|ssl"):
            psycopg.connect(dsn + "?sslmode=disable", password="whatever").close()
        with pytest.raises(psycopg.OperationalError, match="not valid"):
            psycopg.connect(dsn + "?sslmode=require", password="hxm_forged_token").close()
        owner = token(tmp_path / "ws", "me@example.com")
        stranger = token(tmp_path / "ws", "someone@example.com")
        with psycopg.connect(dsn + "?sslmode=require", password=owner) as conn:
            assert conn.execute("select count(*) from sales.shop__orders").fetchone() == (3,)
        with (
            psycopg.connect(dsn + "?sslmode=require", password=stranger) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="access request"),
        ):
            conn.execute("select * from sales.shop__orders").fetchall()


def test_by_default_every_port_wants_a_token(tmp_path: Path) -> None:
    with serving(tmp_path) as (http_port, sql_port):
        base = f"http://127.0.0.1:{http_port}"
        catalog = httpx.get(base + "/", timeout=10)
        assert catalog.status_code == 200 and catalog.json()["dcat:service"] == []  # nothing is public
        for path in (
            "/products/sales/shop",
            "/products/sales/shop/observability",
            "/products/sales/shop/ports/orders/data?format=csv",
        ):
            response = httpx.get(base + path, timeout=10)
            assert response.status_code == 401, (path, response.text)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "order" not in response.json()["detail"].replace("orders", "")  # no data in the refusal
        with pytest.raises(psycopg.OperationalError, match="password|token"):
            psycopg.connect(f"postgresql://reader@127.0.0.1:{sql_port}/hexmesh?sslmode=require").close()
    log = (tmp_path / "serve.log").read_text()
    assert "policies enforced" in log and "no authentication" not in log and "--no-auth" not in log


def test_one_node_serves_discovery_and_sql(tmp_path: Path) -> None:
    with serving(tmp_path) as (http_port, sql_port):
        owner = token(tmp_path / "ws", "me@example.com")
        base = f"http://127.0.0.1:{http_port}"
        document = httpx.get(f"{base}/products/sales/shop", headers=bearer(owner), timeout=10).json()
        assert document["dct:identifier"] == "dp://sales/shop"
        assert f":{sql_port}/" in str(document)  # the SQL distribution names the node's SQL port
        assert [
            s["dct:identifier"] for s in httpx.get(base + "/", headers=bearer(owner), timeout=10).json()["dcat:service"]
        ] == ["dp://sales/shop"]
        dsn = f"postgresql://me@127.0.0.1:{sql_port}/hexmesh?sslmode=require"
        with psycopg.connect(dsn, password=owner) as conn:
            rows = conn.execute("select order_id, status from sales.shop__orders order by order_id").fetchall()
    assert rows == [(1, "placed"), (2, "shipped"), (3, "placed")]


def test_the_python_client_takes_its_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hexmesh

    with serving(tmp_path) as (http_port, _):
        with (
            hexmesh.connect(f"http://127.0.0.1:{http_port}") as anonymous,
            pytest.raises(hexmesh.client.RemoteError, match="not public"),
        ):
            anonymous.product("sales/shop").describe()
        monkeypatch.setenv("HEXMESH_TOKEN", token(tmp_path / "ws", "me@example.com"))
        with hexmesh.connect(f"http://127.0.0.1:{http_port}") as node:
            table = node.sql("select status, count(*) as orders from sales.shop__orders group by status order by 1")
            assert table.to_pylist() == [{"status": "placed", "orders": 2}, {"status": "shipped", "orders": 1}]
            with pytest.raises(hexmesh.client.RemoteError, match="SQLSTATE 25006"):
                node.sql("delete from sales.shop__orders")


def test_a_deprecated_product_says_so_on_http_and_sql(tmp_path: Path) -> None:
    from datetime import date

    with serving(tmp_path) as (http_port, sql_port):
        owner = token(tmp_path / "ws", "me@example.com")
        with Workspace.open(tmp_path / "ws") as workspace:
            workspace.deprecate("sales/shop", sunset=date(2027, 3, 1), successor="dp://sales/shop-v2")
        response = httpx.get(f"http://127.0.0.1:{http_port}/products/sales/shop", headers=bearer(owner), timeout=10)
        assert response.headers["Sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
        assert response.headers["Deprecation"].startswith("@")
        successor = f"http://127.0.0.1:{http_port}/products/sales/shop-v2"
        assert response.headers["Link"] == f'<{successor}>; rel="successor-version"'
        notices: list[str] = []
        dsn = f"postgresql://me@127.0.0.1:{sql_port}/hexmesh?sslmode=require"
        with psycopg.connect(dsn, password=owner) as conn:
            conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
            conn.execute("select count(*) from sales.shop__orders").fetchone()
        assert notices == [
            "dp://sales/shop@0 is deprecated and stops serving on 2027-03-01; move to dp://sales/shop-v2"
        ]


def test_without_auth_a_synthetic_table_is_refused_not_faked(tmp_path: Path) -> None:
    with (
        serving(tmp_path, "--no-auth") as (_, sql_port),
        psycopg.connect(f"postgresql://reader@127.0.0.1:{sql_port}/hexmesh") as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="only when it enforces policies"),
    ):
        conn.execute("select * from sales.shop__orders_synthetic").fetchall()


def test_a_run_on_the_node_reads_sources_under_the_home_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's sources read ${HEXMESH_HOME}/landing. `hexmesh serve --home ...` (or the default
    # ./.hexmesh) is that home for the node's runs, as for every other command: the owner's
    # "Run now" and the scheduler once failed with "${HEXMESH_HOME} ... is not set".
    from tests.server.ui.nodes import served

    home = tmp_path / "ws"
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    descriptor = tmp_path / "shop" / "dataproduct.yaml"
    descriptor.write_text(descriptor.read_text().replace("path: data}", 'path: "${HEXMESH_HOME}/landing"}'))
    (tmp_path / "shop" / "data").rename(tmp_path / "landing")
    monkeypatch.setenv("HEXMESH_HOME", str(home))
    with Workspace.open(home) as workspace:
        workspace.deploy([tmp_path / "shop"])
    (tmp_path / "landing").rename(home / "landing")
    monkeypatch.delenv("HEXMESH_HOME")
    with served(home, "--auth") as node:
        owner = bearer(token(home, "me@example.com"))
        ran = httpx.post(node.url + "/products/sales/shop/control/runs", headers=owner, timeout=120)
        assert ran.status_code == 200, ran.text
        assert ran.json()["rows"] == {"orders": 3}, ran.json()
