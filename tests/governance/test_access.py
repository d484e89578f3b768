"""Access decisions: default deny, grants by group/purpose/expiry, owners, global Cedar, clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from hexmesh.governance import (
    ANONYMOUS,
    UNRESTRICTED,
    AccessDeniedError,
    MeshPolicies,
    PolicyDecider,
    PolicyError,
    Principal,
    plan_read,
)
from hexmesh.spec.policies import ProductPolicies
from tests.governance.conftest import ANALYST, OWNER, POLICIES, SELLER_EU, STATISTICIAN, STRANGER, STUDENT, make_spec


def test_default_deny_names_no_policy(decider: PolicyDecider) -> None:
    decision = decider.decide(STRANGER, "read", "daily")
    assert not decision.allowed and decision.policy_ids == ()
    assert "default deny" in decision.reasons[0]
    with pytest.raises(AccessDeniedError, match="default deny"):
        decision.require()


def test_group_rule_is_bound_to_its_purpose(decider: PolicyDecider) -> None:
    assert decider.decide(ANALYST, "read", "daily", purpose="reporting").policy_ids == ("product:analysts",)
    assert not decider.decide(ANALYST, "read", "daily", purpose="marketing").allowed
    assert not decider.decide(ANALYST, "read", "daily").allowed
    assert not decider.decide(ANALYST, "read", "totals", purpose="reporting").allowed


def test_owner_may_do_everything_and_anyone_may_discover(decider: PolicyDecider) -> None:
    for action in ("read", "control", "discover"):
        assert decider.decide(OWNER, action, "totals").allowed
    assert decider.decide(ANONYMOUS, "discover").allowed
    assert not decider.decide(ANONYMOUS, "read", "totals").allowed
    assert not decider.decide(ANONYMOUS, "requestAccess", "daily").allowed
    assert decider.decide(STRANGER, "requestAccess", "daily").allowed


def test_read_implies_weaker_actions_but_not_control(decider: PolicyDecider) -> None:
    assert decider.decide(SELLER_EU, "readAggregate", "daily").allowed
    assert not decider.decide(SELLER_EU, "control", "daily").allowed
    assert not decider.decide(STATISTICIAN, "read", "daily").allowed
    assert decider.decide(STATISTICIAN, "readAggregate", "daily").allowed


def test_expired_rule_denies() -> None:
    rules = {"access": [{"id": "old", "allow": {"user": "eve"}, "expires": "2020-01-01"}]}
    decider = PolicyDecider(make_spec(**rules))
    assert not decider.decide(STRANGER, "read", "daily").allowed
    before = dt.datetime(2019, 6, 1, tzinfo=dt.UTC).timestamp()
    assert decider.decide(STRANGER, "read", "daily", now=before).allowed


def test_global_forbid_wins_and_is_named() -> None:
    mesh = MeshPolicies(
        cedar={
            "no-restricted.cedar": """
        @id("mesh:no-restricted-columns")
        forbid(principal, action, resource is Column)
        when { resource.classification == "restricted" } unless { principal in Group::"podcasts-team" };
    """
        }
    )
    decider = PolicyDecider(make_spec(access=[{"id": "all", "allow": {"user": "eve"}}]), mesh=mesh)
    columns = decider.decide_columns(STRANGER, "daily", ["email", "age"])
    assert not columns["email"].allowed and columns["email"].policy_ids == ("mesh:no-restricted-columns",)
    assert columns["age"].allowed
    plan = plan_read(decider, STRANGER, "daily")
    assert "email" in plan.hidden and "email" not in plan.columns
    assert plan_read(decider, OWNER, "daily").columns["email"].kind == "keep"


def test_mesh_rules_apply_to_every_product() -> None:
    mesh = MeshPolicies(
        rules=ProductPolicies.model_validate(
            {"access": [{"id": "auditors", "allow": {"group": "audit"}, "actions": ["readAggregate"]}]}
        )
    )
    decider = PolicyDecider(make_spec(), mesh=mesh)
    from hexmesh.governance import Principal

    auditor = Principal("al", groups=frozenset({"audit"}))
    assert decider.decide(auditor, "readAggregate", "daily").policy_ids == ("mesh:auditors",)


def test_column_include_and_synthetic_variant(decider: PolicyDecider) -> None:
    plan = plan_read(decider, STUDENT, "daily")
    assert plan.variant == "synthetic"
    assert list(plan.columns) == ["age", "region", "minutes"]


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ({"access": [{"cedar": "permit(principal, action"}]}, "do not parse"),
        ({"access": [{"allow": {"user": "a"}, "ports": ["nope"]}]}, "unknown port"),
        (
            {
                "access": [
                    {"cedar": '@id("x") permit(principal, action, resource);'},
                    {"cedar": '@id("x") permit(principal, action, resource);'},
                ]
            },
            "already used",
        ),
    ],
)
def test_bad_policies_are_clear_errors(policies: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        PolicyDecider(make_spec(**policies))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"allow": {"user": "a", "group": "b"}}, "exactly one of user"),
        ({"allow": {"user": "a"}, "cedar": "x"}, "exactly one of 'allow'"),
        ({"allow": {"user": "a"}, "columns": {"include": ["a"], "exclude": ["b"]}}, "not both"),
        ({"allow": {"user": "a"}, "actions": ["delete"]}, "actions"),
    ],
)
def test_bad_rules_fail_validation(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProductPolicies.model_validate({"access": [rule]})


def test_the_example_privacy_shorthands_validate() -> None:
    parsed = ProductPolicies.model_validate(POLICIES)
    kinds = [r.kind for r in parsed.privacy]
    assert kinds == ["generalize", "pseudonymize", "generalize", "generalize", "tokenize"]
    with pytest.raises(ValueError, match="mask 'blur'"):
        ProductPolicies.model_validate({"privacy": [{"field": "a", "mask": "blur"}]})


def test_quotes_in_names_cannot_inject_cedar() -> None:
    sneaky = '" || true || "'
    decider = PolicyDecider(make_spec(access=[{"allow": {"group": sneaky}}]))
    assert not decider.decide(STRANGER, "read", "daily").allowed
    with pytest.raises(PolicyError, match="control character"):
        PolicyDecider(make_spec(access=[{"allow": {"group": "a\nb"}}]))


def test_policies_survive_a_dump_and_reload() -> None:
    parsed = ProductPolicies.model_validate(POLICIES)
    assert ProductPolicies.model_validate(parsed.model_dump(by_alias=True)) == parsed
    assert ProductPolicies.model_validate(parsed.model_dump(by_alias=True, exclude_defaults=True)) == parsed


def test_decisions_name_their_resource_plainly(decider: PolicyDecider) -> None:
    assert decider.decide(ANALYST, "read", "daily").address == "podcasts/listens/daily"
    assert decider.decide(ANONYMOUS, "discover").address == "podcasts/listens"


def test_mesh_rules_naming_ports_skip_products_without_them() -> None:
    from hexmesh.governance import Principal

    rules = ProductPolicies.model_validate(
        {
            "access": [
                {"id": "ops", "allow": {"group": "ops"}, "ports": ["daily", "elsewhere"]},
                {"id": "far", "allow": {"group": "ops"}, "ports": ["elsewhere"]},
            ]
        }
    )
    decider = PolicyDecider(make_spec(), mesh=MeshPolicies(rules=rules))
    ops = Principal("o", groups=frozenset({"ops"}))
    assert decider.decide(ops, "read", "daily").policy_ids == ("mesh:ops",)
    assert not decider.decide(ops, "read", "totals").allowed


def test_plans_are_cached_per_second_and_cannot_be_changed() -> None:
    rules = {"access": [{"id": "short", "allow": {"user": "eve"}, "expires": "2026-01-01T00:00:10Z"}]}
    decider = PolicyDecider(make_spec(**rules))
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    first = plan_read(decider, STRANGER, "daily", now=start + 9.2)
    assert plan_read(decider, STRANGER, "daily", now=start + 9.9) is first and first.decision.allowed
    assert not plan_read(decider, STRANGER, "daily", now=start + 10.0).decision.allowed
    with pytest.raises(TypeError):
        first.columns["email"] = first.columns["age"]  # type: ignore[index]


def test_the_unrestricted_principal_is_permitted_everything_by_a_policy_not_a_skipped_check(
    decider: PolicyDecider,
) -> None:
    # A node without --auth decides for UNRESTRICTED through the same decider: the built-in policy
    # permits it, and its plan keeps every column in clear, every row, no mask (privacy rules included).
    for action in ("read", "control", "discover", "requestAccess"):
        decision = decider.decide(UNRESTRICTED, action, "daily")
        assert decision.allowed and "builtin:unrestricted" in decision.policy_ids
    plan = plan_read(decider, UNRESTRICTED, "daily")
    assert plan.privileged and plan.variant == "rows" and plan.row_filter is None and not plan.hidden
    assert {action.kind for action in plan.columns.values()} == {"keep"}
    assert not UNRESTRICTED.authenticated  # it proved nothing: it may not ask for access or sign requests


def test_no_token_or_record_may_stand_for_the_unrestricted_principal() -> None:
    with pytest.raises(ValueError, match="never a stored principal"):
        Principal.from_json({"id": "no-auth", "kind": "Unrestricted"})
    with pytest.raises(ValueError, match="one unrestricted principal"):
        Principal("mallory", kind="Unrestricted")
    assert Principal.from_json(UNRESTRICTED.to_json() | {"kind": "User"}) != UNRESTRICTED
