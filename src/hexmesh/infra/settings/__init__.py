"""Settings: every ``HEXMESH_*`` variable and ``settings.yaml`` key, read in one place.

``Settings.load(home)`` gives a workspace's settings; docs/configuration.md (made by
``python -m hexmesh.infra.settings``) lists every key, its variable, its default and its meaning.
"""

from hexmesh.infra.settings.loading import environment
from hexmesh.infra.settings.model import (
    CLIENT_VARIABLES,
    DEMO_POSTGRES_ENV,
    HOME_ENV,
    NODE_ENV,
    SETTINGS_FILE,
    TOKEN_ENV,
    Settings,
    key,
    settings_fields,
    variable,
)

__all__ = [
    "CLIENT_VARIABLES",
    "DEMO_POSTGRES_ENV",
    "HOME_ENV",
    "NODE_ENV",
    "SETTINGS_FILE",
    "TOKEN_ENV",
    "Settings",
    "environment",
    "key",
    "settings_fields",
    "variable",
]
