"""Shared fixtures: a workspace in a temporary folder and a way to write products into it."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests import children
from tests.sparkcluster import standalone_cluster
from tests.stacks import S3Server, Stack, nats_server, seaweedfs
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

#: The stacks the port suites run on (tests/stacks.py): the embedded default, and PostgreSQL + S3 + NATS.
STACKS = ("embedded", "shared")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Servers left by a test run that was killed before it could stop them are killed now."""
    children.reap()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(Settings.defaults(tmp_path / "ws"))
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real SeaweedFS (S3 with SigV4, an Iceberg REST catalog) on loopback for the session."""
    with seaweedfs(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def spark_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone Spark master with two workers on loopback (tests/sparkcluster.py), for the session."""
    with standalone_cluster(tmp_path_factory.mktemp("spark")) as cluster:
        yield cluster.master


@pytest.fixture(scope="session")
def shared_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One JetStream nats-server for every workspace of the shared stack in the session."""
    with nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture(scope="session", params=STACKS)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Each stack in turn; the shared one starts SeaweedFS and NATS (PostgreSQL runs already)."""
    if request.param == "embedded":
        yield Stack("embedded")
        return
    chosen = Stack("shared", request.getfixturevalue("s3_server"), request.getfixturevalue("shared_nats"))
    yield chosen
    chosen.close()


@pytest.fixture
def make_product(tmp_path: Path) -> ProductFactory:
    """Write a product folder: ``make_product("name", spec_yaml, {"transform.sql": "..."})``."""

    def make(name: str, spec: str, files: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "products" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
        for relative, text in (files or {}).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return folder

    return make


@pytest.fixture
def orders(make_product: ProductFactory) -> Path:
    """A source-aligned product reading CSV files incrementally, with one day of data."""
    return make_product(
        "orders",
        ORDERS_SPEC,
        {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 5)},
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI every real component is installed (.ci/run), so a skipped test is a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be missing: {report.longrepr}"
