"""Loading dataproduct.yaml: every problem located at file:line:col, with a way to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from hexmesh.errors import SpecError
from hexmesh.lifecycle import init_product
from hexmesh.spec import json_schema, load_spec, parse_spec

VALID = """\
domain: podcasts
name: play-events
version: 1.2.0
owner: podcasts@example.com
inputPorts:
  - name: logs
    source: {format: csv, path: data}
outputPorts:
  - name: plays
    eventTime: played_at
    properties:
      - {name: played_at, logicalType: timestamp, required: true}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "dataproduct.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_valid_spec_loads_with_odcs_and_odps_names() -> None:
    spec, _ = parse_spec(VALID, "dataproduct.yaml")
    assert spec.key == "podcasts/play-events"
    assert spec.major == 1
    assert spec.output_ports[0].properties[0].logical_type == "timestamp"
    assert spec.input_ports[0].window_spec.kind == "all"


def test_malformed_yaml_points_at_the_line_and_column() -> None:
    found = problems("domain: podcasts\nname: [unclosed\nversion: 1.0.0\n")
    assert len(found) == 1
    assert found[0].startswith("dataproduct.yaml:3:")
    assert "malformed YAML" in found[0]


def test_unknown_key_is_located_and_suggests_the_closest_name() -> None:
    found = problems(VALID.replace("owner:", "ownr:"))
    unknown = next(p for p in found if "unknown key 'ownr'" in p)
    assert unknown.startswith("dataproduct.yaml:4:1:")
    assert "did you mean 'owner'?" in unknown
    assert any("missing required key 'owner'" in p for p in found)


def test_wrong_type_is_located_at_the_value() -> None:
    found = problems(VALID.replace("logicalType: timestamp", "logicalType: timestmp"))
    assert len(found) == 1
    assert found[0].startswith("dataproduct.yaml:12:")
    assert "'timestamp'" in found[0]


def test_every_problem_is_reported_at_once() -> None:
    broken = (
        VALID.replace("domain: podcasts", "domain: Podcasts")
        .replace("version: 1.2.0", "version: one")
        .replace("format: csv", "format: xls")
        .replace("required: true", "required: maybe")
    )
    found = problems(broken)
    assert len(found) == 4
    assert [p.split(":")[1] for p in found] == ["1", "3", "7", "12"]


def test_duplicate_keys_are_an_error() -> None:
    found = problems(VALID + "owner: someone-else\n")
    assert any("duplicate key 'owner'" in p and p.startswith("dataproduct.yaml:13:1") for p in found)


def test_a_spec_that_is_not_a_mapping_is_rejected() -> None:
    assert "must be a YAML mapping" in problems("- just\n- a list\n")[0]


def test_a_missing_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no spec at"):
        load_spec(tmp_path)


def test_quality_checks_need_exactly_one_kind() -> None:
    text = VALID + "    quality:\n      - {notNull: [played_at], unique: [played_at]}\n"
    found = problems(text)
    assert "exactly one of" in found[0]
    assert found[0].startswith("dataproduct.yaml:14:")


def test_json_schema_accepts_the_scaffold_and_rejects_unknown_keys(tmp_path: Path) -> None:
    schema = json_schema()
    json.dumps(schema)  # it is plain JSON
    init_product(tmp_path / "p", domain="sales", name="p", owner="me@example.com")
    document = yaml.safe_load((tmp_path / "p" / "dataproduct.yaml").read_text())
    jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "ownr": "x"}, schema)


def test_a_version_too_large_for_its_major_to_be_stored_is_refused() -> None:
    found = problems(VALID.replace("version: 1.2.0", "version: 99999999999999999999999.0.0"))
    assert found == [
        "dataproduct.yaml:3:10: version '99999999999999999999999.0.0' is not valid (use semantic versioning "
        "MAJOR.MINOR.PATCH (numbers of at most 9 digits), for example 1.0.0)"
    ]


@pytest.mark.parametrize("value", ["-1e400", "1e400", ".nan", ".inf"])
def test_a_range_bound_must_be_a_finite_number(value: str) -> None:
    spec = VALID.replace(
        "      - {name: played_at, logicalType: timestamp, required: true}\n",
        "      - {name: played_at, logicalType: timestamp, required: true}\n"
        "      - {name: duration, logicalType: number}\n"
        f"    quality:\n      - range: {{field: duration, min: {value}}}\n",
    )
    (found,) = problems(spec)
    assert found.startswith("dataproduct.yaml:15:39:")
    assert "quality[0].range.min: Input should be a finite number (write a finite number" in found


def test_numbers_beyond_64_bits_are_refused_where_they_meet_columns() -> None:
    spec = VALID.replace(
        "      - {name: played_at, logicalType: timestamp, required: true}\n",
        "      - {name: played_at, logicalType: timestamp, required: true}\n"
        "    quality:\n      - rowCount: {min: 99999999999999999999}\n",
    )
    (found,) = problems(spec)
    assert "rowCount.min: Input should be less than or equal to 9223372036854775807" in found
