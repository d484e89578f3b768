"""The control port's core: who may act (tokens), what is paused, lifecycle, policies, audit.

Tokens are a simple check until the policy issue brings the full model: a governance token may
act on every product, an owner token on the products it names. They come from
``HEXMESH_TOKENS`` (``secret=governance,other=owner:sales/shop``) and ``<home>/tokens.yaml``.
Every action, allowed or refused, is appended to ``<home>/audit.jsonl`` (never rewritten).
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hexmesh.errors import HexmeshError, WorkspaceError
from hexmesh.governance import AccessDeniedError, AuthenticationError
from hexmesh.infra.state import from_us, now_us

__all__ = [
    "TRANSITIONS",
    "AuditLog",
    "ControlState",
    "ForbiddenError",
    "PausedError",
    "Principal",
    "Tokens",
    "TransitionError",
    "UnauthorizedError",
    "audited",
]

#: Allowed lifecycle transitions (ODPS status names).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("draft", "active"),
    "draft": ("active", "retired"),
    "active": ("deprecated",),
    "deprecated": ("active", "retired"),
    "retired": (),
}


class UnauthorizedError(AuthenticationError):
    """No valid token was given for a privileged action (401, like every port's)."""


class ForbiddenError(AccessDeniedError):
    """The token is valid but may not act on this product (403, like every port's)."""


class PausedError(HexmeshError):
    """The product is paused; runs are refused until it is resumed."""

    exit_code = 10
    http_status = 409


class TransitionError(HexmeshError):
    """A lifecycle transition that the lifecycle does not allow."""

    exit_code = 5
    http_status = 409


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    products: tuple[str, ...] = ()

    def may_act_on(self, key: str) -> bool:
        return self.role == "governance" or key in self.products


class Tokens:
    """Tokens from the environment and ``<home>/tokens.yaml``."""

    def __init__(self, entries: dict[str, Principal]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, home: Path) -> Tokens:
        entries: dict[str, Principal] = {}
        file = home / "tokens.yaml"
        if file.is_file():
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise WorkspaceError(f"{file} must map token: {{role, products}}")
            for index, (token, value) in enumerate(data.items()):
                entries[str(token)] = Principal(
                    str(value.get("name", f"token-{index + 1}")),
                    str(value.get("role", "owner")),
                    tuple(value.get("products", [])),
                )
        for index, item in enumerate(filter(None, os.environ.get("HEXMESH_TOKENS", "").split(","))):
            token, _, grant = item.partition("=")
            role, _, products = grant.partition(":")
            entries[token.strip()] = Principal(
                f"env-token-{index + 1}",
                role.strip() or "owner",
                tuple(filter(None, products.split("|"))),
            )
        return cls(entries)

    def authorize(self, token: str | None, key: str) -> Principal:
        if not token:
            raise UnauthorizedError(
                "this action needs a token: send 'Authorization: Bearer <token>' with an owner "
                "or governance token (configured in HEXMESH_TOKENS or <home>/tokens.yaml)"
            )
        for known, principal in self._entries.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                if not principal.may_act_on(key):
                    raise ForbiddenError(
                        f"token {principal.name!r} ({principal.role}) may not act on {key}; "
                        "use the product owner's token or a governance token"
                    )
                return principal
        raise UnauthorizedError("the token is not known to this node; check HEXMESH_TOKENS")


class ControlState:
    """Paused flags, lifecycle overrides and replaced policies, one JSON file per product."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "control"
        self._lock = threading.Lock()

    def _file(self, key: str) -> Path:
        return self.folder / f"{key.replace('/', '__')}.json"

    def get(self, key: str) -> dict[str, Any]:
        file = self._file(key)
        return dict(json.loads(file.read_text(encoding="utf-8"))) if file.is_file() else {}

    def update(self, key: str, **values: Any) -> dict[str, Any]:
        with self._lock:
            state = self.get(key) | values
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self._file(key).with_suffix(".tmp")
            partial.write_text(json.dumps(state, indent=2), encoding="utf-8")
            partial.replace(self._file(key))
            return state

    def paused(self, key: str) -> bool:
        return bool(self.get(key).get("paused", False))

    def lifecycle(self, key: str, declared: str) -> str:
        return str(self.get(key).get("lifecycle", declared))

    def transition(self, key: str, declared: str, target: str) -> str:
        current = self.lifecycle(key, declared)
        if target not in TRANSITIONS.get(current, ()):
            allowed = ", ".join(TRANSITIONS.get(current, ())) or "none (it is final)"
            raise TransitionError(
                f"{key} is {current!r}; it cannot become {target!r}. Allowed: {allowed}"
            )
        self.update(key, lifecycle=target)
        return target


class AuditLog:
    """An append-only JSON-lines file of every privileged action."""

    def __init__(self, home: Path) -> None:
        self.path = home / "audit.jsonl"
        self._lock = threading.Lock()

    def record(
        self, principal: str, product: str, action: str, outcome: str, detail: Any = None
    ) -> dict[str, Any]:
        entry = {
            "time": from_us(now_us()).isoformat(),
            "principal": principal,
            "product": product,
            "action": action,
            "outcome": outcome,
            "detail": detail,
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, default=str) + "\n")
                out.flush()
                os.fsync(out.fileno())
        return entry

    def entries(self, product: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with self.path.open(encoding="utf-8") as lines:
            found = [json.loads(line) for line in lines if line.strip()]
        if product is not None:
            found = [e for e in found if e["product"] == product]
        return found[-limit:]


def audited(
    tokens: Tokens, audit: AuditLog, token: str | None, key: str, action: str, detail: Any = None
) -> Principal:
    """Authorize ``action`` on ``key``; a refusal is recorded before it is raised."""
    try:
        return tokens.authorize(token, key)
    except HexmeshError as exc:
        audit.record(
            "anonymous" if not token else "unknown-token", key, action, "refused", str(exc)
        )
        raise
