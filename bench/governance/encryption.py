"""Encryption at rest: publishing and reading a port with a restricted column, against the same port without.

Two products with the same data and transformation, deployed in one workspace: ``bench/sealed``
classifies ``email`` restricted (sealed per subject at publish, opened at every read) and
``bench/plain`` classifies it internal (the baseline). Each publish appends ``rows`` new rows;
reads are whole-port reads of the latest snapshot through the Python reader (the path the files,
events, client and downstream inputs share) and a read of one restricted column alone.
Writes bench/results/governance-encryption.json. Run: ``python -m bench.governance.encryption [rows]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench.report import Result, median_time, show, work_dir
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest

PUBLISHES = 3
READS = 5

SPEC = """
domain: bench
name: {name}
version: 1.0.0
owner: bench@example.com
description: Profiles with an e-mail address ({classification}).
inputPorts:
  - name: raw
    source: {{format: csv, path: data}}
    window: incremental
transformation:
  sql: transform.sql
outputPorts:
  - name: profiles
    mode: append
    slo: {{freshness: 1d}}
    properties:
      - {{name: user_id, logicalType: string, required: true, classification: internal, tags: [subject]}}
      - {{name: email, logicalType: string, required: true, classification: {classification}}}
      - {{name: country, logicalType: string, classification: internal}}
      - {{name: minutes, logicalType: integer, classification: internal}}
policies:
  privacy:
    - {{field: email, for: {{group: analytics}}, mask: hash}}
"""
SQL = "select user_id, email, country, cast(minutes as bigint) as minutes from raw\n"


def _rows(first: int, count: int, subjects: int) -> str:
    lines = ["user_id,email,country,minutes"]
    for i in range(first, first + count):
        user = i % subjects
        lines.append(f"u{user},listener{user}.{i}@mail{user % 97}.example,C{i % 50},{i % 300}")
    return "\n".join(lines) + "\n"


def _product(root: Path, name: str, classification: str) -> Path:
    folder = root / name
    (folder / "data").mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(SPEC.format(name=name, classification=classification)))
    (folder / "transform.sql").write_text(SQL)
    return folder


def run(rows: int = 100_000) -> Result:
    subjects = max(1, rows // 5)
    base = work_dir()
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        root = Path(tmp)
        os.environ.pop("HEXMESH_MASTER_KEY", None)  # the workspace's key file, as out of the box
        folders = {"sealed": _product(root, "sealed", "restricted"), "plain": _product(root, "plain", "internal")}
        workspace = Workspace(Settings.defaults(root / "ws"))
        try:
            workspace.deploy(list(folders.values()))
            publish: dict[str, list[float]] = {"sealed": [], "plain": []}
            for batch in range(PUBLISHES + 1):  # the first publish of each is a warm-up
                data = _rows(batch * rows, rows, subjects)
                for name, folder in folders.items():
                    (folder / "data" / f"part{batch}.csv").write_text(data)
                    started = time.perf_counter()
                    workspace.run(f"bench/{name}")
                    if batch:
                        publish[name].append(time.perf_counter() - started)
            reads: dict[str, dict[str, Any]] = {}
            for name in folders:
                address = f"dp://bench/{name}/profiles"
                whole, runs = median_time(lambda a=address: workspace.read(a), READS)  # type: ignore[misc]
                column, _ = median_time(
                    lambda a=address: workspace.read(a, ReadRequest(columns=("email",))),  # type: ignore[misc]
                    READS,
                )
                reads[name] = {"whole_port_median_s": whole, "email_only_median_s": column, "runs": runs}
            total_rows = workspace.read("dp://bench/sealed/profiles").num_rows
        finally:
            workspace.close()
    publish_median = {name: sorted(times)[len(times) // 2] for name, times in publish.items()}
    ratios = {
        "publish": publish_median["sealed"] / publish_median["plain"],
        "read_whole_port": reads["sealed"]["whole_port_median_s"] / reads["plain"]["whole_port_median_s"],
        "read_email_only": reads["sealed"]["email_only_median_s"] / reads["plain"]["email_only_median_s"],
    }
    result = Result(
        "governance-encryption",
        "sealing restricted fields costs a small multiple of a plain publish and read, never a timeout",
        headline=[
            (
                f"publish {rows:,} rows ({subjects:,} subjects)",
                f"{publish_median['sealed'] * 1000:.0f} ms vs {publish_median['plain'] * 1000:.0f} ms = "
                f"{ratios['publish']:.2f}×",
            ),
            (
                f"read whole port ({total_rows:,} rows)",
                f"{reads['sealed']['whole_port_median_s'] * 1000:.0f} ms vs "
                f"{reads['plain']['whole_port_median_s'] * 1000:.0f} ms = {ratios['read_whole_port']:.2f}×",
            ),
            (
                "read the restricted column alone",
                f"{reads['sealed']['email_only_median_s'] * 1000:.0f} ms vs "
                f"{reads['plain']['email_only_median_s'] * 1000:.0f} ms = {ratios['read_email_only']:.2f}×",
            ),
        ],
        data={
            "rows_per_publish": rows,
            "subjects": subjects,
            "rows_read": total_rows,
            "publish_s": publish,
            "publish_median_s": publish_median,
            "reads": reads,
            "ratios_sealed_over_plain": ratios,
        },
    )
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    outcome.write()
    show([outcome])
