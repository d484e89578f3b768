"""``hexmesh token``, ``hexmesh access``, ``hexmesh forget`` and ``hexmesh audit``: parse, call, render."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hexmesh.cli import common, documents
from hexmesh.cli.render import console, err, iso, records
from hexmesh.errors import InputError
from hexmesh.infra.settings import variable

if TYPE_CHECKING:
    from hexmesh.governance import Principal
    from hexmesh.lifecycle import Stewardship, Verdict

__all__ = ["access_app", "forget", "register", "show_audit", "token_app"]

token_app = typer.Typer(help="API tokens: who a caller is on every port.", no_args_is_help=True)
access_app = typer.Typer(help="Access requests: ask for a port, owners decide.", no_args_is_help=True)

Token = common.Token
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}


def _duration_us(text: str) -> int:
    match = _DURATION.match(text.strip())
    if match is None:
        raise InputError(f"duration {text!r} is not a number with a unit: 30d, 12h, 45m or 90s")
    return int(match.group(1)) * _UNITS_US[match.group(2)]


def _when(us: int | None) -> str:
    return "-" if us is None else datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _stewardship(home: Path | None) -> Stewardship:
    return common.workspace(home).stewardship


def _acting(stewardship: Stewardship, token: str | None) -> Principal:
    if not token:
        raise InputError("this command acts as someone: pass --token or set HEXMESH_TOKEN")
    return stewardship.authenticate(token)


@token_app.command("create")
def token_create(
    principal: Annotated[str, typer.Argument(help="The principal's id (a user name, service account, product).")],
    kind: Annotated[str, typer.Option(help="User, ServiceAccount or DataProduct.")] = "User",
    group: Annotated[list[str] | None, typer.Option("--group", help="A group the principal is in (repeat).")] = None,
    attribute: Annotated[list[str] | None, typer.Option("--attribute", help="key=value for row filters.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="A platform role (repeat): operator (tokens, forget, runs, retire, backfill, the audit log) or "
            "governance (the mesh rule set). Roles read no data.",
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="What the token is for (shown by list).")] = "",
    ttl: Annotated[str | None, typer.Option(help="Lifetime: 30d, 12h, 45m (default: no expiry).")] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the secret: export HEXMESH_TOKEN=$(hexmesh token create … -q)"),
    ] = False,
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Create a token; its secret is shown once, only its hash is kept.

    Needs the workspace's root (its owner, on its own state) or an operator's token.
    """
    with common.errors():
        attributes: dict[str, str | int | bool] = {}
        for item in attribute or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InputError(f"attribute {item!r} is not key=value")
            attributes[key] = value
        from hexmesh.governance import Principal

        try:
            who = Principal(principal, kind, frozenset(group or ()), attributes, frozenset(role or ()))  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputError(str(exc)) from None
        stewardship = _stewardship(home)
        actor = stewardship.administer(token, "tokens")
        text, info = stewardship.create_token(who, name=name, ttl_us=_duration_us(ttl) if ttl else None)
        detail = {"id": info.id, "principal": who.key, "roles": sorted(who.roles)}
        stewardship.record(actor, "token-create", "mesh", detail)
    if as_json:
        documents.emit({"id": info.id, "principal": who.key, "expires": iso(info.expires_us), "secret": text})
        return
    if not quiet:
        console.print(f"token {info.id} for {who.key} (expires {_when(info.expires_us)}); shown only now:")
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list(
    principal: Annotated[str | None, typer.Option(help="Only this principal's tokens.")] = None,
    token: Token = None,
    home: common.Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (stable field names).")] = False,
) -> None:
    """Tokens (never their secrets), newest first (the workspace's root or an operator)."""
    with common.errors():
        stewardship = _stewardship(home)
        actor = stewardship.administer(token, "tokens")
        found = stewardship.tokens(principal)
        stewardship.record(actor, "token-list", "mesh", {"principal": principal} if principal else None)
    rows: list[dict[str, object]] = [
        {
            "id": info.id,
            "principal": info.principal.key,
            "groups": sorted(info.principal.groups) if as_json else ", ".join(sorted(info.principal.groups)),
            "roles": sorted(info.principal.roles) if as_json else ", ".join(sorted(info.principal.roles)),
            "name": info.name,
            "created": iso(info.created_us) if as_json else _when(info.created_us),
            "expires": iso(info.expires_us) if as_json else _when(info.expires_us),
            "revoked": iso(info.revoked_us) if as_json else _when(info.revoked_us),
        }
        for info in found
    ]
    records(rows, as_json=as_json, full=("id", "principal"), empty="no tokens")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see `hexmesh token list`).")],
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Revoke a token at once, on every port (the workspace's root or an operator)."""
    with common.errors():
        stewardship = _stewardship(home)
        actor = stewardship.administer(token, "tokens")
        info = stewardship.revoke_token(token_id)
        stewardship.record(actor, "token-revoke", "mesh", {"id": info.id, "principal": info.principal.key})
    if as_json:
        documents.emit({"id": info.id, "principal": info.principal.key, "revoked": True})
    else:
        console.print(f"revoked token {info.id} of {info.principal.key}")


@token_app.command("migrate")
def token_migrate(token: Token = None, home: common.Home = None) -> None:
    """Replace the clear-text operator tokens (<home>/tokens.yaml, HEXMESH_TOKENS) by API tokens.

    A governance token becomes an API token of a service account with the operator and
    governance roles (its new secret is shown once); an owner token becomes nothing: owners act
    with their own API token (`hexmesh token create <owner>`). tokens.yaml is then deleted.
    """
    with common.errors():
        stewardship = _stewardship(home)
        actor = stewardship.administer(token, "tokens")
        migrated = stewardship.migrate_legacy_tokens(actor)
    for old in migrated:
        if old.secret is None:
            console.print(
                f"{old.name} ({old.role} of {', '.join(old.products) or 'no product'}): not converted; owners "
                "act with their own API token: hexmesh token create <the product's owner>",
                highlight=False,
            )
    for old in migrated:
        if old.secret is not None:
            console.print(f"{old.name}: now API token {old.token_id} (roles operator, governance); shown only now:")
            console.print(old.secret, markup=False, highlight=False, soft_wrap=True)
    if stewardship.workspace.settings.tokens:
        err.print(
            f"[yellow]unset {variable('tokens')}[/]: its clear-text tokens still act until you do", highlight=False
        )
    if not migrated:
        console.print("no clear-text operator tokens to migrate")


@access_app.command("request")
def access_request(
    address: Annotated[str, typer.Argument(help="The port: dp://<domain>/<product>/<port>.")],
    purpose: Annotated[str, typer.Option(help="What the data will be used for (the grant is bound to it).")],
    note: Annotated[str, typer.Option(help="Anything the owner should know.")] = "",
    for_product: Annotated[
        str | None,
        typer.Option(
            "--for",
            help="Ask for your product (domain/name): it reads its input ports as itself, so the grant is its own.",
        ),
    ] = None,
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Ask the owners for read access to a port, for a stated purpose."""
    with common.errors():
        from hexmesh.spec import parse_address

        parsed = parse_address(address)
        if parsed.port is None:
            raise InputError(f"{address!r} names no port; write dp://{parsed.product_key}/<port>")
        stewardship = _stewardship(home)
        request = stewardship.request_access(
            _acting(stewardship, token), parsed.product_key, parsed.port, purpose, note, for_product=for_product
        )
    if as_json:
        documents.emit(documents.request(request))
    else:
        console.print(f"request {request.id} is pending: the owners of {request.product} decide")


@access_app.command("list")
def access_list(
    product: Annotated[str | None, typer.Option(help="Only requests for this product (domain/name).")] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved, denied or revoked.")] = None,
    home: common.Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (stable field names).")] = False,
) -> None:
    """Access requests, newest first."""
    with common.errors():
        found = _stewardship(home).requests(product=product, status=status)
    rows: list[dict[str, object]] = [
        {
            "id": r.id,
            "principal": r.principal.key,
            "port": f"dp://{r.product}/{r.port}",
            "purpose": r.purpose,
            "status": r.status,
            "decided_by": r.decided_by,
            "expires": iso(r.expires_us) if as_json else _when(r.expires_us),
            "note": r.decision_note or r.note,
        }
        for r in found
    ]
    records(rows, as_json=as_json, full=("id", "principal", "port"), empty="no access requests")


def _decide(
    request_id: str,
    verdict: Verdict,
    note: str,
    token: str | None,
    home: Path | None,
    days: int,
    shape: str | None = None,
    as_json: bool = False,
) -> None:
    with common.errors():
        stewardship = _stewardship(home)
        decided = stewardship.decide(request_id, _acting(stewardship, token), verdict, note, days=days, shape=shape)
    if as_json:
        documents.emit(documents.request(decided))
        return
    until = f" until {_when(decided.expires_us)}" if decided.status == "approved" else ""
    if decided.status == "approved" and decided.shape is not None:
        until += f", granting the shape {decided.shape['name']!r}"
    console.print(f"request {decided.id} is {decided.status}{until}")


@access_app.command("approve")
def access_approve(
    request_id: Annotated[str, typer.Argument(help="The request's id (see `hexmesh access list`).")],
    note: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    days: Annotated[int, typer.Option(help="How long the grant lasts (at most 366).")] = 90,
    shape: Annotated[
        str | None,
        typer.Option(
            help="The policy shape granted: the id of one of the product's read rules for the port (its "
            "columns and rows). Default: every column but the restricted ones. Every mask applies either way."
        ),
    ] = None,
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Approve a request (owners only); the grant is bound to its purpose, a policy shape, and expires."""
    _decide(request_id, "approve", note, token, home, days, shape, as_json)


@access_app.command("deny")
def access_deny(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    note: Annotated[str, typer.Option(help="Why (required).")] = "",
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Deny a request, saying why (owners only)."""
    _decide(request_id, "deny", note, token, home, 90, as_json=as_json)


@access_app.command("revoke")
def access_revoke(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """End an approved grant early (owners only)."""
    _decide(request_id, "revoke", note, token, home, 90, as_json=as_json)


def forget(
    subject: Annotated[str, typer.Argument(help="The data subject whose key is destroyed.")],
    token: Token = None,
    home: common.Home = None,
    as_json: documents.Json = False,
) -> None:
    """Destroy a data subject's key: their encrypted values become unreadable in every snapshot.

    Needs the workspace's root (its owner, on its own state) or an operator's token; audited.
    """
    with common.errors():
        stewardship = _stewardship(home)
        destroyed = stewardship.forget(subject, stewardship.administer(token, "forget"))
    if as_json:
        documents.emit({"subject": subject, "destroyed": destroyed})
        return
    state = "destroyed" if destroyed else "had no key (nothing to destroy; new keys are refused)"
    console.print(f"subject {subject!r}: key {state}")


def show_audit(
    resource: Annotated[
        str | None, typer.Option(help="A product and its ports (domain/name), one port (domain/name/port), or mesh.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="A principal key, e.g. User:ann.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. sql.read, access.approve.")] = None,
    limit: Annotated[int, typer.Option(help="The newest entries to show, at most.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    token: Token = None,
    home: common.Home = None,
) -> None:
    """The append-only audit log, oldest first; checks its hash chain.

    The whole log: the workspace's root or an operator's token; one product's: also its owner's token.
    """
    with common.errors():
        under = _resource(resource)
        product = common.product_key(under) if under and under.startswith("dp://") else None
        stewardship = _stewardship(home)
        who = stewardship.administer(token, "read-audit", product)
        stewardship.record(who, "read-audit", product or "mesh", {"resource": under, "action": action, "actor": actor})
        entries = stewardship.audit(under=under, actor=actor, action=action, limit=limit)
        broken = stewardship.audit_altered_at()
    if as_json:
        for e in entries:
            line = {"seq": e.seq, "at_us": e.at_us, "actor": e.actor, "action": e.action, "resource": e.resource,
                    "purpose": e.purpose, "decision": e.decision, "policy_ids": list(e.policy_ids),
                    "details": dict(e.details)}  # fmt: skip
            console.print(json.dumps(line), markup=False, highlight=False, soft_wrap=True)
    else:
        table = Table("seq", "at", "actor", "action", "resource", "purpose", "decision", "policies")
        for e in entries:
            table.add_row(
                str(e.seq), _when(e.at_us), e.actor, e.action, e.resource, e.purpose, e.decision,
                ", ".join(e.policy_ids),
            )  # fmt: skip
        console.print(table)
    if broken is not None:
        err.print(f"[bold red]error:[/] the audit log was altered at entry {broken}: the hash chain breaks there")
        raise typer.Exit(1)


def _resource(text: str | None) -> str | None:
    """A product or port as the audit log keys it: ``dp://domain/name[/port]`` (``mesh`` for mesh-wide actions)."""
    if text is None or text == "mesh" or text.startswith("dp://"):
        return text
    return f"dp://{text}"


def register(app: typer.Typer) -> None:
    """Add the governance commands to the ``hexmesh`` command."""
    app.add_typer(token_app, name="token")
    app.add_typer(access_app, name="access")
    app.command("forget")(forget)
    app.command("audit")(show_audit)
