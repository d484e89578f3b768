"""The README of an imported product, written from the descriptions its documents carry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["readme"]


def _text(value: Any) -> str:
    return str(value).strip() if value not in (None, "") else ""


def readme(
    title: str,
    description: Any,
    *,
    ports: Iterable[tuple[str, dict[str, Any]]] = (),
    sections: Iterable[tuple[str, Any]] = (),
    source: str = "",
) -> str:
    """Markdown: the title, the description (text or purpose/limitations/usage), each port, more sections."""
    lines = [f"# {title}", ""]
    if isinstance(description, dict):
        for key, heading in (("purpose", None), ("usage", "Usage"), ("limitations", "Limitations")):
            text = _text(description.get(key))
            if text:
                lines += ([f"## {heading}", ""] if heading else []) + [text, ""]
    elif _text(description):
        lines += [_text(description), ""]
    port_lines: list[str] = []
    for name, about in ports:
        port_lines += [f"### {name}", ""]
        for key, label in (
            ("description", None),
            ("businessName", "Business name"),
            ("dataGranularityDescription", "Granularity"),
        ):
            text = _text(about.get(key))
            if text:
                port_lines += [f"{label}: {text}" if label else text, ""]
    if port_lines:
        lines += ["## Output ports", "", *port_lines]
    for heading, body in sections:
        text = _text(body)
        if text:
            lines += [f"## {heading}", "", text, ""]
    if source:
        lines += ["---", "", source, ""]
    return "\n".join(lines).rstrip() + "\n"
