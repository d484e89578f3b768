"""A node joins its cluster only with the cluster's master key, mesh secret and governance files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hexmesh.infra.keys import generate_master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Stewardship, Workspace
from hexmesh.product.authority import Actor
from hexmesh.product.control import ForbiddenError, Tokens, UnauthorizedError
from hexmesh.product.membership import ClusterMismatchError, events_namespace, join_cluster
from hexmesh.product.runtime import Runtime

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
RULES = "rules:\n  - {id: acme.owner, severity: warning, when: product, require: owner}\n"


@pytest.fixture
def shared_state() -> Iterator[str]:
    name = f"hexmesh_test_cluster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


class Nodes:
    def __init__(self, root: Path, state_url: str) -> None:
        self.root, self.state_url = root, state_url
        self.opened: list[Runtime] = []

    def node(self, name: str, rules: str | None = RULES, **values: object) -> Runtime:
        home = self.root / name
        if rules is not None:
            (home / "governance").mkdir(parents=True, exist_ok=True)
            (home / "governance" / "rules.yaml").write_text(rules)
        settings = Settings.defaults(home).merged({"state_url": self.state_url, "node_name": name, **values})
        runtime = Runtime(settings)
        self.opened.append(runtime)
        return runtime


@pytest.fixture
def nodes(tmp_path: Path, shared_state: str) -> Iterator[Nodes]:
    made = Nodes(tmp_path, shared_state)
    yield made
    for runtime in made.opened:
        runtime.close()


def secrets_of(runtime: Runtime) -> dict[str, str]:
    """The founder's secrets as an operator copies them to the other nodes' settings."""
    home = runtime.settings.home
    return {
        "master_key": (home / "keys" / "master.key").read_text().strip(),
        "secret": (home / "mesh.secret").read_text().strip(),
    }


@pytest.mark.postgres
def test_a_node_without_the_clusters_secrets_is_refused_saying_what_to_set(nodes: Nodes) -> None:
    founder = join_cluster(nodes.node("node-a"))
    assert founder.founded and founder.set_by == "node-a"
    newcomer = nodes.node("node-b")
    with pytest.raises(ClusterMismatchError) as refused:
        join_cluster(newcomer)
    message = str(refused.value)
    assert "node-b" in message and "founded by node-a" in message and "Nothing was started" in message
    assert "master key is missing: set master_key (HEXMESH_MASTER_KEY)" in message
    assert "mesh secret is missing: set secret (HEXMESH_SECRET)" in message
    assert "governance" not in message  # its rules are the cluster's
    # The check made no secret of its own for the node (which would never match).
    assert not (newcomer.settings.home / "keys").exists() and not (newcomer.settings.home / "mesh.secret").exists()


@pytest.mark.postgres
def test_a_node_with_the_clusters_secrets_joins_and_sees_the_same_mesh(nodes: Nodes) -> None:
    a = nodes.node("node-a")
    join_cluster(a)
    b = nodes.node("node-b", **secrets_of(a))
    assert join_cluster(b).mesh_id == join_cluster(a).mesh_id
    assert events_namespace(a) == events_namespace(b) == f"hexmesh-{join_cluster(a).mesh_id}"


@pytest.mark.postgres
def test_a_wrong_master_key_is_named_not_the_clusters(nodes: Nodes) -> None:
    a = nodes.node("node-a")
    join_cluster(a)
    other_key = generate_master_key()  # a good key, but not the cluster's
    b = nodes.node("node-b", **{**secrets_of(a), "master_key": other_key})
    with pytest.raises(ClusterMismatchError, match=r"master key from HEXMESH_MASTER_KEY is not the cluster's") as e:
        join_cluster(b)
    assert other_key not in str(e.value) and "mesh secret" not in str(e.value)


@pytest.mark.postgres
def test_different_governance_files_are_listed_and_accepted_only_on_purpose(nodes: Nodes) -> None:
    a = nodes.node("node-a")
    join_cluster(a)
    b = nodes.node("node-b", rules=RULES.replace("warning", "blocking"), **secrets_of(a))
    (b.settings.home / "governance" / "policies.yaml").write_text("policies: []\n")
    with pytest.raises(ClusterMismatchError, match=r"not the cluster's \(not in the cluster's policies.yaml; "
                       r"different rules.yaml\).*--accept-governance"):  # fmt: skip
        join_cluster(b)
    join_cluster(b, accept_governance=True)  # the rules changed on purpose: node-b's are the cluster's now
    with pytest.raises(ClusterMismatchError, match=r"missing policies.yaml; different rules.yaml"):
        join_cluster(a)  # until node-a gets the new files


@pytest.mark.postgres
def test_accepting_governance_never_accepts_a_missing_secret(nodes: Nodes) -> None:
    join_cluster(nodes.node("node-a"))
    with pytest.raises(ClusterMismatchError, match=r"master key is missing"):
        join_cluster(nodes.node("node-b", rules="rules: []\n"), accept_governance=True)


def test_a_node_on_its_own_sqlite_store_has_a_mesh_id_and_no_membership_check(tmp_path: Path) -> None:
    runtime = Runtime(Settings.defaults(tmp_path / "solo"))
    try:
        first = join_cluster(runtime)
        assert not first.founded and len(first.mesh_id) == 12
        assert join_cluster(runtime).mesh_id == first.mesh_id  # made once
        assert events_namespace(runtime) == f"hexmesh-{first.mesh_id}"
        named = Runtime(runtime.settings.merged({"events_namespace": "hexmesh-sales"}))
        assert events_namespace(named) == "hexmesh-sales"
        named.close()
    finally:
        runtime.close()


@pytest.mark.postgres
def test_an_operator_token_of_one_node_acts_on_every_node_and_is_kept_only_hashed(nodes: Nodes) -> None:
    a = nodes.node("node-a")
    (a.settings.home / "tokens.yaml").write_text(
        "op-s3cret-a: {name: platform, role: governance}\nci-s3cret-a: {name: shop-ci, products: [sales/shop]}\n"
    )
    b = nodes.node("node-b", tokens="env-s3cret-b=owner:sales/big")
    Tokens.load(a.settings, a.state.db)
    on_b = Tokens.load(b.settings, b.state.db)
    on_a = Tokens.load(a.settings, a.state.db)  # again: nothing doubles, node-b's token is known here too

    assert not (a.settings.home / "tokens.yaml").exists()  # its secrets now live in the shared state, hashed
    assert on_b.authorize("op-s3cret-a", "sales/shop").role == "governance"
    assert on_b.authorize("ci-s3cret-a", "sales/shop").name == "shop-ci"
    with pytest.raises(ForbiddenError, match="shop-ci"):
        on_b.authorize("ci-s3cret-a", "sales/big")  # an owner token still acts only on its products
    assert on_a.authorize("env-s3cret-b", "sales/big").role == "owner"
    with pytest.raises(UnauthorizedError):
        on_a.authorize("op-s3cret-b", "sales/shop")
    assert sorted(p.name for p in on_a.principals()) == ["env-token-1", "platform", "shop-ci"]
    with psycopg.connect(nodes.state_url) as conn:
        stored = conn.execute("select * from operator_tokens").fetchall()
    assert len(stored) == 3 and "s3cret" not in str(stored)


@pytest.mark.postgres
def test_migrating_operator_tokens_on_one_node_retires_them_on_every_node(nodes: Nodes) -> None:
    a = nodes.node("node-a")
    (a.settings.home / "tokens.yaml").write_text("op-s3cret-a: {name: platform, role: governance}\n")
    Tokens.load(a.settings, a.state.db)
    b = nodes.node("node-b")
    with Workspace(b.settings) as workspace:
        stewardship = Stewardship(workspace)
        migrated = stewardship.migrate_legacy_tokens(Actor("test"))
    assert [m.name for m in migrated] == ["platform"] and migrated[0].secret is not None
    assert Tokens.load(a.settings, a.state.db).known("op-s3cret-a") is None  # replaced by its API token
