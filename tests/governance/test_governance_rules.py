"""Global rules as code: the shipped set, declarative mesh rules, versions in the report."""

from __future__ import annotations

from typing import Any

import pytest

from hexmesh.governance import CORE, PolicyError, evaluate, parse_rules
from hexmesh.governance.ruleset import Rule, RuleSet, RuleSetError, parse_rules_text
from hexmesh.spec.model import DataProductSpec
from tests.governance.conftest import POLICIES, make_spec, spec_dict


def test_a_well_governed_product_passes_with_warnings_only(spec: DataProductSpec) -> None:
    report = evaluate(spec, CORE)
    assert report.passed and report.ruleset == "hexmesh-core@1.0.0"
    assert {f.rule for f in report.warnings} == {"core.freshness-slo"}


def test_pii_without_transformation_blocks() -> None:
    report = evaluate(make_spec(access=[], privacy=[]), CORE)
    assert not report.passed
    blocked = {(f.rule, f.where) for f in report.blocking}
    assert ("core.pii-transformed", "field:daily.email") in blocked
    assert ("core.pii-transformed", "field:daily.age") in blocked


def test_restricted_fields_need_a_subject() -> None:
    data = spec_dict(**POLICIES)
    data["outputPorts"][0]["properties"][0]["tags"] = []
    report = evaluate(DataProductSpec.model_validate(data), CORE)
    assert [f.where for f in report.blocking] == ["port:daily"]


def test_unclassified_unlinked_and_badly_named_fields_warn() -> None:
    data = spec_dict(**POLICIES)
    data["outputPorts"][1]["properties"] = [{"name": "podcastId", "logicalType": "string"}]
    report = evaluate(DataProductSpec.model_validate(data), CORE)
    rules = {f.rule for f in report.warnings if f.where == "field:totals.podcastId"}
    assert rules == {"core.classified", "core.naming"}
    data["outputPorts"][1]["properties"] = [{"name": "podcast_id", "logicalType": "string", "classification": "public"}]
    report = evaluate(DataProductSpec.model_validate(data), CORE)
    assert [f.rule for f in report.warnings if f.where.startswith("field:totals")] == ["core.identifier-links"]


MESH_RULES: dict[str, Any] = {
    "name": "acme",
    "version": "3",
    "rules": [
        {
            "id": "acme.owner-email",
            "message": "owners are e-mail addresses",
            "on": "product",
            "require": {"owner": {"pattern": r".+@.+"}},
        },
        {
            "id": "acme.personal-described",
            "severity": "warning",
            "message": "describe personal fields",
            "on": "field",
            "where": {"classification": ["personal", "restricted"]},
            "require": {"description": {"present": True}},
        },
    ],
}


def test_declarative_mesh_rules_stack_on_the_shipped_set(spec: DataProductSpec) -> None:
    rules = CORE + parse_rules(MESH_RULES)
    report = evaluate(spec, rules)
    assert report.ruleset == "hexmesh-core@1.0.0+acme@3"
    assert [f.rule for f in report.blocking] == ["acme.owner-email"]
    assert "podcasts-team" in str(report.blocking[0])
    assert {f.where for f in report.warnings if f.rule == "acme.personal-described"} == {
        "field:daily.email",
        "field:daily.age",
        "field:daily.postcode",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": "1", "rules": [{"id": "x", "message": "m", "on": "table", "require": {}}]}, "on"),
        (
            {
                "version": "1",
                "rules": [{"id": "x", "message": "m", "on": "field", "require": {"name": {"pattern": "("}}}],
            },
            "rules.yaml",
        ),
        ({"rules": []}, "version"),
    ],
)
def test_bad_mesh_rules_are_clear_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_rules(data)


def test_a_crashing_rule_blocks(spec: DataProductSpec) -> None:
    def broken(_spec: object, _policies: object) -> list[tuple[str, str]]:
        raise KeyError("boom")

    report = evaluate(spec, RuleSet("x", "1", (Rule("x.broken", "warning", "", broken),)))
    assert not report.passed and "boom" in report.blocking[0].message
    with pytest.raises(PolicyError, match="defined twice"):
        _ = CORE + CORE


def test_a_mesh_folder_parses_into_policies_and_rules(spec: DataProductSpec) -> None:
    import yaml

    from hexmesh.governance import PolicyDecider, parse_folder
    from tests.governance.conftest import STRANGER

    folder = parse_folder(
        {
            "README.md": "# ignored",
            "deny-eve.cedar": '@id("mesh:no-eve") forbid(principal == User::"eve", action, resource);',
            "policies.yaml": yaml.safe_dump({"privacy": [{"classification": "personal", "redact": True}]}),
            "rules.yaml": yaml.safe_dump(MESH_RULES),
        }
    )
    assert folder.rules.label == "hexmesh-core@1.0.0+acme@3"
    decider = PolicyDecider(make_spec(access=[{"allow": {"user": "eve"}}]), mesh=folder.policies)
    assert decider.decide(STRANGER, "read", "daily").policy_ids == ("mesh:no-eve",)
    bare = make_spec(access=[], privacy=[{"field": "email", "redact": True}])
    assert evaluate(bare, CORE).blocking
    assert not evaluate(bare, CORE, mesh=folder.policies.rules).blocking


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.cedar": "permit("}, "governance/x.cedar"),
        ({"policies.yaml": "access: [{allow: {}}]"}, "policies.yaml"),
        ({"rules.yaml": "- a"}, "governance/rules.yaml:1:1: a rule set must be a YAML mapping"),
        ({"rules.yaml": "a: ["}, "not valid YAML"),
    ],
)
def test_bad_mesh_folders_name_the_file(files: dict[str, str], message: str) -> None:
    from hexmesh.governance import parse_folder

    with pytest.raises(PolicyError, match=message):
        parse_folder(files)


def test_the_example_mesh_policies_validate() -> None:
    from pathlib import Path

    import yaml

    from hexmesh.governance import ProductPolicies

    root = Path(__file__).parents[2] / "examples"
    specs = sorted(root.rglob("dataproduct.yaml"))
    assert specs
    for path in specs:
        ProductPolicies.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")).get("policies", {}))


RULES_TEXT = """\
name: acme
version: "3"
rules:
  - id: acme.owner-email
    message: owners are e-mail addresses
    {on}: product
    require: {{owner: {{pattern: ".+@.+"}}}}
"""


@pytest.mark.parametrize("key", ["on", '"on"', "'on'"])
def test_a_bare_on_key_reads_like_a_quoted_one(spec: DataProductSpec, key: str) -> None:
    rules = parse_rules_text(RULES_TEXT.format(on=key))
    assert rules.label == "acme@3" and rules.digest == parse_rules_text(RULES_TEXT.format(on='"on"')).digest
    assert [f.rule for f in evaluate(spec, CORE + rules).blocking] == ["acme.owner-email"]


def test_on_given_bare_and_quoted_is_a_clear_error() -> None:
    text = RULES_TEXT.format(on="on") + '    "on": field\n'
    with pytest.raises(RuleSetError, match=r"rules.yaml:4:5: rule 1 gives `on` twice"):
        parse_rules_text(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RULES_TEXT.format(on="on").replace("product", "table"), r"rules.yaml:6:5: rules.0.on: Input should be"),
        (RULES_TEXT.format(on="on").replace('"3"', "3"), r"rules.yaml:2:1: version: Input should be a valid string"),
        (RULES_TEXT.format(on="on").replace('".+@.+"', '"("'), r"rules.yaml:7:\d+: rule 'acme.owner-email': pattern"),
        (RULES_TEXT.format(on="on").replace("  - id:", "  - id: [", 1), r"rules.yaml:\d+:\d+: not valid YAML"),
        ("- just\n- a list\n", r"rules.yaml:1:1: a rule set must be a YAML mapping"),
    ],
)
def test_rule_set_text_errors_name_line_and_column(text: str, message: str) -> None:
    with pytest.raises(RuleSetError, match=message) as caught:
        parse_rules_text(text)
    assert caught.value.http_status == 400


def test_the_digest_tells_rule_sets_with_one_label_apart() -> None:
    strict = parse_rules_text(RULES_TEXT.format(on="on"))
    loose = parse_rules_text(RULES_TEXT.format(on="on").replace('".+@.+"', '".+"'))
    assert strict.label == loose.label and strict.digest != loose.digest
    assert (CORE + strict).digest != (CORE + loose).digest and CORE.digest.startswith("sha256:")
