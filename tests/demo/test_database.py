"""The registration service's PostgreSQL database: the demo fills it and users/user-profiles reads it."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from hexmesh.demo import run_demo
from hexmesh.demo.database import POSTGRES_VARIABLE, Registrations, demo_postgres
from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import Workspace
from tests.demo.postgres import registrations
from tests.server.nodes import free_port

from .conftest import SCALE

PROFILES = "dp://users/user-profiles/profiles"


def _landed_lines(home: Path) -> int:
    return sum(len(f.read_text().splitlines()) for f in (home / "landing" / "registrations").glob("*.jsonl"))


def test_user_profiles_reads_the_rows_the_registration_service_adds(
    tmp_path: Path, postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with Workspace.open(home) as workspace:
        run_demo(workspace, scale=SCALE, days=2, say=lambda _: None, postgres=postgres)
        (count,) = registrations(postgres, "select count(*) from registrations")[0]
        assert count == _landed_lines(home) == workspace.read(PROFILES).num_rows
        # The service registers someone after the demo ran: the next run reads that row, and only it.
        registrations(
            postgres,
            "insert into registrations (event_id, event_type, user_id, registered_at, email, birth_year, country,"
            " plan, platform, marketing_opt_in) values ('reg-late', 'user_registered', 'u-late',"
            " now(), 'Late@Example.com', null, 'se', 'premium', 'web', null) returning id",
        )
        monkeypatch.setenv(POSTGRES_VARIABLE, postgres)  # as a shell running the scheduler would have it
        result = workspace.run("users/user-profiles")
        assert result.rows == {"profiles": 1}
        profiles = workspace.read(PROFILES)
        late = profiles.filter(pc.equal(profiles["user_id"], "u-late")).to_pylist()
        assert [(r["email"], r["country"], r["region"], r["marketing_opt_in"]) for r in late] == [
            ("late@example.com", "SE", "Europe", False)
        ]
        assert profiles.num_rows == count + 1


def test_a_day_loaded_twice_adds_no_rows(tmp_path: Path, postgres: str) -> None:
    home = tmp_path / "home"
    with Workspace.open(home) as workspace:
        run_demo(workspace, scale=SCALE, days=1, say=lambda _: None, postgres=postgres)
    (day,) = (home / "landing" / "registrations").glob("*.jsonl")
    before = registrations(postgres, "select count(*), max(id) from registrations")[0]
    assert Registrations(postgres).load(day) == 0
    assert registrations(postgres, "select count(*) from registrations")[0][0] == before[0]


def test_a_fresh_workspace_starts_the_table_afresh(tmp_path: Path, postgres: str) -> None:
    for name in ("first", "second"):
        with Workspace.open(tmp_path / name) as workspace:
            run_demo(workspace, scale=SCALE, days=1, say=lambda _: None, postgres=postgres)
            # The second workspace's profiles hold its own rows only, not the first one's twice.
            (count,) = registrations(postgres, "select count(*) from registrations")[0]
            assert count == _landed_lines(tmp_path / name) == workspace.read(PROFILES).num_rows


def test_the_url_comes_from_the_argument_then_the_variable_else_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_VARIABLE, raising=False)
    assert demo_postgres() is None  # not asked for: the table goes to SQLite
    monkeypatch.setenv(POSTGRES_VARIABLE, "postgresql://app@db:5432/users")
    assert demo_postgres() == "postgresql://app@db:5432/users"
    assert demo_postgres("postgresql://x@y/z") == "postgresql://x@y/z"


def test_an_unreachable_database_is_refused_with_how_to_point_the_demo_elsewhere(tmp_path: Path) -> None:
    closed = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/hexmesh_demo"
    with pytest.raises(HexmeshError) as refused:
        run_demo(Workspace.open(tmp_path / "home"), scale=SCALE, days=1, say=lambda _: None, postgres=closed)
    message = str(refused.value)
    assert "secret" not in message  # the password stays out of messages
    assert "HEXMESH_DEMO_POSTGRES=" in message and "hexmesh demo --postgres" in message
    assert not (tmp_path / "home" / "landing").exists()


def test_a_url_without_a_database_is_refused() -> None:
    with pytest.raises(HexmeshError, match=r"names no database; add one, for example postgresql://"):
        Registrations.prepare("postgresql://postgres@127.0.0.1:5432", fresh=False)
