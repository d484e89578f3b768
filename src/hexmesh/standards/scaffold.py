"""What an imported product needs to validate and run in hexmesh that a contract does not say.

A contract describes data; a hexmesh product also produces it. The importer adds, and lists:
a transformation (SQL that publishes no rows until written, or a pass-through reading the
contract's local server), a placeholder port where a document declares none (hexmesh needs one
field; export leaves placeholders out), the data subject of ports with restricted fields, and
privacy rules for personal and restricted fields (see :mod:`.people`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hexmesh.errors import ProblemLocation, SpecProblem
from hexmesh.standards.imported import Notes, Options
from hexmesh.standards.names import port_name

__all__ = [
    "FIELDS",
    "PLACEHOLDER",
    "is_placeholder",
    "placeholder_port",
    "server_input",
    "subject_tags",
    "transformation",
]

#: The custom property marking what hexmesh made up to have a valid spec.
PLACEHOLDER = "hexmesh.placeholder"
_DUCKDB = {
    "string": "varchar",
    "integer": "bigint",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
    "time": "time",
    "binary": "blob",
}


def placeholder_port(name: str, why: str) -> dict[str, Any]:
    return {
        "name": port_name(name),
        "description": f"Placeholder: {why}",
        "properties": [
            {
                "name": "value",
                "logicalType": "string",
                "description": "Placeholder: hexmesh needs at least one field; declare the port's schema.",
            }
        ],
        "customProperties": [{"property": PLACEHOLDER, "value": True}],
    }


#: The placeholder's value when only the fields are made up (the port itself is the document's).
FIELDS = "fields"


def is_placeholder(custom: list[Any], kind: Any = None) -> bool:
    """Whether hexmesh made this port up (``kind`` True: the whole port; FIELDS: only its fields)."""
    return any(
        getattr(c, "property", None) == PLACEHOLDER and (kind is None or getattr(c, "value", None) == kind)
        for c in custom
    )


def subject_tags(ports: list[dict[str, Any]], notes: Notes) -> None:
    """Tag a data subject on each port with restricted fields (its first key field, or first field)."""
    for port in ports:
        fields = port["properties"]
        if not any(f.get("classification") == "restricted" for f in fields):
            continue
        if any("subject" in f.get("tags", []) for f in fields):
            continue
        key = (port.get("primaryKey") or [None])[0]
        chosen = next((f for f in fields if f["name"] == key), fields[0])
        chosen["tags"] = [*chosen.get("tags", []), "subject"]
        notes.changed.append(
            f"outputPorts[{port['name']}]: {chosen['name']} tagged as the data subject (restricted fields are "
            "encrypted per subject); check it is whose data a row is"
        )
        for f in fields:
            if f.get("classification") == "restricted" and f["logicalType"] != "string":
                notes.changed.append(
                    f"outputPorts[{port['name']}].{f['name']}: restricted fields are sealed as text; declare it "
                    f"a string (it is {f['logicalType']}) before running the product"
                )


def _column(field: dict[str, Any]) -> str:
    kind = field["logicalType"]
    sql = f"decimal({field.get('precision') or 38},{field.get('scale') or 0})" if kind == "decimal" else _DUCKDB[kind]
    return f'cast(null as {sql}) as "{field["name"]}"'


def transformation(
    ports: list[dict[str, Any]], inputs: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The transformation of an imported product and its files: none for a one-to-one pass-through."""
    if len(inputs) == 1 and len(ports) == 1:
        return None, {}
    files = {}
    for port in ports:
        columns = ",\n       ".join(_column(f) for f in port["properties"])
        files[f"{port['name']}.sql"] = (
            f"-- Imported: write the query that produces {port['name']} (it publishes no rows until you do).\n"
            f"select {columns}\nwhere false\n"
        )
    if len(ports) == 1:
        (name,) = files
        return {"sql": name}, files
    return {"sql": {p["name"]: f"{p['name']}.sql" for p in ports}}, files


_FORMATS = {"csv": "csv", "parquet": "parquet", "json": "json"}


def server_input(
    servers: list[dict[str, Any]], options: Options, at: ProblemLocation, notes: Notes
) -> dict[str, Any] | None:
    """An input port reading the local server ``options.server`` names (CSV, Parquet or JSON lines)."""
    if options.server is None:
        return None
    found = next((s for s in servers if str(s.get("server", s.get("name"))) == options.server), None)
    names = ", ".join(str(s.get("server", s.get("name"))) for s in servers) or "none"
    if found is None:
        notes.problems.append(SpecProblem(at, f"no server {options.server!r} in the contract", f"its servers: {names}"))
        return None
    if found.get("type") != "local" or str(found.get("format")) not in _FORMATS:
        notes.problems.append(
            SpecProblem(
                at,
                f"server {options.server!r} is {found.get('type')} {found.get('format')}: hexmesh reads local csv, "
                "parquet and json files",
                "pick a local server, or write the input port yourself",
            )
        )
        return None
    raw = str(found.get("path") or found.get("location") or "")
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else (options.base / path).resolve()
    if any(c in raw for c in "*?[") or not path.exists():
        notes.problems.append(
            SpecProblem(
                at,
                f"server {options.server!r} reads {raw!r}, which is not an existing file or folder "
                f"under {options.base}",
                "run the import from the folder the contract's paths are relative to, or name one file",
            )
        )
        return None
    notes.changed.append(f"inputPorts[{port_name(options.server)}]: reads server {options.server} ({path})")
    return {
        "name": port_name(options.server),
        "source": {"format": _FORMATS[str(found["format"])], "path": str(path)},
    }
