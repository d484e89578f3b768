"""A node authenticates to a private NATS server: token, user and password, an NKey seed, TLS.

Each case runs a real nats-server configured to demand that credential; the node's log works with
it and is refused, with a message naming the settings, without it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nkeys
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hexmesh.errors import WorkspaceError
from hexmesh.infra.events import Event, NatsAuth
from hexmesh.infra.events.credentials import redacted
from hexmesh.infra.events.nats import JetStreamLog
from tests import children
from tests.server.nodes import free_port

pytestmark = pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server")


@contextmanager
def nats_with(root: Path, config: str, *, scheme: str = "nats") -> Iterator[str]:
    """A JetStream nats-server of our own whose config adds ``config`` (authorization, tls)."""
    port = free_port()
    store = root / f"store-{port}"
    conf = root / f"nats-{port}.conf"
    conf.write_text(f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{store}" }}\n{config}\n')
    argv = [str(shutil.which("nats-server")), "-c", str(conf)]
    with children.serving(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        yield f"{scheme}://127.0.0.1:{port}"


def roundtrip(url: str, auth: NatsAuth | None) -> list[str]:
    async def go() -> list[str]:
        log = JetStreamLog(url, auth=auth)
        try:
            await log.append("port:sales/shop/orders", [Event("1-0", {"data": {"order_id": 1}})])
            return [e.text for e in await log.read("port:sales/shop/orders", 0, 10)]
        finally:
            await log.close()

    return asyncio.run(go())


def refused(url: str, auth: NatsAuth | None) -> str:
    with pytest.raises(WorkspaceError) as caught:
        roundtrip(url, auth)
    return str(caught.value)


def test_a_token(tmp_path: Path) -> None:
    with nats_with(tmp_path, 'authorization { token: "t0ken-of-the-nodes" }') as url:
        assert roundtrip(url, NatsAuth(token="t0ken-of-the-nodes")) == ['{"data":{"order_id":1}}']
        message = refused(url, None)
        assert "refused this node's credentials" in message and "events_nats_" in message
        assert "refused" in refused(url, NatsAuth(token="a-guess"))


def test_a_user_and_password_and_no_password_in_messages(tmp_path: Path) -> None:
    config = 'authorization { users: [ { user: "node", password: "pa55word-of-the-nodes" } ] }'
    with nats_with(tmp_path, config) as url:
        assert roundtrip(url, NatsAuth(user="node", password="pa55word-of-the-nodes"))
        assert "refused" in refused(url, NatsAuth(user="node", password="wrong"))
        host = url.removeprefix("nats://")
        in_url = f"nats://node:pa55word-of-the-nodes@{host}"
        assert roundtrip(in_url, None)  # credentials in the URL work too
        wrong = refused(f"nats://node:wr0ng-pa55@{host}", None)
        assert "wr0ng-pa55" not in wrong and "node:***@" in wrong
    assert redacted("nats://a:b@h:1") == "nats://a:***@h:1" and redacted("nats://h:1") == "nats://h:1"


def test_an_nkey_seed(tmp_path: Path) -> None:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(seed).public_key.decode()
    (tmp_path / "node.nk").write_bytes(seed)
    with nats_with(tmp_path, f'authorization {{ users: [ {{ nkey: "{public}" }} ] }}') as url:
        assert roundtrip(url, NatsAuth(nkey_seed=str(tmp_path / "node.nk")))
        assert "refused" in refused(url, None)
    missing = refused("nats://127.0.0.1:1", NatsAuth(nkey_seed=str(tmp_path / "nope.nk")))
    assert "events_nats_nkey names" in missing and "not a file" in missing


def _certificate(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "key.pem").write_bytes(pem)


def test_tls_with_the_servers_ca_and_a_token(tmp_path: Path) -> None:
    _certificate(tmp_path)
    config = (
        f'tls {{ cert_file: "{tmp_path / "cert.pem"}", key_file: "{tmp_path / "key.pem"}" }}\n'
        'authorization { token: "t0ken" }'
    )
    with nats_with(tmp_path, config, scheme="tls") as url:
        assert roundtrip(url, NatsAuth(token="t0ken", tls_ca=str(tmp_path / "cert.pem")))
        untrusted = refused(url, NatsAuth(token="t0ken"))  # the system's CAs do not know this server
        assert "cannot reach NATS" in untrusted or "refused" in untrusted
