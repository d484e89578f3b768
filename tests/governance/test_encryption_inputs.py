"""A transformation opens only the restricted columns its SQL names; the others are never read.

Observable from outside: with a wrong master key the key store cannot open at all, so a
downstream run that would open a sealed value fails with the key store's message, while runs
whose SQL never names the restricted column go on, whole-history and incremental inputs alike,
and a forgotten subject's rows keep flowing through them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from hexmesh.governance import UNRESTRICTED
from hexmesh.infra.keys import KeyStoreError, generate_master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from hexmesh.product.policy import PolicySidecar, PortRead, shaped_batches
from hexmesh.product.sealing import key_store
from hexmesh.product.sql.references import sql_references
from tests.governance.test_encryption_ports import DOWNSTREAM, DOWNSTREAM_SQL, SPEC, SQL, _csv, _write

COUNTRIES = """
domain: people
name: countries
version: 1.0.0
owner: people@example.com
description: People per country; the transformation never names the restricted email.
inputPorts:
  - name: profiles
    from: dp://people/profiles/profiles
    window: all
transformation:
  sql: transform.sql
outputPorts:
  - name: counts
    mode: replace
    primaryKey: [country]
    slo: {freshness: 1d}
    properties:
      - {name: country, logicalType: string, required: true, classification: internal}
      - {name: people, logicalType: integer, required: true, classification: internal}
"""
COUNTRIES_SQL = "select country, count(*) as people from profiles group by country\n"

JOINED = """
domain: people
name: joined
version: 1.0.0
owner: people@example.com
description: Who joined when, read incrementally; the restricted email is not used.
inputPorts:
  - name: profiles
    from: dp://people/profiles/profiles
    window: incremental
transformation:
  sql: transform.sql
outputPorts:
  - name: joins
    mode: append
    primaryKey: [user_id]
    slo: {freshness: 1d}
    properties:
      - {name: user_id, logicalType: string, required: true, classification: internal}
      - {name: joined_at, logicalType: timestamp, required: true, classification: internal}
"""
JOINED_SQL = "select p.user_id, p.joined_at from profiles as p\n"


@dataclass
class Mesh:
    home: Path
    profiles: Path


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mesh]:
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)  # the workspace's own key file
    profiles = _write(tmp_path / "profiles", SPEC, SQL, {"day1.csv": _csv([1, 2, 3], "2026-01-01")})
    folders = [
        profiles,
        _write(tmp_path / "countries", COUNTRIES, COUNTRIES_SQL),
        _write(tmp_path / "joined", JOINED, JOINED_SQL),
        _write(tmp_path / "mail-domains", DOWNSTREAM, DOWNSTREAM_SQL),
    ]
    with Workspace(Settings.load(tmp_path / "home")) as workspace:
        workspace.deploy(folders)
        for product in ("people/profiles", "people/countries", "people/joined", "people/mail-domains"):
            workspace.run(product)
    yield Mesh(tmp_path / "home", profiles)


def test_downstream_runs_that_never_name_the_sealed_column_do_not_open_it(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace(Settings.load(mesh.home)) as workspace:
        assert key_store(workspace.runtime).store.forget("u2")
        (mesh.profiles / "data" / "day2.csv").write_text(_csv([4, 5], "2026-01-02"), encoding="utf-8")
        workspace.run("people/profiles")
    monkeypatch.setenv("HEXMESH_MASTER_KEY", generate_master_key())  # no sealed value can open now
    with Workspace(Settings.load(mesh.home)) as workspace:
        workspace.run("people/countries")  # whole history
        workspace.run("people/joined")  # only the rows published since its last run
        counts = workspace.read("dp://people/countries/counts").to_pylist()
        joins = workspace.read("dp://people/joined/joins").column("user_id").to_pylist()
        with pytest.raises(KeyStoreError, match="master key is not the one"):
            workspace.run("people/mail-domains")  # its SQL splits the email: it must open it
    # The forgotten subject's row still counts: only its restricted value is gone.
    assert sorted((r["country"], r["people"]) for r in counts) == [(f"C{n}", 1) for n in range(1, 6)]
    assert sorted(joins) == ["u1", "u2", "u3", "u4", "u5"]


def test_reads_of_other_columns_do_not_open_the_restricted_one(mesh: Mesh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEXMESH_MASTER_KEY", generate_master_key())  # no sealed value can open now
    request = ReadRequest(columns=("user_id", "country"))
    with Workspace(Settings.load(mesh.home)) as workspace:
        reader = workspace.reader("dp://people/profiles/profiles")
        read = workspace.read("dp://people/profiles/profiles", request)
        # The files port's stream: the door, as a node without --auth reads it for everyone.
        sidecar = PolicySidecar(workspace.runtime)
        streaming = PortRead(reader.product, UNRESTRICTED, "profiles", via="read", columns=request.columns)
        _, _, batches = shaped_batches(sidecar, streaming)
        streamed = pa.Table.from_batches(list(batches))
        with pytest.raises(KeyStoreError, match="master key is not the one"):
            workspace.read("dp://people/profiles/profiles", ReadRequest(columns=("email",)))
    expected = {"user_id": ["u1", "u2", "u3"], "country": ["C1", "C2", "C3"]}
    assert read.sort_by("user_id").to_pydict() == expected
    assert streamed.sort_by("user_id").to_pydict() == expected


def test_a_transformation_that_names_the_column_still_reads_it_opened(mesh: Mesh) -> None:
    with Workspace(Settings.load(mesh.home)) as workspace:
        domains = workspace.read("dp://people/mail-domains/domains").to_pylist()
    assert {r["user_id"]: r["mail_domain"] for r in domains} == {f"u{n}": f"mail{n}.example" for n in (1, 2, 3)}


@pytest.mark.parametrize(
    "sql",
    [
        "select * from profiles",
        "select * exclude (email) from profiles",
        "select p.* from profiles as p",
        "select columns('e.*') from profiles",
        "select to_json(p) from profiles as p",
        "select profiles from profiles",
        "select #3 from profiles",
        "select user_id from profiles natural join others",
        "pivot profiles on country using count(*)",
        "this is not sql (",
    ],
)
def test_sql_that_can_reach_columns_without_naming_them_opens_everything(sql: str) -> None:
    assert sql_references(sql, "duckdb") is None


def test_names_are_collected_wherever_they_appear() -> None:
    found = sql_references(
        "with counted as (select user_id from profiles where counted) "
        'select count(*), max(upper("EMAIL")) from counted join others using (user_id)',
        "duckdb",
    )
    assert found is not None and {"user_id", "email", "counted"} <= found
