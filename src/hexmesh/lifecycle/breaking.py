"""Breaking-change rules: compare two versions of a spec, change by change.

A change is *breaking* when a consumer written against the old version can fail or silently
get a different meaning from the new one; such a change needs a new major version, which
deploys new tables beside the old ones (the old major keeps serving). A compatible change
that the table format cannot apply in place (Iceberg cannot widen long to double) is marked
``in_place=False``: it also needs a new major, but only for storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from hexmesh.spec import DataProductSpec, FieldSpec, OutputPort, Slo
from hexmesh.spec.duration import parse_duration
from hexmesh.spec.model import CLASSIFICATIONS

__all__ = ["Change", "compare_specs"]


@dataclass(frozen=True)
class Change:
    """One difference between the deployed spec and the proposed one."""

    breaking: bool
    where: str
    """Where in the spec, for example outputPorts.orders.properties.amount."""
    what: str
    reason: str
    in_place: bool = True
    consequence: str = ""
    """What deploying it does to data, runs and readers (lifecycle/consequences.py)."""

    @property
    def kind(self) -> str:
        return "breaking" if self.breaking else "compatible"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind}


def _break(where: str, what: str, reason: str) -> Change:
    return Change(True, where, what, reason)


def _ok(where: str, what: str, reason: str = "", *, in_place: bool = True, consequence: str = "") -> Change:
    return Change(False, where, what, reason, in_place, consequence)


def compare_specs(old: DataProductSpec, new: DataProductSpec) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    changes = list(_product(old, new))
    return sorted(changes, key=lambda c: not c.breaking)


def _product(old: DataProductSpec, new: DataProductSpec) -> Iterator[Change]:
    for key in ("description", "docs", "owner", "contacts", "tags", "status", "customProperties"):
        attribute = "custom_properties" if key == "customProperties" else key
        if getattr(old, attribute) != getattr(new, attribute):
            yield _ok(key, f"{key} changed", "documentation and metadata do not change the data")
    for port in old.output_ports:
        if new.output(port.name) is None:
            yield _break(
                f"outputPorts.{port.name}", f"output port {port.name!r} removed", "consumers reading it would fail"
            )
    for port in new.output_ports:
        before = old.output(port.name)
        if before is None:
            yield _ok(f"outputPorts.{port.name}", f"output port {port.name!r} added", "a new port breaks no reader")
        else:
            yield from _port(before, port)
    old_inputs = {p.name: p for p in old.input_ports}
    new_inputs = {p.name: p for p in new.input_ports}
    for name in sorted(old_inputs.keys() | new_inputs.keys()):
        was, now = old_inputs.get(name), new_inputs.get(name)
        if was == now:
            continue
        if was is None or now is None:
            verb = "added" if was is None else "removed"
            yield _ok(f"inputPorts.{name}", f"input port {name!r} {verb}", "inputs are internal to the product")
            continue
        for key in ("from_", "source", "window", "properties", "description"):
            if getattr(was, key) != getattr(now, key):
                label = key.rstrip("_")
                what = f"{label} of input port {name!r} changed"
                yield _ok(f"inputPorts.{name}.{label}", what, "inputs are internal to the product")
    if old.transformation != new.transformation:
        yield _ok("transformation", "transformation changed", "the output contract is checked separately")
    if old.policies != new.policies:
        yield _ok("policies", "policies changed", "access is decided per read by the policies")
    for key in ("trigger", "retention"):
        if getattr(old, key) != getattr(new, key):
            yield _ok(key, f"{key} changed", "operational setting")


def _port(old: OutputPort, new: OutputPort) -> Iterator[Change]:
    at = f"outputPorts.{new.name}"
    if old.mode != new.mode:
        yield _break(f"{at}.mode", f"mode {old.mode} → {new.mode}", "the history a consumer reads changes meaning")
    if old.event_time != new.event_time:
        yield _break(
            f"{at}.eventTime",
            f"eventTime {old.event_time} → {new.event_time}",
            "since/until reads would select different rows",
        )
    if old.primary_key != new.primary_key:
        yield _break(
            f"{at}.primaryKey",
            f"primary key {old.primary_key} → {new.primary_key}",
            "consumers joining or deduplicating on the key would get different results",
        )
    added = [f for f in new.properties if old.field(f.name) is None]
    for field in old.properties:
        after = new.field(field.name)
        if after is None:
            twin = next((f for f in added if f.logical_type == field.logical_type), None)
            hint = f" (renamed to {twin.name!r}?)" if twin else ""
            yield _break(
                f"{at}.properties.{field.name}",
                f"field {field.name!r} removed{hint}",
                "queries selecting it would fail",
            )
        else:
            yield from _field(f"{at}.properties.{field.name}", field, after, new)
    for field in added:
        where = f"{at}.properties.{field.name}"
        if field.required or field.name in new.primary_key:
            yield _break(where, f"required field {field.name!r} added", "earlier snapshots have no value for it")
        else:
            yield _ok(where, f"optional field {field.name!r} added", "existing queries still work")
    if old.description != new.description or old.tags != new.tags or old.custom_properties != new.custom_properties:
        yield _ok(at, "port description, tags or custom properties changed", "documentation")
    yield from _slo(f"{at}.slo", old.slo or Slo(), new.slo or Slo())
    removed = [c.label for c in old.quality if c not in new.quality]
    if removed:
        yield _ok(f"{at}.quality", f"quality checks removed: {', '.join(removed)}", "checks guard publication only")
    checks = [c.label for c in new.quality if c not in old.quality]
    if checks:
        what = f"quality checks added or changed: {', '.join(checks)}"
        yield _ok(f"{at}.quality", what, "checks guard publication only")


def _field(at: str, old: FieldSpec, new: FieldSpec, port: OutputPort) -> Iterator[Change]:
    yield from _type(at, old, new)
    if new.required and not old.required and new.name not in port.primary_key:
        yield _break(f"{at}.required", f"field {new.name!r} becomes required", "earlier snapshots may hold nulls")
    if old.required and not new.required:
        yield _break(f"{at}.required", f"field {new.name!r} becomes optional", "consumers may now get nulls")
    before, after = _rank(old.classification), _rank(new.classification)
    if after > before:
        yield _break(
            f"{at}.classification",
            f"classification {old.classification or 'none'} → {new.classification}",
            "a tightened classification can take access away from current consumers",
        )
    elif after < before:
        yield _ok(f"{at}.classification", f"classification {old.classification} → {new.classification or 'none'}")
    if old.concept != new.concept:
        if old.concept is None:
            yield _ok(f"{at}.concept", f"concept {new.concept} added", "documents the meaning")
        else:
            yield _break(
                f"{at}.concept",
                f"concept {old.concept} → {new.concept or 'none'}",
                "the field's semantic meaning changed",
            )
    lost = [link for link in old.links if link not in new.links]
    if lost:
        yield _break(f"{at}.links", f"links removed: {', '.join(lost)}", "the field's semantic meaning changed")
    elif old.links != new.links:
        yield _ok(f"{at}.links", "links added", "documents the meaning")
    if new.unique and not old.unique:
        yield _break(f"{at}.unique", f"field {new.name!r} becomes unique", "earlier snapshots may hold duplicates")
    if old.unique and not new.unique:
        yield _break(f"{at}.unique", f"field {new.name!r} is no longer unique", "consumers may now get duplicates")
    if old.logical_type_options != new.logical_type_options:
        was = old.logical_type_options.model_dump(exclude_none=True) if old.logical_type_options else {}
        now = new.logical_type_options.model_dump(exclude_none=True) if new.logical_type_options else {}
        yield _break(
            f"{at}.logicalTypeOptions",
            f"constraints of {new.name!r} {was or 'none'} → {now or 'none'}",
            "tighter: earlier snapshots may break them; looser: consumers may get values they did not expect",
        )
    if old.physical_type != new.physical_type:
        yield _ok(f"{at}.physicalType", f"physicalType {old.physical_type} → {new.physical_type}", "documentation")
    if old.description != new.description or old.tags != new.tags or old.custom_properties != new.custom_properties:
        yield _ok(at, f"description, tags or custom properties of {new.name!r} changed", "documentation")


def _rank(classification: str | None) -> int:
    return CLASSIFICATIONS.index(classification) if classification else 0


def _type(at: str, old: FieldSpec, new: FieldSpec) -> Iterator[Change]:
    before, after = _type_name(old), _type_name(new)
    if before == after:
        return
    what = f"type of {new.name!r} {before} → {after}"
    if old.logical_type == new.logical_type == "decimal":
        old_int = (old.precision or 38) - (old.scale or 0)
        new_int = (new.precision or 38) - (new.scale or 0)
        if new_int >= old_int and (new.scale or 0) >= (old.scale or 0):
            same_scale = (new.scale or 0) == (old.scale or 0)
            yield _ok(f"{at}.logicalType", what, "widened: every old value fits", in_place=same_scale)
            return
    elif (old.logical_type, new.logical_type) in (("integer", "number"), ("integer", "decimal")):
        yield _ok(
            f"{at}.logicalType",
            what,
            "widened for consumers; Iceberg cannot widen a long column in place, so it needs a new major",
            in_place=False,
        )
        return
    yield _break(f"{at}.logicalType", what, "narrowed or changed type: old values or queries may not fit")


def _type_name(field: FieldSpec) -> str:
    if field.logical_type == "decimal":
        return f"decimal({field.precision},{field.scale or 0})"
    return field.logical_type


def _slo(at: str, old: Slo, new: Slo) -> Iterator[Change]:
    if old.retention != new.retention:
        shorter = old.retention is not None and (
            new.retention is None or parse_duration(new.retention) < parse_duration(old.retention)
        )
        what = f"retention SLO {old.retention or 'none'} → {new.retention or 'none'}"
        yield _break(f"{at}.retention", what, "a weakened promise") if shorter else _ok(f"{at}.retention", what)
    for name in ("freshness", "timeliness"):
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        if before is not None and (after is None or parse_duration(after) > parse_duration(before)):
            yield _break(f"{at}.{name}", f"{name} SLO {before} → {after or 'none'}", "a weakened promise")
        else:
            yield _ok(f"{at}.{name}", f"{name} SLO {before or 'none'} → {after}", "a stronger promise")
    if old.completeness != new.completeness:
        if old.completeness is not None and (new.completeness is None or new.completeness < old.completeness):
            yield _break(
                f"{at}.completeness",
                f"completeness SLO {old.completeness} → {new.completeness}",
                "a weakened promise",
            )
        else:
            yield _ok(f"{at}.completeness", f"completeness SLO {old.completeness} → {new.completeness}")
    if old.expected_rows != new.expected_rows:
        yield _ok(f"{at}.expectedRows", f"expected rows {old.expected_rows} → {new.expected_rows}")
