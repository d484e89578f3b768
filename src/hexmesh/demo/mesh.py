"""Find the example podcast mesh: inside the wheel, or in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import hexmesh
from hexmesh.errors import HexmeshError

__all__ = ["example_mesh"]


def example_mesh() -> Path:
    """The folder holding the example mesh's product folders."""
    # The wheel ships examples/podcasts as hexmesh/_examples/podcasts (see pyproject.toml).
    shipped = resources.files("hexmesh") / "_examples" / "podcasts"
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = Path(hexmesh.__file__).resolve().parents[2] / "examples" / "podcasts"
    if checkout.is_dir():
        return checkout
    raise HexmeshError(
        f"the example mesh is in neither {shipped} nor {checkout}; reinstall hexmesh "
        "(the wheel ships it) or run from a source checkout"
    )
