"""What each planned change does once deployed: to the next run, to published data, to readers.

:func:`hexmesh.lifecycle.breaking.compare_specs` says whether a change breaks consumers; this
module adds what the spec alone cannot show (the code files a spec names by file, keys no
rule knows) and, for every change, its consequence: a plan that says "transformation changed"
also says that the new version's first run recomputes, and from what.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from hexmesh.lifecycle.breaking import Change
from hexmesh.product.inputs import origin
from hexmesh.spec import DataProductSpec
from hexmesh.spec.model import SensorTrigger

__all__ = ["code_changes", "first_run", "other_changes", "with_consequences"]

_CODE = (".sql", ".py")
_DOCS = (".md",)
#: Keys :func:`compare_specs` compares; any other key that changes is still shown (``other_changes``).
_COMPARED = {
    "api_version",
    "kind",
    "domain",
    "name",
    "version",
    "status",
    "owner",
    "contacts",
    "description",
    "docs",
    "tags",
    "input_ports",
    "transformation",
    "output_ports",
    "policies",
    "trigger",
    "retention",
}


def _digests(folder: Path, files: list[Path]) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files
        if path.suffix in _CODE + _DOCS
    }


def _bundle(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


def code_changes(old_bundle: Path, new_folder: Path, new_files: list[Path], spec: DataProductSpec) -> list[Change]:
    """Code (``.sql``, ``.py``) and docs (``.md``) files that differ between the deployed bundle and ``new_folder``.

    The spec names its code by file (``sql: transform.sql``), so a changed query leaves the spec
    unchanged: only the files tell.
    """
    if not old_bundle.is_dir():
        return [
            Change(
                False,
                "transformation",
                "code not compared",
                f"the deployed bundle {old_bundle} is gone",
                consequence=first_run(spec),
            )
        ]
    before, after = _digests(old_bundle, _bundle(old_bundle)), _digests(new_folder, new_files)
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) == after.get(name):
            continue
        verb = "added" if name not in before else "removed" if name not in after else "changed"
        if name.endswith(_DOCS):
            changes.append(Change(False, "docs", f"{name} {verb}", "documentation does not change the data"))
        else:
            changes.append(
                Change(False, "transformation", f"code file {name} {verb}", "the output contract is checked separately")
            )
    return changes


def other_changes(old: DataProductSpec, new: DataProductSpec) -> list[Change]:
    """Top-level keys that no breaking-change rule compares (for example ``engine``), when they change."""
    changes = []
    for key in sorted(type(new).model_fields.keys() - _COMPARED):
        if getattr(old, key, None) != getattr(new, key, None):
            alias = type(new).model_fields[key].alias or key
            changes.append(Change(False, alias, f"{alias} changed", "an operational setting of the product"))
    return changes


def first_run(spec: DataProductSpec) -> str:
    """What the first run of a new version reads, input by input, as the windows say."""
    parts = []
    for port in spec.input_ports:
        window = port.window_spec
        if window.kind == "all":
            parts.append(f"{port.name} (all: all of it)")
        elif window.kind == "last":
            parts.append(f"{port.name} ({port.window}: that much event time)")
        else:
            parts.append(f"{port.name} (incremental: only what is new)")
    if not parts:
        return f"the first run of {spec.version} recomputes every port; earlier snapshots stay as they were"
    note = f"the first run of {spec.version} recomputes from " + ", ".join(parts)
    if all(port.window_spec.kind == "incremental" for port in spec.input_ports):
        note += "; `hexmesh run --full-refresh` recomputes from all input"
    return note + "; earlier snapshots stay as they were"


def _consequence(change: Change, old: DataProductSpec, spec: DataProductSpec, new_major: bool) -> str:
    where = change.where
    if change.breaking or not change.in_place:
        return (
            f"new tables for major {spec.major}; the previous major keeps serving beside them"
            if new_major
            else "refused: needs a new major version"
        )
    if where.startswith(("transformation", "engine")):
        return first_run(spec)
    if where.startswith("inputPorts."):
        name = where.split(".")[1]
        port = next((p for p in spec.input_ports if p.name == name), None)
        if port is None:
            return f"input {name!r} is no longer read; " + first_run(spec)
        before = next((p for p in old.input_ports if p.name == name), None)
        if where.endswith(".source") and before is not None and origin(before) == origin(port):
            return (
                f"what {name} reads from the next run on is parsed with the new options; what was already "
                "read is not read again (`hexmesh run --full-refresh` re-reads it)"
            )
        if where.endswith((".source", ".from")) or where == f"inputPorts.{name}":
            return (
                f"{name} is read from its new origin from the start, as its window ({port.window}) says; "
                "positions in the old origin are dropped"
            )
        if where.endswith(".window"):
            return f"{name} is read as window {port.window} says from the next run; " + first_run(spec)
        if where.endswith(".properties"):
            return "checked on the events ingested from now on"
        return "discovery shows it at once; the data does not change"
    if ".quality" in where:
        return "the next run's output must pass it before anything is published; published snapshots are not re-checked"
    if ".slo" in where or where.endswith(".expectedRows"):
        return "observers check the new promise from their next check (observability port, SLO events)"
    if where == "policies":
        return "in force on every port for every read once deployed; stored data does not change"
    if where == "trigger":
        return f"the scheduler runs it {_trigger(spec)}"
    if where == "retention":
        return f"when a major is retired its tables are {'deleted' if spec.retention == 'delete' else 'kept'}"
    if where.startswith("outputPorts.") and "properties" in where and "added" in change.what:
        return "a new column; earlier snapshots read it as null"
    if where.startswith("outputPorts.") and where.count(".") == 1 and "added" in change.what:
        return "a new table, empty until the next run publishes"
    return "discovery shows it at once; the data does not change"


def _trigger(spec: DataProductSpec) -> str:
    trigger = spec.trigger
    if isinstance(trigger, str):
        return "only on request" if trigger == "manual" else "when an upstream publishes"
    also = " and when an upstream publishes" if trigger.upstream else ""
    if isinstance(trigger, SensorTrigger):
        watched = "its sources" if trigger.sources == "all" else "the sources of " + ", ".join(trigger.sources)
        pace = f" (debounce {trigger.debounce}, at least {trigger.min_interval} apart)"
        return f"when {watched} bring something new{pace}{also}"
    return f"on cron {trigger.cron!r}{also}"


def with_consequences(
    changes: list[Change], old: DataProductSpec, spec: DataProductSpec, *, new_major: bool
) -> list[Change]:
    """``changes`` from ``old`` to ``spec``, each with its consequence (those that have one keep it)."""
    return [c if c.consequence else replace(c, consequence=_consequence(c, old, spec, new_major)) for c in changes]
