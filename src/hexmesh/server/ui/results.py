"""The search results page model: hits, facet links, active filters and helpful errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from hexmesh.mesh import Query, SearchIndex, SearchResult, SearchSyntaxError, parse_query

__all__ = ["FACET_LABELS", "search_page"]

FACET_LABELS = {
    "domain": "Domain",
    "status": "Lifecycle",
    "slo": "SLO status",
    "classification": "Classification",
    "tag": "Tag",
    "owner": "Owner",
}


def _href(q: str, mode: str = "keyword") -> str:
    if not q.strip():
        return "/ui"
    return "/ui?" + urlencode({"q": q.strip(), **({"mode": mode} if mode != "keyword" else {})})


def _term(key: str, value: str) -> str:
    return f'{key}:"{value}"' if any(c.isspace() or c == '"' for c in value) else f"{key}:{value}"


def _without(q: str, key: str, value: str) -> str:
    """``q`` with the filter ``key:value`` removed (in either quoting)."""
    for form in (_term(key, value), f"{key}:{value}", f'{key}:"{value}"'):
        q = q.replace(form, " ")
    return " ".join(q.split())


def search_page(
    index: SearchIndex,
    q: str,
    *,
    limit: int = 50,
    mode: str = "keyword",
    run: Callable[[Query, int], SearchResult] | None = None,
) -> dict[str, Any]:
    """Everything the home page shows for query ``q``; a syntax error is shown, not raised.

    ``run`` searches instead of ``index`` (semantic search); ``mode`` is kept in the facet links.
    """
    page: dict[str, Any] = {
        "q": q,
        "mode": mode,
        "error": None,
        "hits": [],
        "total": 0,
        "facets": [],
        "active": [],
        "corrections": {},
        "relaxed": False,
    }
    try:
        query = parse_query(q)
        result = run(query, limit) if run is not None else index.search(query, limit=limit)
    except SearchSyntaxError as exc:
        page["error"] = {
            "problem": exc.problem,
            "query": exc.query,
            "before": exc.query[: exc.position],
            "at": exc.query[exc.position : exc.position + 1] or " ",
            "after": exc.query[exc.position + 1 :],
        }
        return page
    active = {(k, v) for k, values in query.include.items() for v in values}
    page["active"] = [
        {"key": k, "value": v, "label": FACET_LABELS.get(k, k), "href": _href(_without(q, k, v), mode)}
        for k, v in sorted(active)
    ]
    for key, label in FACET_LABELS.items():
        counts = result.facets.get(key, {})
        if not counts:
            continue
        values = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        page["facets"].append(
            {
                "key": key,
                "label": label,
                "options": [
                    {
                        "value": v,
                        "count": n,
                        "active": (key, v) in active,
                        "href": _href(_without(q, key, v) if (key, v) in active else f"{q} {_term(key, v)}", mode),
                    }
                    for v, n in values
                ],
            }
        )
    page.update(
        hits=result.hits,
        total=result.total,
        corrections=result.corrections,
        relaxed=result.relaxed,
    )
    return page
