"""The data product descriptor: models, loading with located errors, rules and JSON Schema."""

from hexmesh.spec.address import Address, parse_address
from hexmesh.spec.confinement import Confinement, inside
from hexmesh.spec.consistency import check_spec, path_problems, spec_problems
from hexmesh.spec.duration import format_duration, parse_duration
from hexmesh.spec.loader import SPEC_FILENAME, LoadedSpec, load_spec, parse_spec
from hexmesh.spec.model import (
    DatabaseSourceSpec,
    DataProductSpec,
    FieldSpec,
    InputPort,
    OutputPort,
    PostgresSourceSpec,
    QualityCheck,
    Slo,
    SourceSpec,
    Transformation,
    Window,
)

__all__ = [
    "SPEC_FILENAME",
    "Address",
    "Confinement",
    "DataProductSpec",
    "DatabaseSourceSpec",
    "FieldSpec",
    "InputPort",
    "LoadedSpec",
    "OutputPort",
    "PostgresSourceSpec",
    "QualityCheck",
    "Slo",
    "SourceSpec",
    "Transformation",
    "Window",
    "check_spec",
    "format_duration",
    "inside",
    "json_schema",
    "load_spec",
    "parse_address",
    "parse_duration",
    "parse_spec",
    "path_problems",
    "spec_problems",
]


def json_schema() -> dict[str, object]:
    """The JSON Schema of dataproduct.yaml, for editor completion (yaml-language-server)."""
    schema = DataProductSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "hexmesh data product (dataproduct.yaml)"
    return schema
