"""SCRAM-SHA-256 (RFC 5802 / RFC 7677) server side, as PostgreSQL speaks it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["ScramError", "ScramExchange", "ScramVerifier"]

MECHANISM = "SCRAM-SHA-256"
DEFAULT_ITERATIONS = 4096


class ScramError(Exception):
    """The client's SCRAM messages are malformed or its proof is wrong."""


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class ScramVerifier:
    """What the server stores instead of a password: salt, iterations, StoredKey, ServerKey."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def from_password(
        cls, password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
    ) -> ScramVerifier:
        """Derive a verifier from a cleartext password (SASLprep is not applied)."""
        salt = salt if salt is not None else secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        return cls(salt, iterations, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key"))

    def matches(self, password: str) -> bool:
        """Whether a cleartext password corresponds to this verifier."""
        other = ScramVerifier.from_password(password, iterations=self.iterations, salt=self.salt)
        return hmac.compare_digest(other.stored_key, self.stored_key)

    def to_string(self) -> str:
        """PostgreSQL's pg_authid format: SCRAM-SHA-256$iter:salt$StoredKey:ServerKey."""
        return f"{MECHANISM}${self.iterations}:{_b64(self.salt)}${_b64(self.stored_key)}:{_b64(self.server_key)}"

    @classmethod
    def parse(cls, text: str) -> ScramVerifier:
        """Parse the pg_authid format produced by to_string()."""
        try:
            mech, iter_salt, keys = text.split("$")
            iterations, salt = iter_salt.split(":")
            stored, server = keys.split(":")
        except ValueError as exc:
            raise ValueError("not a SCRAM-SHA-256 verifier") from exc
        if mech != MECHANISM:
            raise ValueError(f"unsupported mechanism {mech!r}")
        return cls(
            base64.b64decode(salt),
            int(iterations),
            base64.b64decode(stored),
            base64.b64decode(server),
        )


def _attributes(message: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part[:20]!r}")
        attrs[part[0]] = part[2:]
    return attrs


class ScramExchange:
    """One server-side SCRAM-SHA-256 conversation; feed it the client's two messages in order."""

    def __init__(self, verifier: ScramVerifier, *, server_nonce: str | None = None) -> None:
        self._verifier = verifier
        self._server_nonce = server_nonce or _b64(secrets.token_bytes(18))
        self._nonce = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._gs2_header = ""

    def server_first(self, client_first: bytes) -> bytes:
        """Answer client-first-message with server-first-message."""
        text = client_first.decode("utf-8", errors="strict")
        if text.startswith("p="):
            raise ScramError("channel binding is not supported")
        if not (text.startswith("n,") or text.startswith("y,")):
            raise ScramError("malformed SCRAM gs2 header")
        first_comma = text.index(",")
        second_comma = text.index(",", first_comma + 1)
        self._gs2_header = text[: second_comma + 1]
        self._client_first_bare = text[second_comma + 1 :]
        attrs = _attributes(self._client_first_bare)
        client_nonce = attrs.get("r", "")
        if not client_nonce:
            raise ScramError("client nonce missing")
        self._nonce = client_nonce + self._server_nonce
        v = self._verifier
        self._server_first = f"r={self._nonce},s={_b64(v.salt)},i={v.iterations}"
        return self._server_first.encode()

    def server_final(self, client_final: bytes) -> bytes:
        """Check client-final-message's proof and return server-final-message."""
        text = client_final.decode("utf-8", errors="strict")
        without_proof, sep, proof_b64 = text.rpartition(",p=")
        if not sep:
            raise ScramError("client proof missing")
        attrs = _attributes(without_proof)
        if attrs.get("c") != _b64(self._gs2_header.encode()):
            raise ScramError("channel binding data mismatch")
        if attrs.get("r") != self._nonce:
            raise ScramError("nonce mismatch")
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        v = self._verifier
        signature = _hmac(v.stored_key, auth_message)
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError as exc:
            raise ScramError("malformed client proof") from exc
        if len(proof) != len(signature):
            raise ScramError("malformed client proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), v.stored_key):
            raise ScramError("password does not match")
        return f"v={_b64(_hmac(v.server_key, auth_message))}".encode()
