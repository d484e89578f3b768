"""The command-line reference (docs/cli.md), generated from the commands themselves.

``python -m hexmesh.cli.reference > docs/cli.md`` writes it; a test checks that the page is
current, so a new option or command cannot go undocumented.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import typer

import hexmesh
from hexmesh.cli.main import app
from hexmesh.errors import HexmeshError

__all__ = ["exit_codes", "reference"]

_HEAD = """# Command-line reference

Generated from the commands (`python -m hexmesh.cli.reference > docs/cli.md`; a test keeps it
current). Every command takes `--help`; `hexmesh --version` prints the version. Products are named
`<domain>/<name>` (`sales/shop`), ports `dp://<domain>/<name>/<port>`. Errors go to stderr, one
message saying what is wrong and what to do, with the exit code of their kind (below).
"""


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if getattr(command, "hidden", False):
            continue
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


def _option(param: Any) -> str:
    names = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`" + (" …" if param.nargs == -1 else "")
    help_text = " ".join((getattr(param, "help", None) or "").split())
    default = param.default
    hidden = default in (None, False, (), [], "") or callable(default) or param.required
    shown = "" if hidden else f" (default `{default}`)"
    envvar = f" (`${param.envvar}`)" if getattr(param, "envvar", None) else ""
    meaning = f"{help_text}{shown}{envvar}".replace("|", "\\|")  # a pipe would end the table cell
    return f"| {names} | {meaning} |"


def exit_codes() -> dict[int, list[str]]:
    """Exit code → the errors that use it (every ``HexmeshError`` subclass hexmesh defines)."""
    for module in pkgutil.walk_packages(hexmesh.__path__, "hexmesh."):
        if module.name.startswith(("hexmesh._examples", "hexmesh.demo")) or module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    codes: dict[int, list[str]] = {}
    pending: list[type[HexmeshError]] = [HexmeshError]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        doc = (kind.__doc__ or "").strip().splitlines()[0].replace("``", "`") if kind.__doc__ else ""
        codes.setdefault(kind.exit_code, []).append(f"`{kind.__name__}`: {doc}")
    return {code: sorted(set(names)) for code, names in sorted(codes.items())}


def reference() -> str:
    """The page, as Markdown."""
    root = typer.main.get_command(app)
    lines = [_HEAD, "## Commands", ""]
    for path, command in _commands(root):
        summary = " ".join((command.help or "").strip().split("\n\n")[0].split())
        lines += [f"### `hexmesh {' '.join(path)}`", "", summary, ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| argument / option | meaning |", "|---|---|", *(_option(p) for p in params), ""]
    lines += [
        "## Exit codes",
        "",
        "`0` is success; `1` an error of no more specific kind; `2` is also a usage error (a missing or",
        "malformed option, from the command-line parser).",
        "",
        "| code | errors |",
        "|---|---|",
    ]
    for code, names in exit_codes().items():
        lines.append(f"| {code} | {'<br>'.join(n.replace('|', '/') for n in names)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
