"""What ``--json`` prints: one JSON document per command, with stable field names.

Times are ISO 8601 in UTC, ids and names are full, and errors still go to stderr with the
error's exit code (docs/cli.md), so a script reads stdout only when the command succeeded.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hexmesh.lifecycle import AccessRequest, Attempt, DeployOutcome, RuleWarning, RunResult

__all__ = ["Json", "attempt", "emit", "outcome", "request", "run", "warning"]

#: The option every command that prints data takes.
Json = Annotated[bool, typer.Option("--json", help="Print JSON (stable field names; errors stay on stderr).")]


def emit(document: object) -> None:
    """Write ``document`` to stdout as indented JSON."""
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def run(result: RunResult) -> dict[str, Any]:
    return {**result.as_dict(), "checks": [c.as_dict() for c in result.checks]}


def warning(found: RuleWarning) -> dict[str, Any]:
    where = found.location
    return {
        "rule": found.rule,
        "message": found.message,
        "where": found.where,
        "file": where.file,
        "line": where.line,
        "column": where.column,
    }


def outcome(done: DeployOutcome) -> dict[str, Any]:
    examples = [{"line": e.line, "language": e.language, "status": e.status, "detail": e.detail} for e in done.examples]
    return {
        "product": done.product,
        "version": done.version,
        "changed": done.changed,
        "message": done.message,
        "examples": examples,
    }


def request(asked: AccessRequest) -> dict[str, Any]:
    from hexmesh.cli.render import iso

    return {
        "id": asked.id,
        "principal": asked.principal.key,
        "port": f"dp://{asked.product}/{asked.port}",
        "purpose": asked.purpose,
        "status": asked.status,
        "requested": iso(asked.requested_us),
        "decided_by": asked.decided_by,
        "decided": iso(asked.decided_us),
        "expires": iso(asked.expires_us),
        "shape": asked.shape["name"] if asked.shape else None,
        "note": asked.decision_note or asked.note,
    }


def attempt(tried: Attempt) -> dict[str, Any]:
    return {
        "product": tried.product,
        "major": tried.major,
        "trigger": tried.trigger,
        "reason": tried.reason,
        "status": tried.status,
        "run_id": tried.run_id,
        "error": tried.error,
    }
