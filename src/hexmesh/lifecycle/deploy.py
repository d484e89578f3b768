"""Deploy a product version: copy its bundle, create or evolve its tables, record it. Idempotent."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hexmesh.errors import DeployError
from hexmesh.infra.state import VersionRecord, now_us
from hexmesh.infra.tables import iceberg_schema
from hexmesh.lifecycle.bundle import bundle_digest, bundle_files
from hexmesh.lifecycle.pins import resolve_pins
from hexmesh.lifecycle.plan import plan_product
from hexmesh.product import Runtime, table_id
from hexmesh.spec import LoadedSpec

if TYPE_CHECKING:
    from hexmesh.lifecycle.rules import MeshRules

__all__ = ["DeployOutcome", "bundle_files", "deploy_product"]


@dataclass(frozen=True)
class DeployOutcome:
    product: str
    version: str
    changed: bool
    message: str


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split("-")[0].split(".")
    return int(major), int(minor), int(patch)


def deploy_product(runtime: Runtime, loaded: LoadedSpec, rules: MeshRules | None = None) -> DeployOutcome:
    """Deploy one validated spec; running it twice changes nothing.

    With ``rules``, blocking governance findings refuse the deploy and the rule set passed is
    recorded with the version (``hexmesh.infra.state.rulesets``); warnings join the message.
    """
    spec = loaded.spec
    if rules is not None:
        blocking = rules.problems(spec)
        if blocking:
            raise DeployError("; ".join(str(p) for p in blocking))
    files = bundle_files(loaded.folder, loaded.file)
    digest = bundle_digest(loaded.folder, files)
    versions = runtime.state.versions(spec.key)
    same = next((v for v in versions if v.version == spec.version), None)
    if same is not None and same.spec_hash != digest:
        raise DeployError(
            f"{spec.key} {spec.version} is already deployed with different content; deployed "
            "versions are immutable, so bump the version (for example to "
            f"{_bump_patch(spec.version)}) and deploy again"
        )
    newest = max((v for v in versions if v.major == spec.major), key=lambda v: _semver(v.version), default=None)
    if same is None and newest is not None and _semver(newest.version) > _semver(spec.version):
        raise DeployError(
            f"{spec.key} {spec.version} is older than the deployed {newest.version}; deploy a higher version"
        )
    if (spec.key, spec.major) in runtime.state.retired():
        raise DeployError(
            f"{spec.key} major {spec.major} is retired; deploy a new major version "
            f"({max(v.major for v in versions) + 1}.0.0) instead"
        )
    refusal = plan_product(runtime, loaded).refusal
    if refusal is not None:
        raise DeployError(refusal)
    bundle = runtime.settings.bundles / spec.domain / spec.name / spec.version
    if same is None:
        if bundle.exists():  # left by a deploy that died before recording the version
            shutil.rmtree(bundle)
        for path in files:
            target = bundle / path.relative_to(loaded.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    created = _ensure_tables(runtime, loaded)
    if same is not None:
        return DeployOutcome(
            spec.key,
            spec.version,
            bool(created),
            "already deployed" + (f"; created {', '.join(created)}" if created else ""),
        )
    pins = resolve_pins(runtime, spec)
    retired = runtime.state.retired()
    for port, (upstream, major) in pins.items():
        if (upstream, major) in retired:
            raise DeployError(
                f"input {port!r} of {spec.key} reads {upstream}@{major}, which is retired; "
                f"read a live major instead (from: dp://{upstream}@<major>/...)"
            )
    with runtime.state.transaction() as conn:
        runtime.state.set_pins(conn, spec.key, spec.version, pins)
        runtime.state.add_version(
            conn,
            VersionRecord(
                product=spec.key,
                version=spec.version,
                major=spec.major,
                spec_text=loaded.file.read_text(encoding="utf-8"),
                spec_hash=digest,
                bundle=str(bundle),
                origin=str(loaded.folder),
                status=spec.status,
                deployed_us=now_us(),
            ),
        )
    message = f"deployed to {bundle}"
    if rules is not None:
        check = rules.record(runtime.state.engine, spec)
        message += f"; passed {check.ruleset}" + "".join(f"\n  warning: {w}" for w in check.warnings)
    return DeployOutcome(spec.key, spec.version, True, message)


def _ensure_tables(runtime: Runtime, loaded: LoadedSpec) -> list[str]:
    spec = loaded.spec
    created = []
    for port in spec.output_ports:
        ident = table_id(spec.domain, spec.name, spec.major, port.name)
        try:
            runtime.tables.ensure(ident, iceberg_schema(port), {"hexmesh.product": spec.key, "hexmesh.port": port.name})
        except (ValueError, TypeError) as exc:
            raise DeployError(
                f"port {port.name!r} of {spec.key}: the schema cannot evolve within major version "
                f"{spec.major} ({exc}); bump the major version to change it incompatibly"
            ) from exc
        if runtime.state.port(spec.key, spec.major, port.name) is None:
            baseline = runtime.tables.commit_empty(ident, {"hexmesh.baseline": "true"})
            with runtime.state.transaction() as conn:
                runtime.state.add_port(conn, spec.key, spec.major, port.name, ident, baseline)
            created.append(port.name)
    return created


def _bump_patch(version: str) -> str:
    major, minor, patch = _semver(version)
    return f"{major}.{minor}.{patch + 1}"
