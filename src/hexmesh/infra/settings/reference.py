"""The configuration reference (docs/configuration.md), made from the settings themselves."""

from __future__ import annotations

import dataclasses
from typing import Any

from hexmesh.infra.settings.model import CLIENT_VARIABLES, GROUPS, SETTINGS_FILE, settings_fields

__all__ = ["reference"]

_INTRO = f"""\
# Configuration reference

<!-- Made by `python -m hexmesh.infra.settings > docs/configuration.md`; edit
src/hexmesh/infra/settings/ instead (a test checks this page is current). -->

Every setting of a workspace and its node is read in one place (`hexmesh.infra.settings`), from
three sources, each winning over the one before:

1. the defaults below (embedded: everything under the workspace folder, `<home>`);
2. `<home>/{SETTINGS_FILE}`, a mapping of `key: value`; text may use `${{NAME}}` or
   `${{NAME:-default}}` to take an environment variable (keep secrets out of the file);
3. the `HEXMESH_*` variable of each key.

A key or a `HEXMESH_*` variable that is not listed here is an error naming the closest known ones.
`hexmesh settings` prints the settings in effect (secrets show only whether they are set).
Lists are comma-separated in variables and YAML lists in the file; booleans are `true`/`false`.

```yaml
# <home>/settings.yaml of a node in a cluster (docs/deployment.md)
state_url: postgresql://hexmesh@db.internal/mesh
catalog_url: postgresql://hexmesh@db.internal/mesh
warehouse: s3://mesh-warehouse/tables
storage: s3://mesh-warehouse/objects
s3_endpoint: https://s3.internal:8333
s3_access_key_id: ${{S3_ACCESS_KEY_ID}}
s3_secret_access_key: ${{S3_SECRET_ACCESS_KEY}}
events_url: nats://nats.internal:4222
placement: [sales, users/user-profiles]
```

The same node with its tables in an Iceberg REST catalog that signs requests with SigV4 (here
SeaweedFS's built-in catalog; AWS S3 Tables and others take the same properties). `catalog_url`
over http(s) means `catalog_type: rest`; `catalog_properties` are pyiceberg's, passed through:

```yaml
catalog_url: https://s3.internal:8181
warehouse: s3://tables/
catalog_properties:
  rest.sigv4-enabled: "true"
  rest.signing-name: s3tables
  rest.signing-region: us-east-1
```
"""

_CLIENT = """\
## Variables of the command line and the client

These are read by `hexmesh` commands and `hexmesh.connect(...)`, not by a node.

| variable | meaning |
|---|---|
"""


def reference() -> str:
    """The whole page, as Markdown."""
    parts = [_INTRO]
    for group, about in GROUPS.items():
        items = [f for f in settings_fields() if f.metadata["group"] == group]
        if not items:
            continue
        rows = [
            f"## {group.capitalize()}\n",
            f"{about}\n",
            "| key | variable | default | meaning |",
            "|---|---|---|---|",
        ]
        rows += [_row(item) for item in items]
        parts.append("\n".join(rows) + "\n")
    parts.append(_CLIENT + "\n".join(f"| `{name}` | {doc} |" for name, doc in CLIENT_VARIABLES.items()) + "\n")
    return "\n".join(parts)


def _row(item: dataclasses.Field[Any]) -> str:
    meta = item.metadata
    meaning = meta["doc"]
    if meta["fallback"]:
        meaning += " Else " + ", ".join(f"`{name}`" for name in meta["fallback"]) + "."
    if meta["secret"]:
        meaning += " *Secret.*"
    return f"| `{item.name}` | `{meta['env']}` | {_default(item)} | {meaning} |"


def _default(item: dataclasses.Field[Any]) -> str:
    shown = item.metadata["shown"]
    if shown is not None:
        return shown if shown.startswith("`") or " " in shown else f"`{shown}`"
    value = item.default
    if value == "" or value == ():
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"
