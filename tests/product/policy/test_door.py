"""The one door to a port's data: a principal's shaped view as Arrow or as Parquet files an engine reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hexmesh.errors import NotFoundError
from hexmesh.governance import AccessDeniedError, Principal
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import PolicySidecar
from hexmesh.product.policy.door import PortRead, Window, shaped_files, shaped_table
from hexmesh.product.policy.shaped import UnservedColumnError
from tests.product.sql.conftest import write_product

SECRET = b"door-tests-mesh-secret-0123456789ab"

SPEC = """
domain: crm
name: people
version: 1.0.0
owner: crm@example.com
description: People with a sealed e-mail, and plain scores.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: {people: people.sql, scores: scores.sql}
outputPorts:
  - name: people
    eventTime: seen_at
    properties:
      - {name: person_id, logicalType: string, required: true, classification: personal, tags: [subject]}
      - {name: email, logicalType: string, classification: restricted}
      - {name: region, logicalType: string, classification: internal}
      - {name: seen_at, logicalType: timestamp, required: true, classification: internal}
  - name: scores
    properties:
      - {name: region, logicalType: string}
      - {name: score, logicalType: integer}
policies:
  access:
    - {id: analysts, allow: {group: analysts}, ports: [people], columns: {exclude: [email]},
       rows: {region: principal.region}}
    - {id: mailers, allow: {group: mailers}, ports: [people]}
    - {id: synth, allow: {group: synth}, ports: [people], actions: [readSynthetic]}
    - {id: stats, allow: {group: stats}, ports: [people], actions: [readAggregate]}
    - {id: scorers, allow: {group: analysts}, ports: [scores]}
    - {id: redactors, allow: {group: redactors}, ports: [people], columns: {exclude: [email]}}
  privacy:
    - {field: person_id, for: {group: analysts}, pseudonymize: {scope: product}}
    - {field: person_id, for: {group: synth}, pseudonymize: {scope: product}}
    - {field: email, for: {group: partners}, redact: true}
    - {field: person_id, for: {group: redactors}, redact: true}
"""

#: The sidecar, crm/people, and the people port's two snapshots.
People = tuple[PolicySidecar, DeployedProduct, list[int]]

OWNER = Principal("crm@example.com")
ANALYST = Principal("ann", groups=frozenset({"analysts"}), attributes={"region": "EU"})
MAILER = Principal("mia", groups=frozenset({"mailers"}))
SYNTH = Principal("syd", groups=frozenset({"synth"}))
STATS = Principal("sam", groups=frozenset({"stats"}))
STRANGER = Principal("mallory")
REDACTOR = Principal("rex", groups=frozenset({"redactors"}))


def _csv(first: int, count: int, day: str) -> str:
    lines = ["person_id,email,region,seen_at,score"]
    for n in range(first, first + count):
        region = "US" if n % 3 == 0 else "EU"
        lines.append(f"p{n:04d},secret{n:04d}@crm.test,{region},{day} 10:00:00,{n}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    """crm/people run twice (9 people, then 6 more): the sidecar, the product, the two snapshots."""
    root = tmp_path_factory.mktemp("door")
    folder = write_product(root / "people", SPEC, "select 1", _csv(1, 9, "2026-01-01"))
    (folder / "transform.sql").unlink()
    (folder / "people.sql").write_text(
        "select person_id, email, region, cast(seen_at as timestamp) as seen_at from raw\n", encoding="utf-8"
    )
    (folder / "scores.sql").write_text("select region, cast(score as integer) as score from raw\n", encoding="utf-8")
    workspace = Workspace(Settings.defaults(root / "ws"))
    workspace.deploy([folder])
    workspace.run("crm/people")
    (folder / "data" / "day2.csv").write_text(_csv(10, 6, "2026-01-02"), encoding="utf-8")
    workspace.run("crm/people")
    product = DeployedProduct.load(workspace.runtime, "crm/people")
    record = workspace.runtime.state.port("crm/people", 1, "people")
    assert record is not None
    snapshots = [p.snapshot_id for p in workspace.runtime.state.publications(record.id)]
    yield PolicySidecar(workspace.runtime, secret=SECRET), product, snapshots
    workspace.close()


def _read(files: tuple[str, ...]) -> pa.Table:
    """Parquet files as an engine reads them (DuckDB takes paths and file: URIs alike)."""
    return duckdb.connect().sql(f"select * from read_parquet({list(files)!r})").to_arrow_table()


def _rows(files: tuple[str, ...]) -> list[dict[str, object]]:
    return sorted(_read(files).to_pylist(), key=lambda r: str(r.get("seen_at")) + str(r))


def test_an_unrestricted_view_hands_over_the_tables_own_data_files(people: People) -> None:
    sidecar, product, _ = people
    record = sidecar.runtime.state.port("crm/people", 1, "scores")
    assert record is not None
    latest = sidecar.runtime.state.latest_publication(record.id)
    assert latest is not None
    own = {f.file_path for f in sidecar.runtime.tables.data_files(record.table_id, latest.snapshot_id)}
    with shaped_files(sidecar, PortRead(product, OWNER, "scores", via="engine")) as shaped:
        assert not shaped.staged and set(shaped.files) == own
        assert shaped.schema.names == ["region", "score"]
        scores = duckdb.connect().execute(f"select sum(score) from read_parquet({list(shaped.files)!r})").fetchone()
    assert scores == (sum(range(1, 16)),)
    # Still there after close: they are the table's.
    assert all(Path(f.removeprefix("file://")).exists() for f in own)


def test_a_restricted_view_is_staged_with_masks_row_filters_and_sealed_fields_applied(
    people: People, tmp_path: Path
) -> None:
    sidecar, product, _ = people
    with shaped_files(sidecar, PortRead(product, ANALYST, "people", via="engine"), folder=tmp_path) as shaped:
        assert shaped.staged and shaped.schema.names == ["person_id", "region", "seen_at"]
        rows = _rows(shaped.files)
        assert all(Path(f).parent.parent == tmp_path for f in shaped.files)
    assert not list(tmp_path.iterdir())  # close() removed what it staged
    assert {r["region"] for r in rows} == {"EU"} and len(rows) == 10
    ids = {str(r["person_id"]) for r in rows}
    assert not any(i.startswith("p0") for i in ids), "person_id must be pseudonymized for analysts"
    assert shaped.rows == 10


def test_a_staged_view_holds_only_the_columns_its_reader_names(people: People, tmp_path: Path) -> None:
    sidecar, product, _ = people
    # A transformation that names only region (and seen_at in another case): the rest is not staged.
    with shaped_files(
        sidecar, PortRead(product, ANALYST, "people", via="engine"), folder=tmp_path, needed={"region", "x"}
    ) as shaped:
        assert shaped.staged and shaped.schema.names == ["region"]
        assert _read(shaped.files).column_names == ["region"] and shaped.rows == 10
    with shaped_files(
        sidecar, PortRead(product, ANALYST, "people", via="engine"), folder=tmp_path, needed={"person_id"}
    ) as shaped:
        ids = {str(r["person_id"]) for r in _rows(shaped.files)}
        assert len(ids) == 10 and not any(i.startswith("p0") for i in ids), "a named column keeps its pseudonym"
    # Naming none of them (count(*) only) still stages every column the view shows.
    with shaped_files(
        sidecar, PortRead(product, ANALYST, "people", via="engine"), folder=tmp_path, needed=set()
    ) as shaped:
        assert shaped.schema.names == ["person_id", "region", "seen_at"]
    # The table as stored is handed over whole: projecting it would mean staging it.
    with shaped_files(sidecar, PortRead(product, OWNER, "scores", via="engine"), needed={"score"}) as shaped:
        assert not shaped.staged and shaped.schema.names == ["region", "score"]


def test_sealed_fields_are_opened_only_for_a_principal_granted_them_in_clear(
    people: People,
) -> None:
    sidecar, product, _ = people
    mailed, _ = shaped_table(sidecar, PortRead(product, MAILER, "people", via="read"))
    assert sorted(mailed.column("email").to_pylist())[:2] == ["secret0001@crm.test", "secret0002@crm.test"]
    seen, _ = shaped_table(sidecar, PortRead(product, ANALYST, "people", via="read"))
    assert "email" not in seen.column_names
    assert not any("secret" in str(v) or "hxm1:" in str(v) for r in seen.to_pylist() for v in r.values())


def test_after_a_snapshot_only_what_was_published_since_is_read(
    people: People,
) -> None:
    sidecar, product, snapshots = people
    first, second = snapshots[-2:]
    table, read = shaped_table(
        sidecar, PortRead(product, MAILER, "people", via="read", window=Window(after_snapshot=first))
    )
    assert read == second
    assert sorted(table.column("person_id").to_pylist()) == [f"p{n:04d}" for n in range(10, 16)]
    # The owner's view of the unsealed port is untouched: the data files added since.
    record = sidecar.runtime.state.port("crm/people", 1, "scores")
    assert record is not None
    before = sidecar.runtime.state.publications(record.id)[-2].snapshot_id
    with shaped_files(
        sidecar, PortRead(product, OWNER, "scores", via="engine", window=Window(after_snapshot=before))
    ) as shaped:
        assert not shaped.staged
        assert sorted(_read(shaped.files).column("score").to_pylist()) == list(range(10, 16))


def test_an_event_time_window_and_a_pinned_snapshot(people: People) -> None:
    sidecar, product, snapshots = people
    pinned, _ = shaped_table(sidecar, PortRead(product, ANALYST, "people", via="read", snapshot_id=snapshots[-2]))
    assert pinned.num_rows == 6  # the EU rows of the first 9
    window = Window(since=datetime(2026, 1, 2), until=datetime(2026, 1, 3))
    with shaped_files(sidecar, PortRead(product, ANALYST, "people", via="engine", window=window)) as shaped:
        assert shaped.staged and len(_rows(shaped.files)) == 4  # EU rows of day 2: 10, 11, 13, 14
    with pytest.raises(NotFoundError, match="was never published"):
        shaped_table(sidecar, PortRead(product, OWNER, "people", via="read", snapshot_id=12345))


def test_a_principal_without_a_grant_is_refused_with_the_access_request_to_file(
    people: People,
) -> None:
    sidecar, product, _ = people
    with pytest.raises(AccessDeniedError, match="hexmesh access request dp://crm/people/people"):
        shaped_files(sidecar, PortRead(product, STRANGER, "people", via="engine"))
    with pytest.raises(AccessDeniedError, match="aggregates"):
        shaped_files(sidecar, PortRead(product, STATS, "people", via="engine"))
    entries = audit.query(sidecar.db, actor=STRANGER.key)
    assert any(e.decision == "deny" and e.action.startswith("engine.") for e in entries)


def test_a_synthetic_only_principal_gets_synthetic_rows_and_never_a_real_id(
    people: People,
) -> None:
    sidecar, product, _ = people
    with shaped_files(sidecar, PortRead(product, SYNTH, "people", via="engine")) as shaped:
        rows = _rows(shaped.files)
    assert shaped.staged and rows
    assert not {f"p{n:04d}" for n in range(1, 16)} & {str(r["person_id"]) for r in rows}


def test_a_column_the_principal_may_not_see_is_refused_like_one_that_does_not_exist(
    people: People,
) -> None:
    sidecar, product, _ = people
    with pytest.raises(UnservedColumnError):
        shaped_files(sidecar, PortRead(product, ANALYST, "people", via="engine", columns=("email",)))
    table, _ = shaped_table(sidecar, PortRead(product, ANALYST, "people", via="read", columns=("region",)))
    assert table.column_names == ["region"] and set(table.column(0).to_pylist()) == {"EU"}


def test_a_redacted_required_column_is_served_as_nulls_in_a_nullable_column(people: People) -> None:
    sidecar, product, _ = people
    table, _ = shaped_table(sidecar, PortRead(product, REDACTOR, "people", via="read"))
    assert table.num_rows == 15 and table.column("person_id").null_count == 15
    assert table.schema.field("person_id").nullable
    with shaped_files(sidecar, PortRead(product, REDACTOR, "people", via="engine")) as shaped:
        assert _read(shaped.files).column("person_id").null_count == 15
