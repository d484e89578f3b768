"""A node enforces tokens and policies by default, on every interface; ``--no-auth`` says loudly what it gives up."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from hexmesh.serving.peering import is_loopback
from tests.cli.test_serve import serving


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("node.example.com", False),
    ],
)
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_node_on_every_interface_wants_tokens_without_being_asked(tmp_path: Path) -> None:
    with serving(tmp_path, "--host", "0.0.0.0") as (http_port, sql_port):
        files = f"http://127.0.0.1:{http_port}/products/sales/shop/ports/orders/data?format=jsonl"
        response = httpx.get(files, timeout=30, headers={"Authorization": "Bearer hxm_forged_token"})
        assert response.status_code == 401, response.text
        dsn = f"postgresql://me@127.0.0.1:{sql_port}/hexmesh"
        with pytest.raises(psycopg.OperationalError, match="TLS|SSL|ssl"):
            psycopg.connect(dsn + "?sslmode=disable", password="whatever").close()
    assert "--no-auth" not in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize(
    ("host", "who"), [("127.0.0.1", "anyone on this machine"), ("0.0.0.0", "anyone who can reach 0.0.0.0")]
)
def test_no_auth_warns_that_everything_is_served_and_to_whom(tmp_path: Path, host: str, who: str) -> None:
    with serving(tmp_path, "--no-schedule", "--no-auth", "--host", host) as (http_port, _):
        rows = httpx.get(f"http://127.0.0.1:{http_port}/products/sales/shop/ports/orders/data?format=jsonl", timeout=30)
        assert rows.status_code == 200 and rows.text.count("\n") == 3  # no token, every row
    log = " ".join((tmp_path / "serve.log").read_text().split())
    assert f"--no-auth: every port serves every row and column to {who}" in log
