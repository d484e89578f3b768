"""Every setting of a workspace and its node: one :class:`Settings`, made of one group per concern.

Each group (``state``, ``tables``, ``storage``, ``events``, ``cluster``, ``federation``,
``governance``, ``runs``, ``serving``, ``compute``, ``lineage``) is a module of this package that
declares its keys and what is derived from them; :class:`Settings` inherits them all, so callers
read a flat ``settings.<name>`` whatever the group.

To add a setting, add a field with :func:`key` (its default, its ``HEXMESH_*`` variable, one sentence
saying what it does) to its group's class, read it as ``settings.<name>`` where it is needed, and
regenerate the reference: ``python -m hexmesh.infra.settings > docs/configuration.md`` (a test checks
that the page is current, and that no module outside this package reads a ``HEXMESH_*`` variable).
A new group is a module with an ``ABOUT`` and a class, a base of :class:`Settings` and a row of
:data:`GROUPS`.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hexmesh.infra.settings import (
    cluster,
    compute,
    events,
    federation,
    governance,
    lineage,
    runs,
    serving,
    state,
    storage,
    tables,
)
from hexmesh.infra.settings._field import key, variable_of

__all__ = [
    "CLIENT_VARIABLES",
    "DEMO_POSTGRES_ENV",
    "GROUPS",
    "HOME_ENV",
    "NODE_ENV",
    "SETTINGS_FILE",
    "TOKEN_ENV",
    "Settings",
    "key",
    "settings_fields",
    "variable",
]

SETTINGS_FILE = "settings.yaml"
HOME_ENV = "HEXMESH_HOME"
TOKEN_ENV = "HEXMESH_TOKEN"
NODE_ENV = "HEXMESH_NODE"
DEMO_POSTGRES_ENV = "HEXMESH_DEMO_POSTGRES"

#: Sections of the configuration reference, in order: name → what the section is about.
GROUPS: dict[str, str] = {
    "state": state.ABOUT,
    "tables": tables.ABOUT,
    "storage": storage.ABOUT,
    "events": events.ABOUT,
    "cluster": cluster.ABOUT,
    "federation": federation.ABOUT,
    "governance": governance.ABOUT,
    "runs": runs.ABOUT,
    "serving": serving.ABOUT,
    "compute": compute.ABOUT,
    "lineage": lineage.ABOUT,
}

#: Variables the command line and the Python client read (not settings of a workspace).
CLIENT_VARIABLES: dict[str, str] = {
    HOME_ENV: "The workspace folder of a command (`--home`); default `./.hexmesh`. Specs may use `${HEXMESH_HOME}`.",
    TOKEN_ENV: "Your API token: the CLI's `--token` and `hexmesh.connect(...)` send it.",
    NODE_ENV: "The node `hexmesh search --node` asks (http://host:port).",
    DEMO_POSTGRES_ENV: (
        "The PostgreSQL database `hexmesh demo` keeps the registration service's table in (and the example "
        "mesh reads); unset, the table is a SQLite file in the workspace's landing folder."
    ),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# A dataclass takes its bases' fields in reverse order of the bases: listing the groups last to first
# keeps `home` first and every key in the order of GROUPS (the reference's and `hexmesh settings`'s).
@dataclass(frozen=True)
class Settings(
    lineage.LineageSettings,
    compute.ComputeSettings,
    serving.ServingSettings,
    runs.RunsSettings,
    governance.GovernanceSettings,
    federation.FederationSettings,
    cluster.ClusterSettings,
    events.EventsSettings,
    storage.StorageSettings,
    tables.TablesSettings,
    state.StateSettings,
):
    """Where a workspace keeps things and how its node behaves; embedded defaults under ``home``.

    Load with :meth:`load`: ``<home>/settings.yaml``, then ``HEXMESH_*`` variables (which win).
    Moving to PostgreSQL, S3 or NATS is a setting, not code (docs/configuration.md).
    """

    def __post_init__(self) -> None:
        from hexmesh.infra.settings.loading import coerce

        home = Path(self.home).expanduser().resolve()
        object.__setattr__(self, "home", home)
        for item in settings_fields():
            value = getattr(self, item.name)
            if value is None and item.name == "catalog_properties":
                value = {}
            object.__setattr__(self, item.name, coerce(item, value, item.metadata["env"]))
        derived = {
            "state_url": f"sqlite:///{home / 'state.db'}",
            "catalog_url": f"sqlite:///{home / 'catalog.db'}",
            "warehouse": (home / "warehouse").as_uri(),
            "storage": home.as_uri(),
            "node_name": socket.gethostname(),
        }
        for name, value in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        self._check_runs()
        self._check_cluster()

    # -- loading --------------------------------------------------------------------------------

    @classmethod
    def load(cls, home: str | Path | None = None) -> Settings:
        """Settings for ``home``, else ``$HEXMESH_HOME``, else ``./.hexmesh``: file, then environment."""
        from hexmesh.infra.settings.loading import load

        return load(cls, home)

    @classmethod
    def defaults(cls, home: Path) -> Settings:
        """The embedded defaults under ``home``: no settings file, no environment."""
        return cls(home=home)

    def merged(self, values: dict[str, Any], origin: str = SETTINGS_FILE) -> Settings:
        """These settings with ``values`` (as a settings file gives them) on top."""
        from hexmesh.infra.settings.loading import parse_values

        return dataclasses.replace(self, **parse_values(values, origin))

    # -- the workspace ----------------------------------------------------------------------------

    @property
    def bundles(self) -> Path:
        """Deployed product versions, copied so a run never depends on a working copy."""
        return self.home / "bundles"

    def ensure(self) -> Settings:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.warehouse.startswith("file://"):
            Path(self.warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return self

    def shown(self) -> dict[str, Any]:
        """Every setting's value as ``hexmesh settings`` prints it: secrets say only whether they are set."""
        out: dict[str, Any] = {"home": str(self.home)}
        for item in settings_fields():
            value = getattr(self, item.name)
            if item.metadata["secret"]:
                value = {k: "(set)" for k in value} if isinstance(value, dict) else ("(set)" if value else "")
            out[item.name] = list(value) if isinstance(value, tuple) else value
        return out


def variable(name: str) -> str:
    """The ``HEXMESH_*`` variable of setting ``name`` (for messages that tell a user what to set)."""
    return variable_of(Settings, name)


def settings_fields() -> list[dataclasses.Field[Any]]:
    """The settings (every field but ``home``), in declaration order."""
    found = [f for f in dataclasses.fields(Settings) if f.name != "home"]
    for item in found:
        assert _NAME.match(item.name) and item.metadata["group"] in GROUPS, item.name
    return found
