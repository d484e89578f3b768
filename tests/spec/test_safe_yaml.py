"""YAML bombs: a small document can never grow large in any YAML reader of hexmesh.

Each hostile document goes through the reader in a child process limited to 1 GiB of address
space and 60 s: before the limits, the billion laughs took ``hexmesh validate`` to 6.6 GB and a
505-byte ``rules.yaml`` took a node to 5.7 GB, and deep nesting ended in a ``RecursionError``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hexmesh.spec import safe_yaml
from tests.support import LAUGHS, RULES_BOMB

HEXMESH = str(Path(sys.executable).parent / "hexmesh")

DEEP = "domain: " + "[" * 800 + "]" * 800 + "\n"


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def bounded(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child limited to 1 GiB and 60 s; a bomb that goes off fails the test."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited,
    )


def test_the_bombs_are_small() -> None:
    assert len(LAUGHS) < 400
    assert len(RULES_BOMB) < 600


def test_aliases_that_expand_a_little_still_work() -> None:
    data = safe_yaml.load("base: &base {format: csv, header: true}\nport:\n  <<: *base\n  path: data\nlist: [*base]\n")
    assert data["port"] == {"format": "csv", "header": True, "path": "data"}
    assert data["list"] == [{"format": "csv", "header": True}]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (LAUGHS, r"aliases expand this document by 1,[\d,]+ nodes \(at most 10,000", 2),
        ("a: &a [*a]\n", "an alias refers to a collection that contains it", 1),
        (DEEP, "nests deeper than 64 levels", 1),
        ("a: " + "{b: " * 100 + "1" + "}" * 100, "nests deeper than 64 levels", 1),
    ],
)
def test_bombs_are_refused_at_a_position(text: str, message: str, line: int) -> None:
    with pytest.raises(safe_yaml.YAMLLimitError, match=message) as caught:
        safe_yaml.load(text)
    assert isinstance(caught.value, yaml.MarkedYAMLError)
    assert caught.value.problem_mark is not None
    assert caught.value.problem_mark.line + 1 == line


def test_aliases_nesting_too_deep_once_expanded_are_refused() -> None:
    text = f"a: &a {'[' * 40}x{']' * 40}\nb: {'[' * 30}*a{']' * 30}\n"
    with pytest.raises(safe_yaml.YAMLLimitError, match="with its aliases expanded the document nests"):
        safe_yaml.load(text)


@pytest.mark.parametrize(("bomb", "line"), [(LAUGHS, 3), (DEEP, 2)], ids=["billion-laughs", "800-deep"])
def test_hexmesh_validate_refuses_a_bomb_at_file_line_col(tmp_path: Path, bomb: str, line: int) -> None:
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "dataproduct.yaml").write_text("name: bomb\n" + bomb)
    done = subprocess.run(
        [HEXMESH, "validate", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited,
        env={"HEXMESH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert f"{folder / 'dataproduct.yaml'}:{line}:" in output
    assert "nests deeper than 64 levels" in output or "aliases expand this document" in output


def test_a_rules_bomb_is_refused_by_the_rule_set_parser() -> None:
    done = bounded(
        """
        import sys
        from hexmesh.governance.ruleset import parse_rules_text
        from hexmesh.governance.exceptions import PolicyError
        try:
            parse_rules_text(sys.argv[1], "rules.yaml")
        except PolicyError as exc:
            print(exc)
        """,
        RULES_BOMB,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("rules.yaml:4:"), done.stdout
    assert "aliases expand this document" in done.stdout


def test_mesh_policies_yaml_bomb_is_refused() -> None:
    done = bounded(
        """
        import sys
        from hexmesh.governance.folder import parse_folder
        from hexmesh.governance.exceptions import PolicyError
        try:
            parse_folder({"policies.yaml": sys.argv[1]})
        except PolicyError as exc:
            print(exc)
        """,
        "access: []\nprivacy: []\n" + LAUGHS,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "governance/policies.yaml is not valid YAML" in done.stdout
    assert "aliases expand this document" in done.stdout


@pytest.mark.parametrize("file", ["settings.yaml", "tokens.yaml"])
def test_workspace_files_with_a_bomb_are_refused(tmp_path: Path, file: str) -> None:
    (tmp_path / file).write_text(LAUGHS)
    done = bounded(
        """
        import sys
        from hexmesh.errors import WorkspaceError
        from hexmesh.infra.settings import Settings
        from hexmesh.product.control import Tokens
        try:
            Tokens.load(Settings.load(sys.argv[1]))
        except WorkspaceError as exc:
            print(exc)
        """,
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{tmp_path / file}" in done.stdout
    assert "aliases expand this document" in done.stdout
