"""Reading settings: defaults, then ``<home>/settings.yaml``, then ``HEXMESH_*`` variables.

This is the one place that reads ``HEXMESH_*`` variables (and the ``AWS_*`` ones settings fall back
to). A key or variable nobody knows is an error with the closest known names, never ignored: a
typo would otherwise leave a node quietly on its defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hexmesh.errors import WorkspaceError

if TYPE_CHECKING:
    from hexmesh.infra.settings.model import Settings

__all__ = ["coerce", "environment", "load", "parse_values"]

_PREFIX = "HEXMESH_"
#: Variables only the benchmarks read (bench/), never a node.
_BENCH_PREFIX = "HEXMESH_BENCH_"
_REFERENCE = "see docs/configuration.md"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``HEXMESH_*`` variables that are set, checked: an unknown one names the closest known."""
    from hexmesh.infra.settings.model import CLIENT_VARIABLES, settings_fields

    source = os.environ if environ is None else environ
    known = {f.metadata["env"]: f.name for f in settings_fields()}
    found: dict[str, str] = {}
    for name, value in source.items():
        if not name.startswith(_PREFIX) or name.startswith(_BENCH_PREFIX) or name in CLIENT_VARIABLES:
            continue
        if name not in known:
            raise WorkspaceError(
                f"unknown variable {name}{_did_you_mean(name, [*known, *CLIENT_VARIABLES])}; unset it ({_REFERENCE})"
            )
        if value != "":
            found[known[name]] = value
    return found


def load(cls: type[Settings], home: str | Path | None) -> Settings:
    from hexmesh.infra.settings.model import HOME_ENV, SETTINGS_FILE, settings_fields

    root = Path(home or os.environ.get(HOME_ENV) or ".hexmesh").expanduser().resolve()
    variables = environment()
    values: dict[str, Any] = {}
    file = root / SETTINGS_FILE
    from_file: dict[str, Any] = parse_values(_read(file), str(file)) if file.is_file() else {}
    for item in settings_fields():
        if item.name in variables:
            values[item.name] = coerce(item, variables[item.name], item.metadata["env"])
        elif item.name in from_file:
            values[item.name] = from_file[item.name]
        else:
            for fallback in item.metadata["fallback"]:
                if os.environ.get(fallback):
                    values[item.name] = coerce(item, os.environ[fallback], fallback)
                    break
    return cls(home=root, **values)


def parse_values(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """Settings as a file gives them, checked and converted; ``origin`` names the file in errors."""
    from hexmesh.infra.settings.model import settings_fields

    known = {f.name: f for f in settings_fields()}
    unknown = sorted(set(values) - set(known))
    if unknown:
        hints = "; ".join(f"{name!r}{_did_you_mean(name, list(known))}" for name in unknown)
        raise WorkspaceError(f"unknown setting(s) in {origin}: {hints} ({_REFERENCE})")
    return {
        name: coerce(known[name], _interpolate(value, origin), f"{name} in {origin}") for name, value in values.items()
    }


def coerce(item: dataclasses.Field[Any], value: Any, origin: str) -> Any:
    """``value`` (text from a variable or file, or already typed) as the setting's type."""
    kind = str(item.type)
    try:
        if kind == "bool":
            return _bool(value)
        if kind == "int":
            return _int(value)
        if kind == "float":
            number = float(value)
            if number < 0 or number != number:
                raise ValueError(number)
            return number
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else list(value or ())
            return tuple(str(v).strip() for v in items if str(v).strip())
        if kind == "dict[str, str]":
            return _mapping(value)
        if value is None:
            return ""
        if isinstance(value, (dict, list, tuple)):
            raise ValueError("text")
        return str(value)
    except (TypeError, ValueError):
        raise WorkspaceError(
            f"{origin} is {_show(item, value)}, not {_EXPECTED.get(kind, kind)}; {item.metadata['doc']} ({_REFERENCE})"
        ) from None


_EXPECTED = {
    "bool": "true or false",
    "int": "a whole number of zero or more",
    "float": "a number of zero or more",
    "tuple[str, ...]": "a list",
    "dict[str, str]": "a mapping (in a variable: JSON or k=v,k=v)",
    "str": "text",
}


def _show(item: dataclasses.Field[Any], value: Any) -> str:
    return "(hidden)" if item.metadata["secret"] else repr(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("true or false")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a whole number")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            raise ValueError("a whole number")
        number = int(text)
    if number < 0:
        raise ValueError("a whole number")
    return number


def _mapping(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
    text = str(value).strip()
    if text.startswith("{"):
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise ValueError("a mapping")
        return _mapping(parsed)
    pairs = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, item = part.partition("=")
        if not sep or not name.strip():
            raise ValueError("a mapping")
        pairs[name.strip()] = item.strip()
    return pairs


def _interpolate(value: Any, origin: str) -> Any:
    """``${NAME}`` and ``${NAME:-default}`` in a settings file's text take an environment variable's value."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is None and default is None:
                raise WorkspaceError(
                    f"{origin} uses ${{{name}}}, which is not set; set it or write ${{{name}:-default}}"
                )
            return found if found is not None else default

        return _INTERPOLATION.sub(one, value)
    if isinstance(value, Mapping):
        return {k: _interpolate(v, origin) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, origin) for v in value]
    return value


def _did_you_mean(name: str, known: list[str]) -> str:
    lowered = {k.lower().replace(".", "_").replace("-", "_"): k for k in known}
    wanted = name.lower().replace(".", "_").replace("-", "_")
    close = difflib.get_close_matches(wanted, list(lowered), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(lowered[c] for c in close)}?)" if close else ""


def _read(file: Path) -> dict[str, Any]:
    try:
        from hexmesh.spec import safe_yaml  # the spec package is heavy: only when a file is read

        data = safe_yaml.load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise WorkspaceError(f"{file} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise WorkspaceError(f"{file} must be a mapping of setting: value")
    return {str(k): v for k, v in data.items()}
