"""The facade the surfaces (CLI, HTTP) call: one workspace, one verb per method."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hexmesh.errors import HexmeshError, InputError, NotFoundError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import Notice, Publication, RunRecord, VersionRecord, from_us
from hexmesh.lifecycle.deprecate import LifecycleState, deprecate, lifecycle_state
from hexmesh.product.deployed import DeployedProduct, live_majors
from hexmesh.product.runtime import Runtime
from hexmesh.spec import DataProductSpec, InputPort, LoadedSpec, parse_address

if TYPE_CHECKING:
    # Each verb imports its module when called: `hexmesh list` loads no engine, catalog or SQL parser.
    import pyarrow as pa

    from hexmesh.lifecycle.contracts import ContractReport
    from hexmesh.lifecycle.deploy import DeployOutcome
    from hexmesh.lifecycle.importing import ImportOutcome
    from hexmesh.lifecycle.plan import Plan
    from hexmesh.lifecycle.rules import RuleWarning
    from hexmesh.lifecycle.scheduler import Scheduler
    from hexmesh.lifecycle.stewardship import Stewardship
    from hexmesh.product.observers import RunObserver
    from hexmesh.product.ports import OutputPortReader, ReadRequest
    from hexmesh.product.runner import Progress, RunResult
    from hexmesh.standards import ExportFormat

__all__ = ["PortStatus", "ProductStatus", "Workspace"]

log = logging.getLogger(__name__)


@dataclass
class PortStatus:
    name: str
    address: str
    table: str
    publications: list[Publication]


@dataclass
class ProductStatus:
    product: DeployedProduct
    versions: list[VersionRecord]
    ports: list[PortStatus]
    runs: list[RunRecord] = field(default_factory=list)
    majors: list[LifecycleState] = field(default_factory=list)
    """The lifecycle of every deployed major, newest first."""
    paused: bool = False
    """Paused by its control port: the scheduler skips it and ``hexmesh run`` refuses it."""


class Workspace:
    """A workspace: state, catalog and warehouse under one home (``./.hexmesh`` by default)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime = Runtime(settings)

    @cached_property
    def stewardship(self) -> Stewardship:
        """The governance facade: API tokens, access requests, the audit log, forgetting, rule sets."""
        from hexmesh.lifecycle.stewardship import Stewardship

        return Stewardship(self)

    @classmethod
    def open(cls, home: str | Path | None = None) -> Workspace:
        return cls(Settings.load(home))

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def deployed(self) -> dict[str, DeployedProduct]:
        """The newest deployed version of every product."""
        newest: dict[str, DeployedProduct] = {}
        for record in self.runtime.state.versions():
            newest.setdefault(record.product, DeployedProduct(record))
        return newest

    def served(self) -> dict[str, DeployedProduct]:
        """``deployed()`` plus, as ``domain/product@major``, the newest version of every older major still serving."""
        products = self.deployed()
        older = {
            f"{record.product}@{record.major}": DeployedProduct(record)
            for record in live_majors(self.runtime)
            if record.product in products and record.major != products[record.product].record.major
        }
        return products | older

    def deployed_specs(self) -> dict[str, DataProductSpec]:
        return {key: product.spec for key, product in self.deployed().items()}

    def validate(self, paths: list[Path]) -> list[LoadedSpec]:
        """Every spec under ``paths``, checked alone and against the deployed mesh."""
        from hexmesh.lifecycle.rules import mesh_rules
        from hexmesh.lifecycle.validate import validate_specs
        from hexmesh.product.remote import locate

        settings = self.settings

        def elsewhere(spec: DataProductSpec, port: InputPort) -> str | None:
            found = locate(settings, spec, port)
            return found.peer if found is not None else None

        return validate_specs(
            paths,
            self.deployed_specs(),
            mesh_rules(settings),
            source_roots=settings.source_root_paths,
            home=settings.home,
            elsewhere=elsewhere if settings.peers else None,
        )

    def rule_warnings(self, loaded: list[LoadedSpec]) -> list[RuleWarning]:
        """What the mesh's warning rules say about validated specs, each at its ``file:line:col``."""
        from hexmesh.lifecycle.rules import mesh_rules

        rules = mesh_rules(self.settings)
        return [warning for item in loaded for warning in rules.located(item)]

    def plan(self, paths: list[Path]) -> list[Plan]:
        """What deploying ``paths`` would change, product by product, in dependency order."""
        from hexmesh.lifecycle.access import input_refusals
        from hexmesh.lifecycle.dependencies import topological_order, upstreams
        from hexmesh.lifecycle.plan import plan_product

        loaded = {item.spec.key: item for item in self.validate(paths)}
        graph = {key: [u for u in upstreams(item.spec) if u in loaded] for key, item in loaded.items()}
        batch = {key: item.spec for key, item in loaded.items()}
        plans = []
        for key in topological_order(graph):
            plan = plan_product(self.runtime, loaded[key])
            plan.problems += input_refusals(self.runtime, loaded[key].spec, batch)  # grants, as deploy checks them
            plans.append(plan)
        return plans

    def deploy(self, paths: list[Path], *, token: str | None = None, authorize: bool = False) -> list[DeployOutcome]:
        """Validate and check everything first, then deploy in dependency order: all or nothing.

        One refused product deploys none (BatchDeployError names each refusal and what was not
        deployed); a failure while writing says per product what was and was not deployed.
        Deploying acts as each product's owner (its inputs are read as its owner team, ADR 0026).
        ``authorize`` (the CLI and HTTP surfaces): the workspace's root may, anyone else needs
        ``token``, an API token of every product's owner (UnauthorizedError / ForbiddenError
        otherwise). From Python, a ``token`` given is checked the same way; without one the process
        acts with the state store's credentials, as ``process:<user>@<host>``. Every deploy is
        audited (``control.deploy``).
        """
        from hexmesh.lifecycle.dependencies import topological_order, upstreams
        from hexmesh.lifecycle.deploy import deploy_batch
        from hexmesh.lifecycle.examples import run_examples
        from hexmesh.lifecycle.rules import mesh_rules
        from hexmesh.product.authority import process_actor
        from hexmesh.product.control import AuditLog

        loaded = {item.spec.key: item for item in self.validate(paths)}
        specs = [item.spec for item in loaded.values()]
        actor = self.stewardship.administer_deploy(token, specs) if authorize or token else process_actor()
        graph = {key: [u for u in upstreams(item.spec) if u in loaded] for key, item in loaded.items()}
        ordered = [loaded[key] for key in topological_order(graph)]
        log = AuditLog(self.runtime.state.db)
        try:
            outcomes = deploy_batch(self.runtime, ordered, mesh_rules(self.settings))
        except HexmeshError as exc:
            for item in ordered:
                log.record(
                    actor.name, item.spec.key, "deploy", "refused", {"version": item.spec.version, "why": str(exc)}
                )
            raise
        for outcome in outcomes:
            detail = {"version": outcome.version, "message": outcome.message}
            log.record(actor.name, outcome.product, "deploy", "deployed" if outcome.changed else "unchanged", detail)
        # The README's examples, run as each owner against what its ports have published (reported, never undone).
        deployed = self.deployed()
        return [
            replace(o, examples=tuple(run_examples(self.runtime, deployed[o.product]))) if o.changed else o
            for o in outcomes
        ]

    def run(
        self,
        ref: str,
        *,
        major: int | None = None,
        progress: Progress | None = None,
        wait: float = 0.0,
        trigger: str = "manual",
        force: bool = False,
        full_refresh: bool = False,
        reason: str | None = None,
        checked_at: datetime | None = None,
    ) -> RunResult:
        """Run ``ref``; a paused product is refused unless ``force`` (one run; it stays paused).

        ``full_refresh`` recomputes every port from all input and publishes it as a new snapshot
        (earlier snapshots stay as they were). ``checked_at`` is the moment the quality gate's
        freshness checks judge against (default: now; the demo replays a past day as of its end).
        """
        from hexmesh.product.runner import run_product

        if not force:
            self._refuse_paused(ref, "run")
        return run_product(
            self.runtime,
            ref,
            major=major,
            trigger=trigger,
            reason=reason,
            progress=progress,
            wait=wait,
            full_refresh=full_refresh,
            checked_at=checked_at,
        )

    def paused(self, key: str) -> bool:
        """Whether the control port paused ``key`` (state under ``<home>/control``, shared with the node)."""
        from hexmesh.product.control import ControlState

        return ControlState(self.runtime.state.db).paused(key)

    def run_all(
        self, *, progress: Progress | None = None, checked_at: datetime | None = None
    ) -> list[RunResult | HexmeshError]:
        """Run every product in dependency order; a failure skips only its dependents (``checked_at``: see run)."""
        from hexmesh.lifecycle.dependencies import topological_order, upstreams
        from hexmesh.product.runner import RunResult

        specs = self.deployed_specs()
        graph = {key: upstreams(spec) for key, spec in specs.items()}
        outcomes: list[RunResult | HexmeshError] = []
        failed: set[str] = set()
        batch = str(uuid.uuid4())
        self._tell("batch_started", batch)
        for key in topological_order(graph):
            broken = [u for u in graph[key] if u in failed]
            if broken:
                failed.add(key)
                outcomes.append(HexmeshError(f"{key} was not run because its upstream {broken[0]} failed"))
                continue
            if self.paused(key):  # not a failure: its dependents read its last good snapshot
                version = self.deployed()[key].record.version
                message = "paused by its control port; resume it to run it again"
                outcomes.append(RunResult("", key, version, "paused", message=message))
                continue
            try:
                outcomes.append(self.run(key, progress=progress, checked_at=checked_at))
            except HexmeshError as exc:
                failed.add(key)
                outcomes.append(exc)
        self._tell("batch_finished", batch, sorted(failed))
        return outcomes

    def observe(self, observer: RunObserver) -> None:
        """Tell ``observer`` about every run of this workspace (lineage emitters attach here)."""
        self.runtime.observers.append(observer)

    def _tell(self, hook: str, *args: object) -> None:
        """Observers that follow a run of every product (``BatchObserver``) hear of it; none may fail it."""
        for observer in self.runtime.observers:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception:  # an observer must never fail a run
                log.exception("run observer %r failed in %s", observer, hook)

    def reader(self, address: str) -> OutputPortReader:
        from hexmesh.product.ports import OutputPortReader

        parsed = parse_address(address)
        product = DeployedProduct.load(self.runtime, parsed.product_key, major=parsed.major)
        if parsed.port is None:
            ports = ", ".join(p.name for p in product.spec.output_ports)
            raise NotFoundError(f"{address} names no port; add one of: {ports}")
        return OutputPortReader(self.runtime, product, parsed.port)

    def read(
        self,
        address: str,
        request: ReadRequest | None = None,
        *,
        token: str | None = None,
        authorize: bool = False,
        purpose: str = "",
    ) -> pa.Table:
        """A port's rows as of ``request.as_of`` within its window, through the policy's door (ADR 0026).

        With ``token``, as its principal may see them (AccessDeniedError when it may not read).
        Without one, as stored: for the workspace's root, or (from Python) a program holding the
        state store's credentials — audited as ``unrestricted.read``. ``authorize`` (the CLI): no
        token and no root is an UnauthorizedError. ``purpose``: why the token's principal reads (an
        approved access request grants reads for its purpose only).
        """
        from hexmesh.product.authority import process_actor, workspace_root
        from hexmesh.product.control import UnauthorizedError
        from hexmesh.product.policy import PolicySidecar, PortRead, Window, shaped_table, unrestricted_table
        from hexmesh.product.ports import ReadRequest

        request = request or ReadRequest()
        reader = self.reader(address)
        sidecar = PolicySidecar(self.runtime)
        if token:
            window = Window(since=request.since, until=request.until) if request.since or request.until else None
            read = PortRead(
                reader.product,
                sidecar.authenticate(token),
                reader.spec.name,
                via="cli",
                as_of=request.as_of,
                window=window,
                columns=request.columns,
                filter=request.filter,
                purpose=purpose,
            )
            table, _ = shaped_table(sidecar, read)
            return table
        root = workspace_root(self.settings)
        if authorize and root is None:
            raise UnauthorizedError(
                f"reading {address} needs a token on a workspace you are not the root of: --token / HEXMESH_TOKEN"
            )
        actor = root or process_actor()
        return unrestricted_table(sidecar, reader.product, reader.spec.name, request, actor=actor.name)

    @staticmethod
    def encode(table: pa.Table, fmt: str) -> Iterator[bytes]:
        """``table`` as the files port encodes it (``csv``, ``jsonl``, ``parquet``, ``arrow``): one text form."""
        from hexmesh.product import files

        return files.encode(files.check_format(fmt), table.schema, iter(table.to_batches()))

    def status(self, ref: str) -> ProductStatus:
        # From the state store alone: no port reader (and so no table engine) for `hexmesh status`.
        try:
            product = DeployedProduct.load(self.runtime, ref)
        except NotFoundError:
            # Every major retired: the record still has a status to show.
            records = self.runtime.state.versions(parse_address(ref).product_key)
            if not records:
                raise
            product = DeployedProduct(records[0])
        ports = []
        for port in product.spec.output_ports:
            record = product.port_record(self.runtime, port.name)
            address = f"dp://{product.key}/{port.name}"
            publications = self.runtime.state.publications(record.id)
            ports.append(PortStatus(port.name, address, ".".join(record.table_id), publications))
        versions = self.runtime.state.versions(product.key)
        majors = sorted({v.major for v in versions}, reverse=True)
        return ProductStatus(
            product,
            versions,
            ports,
            self.runtime.state.runs(product.key, limit=10),
            [self.lifecycle_state(product.key, major) for major in majors],
            self.paused(product.key),
        )

    # -- lifecycle: deprecation, retirement, notices, backfill, scheduling ----------------------

    def lifecycle_state(self, key: str, major: int | None = None) -> LifecycleState:
        """Status (active | deprecated | retired), sunset, successor and consumers of a major.

        For surfaces: the HTTP node adds ``Deprecation``/``Sunset``/``Link rel=successor-version``
        headers from it, the SQL port a NOTICE. ``major`` defaults to the newest live major.
        """
        return lifecycle_state(self.runtime, parse_address(key).product_key, major)

    def deprecate(
        self,
        ref: str,
        *,
        sunset: date,
        successor: str | None = None,
        major: int | None = None,
        reason: str | None = None,
    ) -> LifecycleState:
        address = parse_address(ref)
        return deprecate(
            self.runtime,
            address.product_key,
            sunset=sunset,
            successor=successor,
            major=major if major is not None else address.major,
            reason=reason,
        )

    def retire(self, ref: str, *, major: int | None = None, force: bool = False) -> LifecycleState:
        from hexmesh.lifecycle.retire import retire

        return retire(self.runtime, ref, major=major, force=force)

    def notices(self, consumer: str | None = None) -> list[Notice]:
        """Notices to consumers (deprecations, retirements of what they read), oldest first."""
        return self.runtime.state.notices(parse_address(consumer).product_key if consumer else None)

    def backfill(
        self,
        ref: str,
        *,
        since: date | datetime,
        until: date | datetime,
        major: int | None = None,
        progress: Progress | None = None,
        wait: float = 0.0,
        reason: str | None = None,
        force: bool = False,
    ) -> RunResult:
        """Recompute the event-time window ``[since, until)`` and publish it as a new snapshot.

        ``reason`` says why it started (observability shows it), as for :meth:`run`; a paused
        product is refused unless ``force`` (one backfill; it stays paused), as by :meth:`run`.
        """
        from hexmesh.product.backfill import EventWindow
        from hexmesh.product.runner import run_product

        window = EventWindow(since, until)
        if not force:
            self._refuse_paused(ref, "backfill")
        return run_product(
            self.runtime,
            ref,
            major=major,
            trigger="backfill",
            reason=reason,
            progress=progress,
            wait=wait,
            backfill=window,
        )

    def _refuse_paused(self, ref: str, what: str) -> None:
        """PausedError when ``ref``'s product is paused, saying how to resume it or ``what`` once anyway."""
        from hexmesh.product.control import PausedError

        key = parse_address(ref).product_key
        if self.paused(key):
            raise PausedError(
                f"{key} is paused (by POST /products/{key}/control/pause), so {what}s are refused; resume it with "
                f"POST /products/{key}/control/resume, or pass --force to {what} it once while it stays paused"
            )

    def scheduler(self, **options: Any) -> Scheduler:
        """A :class:`Scheduler` for this workspace (not started); options as in its constructor."""
        from hexmesh.lifecycle.scheduler import Scheduler

        return Scheduler(self.runtime, **options)

    # -- open standards: import, export, contracts that run (docs/standards.md) -----------------

    def import_documents(
        self,
        paths: list[Path],
        out: Path,
        *,
        domain: str | None = None,
        owner: str | None = None,
        server: str | None = None,
        force: bool = False,
    ) -> list[ImportOutcome]:
        """ODPS (with its ODCS contracts), ODCS, DPDS or DCS documents as validated product folders under ``out``."""
        from hexmesh.lifecycle.importing import import_products
        from hexmesh.standards import Options

        options = Options(domain=domain, owner=owner, server=server, base=Path.cwd())
        return import_products(paths, out, options, self.validate, force=force)

    def export_documents(self, ref: str | Path, fmt: ExportFormat, *, base_url: str | None = None) -> dict[str, str]:
        """A product folder, or a deployed ``domain/product``, as documents of ``fmt`` (name → text)."""
        from hexmesh.lifecycle.exporting import export_texts

        path = Path(ref)
        if path.exists():
            spec = self.validate([path])[0].spec
        else:
            spec = DeployedProduct.load(self.runtime, parse_address(str(ref)).product_key).spec
        versions = {f"dp://{key}": product.record.version for key, product in self.deployed().items()}
        return export_texts(spec, fmt, base_url=base_url, upstream=versions)

    def export_catalog(self, fmt: str, *, base_url: str | None = None) -> str:
        """Every deployed product as a DataHub file-source document or OpenMetadata API requests (JSON)."""
        import json

        from hexmesh.standards.datahub import mesh_proposals
        from hexmesh.standards.openmetadata import mesh_requests

        specs = [product.spec for product in self.deployed().values()]
        if fmt == "datahub":
            return json.dumps(mesh_proposals(specs, base_url=base_url), indent=2) + "\n"
        if fmt == "openmetadata":
            return json.dumps(mesh_requests(specs), indent=2) + "\n"
        raise InputError(f"no catalog format {fmt!r}; write datahub or openmetadata")

    def test_contract(
        self, contract: Path, address: str, *, as_of: datetime | None = None, token: str | None = None
    ) -> ContractReport:
        """Run ``contract``'s checks on a live port's rows as of ``as_of``, read as the token's principal."""
        from hexmesh.lifecycle.contracts import Publication as Publication_
        from hexmesh.lifecycle.contracts import check_port
        from hexmesh.product.policy import PolicySidecar, PortRead, shaped_table

        if not token:
            raise InputError(
                "a contract is tested on what its reader sees: pass --token or set HEXMESH_TOKEN "
                "(hexmesh token create <you> --quiet)"
            )
        reader = self.reader(address)
        sidecar = PolicySidecar(self.runtime)
        principal = sidecar.authenticate(token)
        read = PortRead(reader.product, principal, reader.spec.name, via="contract", as_of=as_of)
        seen, _ = shaped_table(sidecar, read)
        publications = [Publication_(p.snapshot_id, from_us(p.published_us)) for p in reader.publications()]
        alive = {s.snapshot_id for s in self.runtime.tables.snapshots(reader.record.table_id)}
        return check_port(contract, address, seen, publications, as_of=as_of, snapshots_alive=alive)
