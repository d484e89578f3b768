"""``POST /deploy``: a product folder sent over HTTP deploys as ``hexmesh deploy`` would, with an owner's token."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.governance import Principal
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.product.policy import tokens
from tests.server.nodes import RunningNode, build_workspace, serve

GZIP = {"Content-Type": "application/gzip"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("deploy-http"), big=False)[0]


@pytest.fixture(scope="module")
def node(home: Path) -> Iterator[RunningNode]:
    with serve(home, "--auth") as running:
        yield running


def _token(home: Path, who: str) -> dict[str, str]:
    with Workspace.open(home) as workspace:
        secret, _ = tokens.create_token(workspace.runtime.state.db, Principal(who, "User"), name=who)
    return {"Authorization": f"Bearer {secret}", **GZIP}


def _archive(folder: Path, *extra: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=".")
        for info, data in extra:
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _product(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    init_product(folder, domain="web", name=name, owner="web-team@example.com")
    return folder


def test_the_owner_deploys_over_http_others_are_refused_and_every_attempt_is_audited(
    node: RunningNode, home: Path, tmp_path: Path
) -> None:
    body = _archive(_product(tmp_path, "visits"))
    with node.client() as http:
        anonymous = http.post("/deploy", content=body, headers=GZIP)
        stranger = http.post("/deploy", content=body, headers=_token(home, "eve@example.com"))
        owner = http.post("/deploy", content=body, headers=_token(home, "web-team@example.com"))
        again = http.post("/deploy", content=body, headers=_token(home, "web-team@example.com"))
    assert anonymous.status_code == 401 and "needs an API token of the products' owner" in anonymous.json()["detail"]
    assert stranger.status_code == 403
    assert owner.status_code == 200, owner.text
    (deployed,) = owner.json()["deployed"]
    assert deployed["product"] == "web/visits" and deployed["changed"] is True
    assert again.json()["deployed"][0]["changed"] is False  # idempotent, as on the CLI
    assert len(list((home / "uploads").iterdir())) == 1  # the deployed version's origin; the unchanged one went
    with Workspace.open(home) as workspace:
        assert [v.version for v in workspace.runtime.state.versions("web/visits")] == ["0.1.0"]
        decisions = [(e.actor, e.decision) for e in workspace.stewardship.audit(action="control.deploy")]
    assert ("User:web-team@example.com", "deployed") in decisions and ("User:eve@example.com", "refused") in decisions


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 0 if link else 4
    return info, b"" if link else b"evil"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (_member("../escaped.txt"), "outside the product folder"),
        (_member("/etc/escaped.txt"), "outside the product folder"),
        (_member("passwd", tarfile.SYMTYPE, "/etc/passwd"), "not a plain file or folder"),
        (_member("hard", tarfile.LNKTYPE, "/etc/passwd"), "not a plain file or folder"),
    ],
)
def test_an_archive_that_reaches_outside_its_folder_is_refused_and_nothing_is_written(
    node: RunningNode, home: Path, tmp_path: Path, extra: tuple[tarfile.TarInfo, bytes], says: str
) -> None:
    before = set((home / "uploads").glob("*")) if (home / "uploads").exists() else set()
    body = _archive(_product(tmp_path, "sneaky"), extra)
    with node.client() as http:
        response = http.post("/deploy", content=body, headers=_token(home, "web-team@example.com"))
    assert response.status_code == 400 and says in response.json()["detail"]
    assert not (home.parent / "escaped.txt").exists() and not (home / "escaped.txt").exists()
    after = set((home / "uploads").glob("*")) if (home / "uploads").exists() else set()
    assert after == before


def test_what_is_not_a_product_archive_gets_a_clear_error(node: RunningNode, home: Path, tmp_path: Path) -> None:
    owner = _token(home, "web-team@example.com")
    broken = _product(tmp_path, "broken")
    (broken / "dataproduct.yaml").write_text("name: [unclosed\n")
    with node.client() as http:
        not_tar = http.post("/deploy", content=b"just some bytes", headers=owner)
        invalid = http.post("/deploy", content=_archive(broken), headers=owner)
        too_big = http.post("/deploy", content=b"0" * (16 * 1024 * 1024 + 1), headers=owner)
    assert not_tar.status_code == 400 and "not a tar archive" in not_tar.json()["detail"]
    assert invalid.status_code == 422
    assert too_big.status_code == 413
    with Workspace.open(home) as workspace:
        assert workspace.runtime.state.versions("web/broken") == []


def test_a_node_without_auth_refuses_deploys_over_http(home: Path, tmp_path: Path) -> None:
    with serve(home) as open_node, open_node.client() as http:  # --no-auth
        response = http.post("/deploy", content=_archive(_product(tmp_path, "open")), headers=GZIP)
    assert response.status_code == 409 and "--no-auth" in response.json()["detail"]


def test_the_cli_deploys_to_a_node_with_node_and_says_why_when_refused(
    node: RunningNode, home: Path, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from hexmesh.cli.main import app

    folder = _product(tmp_path, "carts")
    owner = _token(home, "web-team@example.com")["Authorization"].removeprefix("Bearer ")
    stranger = _token(home, "eve@example.com")["Authorization"].removeprefix("Bearer ")
    cli = CliRunner()
    done = cli.invoke(app, ["deploy", str(folder), "--node", node.url, "--token", owner, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["deployed"][0]["product"] == "web/carts"
    refused = cli.invoke(app, ["deploy", str(folder), "--node", node.url, "--token", stranger])
    assert refused.exit_code == 22 and "refused the deploy (403)" in refused.output
    nobody = cli.invoke(app, ["deploy", str(folder), "--node", "http://127.0.0.1:9", "--token", owner])
    assert nobody.exit_code != 0 and "did not answer" in nobody.output
