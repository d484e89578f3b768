"""Start-up is a feature: `hexmesh --help` loads no engine (measured by imports, never by time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.cli.standards import FORMAT_NAMES
from hexmesh.standards import FORMATS

#: What makes a command slow to start (seconds on a busy machine): none of it is needed for --help.
#: (pydantic is not listed: typer itself imports it to build a command's parameters.)
HEAVY = ("pyarrow", "pandas", "numpy", "pyiceberg", "duckdb", "sqlalchemy", "psycopg", "sqlglot", "fastapi")
OURS = ("hexmesh.lifecycle", "hexmesh.product", "hexmesh.spec", "hexmesh.governance", "hexmesh.standards")


def _imported(*args: str) -> set[str]:
    argv = ", ".join(repr(a) for a in args)
    code = f"import sys; sys.argv = ['hexmesh', {argv}]; from hexmesh.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("read", "--help")])
def test_help_and_version_import_no_engine(args: tuple[str, ...]) -> None:
    modules = _imported(*args)
    assert "typer" in modules  # the measurement sees imports
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(OURS))
    assert loaded == []


#: What a command that only reads the state store needs none of: engines, table catalogs, parsers, web stacks.
ENGINES = ("pyarrow", "pandas", "numpy", "pyiceberg", "duckdb", "sqlglot", "pyspark", "fastapi", "psycopg", "httpx")


def test_list_reads_the_state_store_and_imports_no_engine(tmp_path: Path) -> None:
    from hexmesh.lifecycle import Workspace, init_product

    init_product(tmp_path / "shop", domain="sales", name="shop", owner="data-team@example.com")
    with Workspace.open(tmp_path / "home") as workspace:
        workspace.deploy([tmp_path / "shop"])
    modules = _imported("list", "--home", str(tmp_path / "home"))
    assert {"sqlalchemy", "hexmesh.lifecycle.deprecate", "hexmesh.spec.loader"} <= modules  # it read the product
    assert sorted(m for m in modules if m.split(".")[0] in ENGINES) == []


def test_status_reads_the_state_store_and_imports_no_engine(tmp_path: Path) -> None:
    from hexmesh.lifecycle import Workspace, init_product

    init_product(tmp_path / "shop", domain="sales", name="shop", owner="data-team@example.com")
    with Workspace.open(tmp_path / "home") as workspace:
        workspace.deploy([tmp_path / "shop"])
    modules = _imported("status", "sales/shop", "--home", str(tmp_path / "home"))
    assert {"sqlalchemy", "hexmesh.lifecycle.deprecate", "hexmesh.cli.status"} <= modules  # it read the product
    assert "hexmesh.product.ports" not in modules  # the port reader brings the table engine
    assert sorted(m for m in modules if m.split(".")[0] in ENGINES) == []


def test_the_export_help_lists_every_standard() -> None:
    assert FORMAT_NAMES == FORMATS
    output = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "200"}).output
    assert all(name in output for name in FORMATS)


def test_the_cli_reference_page_is_current() -> None:
    from hexmesh.cli.reference import exit_codes, reference

    page = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    assert page.read_text(encoding="utf-8") == reference(), (
        "docs/cli.md is stale; regenerate it: python -m hexmesh.cli.reference > docs/cli.md"
    )
    codes = exit_codes()
    assert "`NotFoundError`" in " ".join(codes[3]) and "`AddressError`" in " ".join(codes[12])
    assert "### `hexmesh access list`" in page.read_text(encoding="utf-8")
