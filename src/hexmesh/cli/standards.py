"""``hexmesh import``, ``hexmesh export`` and ``hexmesh test``: open standards in and out; contracts that run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hexmesh.cli import documents
from hexmesh.cli.common import Home, errors, workspace
from hexmesh.cli.render import console, parse_moment
from hexmesh.errors import QualityGateError
from hexmesh.infra.settings import TOKEN_ENV

if TYPE_CHECKING:
    from hexmesh.lifecycle import ContractReport, ImportOutcome
    from hexmesh.standards import ExportFormat

#: The formats of hexmesh.standards.FORMATS, for --help without importing the standards (a test checks).
FORMAT_NAMES = ("odps", "odcs", "dpds", "dcs")

__all__ = ["register"]


def import_(
    files: Annotated[
        list[Path], typer.Argument(help="An ODPS product with its ODCS contracts, or ODCS, DPDS or DCS documents.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the product folders into.")] = Path("."),
    domain: Annotated[str | None, typer.Option(help="The domain, when the documents name none.")] = None,
    owner: Annotated[str | None, typer.Option(help="The owner, when the documents name none.")] = None,
    server: Annotated[
        str | None, typer.Option(help="Read the contract's data from this server (local CSV, Parquet or JSON files).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the files an import writes in existing folders.")
    ] = False,
    home: Home = None,
    as_json: documents.Json = False,
) -> None:
    """Turn open-standard documents into hexmesh product folders that validate; list what was kept or changed."""
    with errors():
        outcomes = workspace(home).import_documents(files, out, domain=domain, owner=owner, server=server, force=force)
    if as_json:
        fields = ("product", "version", "folder", "standard", "sources", "kept", "changed")
        documents.emit([{name: getattr(o, name) for name in fields} for o in outcomes])
        return
    for outcome in outcomes:
        _show_import(outcome)


def _show_import(outcome: ImportOutcome) -> None:
    sources = ", ".join(p.name for p in outcome.sources)
    console.print(
        f"[green]imported[/] {outcome.product} {outcome.version} into {outcome.folder} "
        f"(from {escape(sources)}, {outcome.standard.upper()})"
    )
    if outcome.kept:
        console.print("  kept under customProperties (exported back as they came):")
        for line in outcome.kept:
            console.print(f"    {escape(line)}", soft_wrap=True)
    if outcome.changed:
        console.print("  changed or added by hexmesh (check these):")
        for line in outcome.changed:
            console.print(f"    - {escape(line)}", soft_wrap=True)
    console.print(f"  next: hexmesh validate {outcome.folder}")


_CATALOGS = ("datahub", "openmetadata")


def export(
    product: Annotated[
        str | None,
        typer.Argument(help="A product folder, or a deployed domain/product (none for datahub, openmetadata)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help=f"One of {', '.join(FORMAT_NAMES)}; or {', '.join(_CATALOGS)}: the whole mesh."),
    ] = "odps",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the documents into this folder (a catalog: this file).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="The node's base URL, for the management ports (e.g. http://host:8080).")
    ] = None,
    home: Home = None,
) -> None:
    """Write a product as ODPS (plus one ODCS per output port), ODCS, DPDS or DCS, validated against its schema;
    or every deployed product as a DataHub file-source document or OpenMetadata API requests."""
    if fmt in _CATALOGS:
        with errors():
            text = workspace(home).export_catalog(fmt, base_url=url)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            console.print(f"  wrote {out}")
        return
    from hexmesh.standards import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join((*FORMATS, *_CATALOGS))}", param_hint="--format")
    if product is None:
        raise typer.BadParameter("name the product (a folder or domain/product)", param_hint="PRODUCT")
    chosen: ExportFormat = fmt  # type: ignore[assignment]
    with errors():
        texts = workspace(home).export_documents(product, chosen, base_url=url)
    if out is None:
        for index, (name, text) in enumerate(texts.items()):
            typer.echo(("---\n" if index else "") + f"# {name}\n{text}", nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
        console.print(f"  wrote {out / name}")


def test(
    contract: Annotated[Path, typer.Argument(help="An ODCS or Data Contract Specification document.")],
    port: Annotated[str, typer.Option("--port", help="The live output port: dp://domain/product/port.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Test the port as it was then (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (for CI).")] = False,
    token: Annotated[str | None, typer.Option("--token", envvar=TOKEN_ENV, help="Your API token: who reads.")] = None,
    home: Home = None,
) -> None:
    """Run a contract's checks on a live port; exit 9 when one fails (like the quality gate)."""
    moment = parse_moment(as_of, "--as-of")
    with errors():
        report = workspace(home).test_contract(contract, port, as_of=moment, token=token)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        _show_report(report)
    if not report.passed:
        raise typer.Exit(QualityGateError.exit_code)


def _show_report(report: ContractReport) -> None:
    when = f" as of {report.as_of}" if report.as_of else ""
    view = Table(
        title=f"{escape(report.contract)} on {report.port}{when} ({report.rows} rows)", header_style="bold cyan"
    )
    for column in ("check", "kind", "result", "detail"):
        view.add_column(column)
    for check in report.checks:
        result = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        view.add_row(escape(check.name), check.kind, result, escape(check.detail))
    console.print(view)
    failed = sum(not c.passed for c in report.checks)
    console.print(
        f"[red]{failed} of {len(report.checks)} checks failed[/]" if failed else "[green]all checks passed[/]"
    )


def register(app: typer.Typer) -> None:
    app.command(name="import")(import_)
    app.command()(export)
    app.command()(test)
