"""How a node proves itself to NATS: user and password, a token, an NKey seed, a credentials file, TLS.

NATS carries every published row *as stored* (sealed fields sealed, nothing masked: each node
masks per subscriber at its SSE/WebSocket edge), so it must be private to the nodes: give the
server authentication and TLS, and these settings to the nodes only.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import Settings

__all__ = ["NatsAuth", "redacted"]


@dataclass(frozen=True)
class NatsAuth:
    """Credentials for ``nats.connect`` (each optional; the server decides which it wants)."""

    user: str = ""
    password: str = ""
    token: str = ""
    nkey_seed: str = ""
    """Path of a file holding an NKey seed."""
    creds: str = ""
    """Path of a ``.creds`` file (user JWT + NKey seed)."""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> NatsAuth:
        return cls(
            settings.events_nats_user,
            settings.events_nats_password,
            settings.events_nats_token,
            settings.events_nats_nkey,
            settings.events_nats_creds,
            settings.events_nats_tls_ca,
            settings.events_nats_tls_cert,
            settings.events_nats_tls_key,
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``nats.connect``; a missing file is an error naming its setting."""
        found: dict[str, Any] = {}
        if self.user or self.password:
            found |= {"user": self.user, "password": self.password}
        if self.token:
            found["token"] = self.token
        if self.nkey_seed:
            found["nkeys_seed"] = str(_file(self.nkey_seed, "events_nats_nkey"))
        if self.creds:
            found["user_credentials"] = str(_file(self.creds, "events_nats_creds"))
        if self.tls_ca or self.tls_cert:
            found["tls"] = self.tls_context()
        return found

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(_file(self.tls_ca, "events_nats_tls_ca")) if self.tls_ca else None
        )
        if self.tls_cert or self.tls_key:
            if not (self.tls_cert and self.tls_key):
                raise WorkspaceError("events_nats_tls_cert and events_nats_tls_key go together: set both or neither")
            cert, key = _file(self.tls_cert, "events_nats_tls_cert"), _file(self.tls_key, "events_nats_tls_key")
            context.load_cert_chain(cert, key)
        return context


def _file(path: str, setting: str) -> Path:
    found = Path(path).expanduser()
    if not found.is_file():
        raise WorkspaceError(f"{setting} names {path!r}, which is not a file; point it at the file or unset it")
    return found


def redacted(url: str) -> str:
    """``url`` without the password it may carry (``nats://user:***@host:4222``), for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
