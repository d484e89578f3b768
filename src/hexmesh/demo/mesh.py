"""Find the example podcast mesh (inside the wheel, or in a source checkout) and install its governance."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import hexmesh
from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import Settings

__all__ = ["example_mesh", "install_governance"]


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


def install_governance(settings: Settings, mesh: Path) -> tuple[Path, bool]:
    """Make the mesh's ``governance`` folder the workspace's, unless the workspace has one.

    Returns the folder the workspace uses and whether it was installed now. A folder already
    there (or one the ``governance`` setting names) is the operator's and is left as it is.
    """
    target = settings.governance_folder
    if settings.governance or target.exists():
        return target, False
    shutil.copytree(mesh / "governance", target)
    return target, True
