"""The control port's core: who may act (tokens), what is paused, lifecycle, policies, audit.

Two kinds of credential act here. API tokens (``hexmesh token create``; hashed at rest, expiring,
revocable) act when a policy lets their principal ``control`` the product — its owner does by
the built-in policy. Operator tokens come from ``HEXMESH_TOKENS``
(``secret=governance,other=owner:sales/shop``) and ``<home>/tokens.yaml``: a governance token may
act on every product and on the mesh's rule set, an owner token on the products it names. Every
action, allowed or refused, is appended to the state store's hash-chained audit log (the one
access decisions go to), as ``control.<action>`` on ``dp://<product>``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hexmesh.errors import HexmeshError, WorkspaceError
from hexmesh.governance import AccessDeniedError, AuthenticationError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit, from_us, now_us
from hexmesh.infra.state.operator_tokens import (
    OperatorToken,
    add_operator_tokens,
    find_operator_token,
    list_operator_tokens,
)
from hexmesh.infra.state.schema import control_state
from hexmesh.spec import safe_yaml

if TYPE_CHECKING:
    import pyarrow as pa

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
    "adopt_home_control",
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
    """Operator tokens from the environment and ``<home>/tokens.yaml``; on a cluster, every node's."""

    def __init__(self, entries: dict[str, Principal], shared: Engine | None = None) -> None:
        self._entries = entries
        self._shared = shared

    @classmethod
    def load(cls, settings: Settings, db: Engine | None = None) -> Tokens:
        """Operator tokens of ``<home>/tokens.yaml`` and the ``tokens`` setting (``HEXMESH_TOKENS``).

        On shared state (PostgreSQL, a cluster: ``db``) a token must act on every node, so this
        node's are stored there as hashes and looked up there; ``tokens.yaml`` then leaves the disk.
        """
        entries = _clear_text_tokens(settings)
        if db is None or db.dialect.name != "postgresql":
            return cls(entries)
        meanings = {token: OperatorToken(p.name, p.role, p.products) for token, p in entries.items()}
        add_operator_tokens(db, meanings, settings.node_name)
        (settings.home / "tokens.yaml").unlink(missing_ok=True)  # its secrets are in the shared state, hashed
        return cls({}, shared=db)

    def principals(self) -> list[Principal]:
        """Who the clear-text tokens stand for (never their secrets)."""
        shared = list_operator_tokens(self._shared) if self._shared is not None else []
        return [*self._entries.values(), *(Principal(t.name, t.role, t.products) for t in shared)]

    def known(self, token: str | None) -> Principal | None:
        """The principal of a known token, else None (compared in constant time, or looked up by hash)."""
        if not token:
            return None
        for known, principal in self._entries.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        found = find_operator_token(self._shared, token) if self._shared is not None else None
        return None if found is None else Principal(found.name, found.role, found.products)

    def authorize(self, token: str | None, key: str) -> Principal:
        if not token:
            raise UnauthorizedError(
                "this action needs a token: send 'Authorization: Bearer <token>' with the owner's API token "
                "(hexmesh token create) or an operator token (HEXMESH_TOKENS or <home>/tokens.yaml)"
            )
        principal = self.known(token)
        if principal is None:
            raise UnauthorizedError("the token is not known to this node; check HEXMESH_TOKENS")
        if not principal.may_act_on(key):
            raise ForbiddenError(
                f"token {principal.name!r} ({principal.role}) may not act on {key}; "
                "use the product owner's token or a governance token"
            )
        return principal


def _clear_text_tokens(settings: Settings) -> dict[str, Principal]:
    entries: dict[str, Principal] = {}
    file = settings.home / "tokens.yaml"
    if file.is_file():
        try:
            data = safe_yaml.load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise WorkspaceError(f"{file} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise WorkspaceError(f"{file} must map token: {{role, products}}")
        for index, (token, value) in enumerate(data.items()):
            entries[str(token)] = Principal(
                str(value.get("name", f"token-{index + 1}")),
                str(value.get("role", "owner")),
                tuple(value.get("products", [])),
            )
    for index, item in enumerate(filter(None, settings.tokens.split(","))):
        token, _, grant = item.partition("=")
        role, _, products = grant.partition(":")
        entries[token.strip()] = Principal(
            f"env-token-{index + 1}",
            role.strip() or "owner",
            tuple(filter(None, products.split("|"))),
        )
    return entries


def adopt_home_control(db: Engine, home: Path) -> None:
    """Take over the pauses and lifecycles an older hexmesh kept in ``<home>/control/*.json``, once.

    The state store keeps what it has already (another node may have changed it since).
    """
    folder = home / "control"
    if not folder.is_dir():
        return
    for file in sorted(folder.glob("*.json")):
        key = file.stem.replace("__", "/")
        with contextlib.suppress(IntegrityError), db.begin() as conn:
            if conn.execute(select(control_state.c.product).where(control_state.c.product == key)).first() is None:
                state = json.loads(file.read_text(encoding="utf-8"))
                conn.execute(insert(control_state).values(product=key, state=state, updated_us=now_us()))
    # Taken over: a folder left in place would look like it still counted.
    folder.replace(folder.with_name("control.moved-to-state"))


class ControlState:
    """Paused flags and lifecycle overrides per product, in the state store every node shares.

    A pause set on one node holds on every node from its next look.
    """

    def __init__(self, db: Engine) -> None:
        self.db = db

    def get(self, key: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            found = conn.execute(select(control_state.c.state).where(control_state.c.product == key)).scalar()
        return dict(found) if found else {}

    def update(self, key: str, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into ``key``'s state, atomically across nodes; returns the new state."""
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    query = select(control_state.c.state).where(control_state.c.product == key).with_for_update()
                    found = conn.execute(query).first()
                    state = (dict(found.state) if found else {}) | values
                    if found is None:
                        conn.execute(insert(control_state).values(product=key, state=state, updated_us=now_us()))
                    else:
                        conn.execute(
                            update(control_state)
                            .where(control_state.c.product == key)
                            .values(state=state, updated_us=now_us())
                        )
                return state
            except IntegrityError:  # another node inserted the first state of this product meanwhile
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def paused(self, key: str) -> bool:
        return bool(self.get(key).get("paused", False))

    def lifecycle(self, key: str, declared: str) -> str:
        return str(self.get(key).get("lifecycle", declared))

    def transition(self, key: str, declared: str, target: str) -> str:
        current = self.lifecycle(key, declared)
        if target not in TRANSITIONS.get(current, ()):
            allowed = ", ".join(TRANSITIONS.get(current, ())) or "none (it is final)"
            raise TransitionError(f"{key} is {current!r}; it cannot become {target!r}. Allowed: {allowed}")
        self.update(key, lifecycle=target)
        return target


class AuditLog:
    """Control actions in the append-only, hash-chained audit log of the state store."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def record(self, principal: str, product: str, action: str, outcome: str, detail: Any = None) -> dict[str, Any]:
        """Append one control action; ``product`` is a product key, or ``mesh`` for mesh-wide actions."""
        entry = audit.append(
            self.db,
            audit.AuditEntry(
                actor=principal,
                action=f"control.{action}",
                resource=_resource(product),
                decision=outcome,
                details={} if detail is None else {"detail": json.loads(json.dumps(detail, default=str))},
            ),
        )
        return _shown(entry)

    def entries(self, product: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (oldest first) about ``product`` and its ports: control and access."""
        return [_shown(e) for e in self._query(product, limit)]

    def table(self, product: str | None = None, limit: int = 100) -> pa.Table:
        """The same entries as an Arrow table (seq, at, actor, action, resource, purpose, decision, …)."""
        return audit.to_arrow(self._query(product, limit))

    def _query(self, product: str | None, limit: int) -> list[audit.AuditEntry]:
        under = None if product is None else _resource(product)
        return audit.query(self.db, under=under, limit=limit, newest=True)


def _resource(product: str) -> str:
    return "mesh" if product == "mesh" else f"dp://{product}"


def _shown(entry: audit.AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "time": from_us(entry.at_us).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "resource": entry.resource,
        "purpose": entry.purpose,
        "decision": entry.decision,
        "policy_ids": list(entry.policy_ids),
        "details": dict(entry.details),
    }


def audited(tokens: Tokens, audit: AuditLog, token: str | None, key: str, action: str, detail: Any = None) -> Principal:
    """Authorize ``action`` on ``key``; a refusal is recorded before it is raised."""
    try:
        return tokens.authorize(token, key)
    except HexmeshError as exc:
        known = tokens.known(token)
        who = known.name if known is not None else ("anonymous" if not token else "unknown-token")
        audit.record(who, key, action, "refused", str(exc))
        raise
