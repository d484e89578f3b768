"""At run and serve time a product reaches nothing outside its folder: links, ${VAR}s and old specs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hexmesh.errors import HexmeshError, InputError, TransformError
from hexmesh.infra.compute import RunFolder
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct
from hexmesh.product.discovery import Endpoints, describe
from hexmesh.product.ingest import ingest_events
from hexmesh.product.sources import read_source
from hexmesh.product.transform import transform
from hexmesh.spec import SourceSpec
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

KEY = "master-key-c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"


@pytest.fixture
def master_key(workspace: Workspace) -> Path:
    """A stand-in for the node's master key, where the node keeps it."""
    path = workspace.settings.home / "keys" / "master.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KEY + "\n", encoding="utf-8")
    return path


def failed_without_publishing(workspace: Workspace) -> str:
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "failed"
    assert workspace.reader("dp://sales/orders/orders").publications() == []
    return run.error or ""


def test_a_data_file_linked_to_the_master_key_is_not_read(
    workspace: Workspace, make_product: ProductFactory, master_key: Path
) -> None:
    folder = make_product("orders", ORDERS_SPEC, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    (folder / "data" / "data.csv").symlink_to(master_key)  # added after deploy, as an attacker would
    with pytest.raises(InputError) as caught:
        workspace.run("sales/orders")
    message = str(caught.value)
    assert "source file data.csv is (or goes through) a symlink that leads outside" in message
    assert "it was not read" in message
    assert KEY not in message
    assert KEY not in failed_without_publishing(workspace)


def test_a_variable_in_a_source_path_cannot_lead_to_the_master_key(
    workspace: Workspace, make_product: ProductFactory, master_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ORDERS_SPEC.replace("path: data}", "path: '${ORDERS_FILES}'}")
    folder = make_product("orders", spec, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3)})
    monkeypatch.setenv("ORDERS_FILES", "data")
    workspace.deploy([folder])
    monkeypatch.setenv("ORDERS_FILES", str(master_key))
    with pytest.raises(
        InputError,
        match=r"source path '\$\{ORDERS_FILES\}' is an absolute path outside the product folder",
    ):
        workspace.run("sales/orders")
    monkeypatch.setenv("ORDERS_FILES", "../../ws/keys/master.key")
    with pytest.raises(InputError, match=r"climbs out of the product folder or the node's source roots with '\.\.'"):
        workspace.run("sales/orders")
    runs = workspace.runtime.state.runs("sales/orders")
    assert [r.status for r in runs] == ["failed", "failed"]
    assert all(KEY not in (r.error or "") for r in runs)


def tampered(workspace: Workspace, folder: Path, old: str, new: str) -> DeployedProduct:
    """The deployed product as if its spec had been deployed before paths were checked."""
    workspace.deploy([folder])
    product = workspace.deployed()["sales/orders"]
    return DeployedProduct(dataclasses.replace(product.record, spec_text=product.record.spec_text.replace(old, new)))


def test_docs_deployed_before_the_check_are_not_served(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = ORDERS_SPEC.replace("description: Orders.", "description: Orders.\ndocs: README.md")
    folder = make_product("orders", spec, {"transform.sql": ORDERS_SQL, "README.md": "# Orders\n"})
    product = tampered(workspace, folder, "docs: README.md", "docs: /etc/hostname")
    assert product.spec.docs == "/etc/hostname"
    document = describe(workspace.runtime, product, Endpoints("http://node"))
    assert document["hexmesh:readme"] is None
    honest = describe(workspace.runtime, workspace.deployed()["sales/orders"], Endpoints("http://node"))
    assert "<h1>Orders</h1>" in honest["hexmesh:readme"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "sql: transform.sql",
            "sql: ../../etc/passwd",
            r"SQL file '\.\./\.\./etc/passwd' leads outside the product's bundle",
        ),
        (
            "sql: transform.sql",
            "python: /abs/evil.py:build",
            r"Python file '/abs/evil.py' leads outside the product's bundle",
        ),
    ],
)
def test_code_deployed_before_the_check_is_not_run(
    workspace: Workspace, make_product: ProductFactory, old: str, new: str, message: str, tmp_path: Path
) -> None:
    folder = make_product("orders", ORDERS_SPEC, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3)})
    product = tampered(workspace, folder, old, new)
    with pytest.raises(TransformError, match=message):
        engine = workspace.runtime.compute(None)
        transform(product, engine, {}, RunFolder(tmp_path / "run"), workspace.settings)


def test_ingest_never_writes_outside_the_product_folder(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ORDERS_SPEC.replace("{format: csv, path: data}", "{format: json, path: '${LANDING}'}")
    folder = make_product("orders", spec, {"transform.sql": ORDERS_SQL})
    monkeypatch.setenv("LANDING", "landed")
    workspace.deploy([folder])
    monkeypatch.setenv("LANDING", str(tmp_path / "elsewhere"))
    with pytest.raises(HexmeshError, match="is an absolute path outside the product folder"):
        ingest_events(workspace.runtime, "sales/orders", "raw", [{"order_id": 1}])
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "variable",
    ["HEXMESH_MASTER_KEY", "HEXMESH_SECRET", "AWS_SECRET_ACCESS_KEY", "HEXMESH_STATE_URL", "HEXMESH_CATALOG_URL"],
)
def test_a_source_path_cannot_expand_the_nodes_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # Validate refuses such a spec (tests/lifecycle/test_confinement.py); a version deployed before
    # that check meets this one when it runs: the variable would land in the path, then in the error.
    monkeypatch.setenv(variable, KEY)
    source = SourceSpec(format="csv", path=f"data/${{{variable}}}")
    with pytest.raises(InputError, match=rf"uses \$\{{{variable}\}}, which holds one of the node's secrets") as caught:
        read_source(source, tmp_path)
    assert KEY not in str(caught.value)
