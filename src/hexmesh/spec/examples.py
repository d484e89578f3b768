"""A product README's runnable examples: its fenced ``sql`` and ``python`` blocks.

A block preceded by the line ``<!-- doc: illustrative -->`` is shown, not run: the marker the
project's own docs use (tests/docs/runner.py). Other languages (``sh``, ``yaml``, ``text``) are
shown only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ILLUSTRATIVE", "Example", "FencedBlock", "examples", "fenced_blocks"]

ILLUSTRATIVE = "<!-- doc: illustrative -->"
LANGUAGES = {"sql": "sql", "python": "python", "py": "python"}
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class FencedBlock:
    """One fenced block of Markdown: its info word (lower case), its text, the line of its fence, and
    whether the line before it marks it illustrative."""

    language: str
    text: str
    line: int
    illustrative: bool


@dataclass(frozen=True)
class Example:
    """One runnable block: ``language`` is sql or python, ``line`` the README line of its fence."""

    language: str
    code: str
    line: int


def fenced_blocks(markdown: str) -> list[FencedBlock]:
    """Every fenced block of ``markdown``, in order (the project's doc runner reads pages with it too)."""
    lines = markdown.splitlines()
    found: list[FencedBlock] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, start = match.group("fence"), i
        language = (match.group("info").split() or [""])[0].lower()
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(match.group("indent")) :])
            i += 1
        i += 1
        found.append(FencedBlock(language, "\n".join(body) + "\n", start + 1, before == ILLUSTRATIVE))
    return found


def examples(markdown: str) -> list[Example]:
    """The runnable blocks of ``markdown``, in order."""
    return [
        Example(LANGUAGES[b.language], b.text, b.line)
        for b in fenced_blocks(markdown)
        if b.language in LANGUAGES and not b.illustrative
    ]
