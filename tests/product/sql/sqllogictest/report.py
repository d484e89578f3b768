"""The DuckDB and sqllogictest-rs corpora's pass rate by category, and ``known.tsv``, the record of
every query that does not pass and why.

Run ``python -m tests.product.sql.sqllogictest.report`` from the checkout: it serves the corpora
on a port of its own (as the test does), prints a Markdown table by category and rewrites
``known.tsv``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from tests.product.sql.sqllogictest.corpus import DIALECTS, Script, parse_script

if TYPE_CHECKING:
    from tests.product.sql.sqllogictest.harness import Outcome

__all__ = ["KNOWN", "category", "known", "public_scripts"]

HERE = Path(__file__).parent
KNOWN = HERE / "known.tsv"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def public_scripts() -> dict[str, Script]:
    """DuckDB's scripts (``d_<name>``) and sqllogictest-rs's (``rs_<name>``), by their SQL schema."""
    scripts = {}
    for path in sorted((HERE / "duckdb").rglob("*.test")):
        scripts["d_" + re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")[:50]] = parse_script(
            path, DIALECTS["duckdb"]
        )
    for path in sorted((HERE / "rs").glob("*.slt")):
        scripts["rs_" + path.stem] = parse_script(path, DIALECTS["rs"])
    return scripts


def category(outcome: Outcome) -> str:
    """The folder of DuckDB's suite a script is in (``window``, ``function/string``), or ``sqllogictest-rs``."""
    path = _PATHS[outcome.script]
    if path.parent.name == "rs":
        return "sqllogictest-rs"
    return str(path.relative_to(HERE / "duckdb").parent)


_PATHS = {key: script.path for key, script in public_scripts().items()}


def known() -> set[tuple[str, int]]:
    rows = (line.split("\t") for line in KNOWN.read_text(encoding="utf-8").splitlines()[1:] if line)
    return {(row[0], int(row[1])) for row in rows}


def main() -> None:
    from tests.product.sql.conftest import Loop
    from tests.product.sql.sqllogictest.harness import served

    loop = Loop()
    try:
        with tempfile.TemporaryDirectory() as root, served(public_scripts(), Path(root), loop) as outcomes:
            by: dict[str, Counter[str]] = defaultdict(Counter)
            for outcome in outcomes:
                by[category(outcome)][outcome.category] += 1
                by["all"][outcome.category] += 1
            print("| category | queries | run | pass | pass % of run | skipped (why: known.tsv) |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            for name in sorted(by, key=lambda n: (n == "all", n)):
                counts = by[name]
                total, skipped = sum(counts.values()), counts["skipped"]
                run = total - skipped
                rate = f"{100 * counts['pass'] / run:.1f}" if run else "-"
                print(f"| {name} | {total} | {run} | {counts['pass']} | {rate} | {skipped} |")
            lines = ["script\tline\toutcome\tdetail"]
            for o in outcomes:
                if not o.passed:
                    detail = o.skipped or o.error or ("got " + " | ".join(o.got or ())[:120])
                    detail = _CONTROL.sub("@", detail)
                    lines.append(f"{o.script}\t{o.query.line}\t{o.category}\t{detail}")
            KNOWN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    finally:
        loop.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
