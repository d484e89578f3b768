"""Encryption at rest: publishing and reading a port with a restricted column, against the same port without.

Two products with the same data and transformation, deployed in one workspace: ``bench/sealed``
classifies ``email`` restricted (sealed per subject at publish, opened at every read) and
``bench/plain`` classifies it internal (the baseline). Each publish appends ``rows`` new rows;
reads are whole-port reads of the latest snapshot through the Python reader (the path the files,
events, client and downstream inputs share), a read of one restricted column alone, and a read of
every other column (a projection without the restricted one opens nothing). Through the SQL port
(psycopg), a statement that shows the e-mail (the first run opens the snapshot, repeats reuse it
until a forget) and one that does not name it.
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

import psycopg

from bench.report import Result, median_time, show, work_dir
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from hexmesh.product.sql import start_sql_port
from tests.product.sql.conftest import Loop

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
OTHERS = ("user_id", "country", "minutes")
SQL_LABELS = {
    "email_first": "select user_id, email (first run)",
    "email_repeated": "the same statement again (median)",
    "no_email": "group by country (no restricted column)",
}


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
                others, _ = median_time(
                    lambda a=address: workspace.read(a, ReadRequest(columns=OTHERS)),  # type: ignore[misc]
                    READS,
                )
                reads[name] = {
                    "whole_port_median_s": whole,
                    "email_only_median_s": column,
                    "without_email_median_s": others,
                    "runs": runs,
                }
            total_rows = workspace.read("dp://bench/sealed/profiles").num_rows
            sql = _sql_port(workspace)
        finally:
            workspace.close()
    publish_median = {name: sorted(times)[len(times) // 2] for name, times in publish.items()}
    ratios = {
        "publish": publish_median["sealed"] / publish_median["plain"],
        "read_whole_port": reads["sealed"]["whole_port_median_s"] / reads["plain"]["whole_port_median_s"],
        "read_email_only": reads["sealed"]["email_only_median_s"] / reads["plain"]["email_only_median_s"],
        "read_without_email": reads["sealed"]["without_email_median_s"] / reads["plain"]["without_email_median_s"],
        **{f"sql_{kind}": sql["sealed"][kind] / sql["plain"][kind] for kind in sql["plain"]},
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
            (
                "read every column but the restricted one",
                f"{reads['sealed']['without_email_median_s'] * 1000:.0f} ms vs "
                f"{reads['plain']['without_email_median_s'] * 1000:.0f} ms = {ratios['read_without_email']:.2f}×",
            ),
            *[
                (
                    f"SQL port: {label}",
                    f"{sql['sealed'][kind] * 1000:.0f} ms vs {sql['plain'][kind] * 1000:.0f} ms = "
                    f"{ratios[f'sql_{kind}']:.2f}×",
                )
                for kind, label in SQL_LABELS.items()
            ],
        ],
        data={
            "sql_port_s": sql,
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


def _sql_port(workspace: Workspace) -> dict[str, dict[str, float]]:
    """Seconds per statement through the SQL port (psycopg), per product: the first run and the median of repeats."""
    loop = Loop()
    server = loop.run(start_sql_port(workspace, "127.0.0.1", 0))
    dsn = f"host=127.0.0.1 port={server.port} user=bench dbname=mesh sslmode=disable"
    out: dict[str, dict[str, float]] = {}
    try:
        with psycopg.connect(dsn, autocommit=True) as con:
            for name in ("sealed", "plain"):
                emails = f"select user_id, email from bench.{name}__profiles"
                started = time.perf_counter()
                con.execute(emails).fetchall()  # the sealed port's snapshot is opened here, once
                first = time.perf_counter() - started
                repeated, _ = median_time(lambda q=emails: con.execute(q).fetchall(), READS)  # type: ignore[misc]
                counts = f"select country, count(*), sum(minutes) from bench.{name}__profiles group by country"
                unnamed, _ = median_time(lambda q=counts: con.execute(q).fetchall(), READS)  # type: ignore[misc]
                out[name] = {"email_first": first, "email_repeated": repeated, "no_email": unnamed}
    finally:
        loop.run(server.close())
        loop.stop()
    return out


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    outcome.write()
    show([outcome])
