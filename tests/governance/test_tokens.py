"""API tokens: shown once, hashed at rest, expiring, revocable, and silent about which tokens exist."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from hexmesh.errors import NotFoundError
from hexmesh.governance import AuthenticationError, Principal
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.tokens import api_tokens
from hexmesh.product.policy.tokens import authenticate, create_token, list_tokens, revoke_token

ANN = Principal("ann", groups=frozenset({"analytics"}), attributes={"region": "EU"})


def test_token_round_trip_and_hash_at_rest(db: Engine) -> None:
    token, info = create_token(db, ANN, name="laptop")
    assert authenticate(db, token) == ANN
    with db.connect() as conn:
        stored = conn.execute(select(api_tokens)).one()
    secret = token.split("_", 2)[2]
    assert secret not in str(tuple(stored)) and stored.secret_sha256 != secret
    assert [t.id for t in list_tokens(db)] == [info.id]


def test_unknown_and_wrong_tokens_get_the_same_answer(db: Engine) -> None:
    token, _ = create_token(db, ANN)
    wrong_secret = token[:-4] + "AAAA"
    messages = set()
    for candidate in (wrong_secret, "hxm_0000000000000000_x", "garbage", token.replace("hxm_", "")):
        with pytest.raises(AuthenticationError) as caught:
            authenticate(db, candidate)
        messages.add(str(caught.value))
    assert len(messages) == 1 and "not valid" in messages.pop()


def test_expired_and_revoked_tokens_are_refused(db: Engine) -> None:
    token, info = create_token(db, ANN, ttl_us=60_000_000)
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate(db, token, at_us=now_us() + 120_000_000)
    revoked = revoke_token(db, info.id)
    assert revoked.revoked_us is not None and not revoked.active(now_us())
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(db, token)
    with pytest.raises(NotFoundError, match="no token"):
        revoke_token(db, "feedfacefeedface")


def test_bad_token_requests(db: Engine) -> None:
    from hexmesh.governance import ANONYMOUS

    with pytest.raises(ValueError, match="anonymous"):
        create_token(db, ANONYMOUS)
    with pytest.raises(ValueError, match="positive"):
        create_token(db, ANN, ttl_us=0)
