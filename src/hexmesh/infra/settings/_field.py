"""One setting's declaration (:func:`key`) and the base every group of settings builds on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Base", "key", "variable_of"]


def key(
    default: Any,
    env: str,
    doc: str,
    *,
    group: str,
    shown: str | None = None,
    secret: bool = False,
    fallback: tuple[str, ...] = (),
) -> Any:
    """One setting: ``env`` is its ``HEXMESH_*`` variable, ``doc`` one sentence for the reference.

    ``shown`` is the default as the reference prints it (when it depends on the home); ``secret``
    hides the value wherever settings are shown; ``fallback`` names standard variables (``AWS_*``)
    read when neither the variable nor the settings file sets it.
    """
    metadata = {"env": env, "doc": doc, "group": group, "shown": shown, "secret": secret, "fallback": fallback}
    if isinstance(default, (dict, list)):
        raise TypeError("container defaults are tuples, or None for an empty mapping")
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Base:
    """What every group of settings may lean on: the workspace folder (resolved by ``Settings``)."""

    home: Path


def variable_of(settings: Any, name: str) -> str:
    """The ``HEXMESH_*`` variable of setting ``name`` of ``settings`` (a group or ``Settings``, or its class)."""
    return str(next(f for f in dataclasses.fields(settings) if f.name == name).metadata["env"])
