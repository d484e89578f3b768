"""What a new user meets first on the command line: names, help, version, warnings, empty reads."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.demo.mesh import example_mesh


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEXMESH_HOME", str(tmp_path / ".hexmesh"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def invoke(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


@pytest.mark.parametrize("command", [["status"], ["run"], ["read"], ["retire"], ["plan"]])
def test_a_name_without_its_domain_is_a_clear_error(cli: CliRunner, command: list[str]) -> None:
    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    name = "shop" if command != ["plan"] else "nowhere/x/y/z"
    output = invoke(cli, *command, name, code=12 if command != ["plan"] else 2)
    if command != ["plan"]:
        assert "'shop' names no domain: products are named <domain>/<product>, for example sales/shop" in output
    assert "Traceback" not in output


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer ships its own click)
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help_that_renders(cli: CliRunner) -> None:
    commands = _commands(typer.main.get_command(app))
    assert ("audit",) in commands and ("access", "list") in commands
    for command in commands:
        output = invoke(cli, *command, "--help")
        assert "Usage:" in output, command


def test_version_prints_the_installed_version(cli: CliRunner) -> None:
    assert invoke(cli, "--version").strip() == f"hexmesh {version('hexmesh')}"


def test_reading_before_any_snapshot_says_so(cli: CliRunner) -> None:
    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    never = invoke(cli, "read", "dp://sales/shop/orders", code=3)
    assert "has no snapshot yet" in never and "hexmesh run sales/shop" in never
    invoke(cli, "run", "sales/shop")
    early = invoke(cli, "read", "dp://sales/shop/orders", "--as-of", "2026-01-01T00:00:00Z", code=3)
    assert "had no snapshot at 2026-01-01T00:00:00Z: its first was published at" in early
    first = re.search(r"published at (\S+);", " ".join(early.split()))
    assert first is not None
    exact = invoke(cli, "read", "dp://sales/shop/orders", "--as-of", first.group(1), "--format", "csv")
    assert len(exact.splitlines()) == 4  # the time it names reads the first snapshot


def test_warnings_are_grouped_located_once_and_quiet_hides_them(cli: CliRunner, tmp_path: Path) -> None:
    invoke(cli, "init", "shop", "--domain", "sales")
    spec = tmp_path / "shop" / "dataproduct.yaml"
    text = spec.read_text()
    spec.write_text(text.replace(", classification: internal}}", "}}").replace(", classification: internal}", "}"))
    unclassified = [i + 1 for i, line in enumerate(spec.read_text().splitlines()) if "name: ordered_at" in line]
    output = invoke(cli, "validate", "shop")
    assert "warnings of 1 rule(s) (--quiet hides them)" in output
    assert output.count("core.classified:") == 1
    assert f"shop/dataproduct.yaml:{unclassified[0]}:9  field:orders.ordered_at" in output
    assert invoke(cli, "validate", "--quiet", "shop") == ""
    deployed = invoke(cli, "deploy", "shop")
    assert deployed.count("field:orders.ordered_at") == 1  # each warning printed once
    assert "with 3 warnings (core.classified)" in deployed


def test_the_scaffold_and_the_reference_mesh_pass_their_own_rules(cli: CliRunner) -> None:
    invoke(cli, "init", "shop", "--domain", "sales")
    for folder in ("shop", str(example_mesh())):
        output = invoke(cli, "validate", folder)
        assert "warning" not in output and "✓" in output


def test_lists_print_full_names_and_json_with_stable_fields(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    invoke(cli, "init", "a-rather-long-product-name", "--domain", "a-long-domain-name")
    invoke(cli, "deploy", "a-rather-long-product-name")
    monkeypatch.setenv("COLUMNS", "50")  # a narrow terminal shortens other columns, never the name
    assert "a-long-domain-name/a-rather-long-product-name" in invoke(cli, "list")
    (product,) = json.loads(invoke(cli, "list", "--json"))
    assert set(product) == {"product", "version", "status", "lifecycle", "sunset", "owner", "output_ports", "deployed"}
    # The table names the spec's status and the major's lifecycle for what they are: no "draft" beside "active".
    monkeypatch.setenv("COLUMNS", "200")
    header, row = [line for line in invoke(cli, "list").splitlines() if "│" in line or "┃" in line][:2]
    cells = dict(zip((c.strip() for c in header.split("┃")), (c.strip() for c in row.split("│")), strict=True))
    assert (cells["declared"], cells["serving"]) == (product["status"], product["lifecycle"]) == ("draft", "active")
    assert "status" not in cells and "lifecycle" not in cells
    assert product["output_ports"] == ["dp://a-long-domain-name/a-rather-long-product-name/orders"]
    invoke(cli, "token", "create", "ana@example.com", "--ttl", "1d", "--quiet")
    (token,) = json.loads(invoke(cli, "token", "list", "--json"))
    assert token["principal"] == "User:ana@example.com" and token["revoked"] is None
    assert token["id"] in invoke(cli, "token", "list")
    assert json.loads(invoke(cli, "access", "list", "--json")) == []


def test_a_reader_with_an_approved_request_reads_for_its_purpose(cli: CliRunner) -> None:
    import json

    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    invoke(cli, "run", "sales/shop")
    owner = invoke(cli, "token", "create", "data-team@example.com", "--ttl", "1d", "--quiet").strip()
    ana = invoke(cli, "token", "create", "ana@example.com", "--ttl", "1d", "--quiet").strip()
    invoke(cli, "access", "request", "dp://sales/shop/orders", "--purpose", "revenue report", "--token", ana)
    (request,) = json.loads(invoke(cli, "access", "list", "--json"))
    invoke(cli, "access", "approve", request["id"], "--token", owner)
    refused = invoke(cli, "read", "dp://sales/shop/orders", "--token", ana, code=22)
    assert "without a stated purpose" in refused
    rows = invoke(
        cli, "read", "dp://sales/shop/orders", "--token", ana, "--purpose", "revenue report", "--format", "json"
    )
    assert len(rows.splitlines()) == 3


def test_status_shows_full_run_ids_duration_rows_and_prints_json(cli: CliRunner) -> None:
    import json

    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    invoke(cli, "run", "sales/shop")
    document = json.loads(invoke(cli, "status", "sales/shop", "--json"))
    assert set(document) == {"product", "version", "status", "owner", "paused", "versions", "majors", "ports", "runs"}
    (run,) = document["runs"]
    assert run["status"] == "succeeded" and run["rows"] == {"orders": 3} and run["duration_s"] > 0
    assert document["ports"][0]["address"] == "dp://sales/shop/orders" and document["ports"][0]["rows"] == 3
    table = invoke(cli, "status", "sales/shop")
    assert run["id"] in table and "orders: 3" in table  # the full id other commands take


#: Commands that print no data of their own: a server, the demo's story, documents already in a format.
_NO_JSON = {("serve",), ("demo",), ("spec", "schema"), ("export",), ("token", "migrate"), ("",)}


def test_every_command_that_prints_data_takes_json(cli: CliRunner) -> None:
    commands = {c for c in _commands(typer.main.get_command(app)) if c and c[-1]}
    groups = {("token",), ("access",), ("spec",)}
    missing = [c for c in sorted(commands - _NO_JSON - groups) if "--json" not in invoke(cli, *c, "--help")]
    assert missing == [], f"these commands print data but take no --json: {missing}"


def test_a_script_drives_a_product_from_scaffold_to_retirement_with_json(cli: CliRunner) -> None:
    import json

    def call(*args: str) -> Any:
        return json.loads(invoke(cli, *args, "--json"))

    assert [Path(p).name for p in call("init", "shop", "--domain", "sales")["created"]][:1] == ["dataproduct.yaml"]
    checked = call("validate", "shop")
    assert checked["valid"][0]["product"] == "sales/shop" and checked["warnings"] == []
    (deployed,) = call("deploy", "shop")["deployed"]
    assert deployed["product"] == "sales/shop" and deployed["version"] == "0.1.0" and deployed["changed"] is True
    ran = call("run", "sales/shop")
    assert ran["status"] == "succeeded" and ran["rows"] == {"orders": 3} and ran["published_at"]
    assert ran["run_id"] in invoke(cli, "status", "sales/shop")  # the full id other commands take
    (every,) = call("run", "--all")
    assert every["product"] == "sales/shop" and every["status"] == "skipped" and every["message"]  # nothing new
    owner = call("token", "create", "data-team@example.com", "--ttl", "1d")
    ana = call("token", "create", "ana@example.com", "--ttl", "1d")
    assert owner["principal"] == "User:data-team@example.com" and owner["secret"] and owner["expires"]
    asked = call("access", "request", "dp://sales/shop/orders", "--purpose", "audit", "--token", ana["secret"])
    assert asked["status"] == "pending" and asked["principal"] == "User:ana@example.com"
    decided = call("access", "approve", asked["id"], "--token", owner["secret"])
    assert decided["id"] == asked["id"] and decided["status"] == "approved" and decided["expires"]
    assert call("access", "revoke", asked["id"], "--token", owner["secret"])["status"] == "revoked"
    assert call("token", "revoke", ana["id"]) == {"id": ana["id"], "principal": ana["principal"], "revoked": True}
    assert call("forget", "nobody@example.com") == {"subject": "nobody@example.com", "destroyed": False}
    deprecated = call("deprecate", "sales/shop@0", "--sunset", "2099-01-01", "--reason", "v2 comes")
    assert deprecated["status"] == "deprecated" and deprecated["sunset"] == "2099-01-01"
    retired = call("retire", "sales/shop@0")
    assert retired["status"] == "retired" and retired["product"] == "sales/shop"


def test_list_shows_every_served_major_and_an_old_one_as_deprecated_until_its_sunset(cli: CliRunner) -> None:
    import json

    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    spec = Path("shop") / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 0.1.0", "version: 1.0.0"))
    invoke(cli, "deploy", "shop")
    invoke(cli, "deprecate", "sales/shop@0", "--sunset", "2099-01-01", "--successor", "dp://sales/shop@1")
    listed = {row["product"]: row for row in json.loads(invoke(cli, "list", "--json"))}
    assert set(listed) == {"sales/shop", "sales/shop@0"}  # the names `status` and `retire` take
    assert (listed["sales/shop"]["version"], listed["sales/shop"]["lifecycle"]) == ("1.0.0", "active")
    old = listed["sales/shop@0"]
    assert (old["version"], old["lifecycle"], old["sunset"]) == ("0.1.0", "deprecated", "2099-01-01")
    assert old["output_ports"] == ["dp://sales/shop@0/orders"]
    assert "sales/shop@0" in invoke(cli, "list")
    invoke(cli, "retire", "sales/shop@0")
    assert [row["product"] for row in json.loads(invoke(cli, "list", "--json"))] == ["sales/shop"]
