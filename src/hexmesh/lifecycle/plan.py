"""``hexmesh plan``: what deploying a spec would change, each change breaking or compatible."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hexmesh.infra.state import VersionRecord
from hexmesh.lifecycle.breaking import Change, compare_specs
from hexmesh.lifecycle.bundle import bundle_digest, bundle_files
from hexmesh.lifecycle.consequences import code_changes, first_run, other_changes, with_consequences
from hexmesh.lifecycle.pins import resolve_pins
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.spec import LoadedSpec

__all__ = ["Plan", "plan_product", "semver"]


def semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split("-")[0].split(".")
    return int(major), int(minor), int(patch)


@dataclass
class Plan:
    """The changes from the deployed version (the baseline) to a proposed spec."""

    product: str
    version: str
    baseline: str | None
    """The deployed version compared against; None for a product's first deploy."""
    changes: list[Change] = field(default_factory=list)
    already_deployed: bool = False
    problems: list[str] = field(default_factory=list)
    """Why deploy would refuse this version whatever its changes (immutable, older...)."""
    first_run: str = ""
    """What the new version's first run reads (lifecycle/consequences.py); empty when already deployed."""

    @property
    def major(self) -> int:
        return semver(self.version)[0]

    @property
    def new_major(self) -> bool:
        return self.baseline is None or semver(self.baseline)[0] < self.major

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def needs_major(self) -> list[Change]:
        """Changes that need a new major: breaking ones, and those storage cannot apply in place."""
        return [c for c in self.changes if c.breaking or not c.in_place]

    @property
    def refusal(self) -> str | None:
        """Why deploy would refuse this spec, or None when it may deploy."""
        if self.problems:
            return "\n".join(self.problems)
        if self.new_major or self.already_deployed or not self.needs_major:
            return None
        count = len(self.needs_major)
        lines = [
            f"{self.product} {self.version} has {count} change(s) against the deployed {self.baseline} "
            f"that need a new major version; deploy it as {self.major + 1}.0.0 (major {self.major} keeps "
            "serving beside it) or undo the change(s):"
        ]
        lines += [f"  - {c.where}: {c.what} — {c.reason}" for c in self.needs_major]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "version": self.version,
            "baseline": self.baseline,
            "new_major": self.new_major,
            "already_deployed": self.already_deployed,
            "breaking": len(self.breaking),
            "compatible": len(self.changes) - len(self.breaking),
            "deployable": self.refusal is None,
            "refusal": self.refusal,
            "first_run": self.first_run,
            "changes": [c.as_dict() for c in self.changes],
        }


def _baseline(versions: list[VersionRecord], version: str) -> VersionRecord | None:
    """The same version if deployed; else the newest of the same major; else the newest below it."""
    same = next((v for v in versions if v.version == version), None)
    if same is not None:
        return same
    major = semver(version)[0]
    candidates = [v for v in versions if v.major == major] or [v for v in versions if v.major < major]
    return max(candidates, key=lambda v: semver(v.version), default=None)


def plan_product(runtime: Runtime, loaded: LoadedSpec) -> Plan:
    """Compare ``loaded`` with what is deployed of the same product."""
    spec = loaded.spec
    versions = runtime.state.versions(spec.key)
    base = _baseline(versions, spec.version)
    if base is None:
        return Plan(spec.key, spec.version, None, problems=_retired(runtime, loaded, versions, already_deployed=False))
    old = DeployedProduct(base).spec
    changes = compare_specs(old, spec) + other_changes(old, spec)
    changes += code_changes(Path(base.bundle), loaded.folder, bundle_files(loaded.folder, loaded.file), spec)
    plan = Plan(spec.key, spec.version, base.version, sorted(changes, key=lambda c: not c.breaking))
    plan.already_deployed = base.version == spec.version
    plan.problems += _retired(runtime, loaded, versions, already_deployed=plan.already_deployed)
    plan.changes = with_consequences(plan.changes, old, spec, new_major=plan.new_major)
    if not plan.already_deployed:
        plan.first_run = first_run(spec)
    major, minor, patch = semver(spec.version)
    if plan.already_deployed:
        if bundle_digest(loaded.folder, bundle_files(loaded.folder, loaded.file)) != base.spec_hash:
            plan.problems.append(
                f"{spec.key} {spec.version} is already deployed with different content; deployed versions "
                f"are immutable, so bump the version (for example to {major}.{minor}.{patch + 1})"
            )
    else:
        newest = max((v for v in versions if v.major == major), key=lambda v: semver(v.version), default=None)
        if newest is not None and semver(newest.version) > semver(spec.version):
            plan.problems.append(
                f"{spec.key} {spec.version} is older than the deployed {newest.version}; deploy a higher version"
            )
    return plan


def _retired(
    runtime: Runtime, loaded: LoadedSpec, versions: list[VersionRecord], *, already_deployed: bool
) -> list[str]:
    """Why a retired major stands in the way: this product's own, or one its inputs read.

    A version deployed before an upstream major retired stays deployed (its runs then fail with
    the upstream's retirement notice); a new version must read a live major.
    """
    spec = loaded.spec
    retired = runtime.state.retired()
    if (spec.key, spec.major) in retired:
        return [
            f"{spec.key} major {spec.major} is retired; deploy a new major version "
            f"({max(v.major for v in versions) + 1}.0.0) instead"
        ]
    if already_deployed:
        return []
    return [
        f"input {port!r} of {spec.key} reads {upstream}@{major}, which is retired; "
        f"read a live major instead (from: dp://{upstream}@<major>/...)"
        for port, (upstream, major) in resolve_pins(runtime, spec).items()
        if (upstream, major) in retired
    ]
