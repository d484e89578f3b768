"""``hexmesh search`` in a terminal: over the local workspace, and through a node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.server.nodes import HEXMESH
from tests.server.ui.nodes import ThreadNode
from tests.server.ui.test_api import semantic


def hexmesh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HEXMESH, *args], capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""})


def test_search_the_local_workspace(demo_home: Path) -> None:
    done = hexmesh("search", "lisener domain:podcasts", "--home", str(demo_home))
    assert done.returncode == 0, done.stderr
    assert "lisener → listener" in done.stdout
    assert "podcasts/listener-demographics" in done.stdout
    assert "users/" not in done.stdout.split("domains:")[0]


def test_search_through_a_node_as_json(node: ThreadNode) -> None:
    done = hexmesh("search", "charts", "--node", node.url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"][0]["key"] == "podcasts/top-podcasts-daily"


def test_syntax_errors_point_at_the_problem(demo_home: Path, node: ThreadNode) -> None:
    for where in (["--home", str(demo_home)], ["--node", node.url]):
        done = hexmesh("search", "doman:podcasts", *where)
        assert done.returncode == 12
        assert "did you mean domain:?" in done.stderr and "doman:podcasts\n  ^" in done.stderr


def test_an_unreachable_node_is_a_clear_error() -> None:
    done = hexmesh("search", "x", "--node", "http://127.0.0.1:9")
    assert done.returncode == 12
    assert "did not answer" in done.stderr and "hexmesh serve" in done.stderr


def test_semantic_search_in_the_terminal(demo_home: Path, node: ThreadNode) -> None:
    semantic(node, "warm up")  # the node answers keyword results until its model is loaded
    for where in (["--home", str(demo_home)], ["--node", node.url]):
        done = hexmesh("search", "the most played shows", "--semantic", "--json", *where)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["hits"][0]["key"] == "podcasts/top-podcasts-daily"
