"""A product README's runnable examples: run at deploy as the owner, reported, shown by discovery."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.demo import example_mesh
from hexmesh.demo.generator import generate_day
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.product.examples import ExampleResult, load_results, save_results
from hexmesh.serving import Node, NodeOptions
from hexmesh.serving import node as node_module
from hexmesh.spec.examples import examples
from tests.server.ui.nodes import served

README = """# sales/shop

Count the orders:

```sql
select status, count(*) from sales.shop__orders group by status;
select count(*) as orders from sales.shop__orders
```

A typo the owner should hear about:

```sql
select nope from sales.shop__orders
```

<!-- doc: illustrative -->
```sql
select * from somewhere_else
```

```python
orders = read("dp://sales/shop/orders").to_pandas()  # the owner's rows, through the policy
assert list(orders.columns)[:2] == ["order_id", "customer_id"], list(orders.columns)
```

```python
total = 1
read("dp://sales/shop/nope")
```

```sh
hexmesh read dp://sales/shop/orders
```
"""


def _shop(root: Path) -> Path:
    init_product(root / "shop", domain="sales", name="shop", owner="me@example.com")
    (root / "shop" / "README.md").write_text(README)
    return root / "shop"


def test_the_runnable_blocks_are_sql_and_python_not_marked_illustrative() -> None:
    found = examples(README)
    assert [(e.language, e.line) for e in found] == [("sql", 5), ("sql", 12), ("python", 21), ("python", 26)]
    assert found[0].code.startswith("select status, count(*)")


def test_deploy_runs_each_example_as_the_owner_and_reports_it(tmp_path: Path) -> None:
    shop = _shop(tmp_path)
    result = CliRunner().invoke(app, ["deploy", str(shop), "--home", str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 0, result.output  # a failing example is reported; the deploy stands
    (deployed,) = json.loads(result.output)["deployed"]
    ran = [(e["line"], e["language"], e["status"]) for e in deployed["examples"]]
    assert ran == [(5, "sql", "passed"), (12, "sql", "failed"), (21, "python", "passed"), (26, "python", "failed")]
    assert deployed["examples"][0]["detail"] == "1 row"  # the last statement's rows (no run yet: a count of 0)
    assert "nope" in deployed["examples"][1]["detail"]
    # A Python block runs in the sandbox; a failure names its README line and what it may read.
    failed = deployed["examples"][3]["detail"]
    assert failed.startswith("README line 28: LookupError:"), failed
    assert "dp://sales/shop/orders" not in failed  # it named no readable port: none was read for it

    again = CliRunner().invoke(app, ["deploy", str(shop), "--home", str(tmp_path / "ws2")])
    assert again.exit_code == 0, again.output
    assert "pass README example at line 5 (sql): 1 row" in again.output
    assert "FAIL README example at line 12 (sql)" in again.output


def test_discovery_shows_whether_they_pass_counts_to_all_detail_to_owners(tmp_path: Path) -> None:
    shop = _shop(tmp_path)
    with Workspace.open(tmp_path / "ws") as workspace:
        (outcome,) = workspace.deploy([shop])
        assert [e.status for e in outcome.examples] == ["passed", "failed", "passed", "failed"]
        workspace.run("sales/shop")
        node = Node(workspace, NodeOptions(base_url="http://127.0.0.1:1", auth=False))
        document = node.discovery("sales", "shop").content
    assert document["hexmesh:examples"] == {"hexmesh:passed": 2, "hexmesh:failed": 2, "hexmesh:notRun": 0}
    statuses = [r["hexmesh:status"] for r in document["hexmesh:exampleResults"]]
    assert statuses == ["passed", "failed", "passed", "failed"]


def test_results_are_in_object_storage_and_a_serving_node_shows_them_once_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_module, "_EXAMPLES_RECHECK", 0.0)  # look again on every request
    shop = _shop(tmp_path)
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([shop])
        store = workspace.runtime.storage  # every node of a cluster reaches it (ADR 0030)
        assert list(store.keys("examples/")) == ["examples/sales/shop/0.1.0.json"]
        # The version is registered; its examples have not been written yet (another node is running them).
        written = store.get("examples/sales/shop/0.1.0.json")
        store.delete("examples/sales/shop/0.1.0.json")
        node = Node(workspace, NodeOptions(base_url="http://127.0.0.1:1", auth=False))
        assert "hexmesh:examples" not in node.discovery("sales", "shop").content
        store.put("examples/sales/shop/0.1.0.json", written)
        shown = node.discovery("sales", "shop").content["hexmesh:examples"]
        assert shown == {"hexmesh:passed": 2, "hexmesh:failed": 2, "hexmesh:notRun": 0}
        # Written results are the version's for good: a rewrite (here by hand) is what discovery reads.
        save_results(store, "sales/shop", "0.1.0", [ExampleResult(5, "sql", "passed", "1 row")])
        assert load_results(store, "sales/shop", "0.1.0") == [ExampleResult(5, "sql", "passed", "1 row")]
        assert load_results(store, "sales/shop", "0.2.0") is None


def test_the_product_page_carries_a_badge_and_strangers_see_counts_only(tmp_path: Path) -> None:
    shop = _shop(tmp_path)
    spec = shop / "dataproduct.yaml"
    spec.write_text(
        spec.read_text().replace(
            "\npolicies:\n", "\npolicies:\n  access:\n    - {allow: {anyone: true}, actions: [discover]}\n", 1
        )
    )
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([shop])
    with served(tmp_path / "ws", "--auth") as node:
        page = httpx.get(node.url + "/ui/products/sales/shop", timeout=60)
        assert page.status_code == 200
        assert "examples: 2 failing" in page.text
        stranger = httpx.get(node.url + "/products/sales/shop", timeout=60).json()
        assert stranger["hexmesh:examples"]["hexmesh:failed"] == 2
        assert "hexmesh:exampleResults" not in stranger  # a failure's detail may quote data: owners only


def test_a_python_example_is_confined_and_one_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    readme = f"""# sales/shop

```python
open({str(home / "settings.toml")!r}, "a")
```

```python
import time
time.sleep(60)
```
"""
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    (tmp_path / "shop" / "README.md").write_text(readme)
    env = {"HEXMESH_EXAMPLE_SECONDS": "1"}
    result = CliRunner().invoke(app, ["deploy", str(tmp_path / "shop"), "--home", str(home), "--json"], env=env)
    assert result.exit_code == 0, result.output
    (deployed,) = json.loads(result.output)["deployed"]
    confined, slow = deployed["examples"]
    assert confined["status"] == "failed"
    assert confined["detail"].startswith("README line 4: PermissionError"), confined["detail"]  # the node's home
    assert slow["status"] == "failed"
    assert "did not finish within 6 s and was stopped" in slow["detail"], slow["detail"]
    with Workspace.open(home) as workspace:  # the deploy stands
        assert workspace.status("sales/shop") is not None


def test_the_example_catalogs_sql_and_python_examples_pass_before_and_after_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = example_mesh() / "podcasts" / "podcast-catalog"
    monkeypatch.setenv("HEXMESH_HOME", str(tmp_path / "ws"))  # where the spec's source reads the export
    generate_day(tmp_path / "ws" / "landing", scale=0.01, day=date(2026, 11, 24))
    with Workspace.open(tmp_path / "ws") as workspace:
        (outcome,) = workspace.deploy([catalog])
        assert [(e.language, e.status) for e in outcome.examples] == [("sql", "passed"), ("python", "passed")]
        assert outcome.examples[1].detail == "ran in the sandbox (read: podcasts)"
        workspace.run("podcasts/podcast-catalog")
    # Deployed again beside published rows (a new workspace reading the same bundle): still passing.
    bundle = tmp_path / "catalog"
    shutil.copytree(catalog, bundle)
    with Workspace.open(tmp_path / "ws") as workspace:
        spec = bundle / "dataproduct.yaml"
        spec.write_text(spec.read_text().replace("version: 1.0.3", "version: 1.0.4"))
        (outcome,) = workspace.deploy([bundle])
        assert [e.status for e in outcome.examples] == ["passed", "passed"], outcome.examples
        assert outcome.examples[0].detail != "0 rows"  # the catalog was published: the examples saw rows


def test_a_python_example_reads_only_its_own_products_ports(tmp_path: Path) -> None:
    init_product(tmp_path / "other", domain="sales", name="other", owner="someone@example.com")
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    (tmp_path / "shop" / "README.md").write_text('```python\nrows = read("dp://sales/other/orders")\n```\n')
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([tmp_path / "other"])
        workspace.run("sales/other")
        (outcome,) = workspace.deploy([tmp_path / "shop"])
    (result,) = outcome.examples
    assert result.status == "failed"
    assert result.detail == (
        "README line 2: LookupError: 'dp://sales/other/orders' is not a port of sales/shop this example can read "
        "(readable here: none)"
    )
