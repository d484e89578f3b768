"""A node reachable from other machines enforces tokens unless its operator says otherwise."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from hexmesh.cli.serve import enforce_auth, is_loopback
from tests.cli.test_serve import serving


@pytest.mark.parametrize(
    ("host", "flag", "enforced"),
    [
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
        ("0.0.0.0", None, True),
        ("10.1.2.3", None, True),
        ("node.example.com", None, True),
        ("127.0.0.1", True, True),
        ("0.0.0.0", False, False),
    ],
)
def test_auth_is_on_by_default_off_loopback(host: str, flag: bool | None, enforced: bool) -> None:
    assert enforce_auth(host, flag) is enforced
    assert is_loopback(host) is (host in {"127.0.0.1", "localhost", "::1"})


def test_a_node_on_every_interface_wants_tokens_without_being_asked(tmp_path: Path) -> None:
    with serving(tmp_path, "--host", "0.0.0.0") as (http_port, sql_port):
        files = f"http://127.0.0.1:{http_port}/products/sales/shop/ports/orders/data?format=jsonl"
        response = httpx.get(files, timeout=30, headers={"Authorization": "Bearer hxm_forged_token"})
        assert response.status_code == 401, response.text
        dsn = f"postgresql://me@127.0.0.1:{sql_port}/hexmesh"
        with pytest.raises(psycopg.OperationalError, match="TLS|SSL|ssl"):
            psycopg.connect(dsn + "?sslmode=disable", password="whatever").close()
    assert "no authentication" not in (tmp_path / "serve.log").read_text()


def test_a_loopback_node_without_auth_warns_that_everything_is_served(tmp_path: Path) -> None:
    with serving(tmp_path, "--no-schedule"):
        pass
    assert "no authentication: every port serves every row and column" in (tmp_path / "serve.log").read_text()
