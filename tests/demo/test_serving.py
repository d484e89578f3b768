"""The demo's "serve the mesh" lines, run as printed against a real ``hexmesh serve``: tokens, psql, curl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from hexmesh.demo import DemoResult
from hexmesh.demo.mesh import example_mesh, install_governance
from hexmesh.lifecycle import Workspace
from tests.server.ui.nodes import served

Demo = tuple[Workspace, DemoResult, list[Any]]
BIN = str(Path(sys.executable).parent)


def _line(said: list[Any], start: str) -> str:
    return next(str(s).strip() for s in said if str(s).strip().startswith(start))


def test_the_example_governance_folder_is_installed_once(demo: Demo) -> None:
    workspace, result, said = demo
    policies = result.home / "governance" / "policies.yaml"
    assert "public-discovery" in policies.read_text()
    assert any(f"installed the mesh's governance folder {result.home / 'governance'}" in str(s) for s in said)
    # The folder is the operator's from then on: a later demo keeps it as it is.
    assert install_governance(workspace.settings, example_mesh()) == (result.home / "governance", False)


def test_the_printed_token_psql_and_curl_lines_work_against_the_served_mesh(demo: Demo) -> None:
    _, result, said = demo
    make_token = _line(said, "export HEXMESH_TOKEN=")
    assert f"--home {result.home}" in make_token
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    shell = subprocess.run(
        ["bash", "-c", f"{make_token} && echo $HEXMESH_TOKEN"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    token = shell.stdout.strip()
    assert token.startswith("hxm_") and len(token.split()) == 1, shell.stdout
    with served(result.home, "--auth", "--no-schedule") as node:
        # Anonymous: the whole mesh is discoverable, the chart readable, the plays not.
        listed = httpx.get(node.url + "/", timeout=30).json()["dcat:service"]
        assert len(listed) == 5
        chart = httpx.get(node.url + "/products/podcasts/top-podcasts-daily/ports/chart/data?format=csv", timeout=60)
        assert chart.status_code == 200 and chart.text.startswith('"day","rank"')
        plays = node.url + "/products/podcasts/play-events/ports/plays/data?format=jsonl"
        refused = httpx.get(plays, timeout=60)
        assert refused.status_code == 401 and "Sign in" in refused.json()["detail"]
        document = httpx.get(node.url + "/products/podcasts/play-events", timeout=30).json()
        [dataset] = document["dcat:servesDataset"]
        assert "ip_address" in [f["hexmesh:name"] for f in dataset["hexmesh:schema"]]  # public metadata
        # The analyst's token, as the summary's psql line uses it: rows, IP addresses redacted.
        psql = _line(said, "SQL:").removeprefix("SQL:").strip().replace(":5433/", f":{node.sql_port}/")
        shown = subprocess.run(
            ["bash", "-c", psql.replace("-c 'table", "-A -F '|' -c 'table")],
            env={**env, "HEXMESH_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        header, *rows = shown.stdout.strip().splitlines()
        assert "ip_address" in header.split("|") and rows[-1] == "(5 rows)"
        ip = header.split("|").index("ip_address")
        assert all(row.split("|")[ip] == "" for row in rows[:-1])  # redacted for the analyst
        assert httpx.get(plays, headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code == 200
