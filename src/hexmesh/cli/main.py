"""The ``hexmesh`` command."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hexmesh.cli import common, documents
from hexmesh.cli.render import (
    arrow_table,
    console,
    err,
    iso,
    moment,
    parse_moment,
    records,
    rule_warnings,
    run_outcome,
)
from hexmesh.errors import HexmeshError, NotFoundError

if TYPE_CHECKING:
    import pyarrow as pa

    from hexmesh.lifecycle import OutputPortReader

# Start-up is a feature: every command imports what it needs when it runs (`hexmesh --help` loads no
# engine, no Arrow, no pydantic); tests/cli/test_startup.py keeps it so.

app = typer.Typer(
    name="hexmesh",
    help="Data products as deployable units: declare, validate, deploy, run and read them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="The dataproduct.yaml format.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hexmesh {version('hexmesh')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Data products as deployable units: declare, validate, deploy, run and read them."""


app.add_typer(spec_app, name="spec")

Home = common.Home
_errors = common.errors
_workspace = common.workspace


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the product in.")],
    domain: Annotated[str, typer.Option(help="The owning domain.")] = "sales",
    name: Annotated[str | None, typer.Option(help="Product name (default: the folder name).")] = None,
    owner: Annotated[str, typer.Option(help="Owning team or e-mail.")] = "data-team@example.com",
    as_json: documents.Json = False,
) -> None:
    """Scaffold a product that validates, deploys and runs as it is."""
    with _errors():
        from hexmesh.lifecycle import init_product

        files = init_product(folder, domain=domain, name=name or folder.resolve().name, owner=owner)
    if as_json:
        documents.emit({"created": [str(path) for path in files]})
        return
    for path in files:
        console.print(f"  created {path}")
    console.print(f"Next: [bold]hexmesh validate {folder}[/] then [bold]hexmesh deploy {folder}[/]")


Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only (no warnings, no progress).")]


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Product folders, spec files or mesh folders.")],
    home: Home = None,
    quiet: Quiet = False,
    as_json: documents.Json = False,
) -> None:
    """Check specs alone and as a mesh; report every problem at once, and the rules' warnings."""
    with _errors():
        ws = _workspace(home)
        loaded = ws.validate(paths)
        warnings = ws.rule_warnings(loaded)
    if as_json:
        valid = [{"product": i.spec.key, "version": i.spec.version, "file": str(i.file)} for i in loaded]
        documents.emit({"valid": valid, "warnings": [documents.warning(w) for w in warnings]})
        return
    if quiet:
        return
    for item in loaded:
        console.print(f"[green]✓[/] {item.spec.key} {item.spec.version} ({item.file})")
    rule_warnings(warnings)


@app.command()
def deploy(
    paths: Annotated[list[Path], typer.Argument(help="Product folders, spec files or mesh folders.")],
    token: common.Token = None,
    home: Home = None,
    quiet: Quiet = False,
    as_json: documents.Json = False,
    node: Annotated[
        str | None, typer.Option("--node", help="Deploy to this node over HTTP (POST /deploy), with --token.")
    ] = None,
) -> None:
    """Register product versions and create their tables; running it twice changes nothing.

    A product reads its inputs as its owner team, so deploying it acts as its owner: the workspace's
    root may; anyone else (and everyone on a shared PostgreSQL state store) needs --token of the owner.
    With --node the folders go to that node, which checks them the same way (docs/node.md).
    """
    if node is not None:
        from hexmesh.cli.remote import deploy_to

        with _errors():
            answer = deploy_to(node, paths, token)
        if as_json:
            documents.emit(answer)
            return
        for item in answer["deployed"]:
            mark = "[green]deployed[/]" if item["changed"] else "[dim]unchanged[/]"
            console.print(f"{mark} {item['product']} {item['version']}: {item['message']}", highlight=False)
        return
    with _errors():
        ws = _workspace(home)
        warnings = ws.rule_warnings(ws.validate(paths))
        outcomes = ws.deploy(paths, token=token, authorize=True)
    if as_json:
        deployed = [documents.outcome(o) for o in outcomes]
        documents.emit({"deployed": deployed, "warnings": [documents.warning(w) for w in warnings]})
        return
    if not quiet:
        rule_warnings(warnings)
    for outcome in outcomes:
        mark = "[green]deployed[/]" if outcome.changed else "[dim]unchanged[/]"
        console.print(f"{mark} {outcome.product} {outcome.version}: {outcome.message}")
        for example in outcome.examples:  # the README's examples, run as the owner
            shown = {"passed": "[green]pass[/]", "failed": "[red]FAIL[/]"}.get(example.status, "[dim]not run[/]")
            detail = escape(example.detail)
            console.print(f"  {shown} README example at line {example.line} ({example.language}): {detail}")


@app.command("settings")
def settings_(
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the settings in effect (settings.yaml, then HEXMESH_* variables); secrets say only "(set)"."""
    import yaml

    from hexmesh.infra.settings import Settings

    with _errors():
        shown = Settings.load(home).shown()
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        print(yaml.safe_dump(shown, sort_keys=False), end="")


@app.command()
def run(
    product: Annotated[str | None, typer.Argument(help="domain/product; omit with --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Run every product in dependency order.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait if the product is already running.")] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Run a paused product once (it stays paused).")] = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Recompute every port from all input and publish it as a new snapshot (history stays).",
        ),
    ] = False,
    home: Home = None,
    as_json: documents.Json = False,
) -> None:
    """Run a product (or all): read inputs, transform, check quality, publish. Paused products are refused.

    With --json: one run document (--all: an array of them, a failure as {"status": "failed", "error"}).
    """
    if (product is None) == (not all_):
        raise typer.BadParameter("give a product, or --all", param_hint="PRODUCT")
    if full_refresh and all_:
        raise typer.BadParameter("--full-refresh recomputes one product; name it", param_hint="--full-refresh")
    ws = _workspace(home)
    with _errors(), _progress() as say:
        if product is not None:
            result = ws.run(product, progress=say, wait=wait, force=force, full_refresh=full_refresh)
            if as_json:
                documents.emit(documents.run(result))
            else:
                console.print(run_outcome(result))
            return
        failures = 0
        ran: list[dict[str, object]] = []
        for outcome in ws.run_all(progress=say):
            if isinstance(outcome, HexmeshError):
                failures += 1
                err.print(f"[bold red]failed:[/] {outcome}", highlight=False)
                ran.append({"status": "failed", "error": str(outcome)})
            elif as_json:
                ran.append(documents.run(outcome))
            else:
                console.print(run_outcome(outcome))
        if as_json:
            documents.emit(ran)
        if failures:
            raise typer.Exit(1)


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("starting")
        yield lambda message: bar.update(task, description=message)


@app.command()
def read(
    address: Annotated[str, typer.Argument(help="dp://domain/product/port")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Processing time (ISO 8601); default now.")] = None,
    since: Annotated[str | None, typer.Option(help="Event time from (inclusive).")] = None,
    until: Annotated[str | None, typer.Option(help="Event time until (exclusive).")] = None,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns.")] = None,
    where: Annotated[str | None, typer.Option("--filter", help="Row filter, e.g. \"device = 'ios'\".")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet.")] = "table",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown by --format table.")] = 20,
    purpose: Annotated[
        str, typer.Option(help="Why you read: an approved access request grants reads for its purpose.")
    ] = "",
    token: common.Token = None,
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json: one JSON object per row.")] = False,
) -> None:
    """Print or export a port as of a point in time: as your token's principal sees it, or as stored for
    the workspace's root."""
    from hexmesh.lifecycle import ReadRequest

    fmt = "json" if as_json else fmt
    request = ReadRequest(
        as_of=parse_moment(as_of, "--as-of"),
        since=parse_moment(since, "--since"),
        until=parse_moment(until, "--until"),
        columns=tuple(c.strip() for c in columns.split(",")) if columns else None,
        filter=where,
    )
    if fmt not in ("table", "csv", "json", "parquet"):
        raise typer.BadParameter("use table, csv, json or parquet", param_hint="--format")
    if fmt == "parquet" and output is None:
        raise typer.BadParameter("parquet needs --output FILE", param_hint="--format")
    with _errors():
        opened = _workspace(home)
        table = opened.read(address, request, token=token, authorize=True, purpose=purpose)
        _has_snapshot(opened.reader(address), address, as_of)  # after the read: only to those who may read
    if fmt == "table":
        console.print(arrow_table(table, limit, address))
    elif fmt == "parquet":
        assert output is not None
        import pyarrow.parquet as pq

        pq.write_table(table, output)
        console.print(f"wrote {table.num_rows} rows to {output}")
    else:
        _export(table, fmt, output)


def _has_snapshot(reader: OutputPortReader, address: str, as_of: str | None) -> None:
    """Refuse a read that has no snapshot to read: never run, or ``--as-of`` before the first one."""
    request_time = parse_moment(as_of, "--as-of")
    if reader.publication(request_time) is not None:
        return
    first = reader.publications()
    if not first:
        raise NotFoundError(
            f"{address} has no snapshot yet: nothing was ever published to it; run "
            f"`hexmesh run {reader.product.key}` first"
        )
    earliest = datetime.fromtimestamp(min(p.published_us for p in first) / 1e6, UTC).isoformat()
    raise NotFoundError(
        f"{address} had no snapshot at {as_of}: its first was published at {earliest}; "
        "read --as-of that time or later, or leave --as-of out for the latest"
    )


def _export(table: pa.Table, fmt: str, output: Path | None) -> None:
    """Write CSV or JSON lines to a file, or to stdout (which must stay open)."""
    with output.open("wb") if output else nullcontext(sys.stdout.buffer) as sink:
        # The files port's encoders: numbers as numbers, times in one ISO 8601 form.
        from hexmesh.lifecycle import Workspace

        for chunk in Workspace.encode(table, "jsonl" if fmt == "json" else fmt):
            sink.write(chunk)
        sink.flush()


@app.command(name="list")
def list_products(
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (stable field names).")] = False,
) -> None:
    """List deployed products, an older major that still serves as domain/product@major (full names).
    "declared" is the status its spec gives (proposed, draft, active...; JSON "status"), "serving" the
    major's lifecycle here (active, or deprecated with a sunset; JSON "lifecycle"): a draft serves too.
    """
    with _errors():
        ws = _workspace(home)
        products = ws.served()  # every major that serves, as docs/lifecycle.md promises
        states = {key: ws.lifecycle_state(key, p.record.major) for key, p in products.items()}
    rows: list[dict[str, object]] = []
    for key, product in sorted(products.items()):
        state = states[key]
        ports = [f"dp://{key}/{p.name}" for p in product.spec.output_ports] if as_json else None
        rows.append(
            {
                "product": key,
                "version": product.record.version,
                "status": product.spec.status,
                "lifecycle": state.status,
                "sunset": state.sunset.isoformat() if state.sunset else None,
                "owner": product.spec.owner,
                "output_ports": ports or ", ".join(p.name for p in product.spec.output_ports),
                "deployed": iso(product.record.deployed_us) if as_json else moment(product.record.deployed_us),
            }
        )
    records(
        rows,
        as_json=as_json,
        full=("product",),
        empty="no products deployed yet; run `hexmesh deploy <folder>`",
        headers={"status": "declared", "lifecycle": "serving"},
    )


@app.command()
def status(
    product: Annotated[str, typer.Argument(help="domain/product")],
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object (stable field names).")] = False,
) -> None:
    """Show a product's versions, ports, snapshots and recent runs (with duration, rows and errors)."""
    from hexmesh.cli.status import show_status, status_document

    with _errors():
        report = _workspace(home).status(product)
    if as_json:
        sys.stdout.write(json.dumps(status_document(report), indent=2, default=str) + "\n")
    else:
        show_status(report)


@spec_app.command("schema")
def spec_schema() -> None:
    """Print the JSON Schema of dataproduct.yaml (for editor completion)."""
    from hexmesh import spec as specs

    console.print_json(json.dumps(specs.json_schema()))


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="Scale factor: SF1 is about 1M play events.")] = 0.1,
    days: Annotated[int, typer.Option(help="Days of data to generate and run.")] = 2,
    story: Annotated[
        bool, typer.Option(help="Then play the lifecycle scene: breaking change, two majors, a day flowing down.")
    ] = True,
    governance: Annotated[
        bool, typer.Option(help="Then show the policies at work: masking, an access request, a synthetic variant.")
    ] = True,
    home: Home = None,
    postgres: Annotated[
        str | None,
        typer.Option(
            help="Keep the registration service's table in this PostgreSQL database, created and filled by "
            "the demo (default: $HEXMESH_DEMO_POSTGRES; without either, a SQLite file in the workspace).",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="The compute engine of the mesh's SQL products: duckdb or spark (on the setting spark_master, "
            "default local[2]); default: the setting compute_engine.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build, deploy and run the example podcast mesh, then show where to look."""
    from hexmesh.demo import run_demo

    with _errors():
        run_demo(
            _workspace(home, {"compute_engine": engine} if engine else None),
            scale=scale,
            days=days,
            say=console.print,
            story=story,
            governance=governance,
            postgres=postgres,
        )


app.command()(__import__("hexmesh.cli.serve", fromlist=["serve"]).serve)  # hexmesh serve
app.command()(__import__("hexmesh.cli.search", fromlist=["search"]).search)  # hexmesh search
app.command()(__import__("hexmesh.cli.connect", fromlist=["connect"]).connect)  # hexmesh connect
for _command in __import__("hexmesh.cli.lifecycle", fromlist=["COMMANDS"]).COMMANDS:
    app.command()(_command)  # plan, deprecate, retire, backfill, notices, schedule
__import__("hexmesh.cli.governance", fromlist=["register"]).register(app)  # token, access, forget, audit
__import__("hexmesh.cli.standards", fromlist=["register"]).register(app)  # import, export, test


def main() -> None:
    app()


if __name__ == "__main__":
    main()
