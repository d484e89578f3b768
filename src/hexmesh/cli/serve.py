"""``hexmesh serve``: start a node serving every deployed product."""

from __future__ import annotations

import asyncio
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from hexmesh.cli.render import console, err
from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import HOME_ENV

__all__ = ["serve"]


def serve(
    http_port: Annotated[int, typer.Option("--http-port", help="Port of the HTTP API.")] = 8080,
    sql_port: Annotated[
        int, typer.Option("--sql-port", help="Port of the SQL (PostgreSQL protocol) port; 0 turns it off.")
    ] = 5433,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth/--no-auth",
            help="Enforce tokens and policies on every port: HTTP (bearer), SQL (token as password, TLS), "
            "events, the client. --no-auth serves every row and column to anyone who can reach the node.",
        ),
    ] = True,
    tls_cert: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM); default: a self-signed one in the workspace.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    schedule: Annotated[
        bool, typer.Option("--schedule/--no-schedule", help="Run products when their triggers fire.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    events: Annotated[
        str | None,
        typer.Option(
            "--events",
            help="Event log: empty for the embedded log, or nats://host:port for NATS JetStream "
            "(default: the events_url setting, HEXMESH_EVENTS_URL).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="The URL clients reach this node at (default http://HOST:PORT)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    accept_governance: Annotated[
        bool,
        typer.Option(
            "--accept-governance",
            help="On a cluster: make this node's governance files the cluster's (after changing them on every node).",
        ),
    ] = False,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar=HOME_ENV, help="Workspace folder (default ./.hexmesh)."),
    ] = None,
) -> None:
    """Serve every deployed product: discovery, files, events, observability and control ports."""
    from hexmesh.lifecycle import Workspace
    from hexmesh.server import create_app, http_service, run_services
    from hexmesh.serving import Node, NodeOptions
    from hexmesh.serving.peering import is_loopback

    base_url = public_url or f"http://{host}:{http_port}"
    # With --auth the SQL port takes a token as password, only over TLS: the DSN says so.
    sql_dsn = f"postgresql://{host}:{sql_port}/hexmesh" + ("?sslmode=require" if auth else "") if sql_port else None
    try:
        workspace = Workspace.open(home)
        # As for every command (cli/common.py): ${HEXMESH_HOME} in a spec is the workspace served, so
        # the scheduler's and the owner's runs find sources such as the demo's ${HEXMESH_HOME}/landing.
        os.environ[HOME_ENV] = str(workspace.settings.home)
        node = Node(
            workspace,
            NodeOptions(
                base_url=base_url,
                events_url=events,
                sql_dsn=sql_dsn,
                auth=auth,
                accept_governance=accept_governance,
            ),
        )
    except HexmeshError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    products = workspace.deployed()
    console.print(f"hexmesh node at [bold]{base_url}[/] serving {len(products)} product(s)")
    for key in sorted(products):
        console.print(f"  {base_url}/products/{key}")
    console.print(f"  OpenAPI: {base_url}/docs   metrics: {base_url}/metrics   pid {os.getpid()}")
    if auth:
        console.print(f"  policies enforced: sign in with an API token (hexmesh token create{_home(home)} --help); "
                      "anonymous callers see only what a policy grants to anyone", highlight=False)  # fmt: skip
    else:
        where = "anyone on this machine" if is_loopback(host) else f"anyone who can reach {host}"
        err.print(f"[yellow]warning:[/] --no-auth: every port serves every row and column to {where}; "
                  "policies are not enforced", highlight=False)  # fmt: skip
    if node.tokens.principals():
        err.print("[yellow]warning:[/] operator tokens in clear text (tokens.yaml or HEXMESH_TOKENS) still act on "
                  f"this node; replace them by hashed API tokens with roles: hexmesh token migrate{_home(home)}",
                  highlight=False)  # fmt: skip
    # Services start and stop together: when one ends, the others are told to stop.
    services = [http_service(create_app(node), host, http_port, log_level=log_level)]
    if sql_port:
        services.append(node.sql_service(host, sql_port, tls=_tls(auth, tls_cert, tls_key)))
        console.print(f'  SQL: psql "{sql_dsn}"' + ("  (password: an API token)" if auth else ""))
    scheduler = workspace.scheduler() if schedule else None
    if scheduler is not None:
        scheduler.start()
        console.print("  scheduler: products run when upstreams publish, a cron fires or a source brings news")
    try:
        asyncio.run(run_services(services))
    finally:
        if scheduler is not None:
            scheduler.stop()


def _home(home: Path | None) -> str:
    return f" --home {shlex.quote(str(home))}" if home is not None else ""


def _tls(auth: bool, cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """The SQL port's certificate and key as given (None: the node makes a self-signed pair)."""
    if auth and (cert is None) != (key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")
    return (cert, key) if cert is not None and key is not None else None
