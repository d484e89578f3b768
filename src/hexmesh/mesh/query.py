"""The search query language: free words, "quoted phrases" and ``key:value`` filters.

``domain:podcasts tag:events listener`` finds products in the podcasts domain tagged events
that mention a listener. The same key twice means either value (``tag:a tag:b``); different
keys must all hold; ``-key:value`` excludes. Values with spaces are quoted (``owner:"team a"``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from hexmesh.errors import HexmeshError
from hexmesh.mesh.documents import STATUSES
from hexmesh.mesh.entries import SLO_STATUSES
from hexmesh.spec.model import CLASSIFICATIONS

__all__ = ["FILTERS", "Query", "SearchSyntaxError", "parse_query", "tokens"]

#: Filter keys, and the values they accept (None: any value).
FILTERS: dict[str, tuple[str, ...] | None] = {
    "domain": None,
    "owner": None,
    "tag": None,
    "status": STATUSES,
    "slo": SLO_STATUSES,
    "classification": CLASSIFICATIONS,
}
_MAX_QUERY = 1000
_TERM = re.compile(r'(-?)([A-Za-z]+):("?)|"|\S+')


class SearchSyntaxError(HexmeshError):
    """A search query cannot be parsed; the message points at the problem."""

    exit_code = 12
    http_status = 400

    def __init__(self, query: str, position: int, problem: str) -> None:
        self.query, self.position, self.problem = query, position, problem
        pointer = " " * position + "^"
        super().__init__(f"{problem}\n  {query}\n  {pointer}")


@dataclass
class Query:
    """A parsed query: words and phrases to match, filters to keep and to exclude."""

    text: str
    terms: list[list[str]] = field(default_factory=list)
    """Each term is a list of tokens: one for a word, several for a phrase."""
    include: dict[str, set[str]] = field(default_factory=dict)
    exclude: dict[str, set[str]] = field(default_factory=dict)


def tokens(text: str) -> list[str]:
    """Lower-case words the way the index splits them (``listener_id`` is two words, no accents)."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return re.findall(r"[^\W_]+", "".join(c for c in plain if not unicodedata.combining(c)))


def parse_query(text: str) -> Query:
    """Parse ``text``; raise :class:`SearchSyntaxError` pointing at the first problem."""
    if len(text) > _MAX_QUERY:
        raise SearchSyntaxError(text[:60] + "…", 60, f"the query is {len(text)} characters; the limit is {_MAX_QUERY}")
    query = Query(text)
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TERM.match(text, pos)
        assert match is not None  # \S+ always matches a non-space character
        key = match.group(2)
        if key is not None and _filter_key(text, pos, match.group(1), key.lower()):
            pos = _filter(query, text, match)
        elif match.group(0) == '"':
            end = text.find('"', pos + 1)
            if end < 0:
                raise SearchSyntaxError(text, pos, 'this quote is never closed; add a closing "')
            words = tokens(text[pos + 1 : end])
            if words:
                query.terms.append(words)
            pos = end + 1
        else:
            word = text[pos:].split(None, 1)[0]
            if '"' in word:
                raise SearchSyntaxError(
                    text,
                    pos + word.index('"'),
                    'a quote inside a word; put a space before "phrases"',
                )
            query.terms.extend([t] for t in tokens(word))
            pos += len(word)
    return query


def _filter_key(text: str, pos: int, negated: str, key: str) -> bool:
    """True for a known filter; raise for a near miss; False for text such as ``https://``."""
    if key in FILTERS:
        return True
    close = difflib.get_close_matches(key, FILTERS, n=1, cutoff=0.6)
    if close:
        raise SearchSyntaxError(
            text,
            pos + len(negated),
            f"unknown filter {key + ':'!r}; did you mean {close[0] + ':'}? "
            f"Filters: {', '.join(k + ':' for k in FILTERS)}",
        )
    return False


def _filter(query: Query, text: str, match: re.Match[str]) -> int:
    key = match.group(2).lower()
    pos = match.end()
    if match.group(3):
        end = text.find('"', pos)
        if end < 0:
            raise SearchSyntaxError(text, pos - 1, 'this quote is never closed; add a closing "')
        value, after = text[pos:end], end + 1
    else:
        value = text[pos:].split(None, 1)[0] if pos < len(text) and not text[pos].isspace() else ""
        after = pos + len(value)
    value = value.strip()
    if not value:
        example = (FILTERS[key] or ("podcasts",))[0]
        raise SearchSyntaxError(text, pos, f"the filter {key}: needs a value, for example {key}:{example}")
    allowed = FILTERS[key]
    if allowed is not None and value.lower() not in allowed:
        close = difflib.get_close_matches(value.lower(), allowed, n=1)
        hint = f"did you mean {key}:{close[0]}? " if close else ""
        raise SearchSyntaxError(text, pos, f"{value!r} is not a {key}; {hint}Use one of: {', '.join(allowed)}")
    target = query.exclude if match.group(1) else query.include
    target.setdefault(key, set()).add(value.lower())
    return after
