"""SCRAM-SHA-256, cleartext passwords, TLS and the pluggable Authenticator."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import struct
from collections.abc import Callable
from pathlib import Path

import asyncpg
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hexmesh.pgwire import AuthenticationError, AuthMethod, Limits, PasswordAuthenticator, ScramVerifier

from .conftest import ServerThread


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server SSLContext with a throwaway self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def test_scram_success_psycopg_and_asyncpg(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(authenticator=PasswordAuthenticator({"alice": "s3cret pass"}))
    with psycopg.connect(server.dsn("alice", "s3cret pass"), autocommit=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.info.parameter_status("session_authorization") == "alice"

    async def main() -> int:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="alice", password="s3cret pass", ssl=False
        )
        try:
            return int(await conn.fetchval("select 2"))
        finally:
            await conn.close()

    assert asyncio.run(main()) == 2


def test_scram_wrong_password_is_28p01(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(authenticator=PasswordAuthenticator({"alice": "right"}))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn("alice", "wrong"))

    async def main() -> None:
        await asyncpg.connect(host="127.0.0.1", port=server.port, user="mallory", password="x", ssl=False)

    with pytest.raises(asyncpg.InvalidPasswordError) as info:
        asyncio.run(main())
    assert info.value.sqlstate == "28P01"
    with psycopg.connect(server.dsn("alice", "right")) as conn:
        assert conn.execute("select 3").fetchone() == (3,)


class TokenAuth:
    """An Authenticator taking API tokens as cleartext passwords, as the SQL port will."""

    def method(self, user: str, database: str) -> AuthMethod:
        return "password"

    def check_password(self, user: str, password: str) -> object:
        if password != "token-123":
            raise AuthenticationError("bad token")
        return {"user": user, "scopes": ["read"]}

    def scram_verifier(self, user: str) -> ScramVerifier | None:
        return None

    def principal(self, user: str) -> object:
        raise AuthenticationError("tokens only")


def test_cleartext_requires_tls(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(authenticator=TokenAuth())
    with pytest.raises(psycopg.OperationalError, match="requires an SSL connection"):
        psycopg.connect(server.dsn("bob", "token-123"))


def test_cleartext_allowed_by_flag(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(authenticator=TokenAuth(), allow_cleartext_without_tls=True)
    with psycopg.connect(server.dsn("bob", "token-123"), autocommit=True) as conn:
        assert conn.execute("select 4").fetchone() == (4,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn("bob", "nope"))


def test_tls_with_cleartext_token(make_server: Callable[..., ServerThread], tls_context: ssl.SSLContext) -> None:
    server = make_server(authenticator=TokenAuth(), ssl_context=tls_context)
    with psycopg.connect(server.dsn("bob", "token-123", sslmode="require"), autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("select id from items order by id limit 2").fetchall() == [(0,), (1,)]


def test_tls_with_scram(make_server: Callable[..., ServerThread], tls_context: ssl.SSLContext) -> None:
    server = make_server(authenticator=PasswordAuthenticator({"alice": "pw"}), ssl_context=tls_context)
    with psycopg.connect(server.dsn("alice", "pw", sslmode="require"), autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("select 5").fetchone() == (5,)


def test_tls_connections_after_refused_ones_all_shake_hands(
    make_server: Callable[..., ServerThread], tls_context: ssl.SSLContext
) -> None:
    # A turn of the event loop between the 'S' and the upgrade let the plain stream swallow the
    # ClientHello of the connection after a refused one: its handshake hung until the startup timeout
    # (a write timeout made every flush such a turn).
    server = make_server(
        authenticator=PasswordAuthenticator({"alice": "pw"}),
        ssl_context=tls_context,
        limits=Limits(client_write_timeout=60.0, startup_timeout=4.0),
    )
    for _ in range(8):
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.dsn("alice", "wrong", sslmode="require"), connect_timeout=5)
        with psycopg.connect(server.dsn("alice", "pw", sslmode="require"), connect_timeout=5) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("select 1").fetchone() == (1,)


def test_unencrypted_bytes_after_the_ssl_request_are_refused(
    make_server: Callable[..., ServerThread], tls_context: ssl.SSLContext
) -> None:
    # Bytes sent before the client could have seen the 'S' would be taken as if they came over TLS
    # (PostgreSQL's CVE-2021-23214): the server says so and closes.
    server = make_server(authenticator=PasswordAuthenticator({"alice": "pw"}), ssl_context=tls_context)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103) + b"Q\x00\x00\x00\x0dselect 1\x00")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer[:1] == b"S"
    assert answer[1:2] == b"E"
    assert b"08P01" in answer and b"received unencrypted data after SSL request" in answer


def test_ssl_request_without_tls_gets_n(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(sslmode="prefer"), autocommit=True) as conn:
        assert not conn.pgconn.ssl_in_use
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(duck.dsn(sslmode="require"))
