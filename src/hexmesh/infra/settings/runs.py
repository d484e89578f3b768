"""Settings of runs: which files a product may read, and the limits of its Python process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "RunsSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = (
    "A product is untrusted input to the node: its paths stay inside its folder (or a source root "
    "allowed here), and its Python code runs in a separate process, without the node's secrets, within "
    "these limits."
)


@dataclass(frozen=True)
class RunsSettings(Base):
    """What a product's run may read and use."""

    source_roots: tuple[str, ...] = key(
        (),
        "HEXMESH_SOURCE_ROOTS",
        "Folders a product's file sources may read besides its own folder, comma-separated; a path "
        "elsewhere (absolute, `..`, or through a symlink) is refused. A root may not contain the home.",
        group="runs",
        shown="<home>/landing",
    )
    python_memory_mb: int = key(
        2048,
        "HEXMESH_PYTHON_MEMORY_MB",
        "Writable memory (heap, Arrow buffers) a Python transformation's process may use, in megabytes (0: no "
        "limit); a product's `transformation.limits.memoryMb` may ask for less. Going over fails the run.",
        group="runs",
    )
    python_cpu_seconds: int = key(
        600,
        "HEXMESH_PYTHON_CPU_SECONDS",
        "CPU seconds a Python transformation's process may use (0: no limit); a product's "
        "`transformation.limits.cpuSeconds` may ask for less. Going over fails the run.",
        group="runs",
    )
    example_seconds: int = key(
        60,
        "HEXMESH_EXAMPLE_SECONDS",
        "Seconds (CPU and wall clock) one Python example of a product's README may take when `hexmesh deploy` runs "
        "it in the sandbox; a longer one is stopped and reported failed, the deploy stands.",
        group="runs",
    )

    @property
    def source_root_paths(self) -> tuple[Path, ...]:
        """Where file sources may read besides a product's folder (``<home>/landing`` by default)."""
        if not self.source_roots:
            return (self.home / "landing",)
        return tuple(Path(root).expanduser().resolve() for root in self.source_roots)

    def _check_runs(self) -> None:
        for root in self.source_root_paths:
            if self.home == root or self.home.is_relative_to(root):
                raise WorkspaceError(
                    f"source root {root} contains the node's home {self.home}, whose keys and tokens no product "
                    f"may read; name a folder beside it or inside it instead (for example {self.home / 'landing'})"
                )
