"""A product reads its input ports as a principal: exactly what that principal may read from outside.

Issue 11's finding: ``evalx/sneaky`` (owner mallory, no grant anywhere) declared the plays and the
profiles as inputs, joined them and served ``ip_address`` and the *decrypted* restricted ``email``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import DeployError, HexmeshError
from hexmesh.governance import AccessDeniedError, Principal
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace, stewardship
from hexmesh.product import authority
from hexmesh.product.control import UnauthorizedError
from hexmesh.product.policy import tokens

PLAYS = """
domain: podcasts
name: plays
version: 1.0.0
owner: player-team@example.com
description: Plays, with the listener's IP address only the owner sees.
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation: {sql: transform.sql}
outputPorts:
  - name: plays
    properties:
      - {name: listener_id, logicalType: string, classification: internal}
      - {name: podcast_id, logicalType: string, classification: public}
      - {name: ip_address, logicalType: string, classification: confidential}
policies:
  access:
    - {allow: {group: podcasts-analytics}, ports: [plays]}
  privacy:
    - {field: ip_address, mask: redact}
"""

PROFILES = """
domain: users
name: profiles
version: 1.0.0
owner: users-team@example.com
description: Listeners, each with a sealed e-mail.
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation: {sql: transform.sql}
outputPorts:
  - name: profiles
    properties:
      - {name: user_id, logicalType: string, required: true, classification: internal, tags: [subject]}
      - {name: email, logicalType: string, classification: restricted}
      - {name: region, logicalType: string, classification: internal}
policies:
  access:
    - {allow: {group: analytics}, ports: [profiles], columns: {exclude: [email]}}
  privacy:
    - {field: email, mask: redact}
"""

SNEAKY = """
domain: evalx
name: sneaky
version: 1.0.0
owner: mallory@evil.test
description: Joins what it was never granted.
inputPorts:
  - {name: plays, from: dp://podcasts/plays/plays}
  - {name: profiles, from: dp://users/profiles/profiles}
transformation: {sql: transform.sql}
outputPorts:
  - name: leaked
    properties:
      - {name: user_id, logicalType: string, classification: public}
      - {name: ip_address, logicalType: string, classification: public}
      - {name: email, logicalType: string, classification: public}
"""
SNEAKY_SQL = "select u.user_id, p.ip_address, u.email from plays as p join profiles as u on u.user_id = p.listener_id\n"

HONEST = """
domain: research
name: listening
version: 1.0.0
owner: rita@research.test
description: Counts plays per podcast, with an approved research grant on the plays.
inputPorts:
  - {name: plays, from: dp://podcasts/plays/plays, purpose: research}
transformation: {sql: transform.sql}
outputPorts:
  - name: seen
    properties:
      - {name: podcast_id, logicalType: string, classification: public}
      - {name: ip_address, logicalType: string, classification: public}
"""

IPS = [f"10.66.0.{n}" for n in range(1, 7)]
EMAILS = [f"canary{n}@users.test" for n in range(1, 7)]


def _product(folder: Path, spec: str, sql: str, data: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
    (folder / "transform.sql").write_text(sql, encoding="utf-8")
    if data is not None:
        (folder / "data").mkdir()
        (folder / "data" / "rows.csv").write_text(data, encoding="utf-8")
    return folder


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    """The plays and the profiles deployed and run; the folder to write consumers in."""
    plays = "listener_id,podcast_id,ip_address\n" + "".join(f"u{n},pod{n % 2},{IPS[n - 1]}\n" for n in range(1, 7))
    people = "user_id,email,region\n" + "".join(f"u{n},{EMAILS[n - 1]},EU\n" for n in range(1, 7))
    folders = [
        _product(tmp_path / "plays", PLAYS, "select * from raw\n", plays),
        _product(tmp_path / "profiles", PROFILES, "select * from raw\n", people),
    ]
    workspace = Workspace(Settings.defaults(tmp_path / "ws"))
    workspace.deploy(folders)
    workspace.run("podcasts/plays")
    workspace.run("users/profiles")
    yield workspace, tmp_path
    workspace.close()


def _leftovers(workspace: Workspace) -> list[str]:
    """Canaries anywhere but the plays' own table (which keeps IPs, in clear, for its owner): other
    tables' Parquet files, staged files, run records, the audit log. E-mails are sealed at rest everywhere."""
    found = []
    for path in workspace.settings.home.rglob("*.parquet"):
        text = path.read_bytes().decode("latin-1")
        own = "podcasts.plays" in str(path)
        found += [f"{path}: {v}" for v in EMAILS + ([] if own else IPS) if v in text]
    state = workspace.runtime.state
    records = str(audit.query(state.db, limit=100_000)) + str(state.runs(limit=1000))
    found += [f"audit: {v}" for v in IPS + EMAILS if v in records]
    return found


def test_a_product_without_grants_cannot_deploy_and_nothing_hidden_reaches_it(mesh: tuple[Workspace, Path]) -> None:
    workspace, root = mesh
    sneaky = _product(root / "sneaky", SNEAKY, SNEAKY_SQL)
    # Classification follows the data: publishing the restricted e-mail as public is refused first.
    with pytest.raises(HexmeshError, match=r"field:leaked\.email: carries restricted data from profiles\.email"):
        workspace.plan([sneaky])
    declared = "{name: email, logicalType: string, classification: public}"
    excused = "{name: email, logicalType: string, classification: public, classificationReason: mallory says so}"
    (sneaky / "dataproduct.yaml").write_text(textwrap.dedent(SNEAKY.replace(declared, excused)).lstrip())
    plans = workspace.plan([sneaky])
    refusal = plans[0].refusal or ""
    for port, address in (("plays", "dp://podcasts/plays/plays"), ("profiles", "dp://users/profiles/profiles")):
        assert f"input port {port!r} of evalx/sneaky reads {address}" in refusal
        assert f"hexmesh access request {address} --purpose <purpose> --for evalx/sneaky" in refusal
    with pytest.raises(HexmeshError) as refused:
        workspace.deploy([sneaky])
    assert "input port 'plays' of evalx/sneaky" in str(refused.value)
    assert not workspace.runtime.state.versions("evalx/sneaky")
    assert not _leftovers(workspace)


def test_an_approved_grant_reads_as_the_product_sees_it_and_a_revoked_one_fails_the_next_run(
    mesh: tuple[Workspace, Path],
) -> None:
    workspace, root = mesh
    honest = _product(root / "honest", HONEST, "select podcast_id, ip_address from plays\n")
    refusal = workspace.plan([honest])[0].refusal or ""
    assert "hexmesh access request dp://podcasts/plays/plays --purpose research --for research/listening" in refusal
    stewardship = workspace.stewardship
    rita = Principal("rita@research.test")
    request = stewardship.request_access(rita, "podcasts/plays", "plays", "research", for_product="research/listening")
    assert request.principal.key == "DataProduct:research/listening" and "asked by User:rita@research.test" in (
        request.note
    )
    owner = Principal("player-team@example.com")
    stewardship.decide(request.id, owner, "approve", "for the listening study")
    workspace.deploy([honest])
    workspace.run("research/listening")
    seen = workspace.read("dp://research/listening/seen").to_pylist()
    assert len(seen) == 6 and {r["ip_address"] for r in seen} == {None}  # redacted, as for any non-owner
    assert sorted({r["podcast_id"] for r in seen}) == ["pod0", "pod1"]
    stewardship.decide(request.id, owner, "revoke", "study over")
    with pytest.raises(AccessDeniedError) as failed:
        workspace.run("research/listening", force=True)
    assert str(failed.value).splitlines()[0] == refusal.splitlines()[0]
    denied = audit.query(workspace.runtime.state.db, actor="DataProduct:research/listening")
    assert any(e.decision == "deny" and e.action == "input.read" for e in denied)
    assert not _leftovers(workspace)


def test_asking_for_a_deployed_product_needs_its_owner(mesh: tuple[Workspace, Path]) -> None:
    workspace, _ = mesh
    mallory = Principal("mallory@evil.test")
    with pytest.raises(AccessDeniedError, match="does not control users/profiles"):
        workspace.stewardship.request_access(
            mallory, "podcasts/plays", "plays", "research", for_product="users/profiles"
        )


def test_a_purpose_is_for_inputs_that_read_an_upstream_port(tmp_path: Path) -> None:
    spec = HONEST.replace(
        "from: dp://podcasts/plays/plays, purpose: research", "source: {format: csv, path: d}, purpose: x"
    )
    folder = _product(tmp_path / "bad", spec, "select 1\n")
    with (
        Workspace(Settings.defaults(tmp_path / "ws")) as workspace,
        pytest.raises(HexmeshError, match="use it with 'from'"),
    ):
        workspace.validate([folder])


def test_reading_a_port_from_the_workspace_goes_through_the_same_door(
    mesh: tuple[Workspace, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, _ = mesh
    db = workspace.runtime.state.db
    analyst = tokens.create_token(db, Principal("ann", groups=frozenset({"podcasts-analytics"})))[0]
    stranger = tokens.create_token(db, Principal("mallory@evil.test"))[0]
    seen = workspace.read("dp://podcasts/plays/plays", token=analyst)
    assert seen.num_rows == 6 and set(seen.column("ip_address").to_pylist()) == {None}
    with pytest.raises(AccessDeniedError, match="hexmesh access request dp://podcasts/plays/plays"):
        workspace.read("dp://podcasts/plays/plays", token=stranger)
    # The workspace's root reads the rows as stored, audited as an unrestricted read.
    assert sorted(workspace.read("dp://podcasts/plays/plays").column("ip_address").to_pylist()) == sorted(IPS)
    assert audit.query(db, action="unrestricted.read")
    monkeypatch.setattr(stewardship, "workspace_root", lambda settings: None)
    monkeypatch.setattr(authority, "workspace_root", lambda settings: None)  # the workspace imports it per read
    with pytest.raises(UnauthorizedError, match="needs a token"):
        workspace.read("dp://podcasts/plays/plays", authorize=True)


def test_hexmesh_plan_shows_a_new_products_missing_grant(mesh: tuple[Workspace, Path]) -> None:
    workspace, root = mesh
    honest = _product(root / "honest", HONEST, "select podcast_id, ip_address from plays\n")
    home = str(workspace.settings.home)
    shown = CliRunner().invoke(app, ["plan", str(honest), "--home", home, "--check"], env={"COLUMNS": "300"})
    assert shown.exit_code == DeployError.exit_code, shown.output
    assert "research/listening 1.0.0: new product, refused" in shown.output
    assert "hexmesh access request dp://podcasts/plays/plays --purpose research --for research/listening" in (
        " ".join(shown.output.split())
    )


def test_hexmesh_access_request_for_a_product(mesh: tuple[Workspace, Path]) -> None:
    workspace, _ = mesh
    rita = tokens.create_token(workspace.runtime.state.db, Principal("rita@research.test"))[0]
    home = str(workspace.settings.home)
    args = ["access", "request", "dp://podcasts/plays/plays", "--purpose", "research", "--for", "research/listening"]
    asked = CliRunner().invoke(app, [*args, "--token", rita, "--home", home], env={"COLUMNS": "300"})
    assert asked.exit_code == 0, asked.output
    [request] = workspace.stewardship.requests(product="podcasts/plays")
    assert request.principal.key == "DataProduct:research/listening" and request.status == "pending"
