"""Every runnable block of README.md and docs/*.md runs against a fresh workspace (see runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.runner import ILLUSTRATIVE, DocRun, blocks

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
#: Pages the runner found stale and that are not fixed yet: each fails today (strict xfail), and
#: its entry goes when the page runs. The reason names the first block that fails.
STALE: dict[str, str] = {}


def _page(page: Path) -> object:
    name = str(page.relative_to(ROOT))
    marks = [pytest.mark.slow]
    if name in STALE:
        marks.append(pytest.mark.xfail(reason=f"stale page: {STALE[name]}", strict=True))
    return pytest.param(page, id=name, marks=marks)


@pytest.mark.parametrize("page", [_page(p) for p in PAGES])
def test_the_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    runnable = [b for b in blocks(page) if b.runs]
    run = DocRun(tmp_path)
    try:
        for block in runnable:
            done = run.run(block)
            assert done.returncode == 0, (
                f"{page.relative_to(ROOT)}:{block.line}: the {block.language} block failed "
                f"(exit {done.returncode}); fix the page or the code, or mark the block `{ILLUSTRATIVE}`\n"
                f"--- block ---\n{block.text}--- stdout ---\n{done.stdout[-3000:]}--- stderr ---\n{done.stderr[-3000:]}"
            )
    finally:
        run.stop()


def test_blocks_are_found_with_their_language_line_and_marker(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```sh\necho one\n```\n\n<!-- doc: illustrative -->\n```sh\nmake test\n```\n\n"
        "```yaml\na: 1\n```\n\n~~~python\nprint('x')\n~~~\n"
    )
    found = blocks(page)
    assert [(b.language, b.line, b.runs) for b in found] == [
        ("sh", 3, True),
        ("sh", 8, False),
        ("yaml", 12, False),
        ("python", 16, True),
    ]


def test_a_failing_block_fails_and_variables_carry_to_the_next_block(tmp_path: Path) -> None:
    run = DocRun(tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\nexport GREETING=hi\necho 'http://127.0.0.1:8080'\n```\n"
        '```sh\ntest "$GREETING" = hi\n```\n```sh\nfalse\necho unreachable\n```\n'
    )
    first, second, third = blocks(page)
    done = run.run(first)
    assert done.returncode == 0 and done.stdout.strip() == f"http://127.0.0.1:{run.ports[8080]}"
    assert run.run(second).returncode == 0
    failed = run.run(third)
    assert failed.returncode == 1 and "unreachable" not in failed.stdout
