"""``python -m hexmesh.infra.settings > docs/configuration.md``: the configuration reference."""

from hexmesh.infra.settings.reference import reference

print(reference(), end="")
