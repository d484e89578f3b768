"""Access requests end to end on the state store, and the hash-chained audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from hexmesh.governance import AccessDeniedError, PolicyDecider, PolicyError, plan_read
from hexmesh.infra.state import audit
from hexmesh.infra.state.records import now_us
from hexmesh.product.policy.requests import decide_request, grants, list_requests, submit_request
from hexmesh.spec.model import DataProductSpec
from tests.governance.conftest import OWNER, STRANGER


def _request(db: Engine, spec: DataProductSpec, purpose: str = "churn study") -> str:
    decider = PolicyDecider(spec)
    ask = decider.decide(STRANGER, "requestAccess", "daily")
    return submit_request(db, STRANGER, spec.key, "daily", purpose, "for Q3", ask).id


def test_request_approve_grant_is_purpose_bound_and_audited(db: Engine, spec: DataProductSpec) -> None:
    request_id = _request(db, spec)
    control = PolicyDecider(spec).decide(OWNER, "control", "daily")
    approved = decide_request(db, request_id, OWNER, control, verdict="approve", note="ok for Q3")
    assert approved.status == "approved" and approved.expires_us is not None
    decider = PolicyDecider(spec, grants=grants(db, spec.key))
    decision = decider.decide(STRANGER, "read", "daily", purpose="churn study")
    assert decision.allowed and decision.policy_ids == (f"grant:{request_id}",)
    assert not decider.decide(STRANGER, "read", "daily", purpose="marketing").allowed
    assert not decider.decide(STRANGER, "read", "totals", purpose="churn study").allowed
    later = (approved.expires_us + 1) / 1_000_000
    assert not decider.decide(STRANGER, "read", "daily", purpose="churn study", now=later).allowed
    steps = [(e.action, e.decision, e.actor) for e in audit.query(db, under=f"dp://{spec.key}")]
    assert steps == [("access.request", "pending", "User:eve"), ("access.approve", "approved", "User:podcasts-team")]
    revoked = decide_request(db, request_id, OWNER, control, verdict="revoke", note="project over")
    assert revoked.status == "revoked" and grants(db, spec.key) == []


def test_only_owners_decide_and_not_their_own(db: Engine, spec: DataProductSpec) -> None:
    request_id = _request(db, spec)
    decider = PolicyDecider(spec)
    with pytest.raises(AccessDeniedError, match="only its owners"):
        decide_request(
            db, request_id, STRANGER, decider.decide(STRANGER, "control", "daily"), verdict="approve", note=""
        )
    with pytest.raises(PolicyError, match="say why"):
        decide_request(db, request_id, OWNER, decider.decide(OWNER, "control", "daily"), verdict="deny", note=" ")
    denied = decide_request(
        db, request_id, OWNER, decider.decide(OWNER, "control", "daily"), verdict="deny", note="no purpose fit"
    )
    assert denied.status == "denied" and list_requests(db, status="denied")[0].id == request_id
    with pytest.raises(PolicyError, match="already denied"):
        decide_request(db, request_id, OWNER, decider.decide(OWNER, "control", "daily"), verdict="approve", note="")


def test_requests_need_a_purpose(db: Engine, spec: DataProductSpec) -> None:
    with pytest.raises(PolicyError, match="needs a purpose"):
        _request(db, spec, purpose="  ")


def test_audit_is_a_tamper_evident_chain(db: Engine, decider: PolicyDecider) -> None:
    for purpose in ("reporting", "marketing"):
        plan = plan_read(decider, STRANGER, "daily", purpose=purpose)
        audit.append(
            db,
            audit.AuditEntry(
                plan.decision.principal,
                "read",
                plan.decision.resource,
                "allow" if plan.decision.allowed else "deny",
                purpose,
                plan.policy_ids,
            ),
        )
    assert audit.verify(db) is None
    table = audit.to_arrow(audit.query(db))
    assert table.num_rows == 2 and table.column("decision").to_pylist() == ["deny", "deny"]
    with db.begin() as conn:
        conn.execute(text("update audit_log set decision = 'allow' where seq = 1"))
    assert audit.verify(db) == 1
    assert not hasattr(audit, "delete") and not hasattr(audit, "update")


def test_audit_query_filters(db: Engine) -> None:
    start = now_us()
    for actor in ("a", "b", "a"):
        audit.append(db, audit.AuditEntry(actor, "control.forget", "podcasts/listens", "forgotten"))
    assert len(audit.query(db, actor="a", since_us=start)) == 2
    assert audit.query(db, resource_prefix="podcasts/%") == []


def test_concurrent_appends_keep_one_chain(db: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> None:
        for i in range(10):
            audit.append(db, audit.AuditEntry(f"w{worker}", "read", f"p/{i}", "allow"))

    audit.append(db, audit.AuditEntry("setup", "control.rules", "p", "accepted"))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    entries = audit.query(db)
    assert len(entries) == 41 and audit.verify(db) is None
