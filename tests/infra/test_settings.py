"""Settings: one place reads every variable; files and variables are checked, with "did you mean"."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import CLIENT_VARIABLES, Settings, settings_fields
from hexmesh.infra.settings.model import GROUPS
from hexmesh.infra.settings.reference import reference

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "hexmesh"


def _write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.yaml").write_text(text, encoding="utf-8")


def test_the_file_sets_and_the_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "events_url: nats://a:4222\nplacement: [sales, users/user-profiles]\nlease_seconds: 5\n")
    settings = Settings.load(tmp_path)
    assert settings.events_url == "nats://a:4222"
    assert settings.placement == ("sales", "users/user-profiles") and settings.lease_seconds == 5.0
    assert settings.runs_here("sales/shop") and settings.runs_here("users/user-profiles")
    assert not settings.runs_here("users/other")
    monkeypatch.setenv("HEXMESH_EVENTS_URL", "nats://b:4222")
    monkeypatch.setenv("HEXMESH_PLACEMENT", "podcasts")
    settings = Settings.load(tmp_path)
    assert settings.events_url == "nats://b:4222" and settings.placement == ("podcasts",)


@pytest.mark.parametrize(
    ("key", "hint"),
    [("s3.endpoint", "s3_endpoint"), ("catalog_uri", "catalog_url"), ("S3_REGION", "s3_region")],
)
def test_an_unknown_key_names_the_closest(tmp_path: Path, key: str, hint: str) -> None:
    _write(tmp_path, f"{key}: x\n")
    with pytest.raises(WorkspaceError, match=rf"unknown setting.*{re.escape(repr(key))} \(did you mean {hint}"):
        Settings.load(tmp_path)


def test_an_unknown_variable_names_the_closest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEXMESH_STAT_URL", "postgresql://x/y")
    with pytest.raises(WorkspaceError, match=r"unknown variable HEXMESH_STAT_URL \(did you mean HEXMESH_STATE_URL"):
        Settings.load(tmp_path)
    monkeypatch.delenv("HEXMESH_STAT_URL")
    monkeypatch.setenv("HEXMESH_BENCH_ROWS", "10")  # the benchmarks' own knobs are not settings
    monkeypatch.setenv("HEXMESH_TOKEN", "hxm_x")  # nor are the client's variables
    assert Settings.load(tmp_path).state_url.startswith("sqlite:///")


def test_bad_values_name_where_they_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEXMESH_LEASE_SECONDS", "soon")
    with pytest.raises(WorkspaceError, match=r"HEXMESH_LEASE_SECONDS is 'soon', not a number of zero or more"):
        Settings.load(tmp_path)
    monkeypatch.delenv("HEXMESH_LEASE_SECONDS")
    _write(tmp_path, "s3_path_style: maybe\n")
    with pytest.raises(WorkspaceError, match=r"s3_path_style in .*settings.yaml is 'maybe', not true or false"):
        Settings.load(tmp_path)
    _write(tmp_path, "s3_secret_access_key: [1, 2]\n")
    with pytest.raises(WorkspaceError, match=r"is \(hidden\), not text") as error:
        Settings.load(tmp_path)
    assert "[1, 2]" not in str(error.value)  # a secret's value never appears in a message


def test_files_take_variables_by_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "s3_secret_access_key: ${MY_S3_SECRET}\ns3_endpoint: ${MY_S3:-http://127.0.0.1:8333}\n")
    monkeypatch.setenv("MY_S3_SECRET", "s3cr3t")
    settings = Settings.load(tmp_path)
    assert settings.s3_secret_access_key == "s3cr3t" and settings.s3_endpoint == "http://127.0.0.1:8333"
    assert "s3cr3t" not in repr(settings) and settings.shown()["s3_secret_access_key"] == "(set)"
    monkeypatch.delenv("MY_S3_SECRET")
    with pytest.raises(WorkspaceError, match=r"uses \$\{MY_S3_SECRET\}, which is not set"):
        Settings.load(tmp_path)


def test_s3_settings_fall_back_to_the_standard_aws_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws-endpoint:9000")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    settings = Settings.load(tmp_path)
    assert (settings.s3_access_key_id, settings.s3_endpoint, settings.s3_region) == (
        "from-aws",
        "http://aws-endpoint:9000",
        "eu-west-3",
    )
    _write(tmp_path, "s3_access_key_id: from-file\n")
    assert Settings.load(tmp_path).s3_access_key_id == "from-file"  # the file is more specific
    monkeypatch.setenv("HEXMESH_S3_ACCESS_KEY_ID", "from-hexmesh")
    assert Settings.load(tmp_path).s3_access_key_id == "from-hexmesh"


def test_catalog_properties_pass_through_from_the_file_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "catalog_properties:\n  rest.sigv4-enabled: true\n  rest.signing-name: s3tables\n")
    assert Settings.load(tmp_path).catalog_properties == {"rest.sigv4-enabled": "true", "rest.signing-name": "s3tables"}
    monkeypatch.setenv("HEXMESH_CATALOG_PROPERTIES", '{"a.b": "1"}')
    assert Settings.load(tmp_path).catalog_properties == {"a.b": "1"}
    monkeypatch.setenv("HEXMESH_CATALOG_PROPERTIES", "a.b=1, c=2")
    assert Settings.load(tmp_path).catalog_properties == {"a.b": "1", "c": "2"}
    monkeypatch.setenv("HEXMESH_CATALOG_PROPERTIES", "no-equals-sign")
    with pytest.raises(WorkspaceError, match="not a mapping"):
        Settings.load(tmp_path)


def test_the_configuration_reference_is_current() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == reference(), "regenerate it: python -m hexmesh.infra.settings > docs/configuration.md"
    for item in settings_fields():
        assert f"| `{item.name}` | `{item.metadata['env']}` |" in page
    for name in CLIENT_VARIABLES:
        assert f"`{name}`" in page


def _reads_environment(node: ast.AST) -> bool:
    """``os.environ[...]``, ``os.environ.get(...)``, ``os.getenv(...)`` or ``envvar=...``."""
    text = ast.unparse(node)
    return "environ" in text or "getenv" in text


def test_no_module_outside_settings_reads_a_hexmesh_variable() -> None:
    """Every HEXMESH_* variable is read in hexmesh.infra.settings (and named there)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if "infra/settings" in path.as_posix():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if isinstance(node, (ast.Call, ast.Subscript)) and _reads_environment(node):
                if re.search(r"['\"]HEXMESH_", ast.unparse(node)):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.keyword) and node.arg == "envvar" and literal is False:
                if re.search(r"['\"]HEXMESH_", ast.unparse(node.value)):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"HEXMESH_[A-Z_]+", node.value)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} names {node.value}")
    assert offenders == [], "read it as a setting (hexmesh.infra.settings) instead"


def test_every_variable_a_message_names_exists() -> None:
    """A message telling a user to set HEXMESH_X must name a real variable."""
    known = {item.metadata["env"] for item in settings_fields()} | set(CLIENT_VARIABLES)
    named = set()
    for path in [*SRC.rglob("*.py"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        named |= set(re.findall(r"\bHEXMESH_[A-Z][A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    assert {n for n in named - known if not n.startswith("HEXMESH_BENCH_")} == set()


def test_hexmesh_settings_prints_what_is_in_effect_without_secrets(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hexmesh.cli.main import app

    _write(tmp_path, "events_url: nats://127.0.0.1:4222\n")
    result = CliRunner().invoke(
        app, ["settings", "--home", str(tmp_path), "--json"], env={"HEXMESH_SECRET": "a-very-long-mesh-secret"}
    )
    assert result.exit_code == 0, result.output
    assert '"events_url": "nats://127.0.0.1:4222"' in result.output and '"secret": "(set)"' in result.output
    assert "a-very-long-mesh-secret" not in result.output


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("placement: [sales/shop/orders]", r"placement entry 'sales/shop/orders' \(HEXMESH_PLACEMENT\) names neither"),
        ("placement: ['Sales Team']", r"placement entry 'Sales Team' .* use lower-case names"),
        ("lease_seconds: 0.2", r"lease_seconds \(HEXMESH_LEASE_SECONDS\) is 0.2; .* use 1 or more"),
    ],
)
def test_cluster_settings_a_node_could_not_act_on_are_refused(tmp_path: Path, text: str, words: str) -> None:
    _write(tmp_path, text + "\n")
    with pytest.raises(WorkspaceError, match=words):
        Settings.load(tmp_path)
    _write(tmp_path, "placement: [sales, users/user-profiles]\nlease_seconds: 5\n")
    assert Settings.load(tmp_path).placement == ("sales", "users/user-profiles")


def test_a_peer_credential_comes_from_the_products_entry_the_peers_or_peer_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "activity.token").write_text("activity-secret\n", encoding="utf-8")
    monkeypatch.setenv("NODE_A_TOKEN", "node-a-secret")
    settings = Settings.defaults(tmp_path).merged(
        {
            "peer_token": "fallback-secret",
            "peer_credentials": {
                "http://a:8000": "env:NODE_A_TOKEN",
                "analytics/activity@http://a:8000": str(tmp_path / "activity.token"),
            },
        }
    )

    assert settings.peer_credential("http://a:8000/", "analytics/activity") == "activity-secret"
    assert settings.peer_credential("http://a:8000", "analytics/other") == "node-a-secret"
    assert settings.peer_credential("http://b:8000", "analytics/activity") == "fallback-secret"


def test_a_peer_credential_that_cannot_be_found_says_which_entry_to_fix(tmp_path: Path) -> None:
    settings = Settings.defaults(tmp_path).merged(
        {"peer_credentials": {"http://a:8000": "env:NO_SUCH_TOKEN_VARIABLE", "http://b:8000": str(tmp_path / "gone")}}
    )

    with pytest.raises(WorkspaceError, match="names the variable 'NO_SUCH_TOKEN_VARIABLE' for http://a:8000"):
        settings.peer_credential("http://a:8000", "analytics/activity")
    with pytest.raises(WorkspaceError, match=r"names the token file .*gone.* for http://b:8000, which cannot be read"):
        settings.peer_credential("http://b:8000", "analytics/activity")


def test_every_key_is_declared_in_the_module_of_its_group() -> None:
    """A key's group (its section of the reference) is the module that declares it: one place per concern."""
    declared = {}
    for base in Settings.__mro__[1:]:
        group = base.__module__.rsplit(".", 1)[-1]
        for item in dataclasses.fields(base) if dataclasses.is_dataclass(base) else ():
            if item.name != "home" and group in GROUPS:
                declared[item.name] = group
    assert {f.name: f.metadata["group"] for f in settings_fields()} == declared
