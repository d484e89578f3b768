"""What a standard's object says that hexmesh has no key for, kept as ``customProperties`` and given back.

On import, each object of a document (a contract, a schema object, a property, a quality rule)
becomes its hexmesh counterpart; exporting that counterpart gives the keys hexmesh can write. The
difference is the *residue*, kept under ``<standard>.<key>`` on the counterpart:

- a key hexmesh does not write is kept as it came, and written back as it came;
- a mapping hexmesh writes only part of (a description with ``purpose`` only) keeps the rest;
- a value hexmesh writes differently (a name made into a SQL identifier, ``logicalType: object``
  stored as a JSON string) is kept with ``description: "hexmesh writes <json>"``, and given back
  only while hexmesh still writes that same value: an edit in hexmesh wins over the old value.

So ``export(import(document))`` is the document again, and an edit made in hexmesh is exported.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from hexmesh.spec.base import CustomProperty

__all__ = ["foreign", "residue", "restore"]

_WRITES = "hexmesh writes "


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def residue(
    prefix: str, original: Mapping[str, Any], produced: Mapping[str, Any], *, skip: Collection[str] = ()
) -> list[CustomProperty]:
    """The parts of ``original`` that ``produced`` (the export of its import) does not say."""
    kept = []
    for key, value in original.items():
        if key in skip or key == "customProperties":
            continue
        name = f"{prefix}.{key}"
        if key not in produced:
            kept.append(CustomProperty(property=name, value=value))
            continue
        written = produced[key]
        if written == value:
            continue
        if isinstance(value, dict) and isinstance(written, dict) and all(value.get(k) == v for k, v in written.items()):
            kept.append(CustomProperty(property=name, value={k: v for k, v in value.items() if k not in written}))
        else:
            kept.append(CustomProperty(property=name, value=value, description=_WRITES + _json(written)))
    return kept


def restore(prefix: str, produced: dict[str, Any], custom: Iterable[CustomProperty]) -> dict[str, Any]:
    """``produced`` with the residue kept under ``prefix`` put back (see the module docstring)."""
    document = dict(produced)
    for item in custom:
        if not item.property.startswith(prefix + "."):
            continue
        key = item.property[len(prefix) + 1 :]
        if item.description and item.description.startswith(_WRITES):
            if _json(document.get(key)) == item.description[len(_WRITES) :]:
                document[key] = item.value
        elif key not in document:
            document[key] = item.value
        elif isinstance(document[key], dict) and isinstance(item.value, dict):
            document[key] = {**item.value, **document[key]}
    return document


def foreign(custom: Iterable[CustomProperty], prefix: str) -> list[dict[str, Any]]:
    """Custom properties that are not ``prefix``'s residue, in the ``{property, value}`` form."""
    found = []
    for item in custom:
        if item.property.startswith(prefix + "."):
            continue
        entry: dict[str, Any] = {"property": item.property, "value": item.value}
        if item.description is not None:
            entry["description"] = item.description
        found.append(entry)
    return found
