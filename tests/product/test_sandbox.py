"""A Python transformation runs confined: its bundle and Python only, no secrets, no network, within limits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hexmesh.errors import SpecError, TransformError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv

PYTHON_SPEC = ORDERS_SPEC.replace("sql: transform.sql", "python: transform.py:build")
KEY = "master-key-bm90LWZvci1wcm9kdWN0cw"


def deployed(workspace: Workspace, make_product: ProductFactory, body: str, spec: str = PYTHON_SPEC) -> Path:
    code = "import os, socket\nimport pyarrow as pa\n\ndef build(inputs):\n" + textwrap.indent(body, "    ")
    folder = make_product("orders", spec, {"transform.py": code, "data/a.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    return folder


def failure(workspace: Workspace) -> str:
    """The run's error; the run is recorded as failed and nothing was published."""
    with pytest.raises(TransformError) as caught:
        workspace.run("sales/orders")
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "failed"
    assert workspace.reader("dp://sales/orders/orders").publications() == []
    return str(caught.value)


def test_the_nodes_master_key_cannot_be_read(workspace: Workspace, make_product: ProductFactory) -> None:
    key = workspace.settings.home / "keys" / "master.key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text(KEY, encoding="utf-8")
    deployed(workspace, make_product, f"return open({str(key)!r}).read()\n")
    message = failure(workspace)
    assert "transform.py:5 in build: PermissionError" in message
    assert KEY not in message


@pytest.mark.parametrize(
    "body",
    [
        "return open('/etc/passwd').read()\n",
        "return os.listdir('/')\n",
        "open('transform.py', 'a').write('# tampered')\n",  # the bundle is read-only
    ],
)
def test_files_outside_python_and_the_bundle_are_out_of_reach(
    workspace: Workspace, make_product: ProductFactory, body: str
) -> None:
    folder = deployed(workspace, make_product, body)
    assert "PermissionError" in failure(workspace)
    bundle = workspace.deployed()["sales/orders"].bundle
    assert (bundle / "transform.py").read_text() == (folder / "transform.py").read_text()


def test_no_network_connection_can_be_opened(workspace: Workspace, make_product: ProductFactory) -> None:
    deployed(workspace, make_product, "socket.create_connection(('127.0.0.1', 5432), timeout=2)\n")
    assert "transform.py:5 in build: PermissionError" in failure(workspace)


def test_the_code_sees_none_of_the_nodes_environment_and_works_in_its_bundle(
    workspace: Workspace, make_product: ProductFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEXMESH_MASTER_KEY", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY)
    deployed(workspace, make_product, "raise RuntimeError(repr([sorted(os.environ), os.getcwd()]))\n")
    message = failure(workspace)
    assert KEY not in message
    assert "HEXMESH" not in message and "AWS" not in message
    assert "'PATH'" in message
    assert str(workspace.deployed()["sales/orders"].bundle) in message


def test_a_memory_limit_from_the_spec_fails_the_run_cleanly(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = PYTHON_SPEC.replace("python: transform.py:build", "python: transform.py:build\n  limits: {memoryMb: 300}")
    deployed(workspace, make_product, "big = bytearray(1024 * 1024 * 1024)\nreturn inputs['raw']\n", spec)
    assert "transform.py ran out of memory: the limit is 300 MB" in failure(workspace)


def test_the_nodes_cpu_limit_stops_a_busy_loop(tmp_path: Path, make_product: ProductFactory) -> None:
    # The spec asks for more than the node allows: the node's limit holds.
    spec = PYTHON_SPEC.replace("python: transform.py:build", "python: transform.py:build\n  limits: {cpuSeconds: 600}")
    workspace = Workspace(Settings.defaults(tmp_path / "ws").merged({"python_cpu_seconds": 1}))
    try:
        deployed(workspace, make_product, "while True:\n    pass\n", spec)
        assert "transform.py used more than its 1 CPU seconds and was stopped" in failure(workspace)
    finally:
        workspace.close()


def test_limits_on_a_sql_transformation_are_a_spec_error(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = ORDERS_SPEC.replace("sql: transform.sql", "sql: transform.sql\n  limits: {cpuSeconds: 5}")
    folder = make_product("orders", spec, {"transform.sql": "select 1"})
    with pytest.raises(SpecError, match="limits apply to a python transformation"):
        workspace.validate([folder])


def test_a_code_that_exits_the_process_is_a_clean_failure(workspace: Workspace, make_product: ProductFactory) -> None:
    deployed(workspace, make_product, "os._exit(3)\n")
    assert "transform.py ended the process (exit status 3) before returning" in failure(workspace)
