"""A schemathesis run over the node's OpenAPI: no 5xx, no response that breaks the schema.

The Server-Sent Events routes are left out: with ``follow=true`` (a valid input) they never end.
schemathesis runs as its CLI: its pytest plugin does not load under pytest 9.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.nodes import build_workspace, serve

ST = shutil.which("st", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install schemathesis)")
def test_api_conforms_to_its_description(tmp_path: Path) -> None:
    assert ST is not None
    home, _ = build_workspace(tmp_path, big=False)
    with serve(home) as node:
        result = subprocess.run(
            [
                ST,
                "run",
                node.url + "/openapi.json",
                "--checks",
                "all",
                "--exclude-path-regex",
                "/events$",
                "--max-examples",
                "15",
                "--seed",
                "4",
                "--request-timeout",
                "20",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert result.returncode == 0, result.stdout[-4000:]
