"""psqlODBC (Excel, Tableau, Power BI) on a default node: TLS and an API token, as docs/sql.md tells users."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.product.policy.conftest import Governed

needs_isql = pytest.mark.skipif(shutil.which("isql") is None, reason="needs unixodbc and odbc-postgresql")


def _isql(governed: Governed, sslmode: str, sql: str) -> subprocess.CompletedProcess[str]:
    dsn = (
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={governed.server.port};Database=mesh;"
        f"Uid=ann;Pwd={governed.tokens['analyst']};SSLmode={sslmode}"
    )
    return subprocess.run(
        ["isql", "-v", "-k", dsn, "-b", "-d,"],
        input=sql + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_isql
def test_psqlodbc_with_sslmode_require_connects_and_queries(governed: Governed) -> None:
    done = _isql(governed, "require", "select order_id, region from sales.orders__orders where order_id = 2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2,EU" in done.stdout


@needs_isql
def test_psqlodbc_without_tls_is_told_to_set_sslmode(governed: Governed) -> None:
    # ODBC's default is no TLS; the refusal says what to set in the DSN.
    done = _isql(governed, "disable", "select 1")
    assert done.returncode != 0
    assert "SSLmode=require" in done.stdout + done.stderr
