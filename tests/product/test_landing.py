"""Landing folders: a file that lands twice or only partly is read exactly once, when complete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from hexmesh.errors import InputError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.ingest import IngestError, ingest_events
from tests.stacks import S3Server, Stack
from tests.support import ProductFactory

SPEC = """
domain: ops
name: events
version: 1.0.0
owner: ops@example.com
inputPorts:
  - name: raw
    source: {{format: {fmt}, path: landing{extra}}}
    window: incremental
outputPorts:
  - name: events
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: kind, logicalType: string}}
"""


def csv(ids: list[int]) -> str:
    return "id,kind\n" + "".join(f"{i},k{i}\n" for i in ids)


def ids(workspace: Workspace) -> list[int]:
    return sorted(workspace.read("dp://ops/events/events").column("id").to_pylist())


@pytest.fixture
def landing(workspace: Workspace, make_product: ProductFactory) -> Path:
    folder = make_product("events", SPEC.format(fmt="csv", extra=""), {"landing/a.csv": csv([1, 2])})
    workspace.deploy([folder])
    workspace.run("ops/events")
    return folder / "landing"


def test_the_same_content_under_another_name_is_read_once(workspace: Workspace, landing: Path) -> None:
    (landing / "a-copy.csv").write_text(csv([1, 2]))
    result = workspace.run("ops/events")
    assert result.status == "skipped"
    (run,) = workspace.runtime.state.runs("ops/events", limit=1)
    assert run.details["inputs"]["raw"]["duplicates"] == ["a-copy.csv"]
    assert ids(workspace) == [1, 2]


def test_the_same_file_landing_again_unchanged_is_not_read_again(workspace: Workspace, landing: Path) -> None:
    (landing / "a.csv").write_text(csv([1, 2]))  # re-delivered: new mtime, same bytes
    os.utime(landing / "a.csv", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert workspace.run("ops/events").status == "skipped"
    assert ids(workspace) == [1, 2]


def test_a_file_rewritten_with_new_content_is_a_new_delivery(workspace: Workspace, landing: Path) -> None:
    (landing / "a.csv").write_text(csv([7]))
    os.utime(landing / "a.csv", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    workspace.run("ops/events")
    assert ids(workspace) == [1, 2, 7]


def test_a_partly_landed_file_is_retried_and_read_once_complete(workspace: Workspace, landing: Path) -> None:
    (landing / "b.csv").write_text("id,kind\n3,k3\n4")  # cut short: the row has one field of two
    (landing / "c.csv").write_text(csv([5]))
    result = workspace.run("ops/events")
    assert result.status == "succeeded"
    (run,) = workspace.runtime.state.runs("ops/events", limit=1)
    (unreadable,) = run.details["inputs"]["raw"]["unreadable"]
    assert unreadable["file"] == "b.csv" and "b.csv" not in run.details["inputs"]["raw"]["files"]
    assert ids(workspace) == [1, 2, 5]
    (landing / "b.csv").write_text(csv([3, 4]))  # the writer finished
    workspace.run("ops/events")
    assert ids(workspace) == [1, 2, 3, 4, 5]


def test_only_an_unreadable_file_fails_the_run_and_names_it(workspace: Workspace, landing: Path) -> None:
    (landing / "b.csv").write_text("id,kind\n3,k3\n4")
    with pytest.raises(InputError, match=r"b\.csv.*retried by the next run"):
        workspace.run("ops/events")
    (landing / "b.csv").write_text(csv([3]))
    workspace.run("ops/events")
    assert ids(workspace) == [1, 2, 3]


def test_hidden_and_settling_files_are_left_alone(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product("events", SPEC.format(fmt="csv", extra=", settle: 1h"), {"landing/a.csv": csv([1])})
    old = time.time() - 7200
    os.utime(folder / "landing" / "a.csv", (old, old))
    (folder / "landing" / ".b.csv").write_text(csv([2]))  # a writer's temporary name
    (folder / "landing" / "c.csv").write_text(csv([3]))  # just modified: may still grow
    workspace.deploy([folder])
    workspace.run("ops/events")
    assert ids(workspace) == [1]


def test_ingest_appends_json_events_durably_and_each_is_read_once(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product("events", SPEC.format(fmt="json", extra=""))
    workspace.deploy([folder])
    receipt = ingest_events(workspace.runtime, "ops/events", "raw", [{"id": 1, "kind": "a"}, {"id": 2}])
    stored = Path(receipt.location)
    assert receipt.events == 2 and stored.parent == folder / "landing" and stored.name == receipt.name
    assert stored.suffix == ".jsonl" and not [p for p in stored.parent.iterdir() if p.name.startswith(".")]
    workspace.run("ops/events")
    ingest_events(workspace.runtime, "ops/events", "raw", [{"id": 3, "kind": "b"}])
    workspace.run("ops/events")
    assert ids(workspace) == [1, 2, 3]
    assert workspace.run("ops/events").status == "skipped"


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "no events"),
        ([{"id": 1}, [1, 2]], "event 1 is a list, not a JSON object"),
        ([{"id": float("nan")}], "event 0 is not valid JSON"),
    ],
)
def test_ingest_refuses_bad_events_and_writes_nothing(
    workspace: Workspace, make_product: ProductFactory, events: list[object], message: str
) -> None:
    folder = make_product("events", SPEC.format(fmt="json", extra=""))
    workspace.deploy([folder])
    with pytest.raises(IngestError, match=message):
        ingest_events(workspace.runtime, "ops/events", "raw", events)  # type: ignore[arg-type]
    assert not (folder / "landing").exists() or not list((folder / "landing").iterdir())


def test_ingest_needs_a_json_folder_port(workspace: Workspace, landing: Path) -> None:
    with pytest.raises(IngestError, match="reads csv files; ingest writes JSON lines"):
        ingest_events(workspace.runtime, "ops/events", "raw", [{"id": 1}])
    with pytest.raises(IngestError, match="has no input port 'nope'"):
        ingest_events(workspace.runtime, "ops/events", "nope", [{"id": 1}])


def test_a_file_appended_to_after_it_was_read_is_an_error_not_a_second_publication(
    workspace: Workspace, landing: Path
) -> None:
    with (landing / "a.csv").open("a") as handle:
        handle.write("3,k3\n")
    with pytest.raises(InputError, match=r"'a\.csv' grew from \d+ to \d+ bytes after it was read") as err:
        workspace.run("ops/events")
    assert "--full-refresh" in str(err.value)
    assert ids(workspace) == [1, 2]
    (landing / "b.csv").write_text(csv([3]))  # what the message asks: new rows in a new file
    (landing / "a.csv").write_text(csv([1, 2]))
    workspace.run("ops/events")
    assert ids(workspace) == [1, 2, 3]


def test_a_file_replaced_by_an_older_one_is_an_error(workspace: Workspace, landing: Path) -> None:
    before = (landing / "a.csv").stat().st_mtime_ns
    (landing / "a.csv").write_text(csv([9]))
    os.utime(landing / "a.csv", ns=(before - 10**9, before - 10**9))
    with pytest.raises(InputError, match=r"'a\.csv' was replaced by an older file"):
        workspace.run("ops/events")
    assert ids(workspace) == [1, 2]


@pytest.mark.postgres
def test_on_shared_storage_events_ingested_on_one_node_are_read_once_by_whichever_node_runs(
    tmp_path: Path, s3_server: S3Server, shared_nats: str, make_product: ProductFactory
) -> None:
    stack = Stack("shared", s3_server, shared_nats)
    try:
        shared = stack.settings_values()  # one PostgreSQL database, one S3 prefix: one cluster
        for name in ("node-1", "node-2"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "settings.yaml").write_text(yaml.safe_dump({**shared, "node_name": name}))
        folder = make_product("events", SPEC.format(fmt="json", extra=""))
        with (
            Workspace(Settings.load(tmp_path / "node-1")) as one,
            Workspace(Settings.load(tmp_path / "node-2")) as two,
        ):
            one.deploy([folder])
            receipt = ingest_events(one.runtime, "ops/events", "raw", [{"id": 1, "kind": "a"}, {"id": 2}])
            assert receipt.location == f"{shared['storage']}/landing/ops/events/raw/{receipt.name}"
            assert not (folder / "landing").exists()  # nothing on node-1's disk for node-2 to miss
            assert two.run("ops/events").rows == {"events": 2}
            ingest_events(two.runtime, "ops/events", "raw", [{"id": 3, "kind": "b"}])
            assert one.run("ops/events").rows == {"events": 1}  # only what is new, on either node
            assert two.run("ops/events").status == "skipped"
            assert ids(one) == [1, 2, 3]
    finally:
        stack.close()


@pytest.mark.postgres
def test_on_shared_storage_ingest_refuses_an_input_that_would_never_read_landed_objects(
    tmp_path: Path, s3_server: S3Server, shared_nats: str, make_product: ProductFactory
) -> None:
    stack = Stack("shared", s3_server, shared_nats)
    try:
        settings = stack.settings(tmp_path / "node-1")
        whole = SPEC.format(fmt="json", extra="").replace("window: incremental", "window: all")
        folder = make_product("events", whole)
        with Workspace(settings) as workspace:
            workspace.deploy([folder])
            with pytest.raises(IngestError, match="Declare the port with window: incremental; nothing was written"):
                ingest_events(workspace.runtime, "ops/events", "raw", [{"id": 1}])
            assert list(workspace.runtime.storage.keys("landing/")) == []
    finally:
        stack.close()
