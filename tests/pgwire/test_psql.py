"""The real psql binary against the server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ServerThread

PSQL = shutil.which("psql") or "/usr/bin/psql"
pytestmark = pytest.mark.skipif(not os.path.exists(PSQL), reason="psql is not installed")


def psql(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    """Run psql non-interactively; -X skips ~/.psqlrc, -A -t give bare values."""
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "pgwire-tests"}
    env.pop("PGPASSWORD", None)
    cmd = [PSQL, server.dsn(), "-X", "-v", "ON_ERROR_STOP=1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_psql_query(duck: ServerThread) -> None:
    out = psql(duck, "-A", "-t", "-c", "select 40 + 2, 'answer'")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42|answer"


def test_psql_multi_statement_in_one_query(duck: ServerThread) -> None:
    sql = "select 1 as a; select ';' as b; /* ; */ select $$x;y$$ as c"
    out = psql(duck, "-A", "-t", "-c", sql)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", ";", "x;y"]


def test_psql_error_shows_sqlstate(duck: ServerThread) -> None:
    out = psql(duck, "-v", "VERBOSITY=verbose", "-c", "select * from no_such_table")
    assert out.returncode != 0
    assert "42P01" in out.stderr


def test_psql_copy_query_to_stdout_csv(duck: ServerThread) -> None:
    out = psql(duck, "-c", r"\copy (select id, name from items order by id limit 3) to stdout csv header")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["id,name", "0,item 0", "1,item 1", "2,item 2"]


def test_psql_copy_table_to_file(duck: ServerThread, tmp_path: Path) -> None:
    target = tmp_path / "items.tsv"
    out = psql(duck, "-c", rf"\copy items to '{target}'")
    assert out.returncode == 0, out.stderr
    lines = target.read_text().splitlines()
    assert len(lines) == 100 and lines[5] == "5\titem 5"


def test_psql_copy_csv_quoting_to_file(duck: ServerThread, tmp_path: Path) -> None:
    target = tmp_path / "q.csv"
    sql = "select 'a,b' as x, '' as y, null as z, 'say \"hi\"' as w"
    out = psql(duck, "-c", rf"\copy ({sql}) to '{target}' csv header")
    assert out.returncode == 0, out.stderr
    assert target.read_text() == 'x,y,z,w\n"a,b","",,"say ""hi"""\n'


def test_psql_transactions(duck: ServerThread) -> None:
    script = "begin; create table psql_tx(a int); insert into psql_tx values (1); commit;"
    out = psql(duck, "-c", script, "-A", "-t", "-c", "select count(*) from psql_tx")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"
