"""A governed SQL port over a real workspace: a product with policies, TLS, and API tokens."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hexmesh.governance import Principal
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.pgwire import PgServer
from hexmesh.product.policy import PolicySidecar, SqlPolicy, tokens
from hexmesh.product.sql import start_sql_port
from hexmesh.product.sql.auth import TokenAuthenticator
from tests.product.sql.conftest import Loop, write_product

SECRET = b"policy-tests-mesh-secret-0123456789"

SPEC = """
domain: sales
name: orders
version: 1.0.0
owner: sales@example.com
description: Orders, with a confidential margin.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
transformation:
  sql: transform.sql
outputPorts:
  - name: orders
    eventTime: ordered_at
    primaryKey: [order_id]
    slo: {freshness: 1d}
    properties:
      - {name: order_id, logicalType: integer, required: true, classification: internal}
      - {name: customer, logicalType: string, classification: personal}
      - {name: region, logicalType: string, classification: internal}
      - {name: ordered_at, logicalType: timestamp, required: true, classification: internal}
      - {name: amount, logicalType: number, classification: internal}
      - {name: margin, logicalType: number, classification: confidential}
policies:
  access:
    - {id: analysts, allow: {group: analysts}, columns: {exclude: [margin]}}
    - {id: regional, allow: {group: regional}, columns: {exclude: [margin]}, rows: {region: principal.region}}
    - {id: stats, allow: {group: stats}, actions: [readAggregate]}
    - {id: synth, allow: {group: synth}, actions: [readSynthetic]}
  privacy:
    - {field: customer, pseudonymize: {scope: product}}
    - {field: amount, for: {group: analysts}, generalize: {bands: 10}}
"""
SQL = "select order_id, customer, region, cast(ordered_at as timestamp) as ordered_at, amount, margin from raw\n"

#: Margins are unmistakable numbers: none of them may ever reach a principal without the column.
MARGINS = [4242.4242 + n for n in range(12)]
#: US rows carry amounts no EU row has: a regional (EU) principal must never learn of them.
US_AMOUNT = 777.25


def rows_csv() -> str:
    lines = ["order_id,customer,region,ordered_at,amount,margin"]
    for n in range(12):
        region = "US" if n % 3 == 0 else "EU"
        amount = US_AMOUNT if region == "US" else 10.0 + n
        lines.append(f"{n + 1},cust{n % 5},{region},2026-01-0{1 + n % 3} 10:00:00,{amount},{MARGINS[n]}")
    return "\n".join(lines) + "\n"


@dataclass
class Governed:
    """The running governed port, its sidecar, and tokens for each kind of principal."""

    server: PgServer
    workspace: Workspace
    sidecar: PolicySidecar
    tokens: dict[str, str]

    def dsn(self, token: str, user: str = "someone") -> str:
        return f"host=127.0.0.1 port={self.server.port} user={user} dbname=mesh sslmode=require password={token}"

    def token(self, principal: Principal, *, ttl_us: int | None = None) -> str:
        text, _ = tokens.create_token(self.sidecar.db, principal, ttl_us=ttl_us)
        return text


def _tls(folder: Path) -> ssl.SSLContext:
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
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "key.pem").write_bytes(pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


PRINCIPALS = {
    "owner": Principal("sales@example.com"),
    "analyst": Principal("ann", groups=frozenset({"analysts"})),
    "regional": Principal("eve", groups=frozenset({"regional"}), attributes={"region": "EU"}),
    "stats": Principal("sam", groups=frozenset({"stats"})),
    "synth": Principal("syd", groups=frozenset({"synth"})),
    "stranger": Principal("mallory"),
}


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def governed(tmp_path_factory: pytest.TempPathFactory, loop: Loop) -> Iterator[Governed]:
    root = tmp_path_factory.mktemp("policy")
    folder = write_product(root / "orders", SPEC, SQL, rows_csv())
    workspace = Workspace(Settings.defaults(root / "ws"))
    workspace.deploy([folder])
    workspace.run("sales/orders")
    sidecar = PolicySidecar(workspace.runtime, secret=SECRET)
    server = loop.run(
        start_sql_port(
            workspace,
            "127.0.0.1",
            0,
            TokenAuthenticator(sidecar),
            policy=SqlPolicy(sidecar),
            ssl_context=_tls(root),
        )
    )
    made = {role: tokens.create_token(sidecar.db, p)[0] for role, p in PRINCIPALS.items()}
    yield Governed(server, workspace, sidecar, made)
    loop.run(server.close())
    workspace.close()
