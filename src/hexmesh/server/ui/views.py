"""What each page shows, computed from the mesh hub; templates only lay it out.

Values come from discovery and observability documents, which may come from a peer: every
lookup tolerates a missing or oddly shaped value and shows "not reported" instead of failing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from markupsafe import Markup

from hexmesh.mesh import ProductEntry, impact, port_access, snippets
from hexmesh.server.ui.drawing import bar_chart, lineage_svg
from hexmesh.server.ui.sanitize import safe_html
from hexmesh.serving import ProductView, Visibility
from hexmesh.spec.duration import human_seconds

__all__ = ["STATUS", "domains", "lineage_page", "product_page", "slo_board"]

#: Health colours of the observability port and SLO statuses of the index, as one vocabulary.
STATUS = {
    "green": ("met", "Met"),
    "amber": ("at-risk", "At risk"),
    "red": ("breached", "Breached"),
    "met": ("met", "Met"),
    "at-risk": ("at-risk", "At risk"),
    "breached": ("breached", "Breached"),
    "not configured": ("unknown", "Not configured"),
}


def status(value: Any) -> dict[str, str]:
    css, label = STATUS.get(str(value), ("unknown", "Unknown"))
    return {"css": css, "label": label}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("@id") or value.get("@value")
    return value if isinstance(value, str) else ""


def domains(entries: list[ProductEntry]) -> list[dict[str, Any]]:
    counts = Counter(e.domain for e in entries)
    return [{"name": d, "count": n} for d, n in sorted(counts.items())]


def _history(port: dict[str, Any] | None, slo: dict[str, Any]) -> dict[str, Markup] | None:
    history = _list(port.get("history")) if port else []
    if not history:
        return None
    labels = [_text(h.get("published_at"))[:16].replace("T", " ") for h in history]
    rows = [float(h["rows"]) if isinstance(h.get("rows"), int | float) else None for h in history]
    charts = {"rows": bar_chart(rows, labels, title="Rows per published snapshot")}
    lags = [
        (h.get("timeliness") or {}).get("p95_s") if isinstance(h.get("timeliness"), dict) else None for h in history
    ]
    if any(isinstance(v, int | float) for v in lags):
        target = port.get("checks") if port else None
        limit = next((c.get("target") for c in _list(target) if c.get("name") == "timeliness"), None)
        charts["lag"] = bar_chart(
            [float(v) if isinstance(v, int | float) else None for v in lags],
            labels,
            title="Timeliness: p95 of processing minus event time, per snapshot",
            unit="s",
            target=float(limit) if isinstance(limit, int | float) else None,
        )
    return charts


def _port(dataset: dict[str, Any], health: dict[str, Any] | None, purpose: str = "") -> dict[str, Any]:
    slo = dataset.get("hexmesh:slo") if isinstance(dataset.get("hexmesh:slo"), dict) else {}
    reported = dataset.get("hexmesh:sloStatus") or {}
    checks = _list(health.get("checks")) if health else _list(reported.get("hexmesh:checks"))
    return {
        "name": _text(dataset.get("dct:title")),
        "address": _text(dataset.get("dct:identifier")),
        "description": _text(dataset.get("dct:description")),
        "mode": _text(dataset.get("hexmesh:mode")),
        "event_time": _text(dataset.get("hexmesh:eventTime")),
        "primary_key": [str(k) for k in _list(dataset.get("hexmesh:primaryKey"))],
        "fields": [
            {
                "name": _text(f.get("hexmesh:name")),
                "type": _text(f.get("hexmesh:logicalType")),
                "required": bool(f.get("hexmesh:required")),
                "description": _text(f.get("dct:description")),
                "classification": _text(f.get("hexmesh:classification")),
                "concept": _text(f.get("hexmesh:concept")),
                "links": [_text(v) for v in _list(f.get("hexmesh:links"))],
            }
            for f in _list(dataset.get("hexmesh:schema"))
            if isinstance(f, dict)
        ],
        "slo": slo,
        "status": status(health.get("status") if health else reported.get("hexmesh:status")),
        "checks": [c for c in checks if isinstance(c, dict)],
        # A stub the visitor may only ask for has no snippet: it could not read what one would fetch.
        "snippets": []
        if dataset.get("hexmesh:access") == "request"
        else snippets(port_access(dataset), purpose=purpose),
        "purpose": purpose,
        "access": port_access(dataset),
        "charts": _history(health, slo or {}),
        # A port the visitor may only ask for: its name and description, nothing of its contents.
        "requestable": dataset.get("hexmesh:access") == "request",
    }


def _ports_from_entry(entry: ProductEntry) -> list[dict[str, Any]]:
    """The schema as the index last saw it (the product's node is not answering)."""
    return [
        {
            "name": p.name,
            "address": f"{entry.address}/{p.name}",
            "description": p.description,
            "mode": "",
            "event_time": "",
            "primary_key": list(p.primary_key),
            "fields": [f.__dict__ | {"links": list(f.links)} for f in p.fields],
            "slo": p.slo,
            "status": status(None),
            "checks": [],
            "snippets": [],
            "access": None,
            "charts": None,
        }
        for p in entry.ports
    ]


def _examples(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The README examples' badge: how many passed and failed at the last deploy (None: none ran)."""
    found = doc.get("hexmesh:examples")
    if not isinstance(found, dict):
        return None
    passed, failed = found.get("hexmesh:passed"), found.get("hexmesh:failed")
    if not isinstance(passed, int) or not isinstance(failed, int) or passed + failed == 0:
        return None
    results = [r for r in _list(doc.get("hexmesh:exampleResults")) if isinstance(r, dict)]
    return {"passed": passed, "failed": failed, "results": results}


def product_page(seen: Visibility, view: ProductView, purpose: str = "") -> dict[str, Any]:
    """The product page; ``purpose`` is stated in its connect snippets."""
    entry, doc, obs = view.entry, view.document or {}, view.observability or {}
    health = {p.get("address"): p for p in _list(obs.get("ports")) if isinstance(p, dict)}
    datasets = [d for d in _list(doc.get("dcat:servesDataset")) if isinstance(d, dict)]
    ports = (
        [_port(d, health.get(_text(d.get("dct:identifier"))), purpose) for d in datasets]
        if view.document
        else _ports_from_entry(entry)
    )
    for port in ports:
        standing = port["standing"] = view.standing.get(port["name"])
        if standing is not None and not standing.reads:
            port["snippets"] = []  # how to connect is shown to the port's readers only
        elif standing is not None and standing.purpose and not purpose and port["access"] is not None:
            port["purpose"] = standing.purpose  # the purpose of the viewer's grant
            port["snippets"] = snippets(port["access"], purpose=standing.purpose)
    registry = seen.registry
    lineage = seen.lineage
    near = {entry.key, *lineage.upstream(entry.key), *lineage.downstream(entry.key)}
    edges = [e for e in lineage.edges if e[0] in near and e[1] in near]
    stale = {e.key for e in registry if e.stale}
    readme = _text(doc.get("hexmesh:readme"))
    return {
        "entry": entry,
        "view": view,
        "overall": status(obs.get("status") or entry.slo_status),
        "lifecycle": _text(doc.get("hexmesh:lifecycle")) or entry.status,
        "docs": safe_html(readme) if readme else None,
        "docs_text": entry.docs,
        "ports": ports,
        "inputs": entry.inputs,
        "versions": [v for v in _list(doc.get("hexmesh:versions")) if isinstance(v, dict)],
        "quality": [q for q in _list(doc.get("hexmesh:quality")) if isinstance(q, dict)],
        "runs": [_run(r) for r in _list(obs.get("runs")) if isinstance(r, dict)],
        "code": view.code,
        "served_key": entry.key if view.major is None else f"{entry.key}@{view.major}",
        "version": _text(doc.get("dcat:version")) or entry.version,
        "majors": _majors(entry.key, doc, view.major),
        "paused": obs.get("paused") is True,
        "owns": bool(view.standing) and all(s.kind == "owner" for s in view.standing.values()),
        "lineage": lineage_svg(entry.key, edges, stale) if edges else None,
        "upstream": lineage.upstream(entry.key),
        "downstream": lineage.downstream(entry.key),
        "columns": seen.hub.column_lineage(entry.key, seen),
        "purpose": purpose,
        "examples": _examples(doc),
        "access_howto": _text((doc.get("hexmesh:access") or {}).get("hexmesh:howTo")),
    }


def _majors(key: str, doc: dict[str, Any], shown: int | None) -> list[dict[str, Any]]:
    """Every live major of the product, oldest first, each linking to its page; the newest is the plain name."""
    majors = _list(doc.get("hexmesh:majors"))
    found = [m for m in majors if isinstance(m, dict) and isinstance(m.get("hexmesh:major"), int)]
    newest = max((m["hexmesh:major"] for m in found), default=None)
    return [
        {
            "major": m["hexmesh:major"],
            "version": _text(m.get("dcat:version")),
            "status": _text(m.get("hexmesh:status")),
            "sunset": _text(m.get("hexmesh:sunset")),
            "successor": _text(m.get("hexmesh:successor")),
            "href": f"/ui/products/{key}" + ("" if m["hexmesh:major"] == newest else f"@{m['hexmesh:major']}"),
            "shown": m["hexmesh:major"] == (newest if shown is None else shown),
        }
        for m in sorted(found, key=lambda m: m["hexmesh:major"])
    ]


def _run(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the page shows it: when (UTC, to the minute), how long, rows published in all."""
    duration = run.get("duration_s")
    rows = run.get("rows")
    return {
        **run,
        "when": _text(run.get("started"))[:16].replace("T", " "),
        "took": human_seconds(duration) if isinstance(duration, int | float) else "",
        "total_rows": sum(n for n in rows.values() if isinstance(n, int)) if isinstance(rows, dict) else None,
    }


def slo_board(seen: Visibility) -> dict[str, Any]:
    entries = seen.entries
    counts = Counter(status(e.slo_status)["css"] for e in entries)
    rows = [
        {
            "entry": e,
            "status": status(e.slo_status),
            "promises": {p.name: p.slo for p in e.ports if p.slo},
        }
        for e in entries
    ]
    order = {"breached": 0, "at-risk": 1, "unknown": 2, "met": 3}
    rows.sort(key=lambda r: (order[r["status"]["css"]], r["entry"].key))  # type: ignore[index,attr-defined]
    return {"rows": rows, "counts": counts, "total": len(entries)}


def lineage_page(seen: Visibility, port: str) -> dict[str, Any]:
    """The mesh's lineage as the viewer may discover it and, for ``port``, what breaks if it changes.

    Raises:
        AddressError: ``port`` is not a port address.
        NotFoundError: the viewer sees no such product or port.
    """
    entries = seen.entries
    ports = [f"{e.address}/{p.name}" for e in sorted(entries, key=lambda e: e.key) for p in e.ports]
    stale = {e.key for e in entries if e.stale}
    found = impact(entries, port.strip()) if port.strip() else None
    focus = found.port.removeprefix("dp://").rsplit("/", 1)[0] if found else ""
    affected = {a.product for a in found.affected} if found else set()
    drawn = [e.key for e in entries]
    return {
        "ports": ports,
        "port": found.port if found else port,
        "impact": found,
        "svg": lineage_svg(focus, seen.lineage.edges, stale, nodes=drawn, affected=affected) if drawn else None,
        "products": len(entries),
    }
