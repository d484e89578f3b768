"""Every YAML example of docs/spec.md is a valid part of a spec: each is set into one product and validated.

The runner (runner.py) runs sh and python blocks; YAML blocks show parts of a dataproduct.yaml,
so each is placed where it belongs — a product key, an input port list, an output port's ``slo``
or ``quality`` — in the product below, and that product must validate as `hexmesh validate` would.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from hexmesh.lifecycle import Workspace
from tests.docs.runner import blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "spec.md"
#: The product each example is set into: its names are the ones the examples use.
BASE: dict[str, Any] = {
    "domain": "podcasts",
    "name": "plays",
    "version": "1.0.0",
    "owner": "team@example.com",
    "inputPorts": [{"name": "orders", "source": {"format": "csv", "path": "data"}, "window": "incremental"}],
    "outputPorts": [
        {
            "name": "plays",
            "eventTime": "played_at",
            "properties": [
                {"name": "play_id", "logicalType": "string"},
                {"name": "listener_id", "logicalType": "string"},
                {"name": "played_at", "logicalType": "timestamp"},
                {"name": "device", "logicalType": "string"},
                {"name": "duration_s", "logicalType": "integer"},
                {"name": "amount", "logicalType": "number"},
            ],
        }
    ],
}
_PORT_KEYS = ("slo", "quality")


def _examples() -> list[Any]:
    found = [b for b in blocks(PAGE) if b.language == "yaml"]
    assert found, "docs/spec.md shows no YAML example: this test would prove nothing"
    return [pytest.param(b.text, id=f"spec.md:{b.line}") for b in found]


def _placed(fragment: Any) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))  # a deep copy
    port = spec["outputPorts"][0]
    if isinstance(fragment, list):  # more quality checks, continuing a quality: list
        port["quality"] = fragment
        return spec
    assert isinstance(fragment, dict), fragment
    for key, value in fragment.items():
        if key in _PORT_KEYS:
            port[key] = value
        else:
            spec[key] = value
    return spec


@pytest.mark.parametrize("text", _examples())
def test_each_yaml_example_validates_in_a_product(text: str, tmp_path: Path) -> None:
    spec = _placed(yaml.safe_load(textwrap.dedent(text)))
    folder = tmp_path / "plays"
    (folder / "data").mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    workspace = Workspace.open(tmp_path / "home")
    try:
        (loaded,) = workspace.validate([folder])  # raises SpecError naming file:line:col
    finally:
        workspace.close()
    assert loaded.spec.key == "podcasts/plays"
