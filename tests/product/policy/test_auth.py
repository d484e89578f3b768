"""Logging in to the SQL port with API tokens: only a valid token gets in, and the refusal says why."""

from __future__ import annotations

import logging
import time

import psycopg
import pytest

from hexmesh.governance import Principal
from hexmesh.product.policy import tokens
from tests.product.policy.conftest import Governed


def test_a_valid_token_logs_in_as_its_principal(governed: Governed) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["analyst"])) as con:
        assert con.execute("select count(*) from sales.orders__orders").fetchone() == (12,)
        assert con.info.pgconn.ssl_in_use


@pytest.mark.parametrize("password", ["hxm_0000000000000000_wrong", "not-a-token"])
def test_a_wrong_token_is_refused(governed: Governed, password: str) -> None:
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(governed.dsn(password), connect_timeout=10)
    text = str(caught.value)
    assert "password authentication failed" in text
    assert "expired" not in text and "revoked" not in text


def test_a_wrong_secret_for_a_real_id_says_nothing_more(governed: Governed) -> None:
    real = governed.tokens["analyst"]
    forged = real[: real.rindex("_") + 1] + "x" * 43
    with pytest.raises(psycopg.OperationalError, match="the token is not valid"):
        psycopg.connect(governed.dsn(forged))


def test_a_revoked_token_is_refused_with_the_reason(governed: Governed) -> None:
    token = governed.token(Principal("temp", groups=frozenset({"analysts"})))
    psycopg.connect(governed.dsn(token)).close()
    tokens.revoke_token(governed.sidecar.db, token.split("_")[1])
    with pytest.raises(psycopg.OperationalError, match="was revoked"):
        psycopg.connect(governed.dsn(token))


def test_an_expired_token_is_refused_with_the_reason(governed: Governed) -> None:
    token = governed.token(Principal("brief", groups=frozenset({"analysts"})), ttl_us=1)
    with pytest.raises(psycopg.OperationalError, match="expired"):
        psycopg.connect(governed.dsn(token))


def test_cleartext_tokens_need_tls(governed: Governed) -> None:
    dsn = governed.dsn(governed.tokens["analyst"]).replace("sslmode=require", "sslmode=disable")
    with pytest.raises(psycopg.OperationalError, match="requires an SSL connection"):
        psycopg.connect(dsn)


def test_a_tls_connection_closes_without_an_error(governed: Governed, caplog: pytest.LogCaptureFixture) -> None:
    # Once the client has gone, the TLS transport has no protocol left to ask for its write buffer.
    with caplog.at_level(logging.ERROR):
        for _ in range(5):
            with psycopg.connect(governed.dsn(governed.tokens["analyst"]), autocommit=True) as con:
                assert con.execute("select 1").fetchone() == (1,)
        deadline = time.monotonic() + 10
        while governed.server.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # the handler closes the socket after giving its slot back
    assert governed.server.connections == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
