"""What every command shares: the --home option, the workspace, and the one error handler."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hexmesh.cli.render import err
from hexmesh.errors import HexmeshError, SpecError
from hexmesh.infra.settings import HOME_ENV, TOKEN_ENV

if TYPE_CHECKING:
    from hexmesh.lifecycle import Workspace

__all__ = ["Home", "Token", "errors", "product_key", "workspace"]

Home = Annotated[
    Path | None,
    typer.Option("--home", envvar=HOME_ENV, help="Workspace folder (default ./.hexmesh)."),
]

#: Who is acting: an API token (on a workspace of your own, its root acts without one).
Token = Annotated[str | None, typer.Option("--token", envvar=TOKEN_ENV, help="Your API token (who is acting).")]


@contextmanager
def errors() -> Iterator[None]:
    """Map hexmesh errors to a clear message and the error's exit code, in one place."""
    try:
        yield
    except SpecError as exc:
        err.print(f"[bold red]invalid spec[/] — {len(exc.problems)} problem(s):", highlight=False)
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except HexmeshError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def workspace(home: Path | None, settings: dict[str, Any] | None = None) -> Workspace:
    """The workspace of this command; ``${HEXMESH_HOME}`` in specs then means this workspace.

    ``settings`` override the workspace's for this command (as a settings file gives them).
    """
    from hexmesh.infra.settings import Settings
    from hexmesh.lifecycle import Workspace

    loaded = Settings.load(home)
    opened = Workspace(loaded.merged(settings, "the command line") if settings else loaded)
    os.environ[HOME_ENV] = str(opened.settings.home)
    if opened.settings.openlineage_url:  # lineage is a setting: every run of this command reports it
        from hexmesh.mesh import lineage_observer

        observer = lineage_observer(opened.settings)
        if observer is not None:
            opened.observe(observer)
    return opened


def product_key(text: str) -> str:
    """``domain/product`` of a product name or ``dp://`` address (an ``AddressError`` says how to write one)."""
    from hexmesh.spec import parse_address

    return parse_address(text).product_key
