"""The files port, pinned snapshot URLs and the client's ``read(filter=)`` filter what the caller sees.

Before, ``?filter=`` ran on the stored values before masking: a yes/no oracle that mapped every
pseudonym back to its real id. Now a filter compares what the caller reads (pseudonyms), a
filter on a column it may not see is refused like one that does not exist, and the audit log
records what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import hexmesh
from hexmesh.cli.main import app
from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace
from tests.cli.test_serve import bearer, serving, token, with_policies

POLICIES = """
policies:
  access:
    - {id: analysts, allow: {group: analysts}, columns: {exclude: [amount]}}
  privacy:
    - {field: customer_id, pseudonymize: {scope: domain}}
"""
PORT = "/products/sales/shop/ports/orders"


def analyst_token(home: Path) -> str:
    result = CliRunner().invoke(
        app, ["token", "create", "ann@example.com", "--group", "analysts", "--home", str(home), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str, str]]:
    root = tmp_path_factory.mktemp("shaped")
    with serving(root, "--auth", spec=with_policies(POLICIES)) as (http_port, _):
        home = root / "ws"
        yield f"http://127.0.0.1:{http_port}", home, analyst_token(home), token(home, "me@example.com")


def _rows(response: httpx.Response) -> pa.Table:
    assert response.status_code == 200, response.text
    return pq.read_table(pa.BufferReader(response.content))


def test_a_filter_on_the_real_id_answers_nothing_and_on_the_pseudonym_the_rows(
    node: tuple[str, Path, str, str],
) -> None:
    url, _, analyst, _ = node
    with httpx.Client(base_url=url, headers=bearer(analyst), timeout=30) as http:
        everything = _rows(http.get(f"{PORT}/data"))
        pinned = http.get(f"{PORT}/data").headers["Content-Location"]
        pseudonym = everything.column("customer_id")[0].as_py()
        assert pseudonym.startswith("p_")
        for path in (f"{PORT}/data", pinned):
            real = _rows(http.get(path, params={"filter": "customer_id = 101"}))
            decoy = _rows(http.get(path, params={"filter": "customer_id = 999"}))
            assert real.num_rows == decoy.num_rows == 0  # no yes/no answer about the real id
            mine = _rows(http.get(path, params={"filter": f"customer_id = '{pseudonym}'"}))
            assert mine.num_rows == 2 and set(mine.column("customer_id").to_pylist()) == {pseudonym}
    with hexmesh.connect(url, token=analyst) as client:
        port = client.product("sales/shop").port("orders")
        assert port.read(filter="customer_id = 101").num_rows == 0
        assert port.read(filter=f"customer_id = '{pseudonym}'").num_rows == 2


def test_a_filter_on_a_hidden_column_is_refused_like_a_missing_one_and_audited(
    node: tuple[str, Path, str, str],
) -> None:
    url, home, analyst, owner = node
    with httpx.Client(base_url=url, headers=bearer(analyst), timeout=30) as http:
        hidden = http.get(f"{PORT}/data", params={"filter": "amount > 40"})
        missing = http.get(f"{PORT}/data", params={"filter": "amuont > 40"})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["detail"].replace("amount", "X") == missing.json()["detail"].replace("amuont", "X")
    assert "amount" not in missing.json()["detail"]  # the hint names only what the analyst reads
    with hexmesh.connect(url, token=analyst) as client, pytest.raises(HexmeshError, match="no column amount"):
        client.product("sales/shop").port("orders").read(filter="amount > 40")
    with Workspace(Settings.load(home)) as workspace:
        entries = audit.query(workspace.runtime.state.db, action="files.read", actor="User:ann@example.com")
    refused = [e for e in entries if e.decision == "deny"]
    assert refused and refused[-1].details["request"] == {"filter": "amount > 40"}
    assert "no column amount" in refused[-1].details["reasons"][0]
    allowed = [e for e in entries if e.decision == "allow" and e.details.get("request", {}).get("filter")]
    assert any(e.details["request"]["filter"].startswith("customer_id = ") for e in allowed)
    # The owner reads in clear: the same filter on the real id finds the customer's rows.
    with httpx.Client(base_url=url, headers=bearer(owner), timeout=30) as http:
        assert _rows(http.get(f"{PORT}/data", params={"filter": "customer_id = 101"})).num_rows == 2
