"""Deploy product versions: copy a bundle, create or evolve its tables, record it. Idempotent.

Every reason to refuse a version is checked before anything is written (:func:`deploy_refusals`),
so a refused deploy leaves no bundle, no table and no record behind. A batch (``hexmesh deploy
mesh/``) is all-or-nothing for refusals: every product is checked first, and one refusal
deploys none of them (docs/adr/0024-the-owners-loop.md). A failure while writing (a full disk,
a lost catalog) undoes what that product's deploy wrote, and the error says, per product, what
was deployed and what was not.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hexmesh.errors import DeployError, HexmeshError
from hexmesh.infra.state import VersionRecord, now_us
from hexmesh.infra.tables import iceberg_schema
from hexmesh.lifecycle.access import input_refusals
from hexmesh.lifecycle.bundle import bundle_digest, bundle_files
from hexmesh.lifecycle.classification import classification_problems
from hexmesh.lifecycle.pins import resolve_pins
from hexmesh.lifecycle.plan import plan_product
from hexmesh.lifecycle.validate import link_problems
from hexmesh.product import Runtime, table_id
from hexmesh.product.bundles import DIGEST_PREFIX, bundle_key, store_bundle
from hexmesh.product.deployed import DeployedProduct, live_versions
from hexmesh.product.examples import ExampleResult
from hexmesh.product.sql.catalog import TableCatalog
from hexmesh.spec import Confinement, DataProductSpec, LoadedSpec, path_problems

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from hexmesh.lifecycle.rules import MeshRules

__all__ = [
    "BatchDeployError",
    "DeployOutcome",
    "bundle_files",
    "deploy_batch",
    "deploy_product",
    "deploy_refusals",
    "sql_names",
]


@dataclass(frozen=True)
class DeployOutcome:
    product: str
    version: str
    changed: bool
    message: str
    examples: tuple[ExampleResult, ...] = ()
    """The README's examples as this deploy ran them (a deploy that changed nothing runs none)."""


class BatchDeployError(DeployError):
    """A batch deploy that did not deploy every product: what was deployed, what failed, what was not.

    ``refused`` maps each product that was refused (or failed) to why; ``not_deployed`` lists
    the products left out because of it; ``deployed`` what had been deployed before a failure.
    """

    def __init__(
        self,
        message: str,
        *,
        deployed: list[DeployOutcome] | None = None,
        refused: dict[str, str] | None = None,
        not_deployed: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.deployed = deployed or []
        self.refused = refused or {}
        self.not_deployed = not_deployed or []


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split("-")[0].split(".")
    return int(major), int(minor), int(patch)


def sql_names(spec: DataProductSpec, newest_major: int) -> dict[str, str]:
    """Qualified SQL name → port of ``spec`` as the SQL port would show it (``_v<major>`` below the newest)."""
    suffix = "" if spec.major >= newest_major else f"_v{spec.major}"
    return {".".join(spec.sql_name(port)) + suffix: port.name for port in spec.output_ports}


def _sql_clashes(runtime: Runtime, spec: DataProductSpec, claimed: Mapping[str, str]) -> list[str]:
    """SQL names of ``spec`` that another product's port already has (deployed, or earlier in the batch)."""
    taken = {t.qualified: t.address for t in TableCatalog(runtime).tables() if t.product.key != spec.key}
    taken.update({name: owner for name, owner in claimed.items() if not owner.startswith(f"dp://{spec.key}@")})
    live = [v.major for v in runtime.state.versions(spec.key) if (spec.key, v.major) not in runtime.state.retired()]
    problems = []
    for name, port in sql_names(spec, max([spec.major, *live])).items():
        if name in taken:
            problems.append(
                f"port {port!r} of {spec.key} would be {name} on the SQL port, which {taken[name]} already is; "
                f"give the port another sqlName (or the product another sqlSchema)"
            )
    return problems


def _upstream_specs(
    runtime: Runtime, spec: DataProductSpec, batch: Mapping[str, DataProductSpec] | None
) -> Callable[[str], DataProductSpec | None]:
    """The spec each input reads: from the same batch, else the major it will be pinned to."""
    pinned = {key: major for key, major in resolve_pins(runtime, spec).values()}

    def find(key: str) -> DataProductSpec | None:
        if batch is not None and key in batch:
            return batch[key]
        try:
            return DeployedProduct.load(runtime, key, major=pinned.get(key)).spec
        except HexmeshError:
            return None

    return find


def deploy_refusals(
    runtime: Runtime,
    loaded: LoadedSpec,
    rules: MeshRules | None = None,
    claimed: Mapping[str, str] | None = None,
    batch: Mapping[str, DataProductSpec] | None = None,
) -> list[str]:
    """Every reason deploy would refuse ``loaded``; empty when it may deploy. Writes nothing.

    ``claimed`` holds the SQL names (name → ``dp://`` address) of products deployed earlier in
    the same batch, ``batch`` their specs (an input may read one of them).
    """
    spec = loaded.spec
    settings = runtime.settings
    confinement = Confinement(loaded.folder, settings.source_root_paths, settings.home)
    escapes = path_problems(loaded, confinement) + link_problems(loaded)
    if escapes:  # validate reports these too; deploy re-checks, as it is what copies the files
        return [str(p) for p in escapes]
    if rules is not None:
        blocking = rules.problems(spec) + classification_problems(loaded, _upstream_specs(runtime, spec, batch))
        if blocking:
            return [str(p) for p in blocking]
    plan = plan_product(runtime, loaded)  # immutability, order, needed majors and retired majors
    if plan.refusal is not None:
        return [plan.refusal]
    problems: list[str] = []
    problems += input_refusals(runtime, spec, batch)
    return problems + _sql_clashes(runtime, spec, claimed or {})


def deploy_product(runtime: Runtime, loaded: LoadedSpec, rules: MeshRules | None = None) -> DeployOutcome:
    """Deploy one validated spec; running it twice changes nothing.

    With ``rules``, blocking governance findings refuse the deploy and the rule set passed is
    recorded with the version (``hexmesh.infra.state.rulesets``); the message counts the warnings.
    A refusal (DeployError) writes nothing; a failure while writing undoes what was written.
    """
    spec = loaded.spec
    problems = deploy_refusals(runtime, loaded, rules)
    if problems:
        raise DeployError("\n".join(problems) + f"\nNothing of {spec.key} {spec.version} was deployed.")
    files = bundle_files(loaded.folder, loaded.file)
    digest = bundle_digest(loaded.folder, files)
    same = next((v for v in runtime.state.versions(spec.key) if v.version == spec.version), None)
    bundle = runtime.settings.bundles / spec.domain / spec.name / spec.version
    written: _Written = _Written()
    try:
        if same is None:
            if bundle.exists():  # left by a deploy that died before recording the version
                shutil.rmtree(bundle)
            written.bundle = bundle
            for path in files:
                target = bundle / path.relative_to(loaded.folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        created = _ensure_tables(runtime, loaded, written)
        if same is not None:
            with runtime.state.transaction() as conn:
                _add_ports(runtime, conn, spec, created)
            return DeployOutcome(
                spec.key,
                spec.version,
                bool(created),
                "already deployed" + (f"; created {', '.join(c[0] for c in created)}" if created else ""),
            )
        pins = resolve_pins(runtime, spec)
        # The bundle by digest in object storage, where every node of a cluster finds it.
        recorded = DIGEST_PREFIX + digest
        if not runtime.state.bundle_recorded(recorded):
            written.stored = (bundle_key(digest), recorded)  # ours to take back if the version is not recorded
        store_bundle(runtime.storage, loaded.folder, files, digest)
        # The tables' records, the pins and the version commit together: a failure before leaves none.
        with runtime.state.transaction() as conn:
            _add_ports(runtime, conn, spec, created)
            runtime.state.set_pins(conn, spec.key, spec.version, pins)
            runtime.state.add_version(
                conn,
                VersionRecord(
                    product=spec.key,
                    version=spec.version,
                    major=spec.major,
                    spec_text=loaded.file.read_text(encoding="utf-8"),
                    spec_hash=digest,
                    bundle=recorded,
                    origin=str(loaded.folder),
                    status=spec.status,
                    deployed_us=now_us(),
                ),
            )
    except Exception as exc:
        undone = written.undo(runtime)
        what = str(exc) if isinstance(exc, HexmeshError) else f"writing it failed: {type(exc).__name__}: {exc}"
        raise DeployError(f"{what}\n{undone}") from exc
    except BaseException:  # interrupted: take back what was written, then stop
        written.undo(runtime)
        raise
    # The outcome is audited and shown to owners over HTTP: it names the bundle by digest, never a server path.
    message = f"deployed (bundle {digest[:12]})"
    if rules is not None:
        check = rules.record(runtime.state.db, spec)
        warned = sorted({str(f["rule"]) for f in check.findings if f.get("severity") != "blocking"})
        count = len(check.warnings)
        # The warnings themselves are shown once, at their file:line:col (Workspace.rule_warnings).
        message += f"; passed {check.ruleset}" + (
            f" with {count} warning{'s' if count != 1 else ''} ({', '.join(warned)})" if count else ""
        )
    return DeployOutcome(spec.key, spec.version, True, message)


@dataclass
class _Written:
    """What a deploy wrote so far, so that a failure can take it back."""

    bundle: Path | None = None
    stored: tuple[str, str] | None = None
    """The object-storage prefix of a bundle no version recorded yet, and its recorded name."""
    tables: list[tuple[str, str, str, str]] = field(default_factory=list)

    def undo(self, runtime: Runtime) -> str:
        if self.bundle is not None:
            shutil.rmtree(self.bundle, ignore_errors=True)
        # Bundles are shared by content: keep one that a version (deployed meanwhile) records.
        if self.stored is not None and not runtime.state.bundle_recorded(self.stored[1]):
            for key in list(runtime.storage.keys(self.stored[0])):
                runtime.storage.delete(key)
        for ident in self.tables:
            try:
                runtime.tables.drop(ident)
            except Exception:  # a table we cannot drop is named, never hidden
                return f"The table {'.'.join(ident)} could not be dropped; drop it by hand."
        return "What this deploy had written was removed; nothing was deployed."


_NewPort = tuple[str, tuple[str, str, str, str], int]


def _add_ports(runtime: Runtime, conn: Connection, spec: DataProductSpec, created: list[_NewPort]) -> None:
    for name, ident, baseline in created:
        runtime.state.add_port(conn, spec.key, spec.major, name, ident, baseline)


def _ensure_tables(runtime: Runtime, loaded: LoadedSpec, written: _Written) -> list[_NewPort]:
    """Create or evolve every port's table; the ports that have no record yet, with their baseline."""
    spec = loaded.spec
    created: list[_NewPort] = []
    for port in spec.output_ports:
        ident = table_id(spec.domain, spec.name, spec.major, port.name)
        new = not runtime.tables.exists(ident)
        try:
            runtime.tables.ensure(ident, iceberg_schema(port), {"hexmesh.product": spec.key, "hexmesh.port": port.name})
        except (ValueError, TypeError) as exc:
            raise DeployError(
                f"port {port.name!r} of {spec.key}: the schema cannot evolve within major version "
                f"{spec.major} ({exc}); bump the major version to change it incompatibly"
            ) from exc
        if new:
            written.tables.append(ident)
        if runtime.state.port(spec.key, spec.major, port.name) is None:
            baseline = runtime.tables.commit_empty(ident, {"hexmesh.baseline": "true"})
            created.append((port.name, ident, baseline))
    return created


def deploy_batch(runtime: Runtime, ordered: list[LoadedSpec], rules: MeshRules | None = None) -> list[DeployOutcome]:
    """Deploy ``ordered`` (upstreams first) whole, or not at all when any product would be refused."""
    refused: dict[str, str] = {}
    claimed: dict[str, str] = {}
    batch = {loaded.spec.key: loaded.spec for loaded in ordered}
    newest = {key: record.major for key, record in live_versions(runtime).items()}
    for loaded in ordered:
        spec = loaded.spec
        problems = deploy_refusals(runtime, loaded, rules, claimed, batch)
        if problems:
            refused[_label(loaded)] = "\n    ".join(problems)
        top = max(spec.major, newest.get(spec.key, spec.major))
        claimed.update({name: f"dp://{spec.key}@{spec.major}/{port}" for name, port in sql_names(spec, top).items()})
    if refused:
        others = [
            f"{item.spec.key} {item.spec.version}"
            for item in ordered
            if f"{item.spec.key} {item.spec.version}" not in refused
        ]
        lines = [f"deploy refused: {len(refused)} of {len(ordered)} product(s) cannot deploy, so none was deployed:"]
        lines += [f"  - {product}: {why}" for product, why in refused.items()]
        if others:
            lines.append(f"Not deployed although they could be (a batch deploys whole): {', '.join(others)}.")
        raise BatchDeployError("\n".join(lines), refused=refused, not_deployed=others)
    outcomes: list[DeployOutcome] = []
    for index, loaded in enumerate(ordered):
        try:
            outcomes.append(deploy_product(runtime, loaded, rules))
        except HexmeshError as exc:
            rest = [_label(item) for item in ordered[index + 1 :]]
            done = [f"{o.product} {o.version}" for o in outcomes]
            lines = [f"deploy failed at {loaded.spec.key} {loaded.spec.version}: {exc}"]
            lines.append(f"Deployed: {', '.join(done) if done else 'none'}.")
            lines.append(
                f"Not deployed: {', '.join(rest) if rest else 'none'}; deploy again to go on (deploys are idempotent)."
            )
            raise BatchDeployError(
                "\n".join(lines),
                deployed=outcomes,
                refused={_label(loaded): str(exc)},
                not_deployed=rest,
            ) from exc
    return outcomes


def _label(loaded: LoadedSpec) -> str:
    return f"{loaded.spec.key} {loaded.spec.version}"
