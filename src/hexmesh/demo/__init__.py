"""The example podcast mesh: a deterministic data generator and ``hexmesh demo``."""

from hexmesh.demo.generator import GeneratedDay, generate_day
from hexmesh.demo.mesh import example_mesh
from hexmesh.demo.run import DemoResult, run_demo

__all__ = ["DemoResult", "GeneratedDay", "example_mesh", "generate_day", "run_demo"]
