"""What a round trip must keep, read the same way from the original document and from the export."""

from __future__ import annotations

from typing import Any

__all__ = ["ASPECTS", "aspects", "covers", "differences"]

ASPECTS = ("ports", "schemas", "slas", "quality", "owners", "roles", "tags")


def _tags(values: Any) -> list[str]:
    # hexmesh tags a data subject on ports with restricted fields; that tag is added, never lost.
    return [t for t in values or [] if t != "subject"]


def _odcs(doc: dict[str, Any]) -> dict[str, Any]:
    objects = [o for o in doc.get("schema") or [] if isinstance(o, dict)]
    return {
        "ports": [o.get("name") for o in objects],
        "schemas": [
            [(p.get("name"), p.get("logicalType"), p.get("physicalType")) for p in o.get("properties") or []]
            for o in objects
        ],
        "slas": doc.get("slaProperties"),
        "quality": [[o.get("quality"), [p.get("quality") for p in o.get("properties") or []]] for o in objects],
        "owners": doc.get("team"),
        "roles": doc.get("roles"),
        "tags": [
            _tags(doc.get("tags")),
            [[_tags(o.get("tags")), [_tags(p.get("tags")) for p in o.get("properties") or []]] for o in objects],
        ],
    }


def _odps(doc: dict[str, Any]) -> dict[str, Any]:
    outputs = doc.get("outputPorts") or []
    return {
        "ports": [
            [(p.get("name"), p.get("version"), p.get("contractId")) for p in outputs],
            [(p.get("name"), p.get("version"), p.get("contractId")) for p in doc.get("inputPorts") or []],
        ],
        "schemas": [p.get("type") for p in outputs],
        "slas": None,
        "quality": None,
        "owners": doc.get("team"),
        "roles": doc.get("support"),
        "tags": [_tags(doc.get("tags")), [_tags(p.get("tags")) for p in outputs]],
    }


def _dpds(doc: dict[str, Any]) -> dict[str, Any]:
    interface = doc.get("interfaceComponents") or {}
    outputs = interface.get("outputPorts") or []
    return {
        "ports": {k: [p.get("name") for p in v] for k, v in interface.items() if isinstance(v, list)},
        "schemas": [((p.get("promises") or {}).get("api")) for p in outputs],
        "slas": [((p.get("promises") or {}).get("slo"), p.get("obligations")) for p in outputs],
        "quality": [p.get("expectations") or p.get("expectatctions") for p in outputs],
        "owners": (doc.get("info") or {}).get("owner"),
        "roles": None,
        "tags": _tags(doc.get("tags")),
    }


def _dcs(doc: dict[str, Any]) -> dict[str, Any]:
    models = doc.get("models") or {}
    fields = {name: (m or {}).get("fields") or {} for name, m in models.items()}
    return {
        "ports": list(models),
        "schemas": {
            m: {f: (v or {}).get("type") for f, v in fs.items() if "$ref" not in (v or {})} for m, fs in fields.items()
        },
        "slas": doc.get("servicelevels"),
        "quality": [
            doc.get("quality"),
            {
                m: [(m_ or {}).get("quality"), {f: (v or {}).get("quality") for f, v in fields[m].items()}]
                for m, m_ in models.items()
            },
        ],
        "owners": [(doc.get("info") or {}).get("owner"), (doc.get("info") or {}).get("contact")],
        "roles": {name: (s or {}).get("roles") for name, s in (doc.get("servers") or {}).items()},
        "tags": [
            _tags(doc.get("tags")),
            {
                m: {f: _tags((v or {}).get("tags")) for f, v in fs.items() if "$ref" not in (v or {})}
                for m, fs in fields.items()
            },
        ],
    }


def aspects(standard: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"odcs": _odcs, "odps": _odps, "dpds": _dpds, "dcs": _dcs}[standard](doc)


def differences(original: Any, exported: Any, path: str = "") -> list[str]:
    """Every key lost or value changed from ``original`` to ``exported`` (added keys are listed as ADDED)."""
    found: list[str] = []
    if isinstance(original, dict) and isinstance(exported, dict):
        for key, value in original.items():
            if key not in exported:
                found.append(f"LOST {path}.{key}")
            else:
                found += differences(value, exported[key], f"{path}.{key}")
        found += [f"ADDED {path}.{key}" for key in exported if key not in original]
    elif isinstance(original, list) and isinstance(exported, list):
        if len(original) != len(exported):
            found.append(f"LENGTH {path}: {len(original)} → {len(exported)}")
        for index, (a, b) in enumerate(zip(original, exported, strict=False)):
            found += differences(a, b, f"{path}[{index}]")
    elif original != exported:
        found.append(f"CHANGED {path}: {original!r} → {exported!r}")
    return found


def covers(exported: Any, original: Any) -> bool:
    """Whether ``exported`` says everything ``original`` says (a None in the original may be filled in)."""
    if original is None:
        return True
    if isinstance(original, dict):
        return isinstance(exported, dict) and all(covers(exported.get(k), v) for k, v in original.items())
    if isinstance(original, list | tuple):
        return (
            isinstance(exported, list | tuple)
            and len(exported) == len(original)
            and all(covers(e, o) for e, o in zip(exported, original, strict=True))
        )
    return bool(exported == original)
