"""Which policies are in force: the latest explicit act of the owners, a control-port revision or a deploy."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.lifecycle.policies import replace_policies
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import PolicySidecar, SqlPolicy, tokens
from hexmesh.product.policy.revisions import policies_in_force
from hexmesh.product.sql import start_sql_port
from hexmesh.product.sql.auth import TokenAuthenticator
from tests.product.policy.conftest import PRINCIPALS, SECRET, SPEC, SQL, _tls, rows_csv
from tests.product.sql.conftest import Loop, write_product

REPLACEMENT = {
    "access": [{"id": "finance", "allow": {"group": "finance"}}],
    "privacy": [{"field": "customer_id", "pseudonymize": {"scope": "domain"}}],
}


def _bump(folder: Path, version: str, *, policies: str | None = None) -> None:
    spec = folder / "dataproduct.yaml"
    text = spec.read_text()
    text = text.replace(text.split("version: ", 1)[1].split("\n", 1)[0], version, 1)
    if policies is not None:
        text = text.split("\npolicies:")[0] + policies
    spec.write_text(text)


def test_a_revision_survives_a_release_with_the_same_policies_and_yields_to_one_that_changes_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    init_product(folder, domain="sales", name="shop", owner="me@example.com")
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([folder])
        product = DeployedProduct.load(workspace.runtime, "sales/shop")
        assert policies_in_force(workspace.runtime, product).source == "spec"
        in_force = replace_policies(workspace.runtime, product, REPLACEMENT, "User:me@example.com")
        assert (in_force.source, in_force.revision) == ("control", 1)

        _bump(folder, "0.1.1")  # a bug fix: same policies, so the owners' revision stays in force
        workspace.deploy([folder])
        fixed = DeployedProduct.load(workspace.runtime, "sales/shop")
        assert fixed.record.version == "0.1.1"
        assert policies_in_force(workspace.runtime, fixed).policies.access[0].id == "finance"

        stricter = "\npolicies:\n  privacy:\n    - {field: customer_id, redact: true}\n"
        _bump(folder, "0.1.2", policies=stricter)  # the spec's policies change: the deploy is the newer act
        workspace.deploy([folder])
        released = DeployedProduct.load(workspace.runtime, "sales/shop")
        found = policies_in_force(workspace.runtime, released)
        assert (found.source, found.revision) == ("spec", 0) and found.policies.privacy[0].redact
        assert found.latest is not None and found.latest.revision == 1  # kept in the history


def test_the_next_sql_connection_reads_under_a_revision_set_while_the_port_serves(tmp_path: Path, loop: Loop) -> None:
    # The SQL port keeps what it read of the catalog between connections: a revision must still
    # reach the very next connection, however many connections came before it.
    folder = write_product(tmp_path / "orders", SPEC, SQL, rows_csv())
    with Workspace(Settings.defaults(tmp_path / "ws")) as workspace:
        workspace.deploy([folder])
        workspace.run("sales/orders")
        sidecar = PolicySidecar(workspace.runtime, secret=SECRET)
        authenticator = TokenAuthenticator(sidecar)
        server = loop.run(
            start_sql_port(
                workspace, "127.0.0.1", 0, authenticator, policy=SqlPolicy(sidecar), ssl_context=_tls(tmp_path)
            )
        )
        token, _ = tokens.create_token(sidecar.db, PRINCIPALS["analyst"])
        dsn = f"host=127.0.0.1 port={server.port} user=ann dbname=mesh sslmode=require password={token}"
        columns = "select column_name from information_schema.columns where table_name = 'orders__orders' order by 1"
        try:
            for _ in range(3):
                with psycopg.connect(dsn, autocommit=True) as con:
                    shown = [name for (name,) in con.execute(columns).fetchall()]
                    assert "customer" in shown and "margin" not in shown
            product = DeployedProduct.load(workspace.runtime, "sales/orders")
            finance_only = {
                "access": [{"id": "finance", "allow": {"group": "finance"}}],
                "privacy": [{"field": "customer", "pseudonymize": {"scope": "product"}}],
            }
            replace_policies(workspace.runtime, product, finance_only, "User:sales@example.com")
            with psycopg.connect(dsn, autocommit=True) as con:
                assert con.execute(columns).fetchall() == []
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may not read sales.orders__orders"):
                    con.execute("select count(*) from sales.orders__orders")
        finally:
            loop.run(server.close())
