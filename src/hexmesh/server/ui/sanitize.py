"""Keep only safe HTML from a product's rendered docs (a peer's document is not trusted).

An allow-list of tags; attributes are dropped except ``href`` with an http(s), mailto or
relative URL, ``title``, ``alt``, ``class`` and ``src`` of relative images. Everything else
is escaped text, so a peer cannot run script in this node's UI.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from markupsafe import Markup

__all__ = ["safe_html"]

_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_VOID = frozenset({"br", "hr", "img"})
_DROP_CONTENT = frozenset({"script", "style", "iframe", "object", "template", "svg", "math"})
_ATTRS = frozenset({"href", "title", "alt", "class", "src", "colspan", "rowspan"})


def _safe_url(value: str, *, image: bool) -> bool:
    text = value.strip().lower()
    if image:
        return ":" not in text.split("/", 1)[0] and not text.startswith("//")
    return text.startswith(("http://", "https://", "mailto:", "#", "/")) or ":" not in text


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.skipping += 1
            return
        if self.skipping or tag not in _TAGS:
            return
        kept = []
        for name, value in attrs:
            if name not in _ATTRS or value is None:
                continue
            if name in ("href", "src") and not _safe_url(value, image=name == "src"):
                continue
            kept.append(f' {name}="{escape(value, quote=True)}"')
        if tag == "a":
            kept.append(' rel="nofollow noopener"')
        if tag == "h1":  # the page already has its h1: a product's docs start one level lower
            tag = "h2"
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skipping = max(self.skipping - 1, 0)
            return
        tag = "h2" if tag == "h1" else tag
        if self.skipping or tag not in self.open:
            return
        while self.open:
            closing = self.open.pop()
            self.out.append(f"</{closing}>")
            if closing == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data, quote=False))


def safe_html(html: str) -> Markup:
    """``html`` with only the allowed tags and attributes; unclosed tags are closed."""
    cleaner = _Cleaner()
    cleaner.feed(html)
    cleaner.close()
    tail = "".join(f"</{t}>" for t in reversed(cleaner.open))
    return Markup("".join(cleaner.out) + tail)
