"""The global rule ``core.classification-follows-data`` at validate and deploy: where the inputs come from.

The rule itself is pure (:mod:`hexmesh.governance.classflow`); this module gathers what it needs:
the classification of every input field (an upstream port's declared fields, or a source's
``properties``) and the product's SQL text, read from its folder.
"""

from __future__ import annotations

from collections.abc import Callable

from hexmesh.errors import SpecProblem
from hexmesh.governance.classflow import RULE, findings, inherited
from hexmesh.spec import DataProductSpec, LoadedSpec, parse_address
from hexmesh.spec.policies import ProductPolicies

__all__ = ["classification_problems"]

#: Product key -> its spec (the batch being validated or deployed, else the deployed one), None if unknown.
Upstream = Callable[[str], DataProductSpec | None]


def classification_problems(loaded: LoadedSpec, upstream: Upstream) -> list[SpecProblem]:
    """Each output field of ``loaded`` that carries personal or restricted data under a weaker class."""
    spec = loaded.spec
    inputs: dict[str, dict[str, str | None]] = {}
    for port in spec.input_ports:
        if port.from_ is None:
            inputs[port.name] = {f.name: f.classification for f in port.properties}
            continue
        try:
            address = parse_address(port.from_, default_scheme=False)
        except ValueError:
            continue  # reported by the spec's own checks
        found = upstream(address.product_key)
        output = found.output(address.port or "") if found is not None else None
        if output is not None:
            inputs[port.name] = {f.name: f.classification for f in output.properties}
    sql: dict[str, str] = {}
    code = spec.transformation
    if code is not None and code.sql is not None:
        files = {spec.output_ports[0].name: code.sql} if isinstance(code.sql, str) else dict(code.sql)
        for port_name, file in files.items():
            path = loaded.folder / file
            if path.is_file():
                sql[port_name] = path.read_text(encoding="utf-8")
    policies = ProductPolicies.model_validate(spec.policies.model_dump(by_alias=True))
    problems = []
    indexes = {
        (port.name, f.name): (i, j) for i, port in enumerate(spec.output_ports) for j, f in enumerate(port.properties)
    }
    for where, message in findings(spec, policies, inherited(spec, inputs, sql)):
        port_name, _, field_name = where.removeprefix("field:").partition(".")
        i, j = indexes[(port_name, field_name)]
        problems.append(
            SpecProblem(
                loaded.marks.at(("outputPorts", i, "properties", j, "classification")),
                f"{spec.key}: rule {RULE} fails at {where}: {message}",
                "classification follows the data through the transformation (docs/governance.md)",
            )
        )
    return problems
