"""Aggregate-only principals get DP answers with a budget; synthetic tables; access requests end to end."""

from __future__ import annotations

import psycopg
import pytest

from hexmesh.governance import AccessDeniedError, Principal
from hexmesh.product.policy import decide_access, request_access
from tests.product.policy.conftest import MARGINS, PRINCIPALS, Governed


def test_aggregate_only_principals_get_noisy_aggregates_and_never_rows(governed: Governed) -> None:
    governed.sidecar.ledger.set_limit("User:sam", "sales/orders/orders", 1.0)
    with psycopg.connect(governed.dsn(governed.tokens["stats"]), autocommit=True) as con:
        con.execute("set hexmesh.epsilon = 0.2")
        count, total = con.execute(
            "select count(*), dp_sum(margin, 0, 5000) as total from sales.orders__orders"
        ).fetchone() or (None, None)
        assert isinstance(count, int) and isinstance(total, float)
        for sql in (
            "select * from sales.orders__orders",
            "select max(margin) from sales.orders__orders",
            "select count(*) from sales.orders__orders where region = 'US'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="aggregate-only"):
                con.execute(sql).fetchall()
        # 0.4 of 1.0 spent; three more queries of 0.2 need 0.6: the third one fails, releasing nothing.
        con.execute("select dp_mean(margin, 0, 5000) from sales.orders__orders").fetchall()
        con.execute("select dp_quantile(amount, 0.5, 0, 1000) from sales.orders__orders").fetchall()
        con.execute("select count(*) from sales.orders__orders").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="privacy budget .* is spent"):
            con.execute("select count(*) from sales.orders__orders").fetchall()


def test_the_synthetic_table_has_the_shape_but_not_the_rows(governed: Governed) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["synth"]), autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="orders__orders_synthetic"):
            con.execute("select * from sales.orders__orders").fetchall()
        cursor = con.execute("select * from sales.orders__orders_synthetic")
        rows = cursor.fetchall()
        names = [c.name for c in cursor.description or ()]
        again = con.execute("select * from sales.orders__orders_synthetic").fetchall()
    assert len(rows) == 12 and rows == again  # deterministic per snapshot
    assert names == ["order_id", "customer", "region", "ordered_at", "amount", "margin"]
    assert all(str(r[1]).startswith("p_") for r in rows if r[1] is not None)  # privacy rules still apply
    assert {r[2] for r in rows} <= {"EU", "US"}


def test_an_approved_request_opens_access_until_revoked_or_expired(governed: Governed) -> None:
    newcomer = Principal("nia", groups=frozenset({"marketing"}))
    token = governed.token(newcomer)
    query = "select order_id, margin from sales.orders__orders"
    with (
        psycopg.connect(governed.dsn(token), autocommit=True) as con,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="hexmesh access request"),
    ):
        con.execute(query).fetchall()
    request = request_access(governed.sidecar, newcomer, "sales/orders", "orders", "campaign", "Q3 campaign")
    with pytest.raises(AccessDeniedError, match="only its owners"):
        decide_access(governed.sidecar, request.id, newcomer, "approve")
    decide_access(governed.sidecar, request.id, PRINCIPALS["owner"], "approve", "ok for Q3")
    with psycopg.connect(governed.dsn(token), autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(query).fetchall()  # the grant is bound to its purpose
        con.execute("set hexmesh.purpose = 'campaign'")
        rows = con.execute(query).fetchall()
        assert [r[1] for r in sorted(rows)] == MARGINS
        decide_access(governed.sidecar, request.id, PRINCIPALS["owner"], "revoke", "campaign over")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(query).fetchall()
    short = request_access(governed.sidecar, newcomer, "sales/orders", "orders", "audit", "")
    decide_access(governed.sidecar, short.id, PRINCIPALS["owner"], "approve", "brief", duration_us=1)
    with psycopg.connect(governed.dsn(token), autocommit=True) as con:
        con.execute("set hexmesh.purpose = 'audit'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(query).fetchall()  # the grant has expired
