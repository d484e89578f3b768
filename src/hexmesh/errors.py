"""One exception root for hexmesh, and its children.

Every message says what is wrong, quotes the offending value and says what to do.
Surfaces (CLI, HTTP) map these to exit codes or problem+json in one place each.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AddressError",
    "ConcurrentRunError",
    "DeployError",
    "HexmeshError",
    "InputError",
    "LeaseLostError",
    "NotFoundError",
    "ProblemLocation",
    "QualityGateError",
    "ReadError",
    "SchemaMismatchError",
    "SpecError",
    "SpecProblem",
    "StorageError",
    "TransformError",
    "WorkspaceError",
    "redacted_url",
]


def redacted_url(url: str) -> str:
    """``url`` without its password: messages never quote one."""
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"


class HexmeshError(Exception):
    """Root of every error hexmesh raises on purpose."""

    #: Exit code the CLI uses for this kind of error.
    exit_code: int = 1
    #: HTTP status the server maps this kind of error to.
    http_status: int = 500


@dataclass(frozen=True)
class ProblemLocation:
    """Where in a file a problem is: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec: where, what, and how to fix it."""

    location: ProblemLocation | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class SpecError(HexmeshError):
    """A spec (or a set of specs) has problems; all of them are listed."""

    exit_code = 2
    http_status = 422

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


class NotFoundError(HexmeshError):
    """A product, version, port or run does not exist."""

    exit_code = 3
    http_status = 404


class WorkspaceError(HexmeshError):
    """The workspace is missing, unreadable or misconfigured."""

    exit_code = 4


class StorageError(WorkspaceError):
    """Object storage or a table's files cannot be reached as configured (credentials, endpoint, bucket)."""


class DeployError(HexmeshError):
    """A deploy was refused; nothing was changed."""

    exit_code = 5
    http_status = 409


class InputError(HexmeshError):
    """An input port could not be read."""

    exit_code = 6
    http_status = 502


class TransformError(HexmeshError):
    """The transformation failed; nothing was published."""

    exit_code = 7


class SchemaMismatchError(HexmeshError):
    """The transformation's output does not match the declared schema."""

    exit_code = 8


class QualityGateError(HexmeshError):
    """One or more quality checks failed; nothing was published."""

    exit_code = 9
    #: Every check of the run (``CheckResult``s, passed or not), for observers that report them.
    checks: tuple[object, ...] = ()


class ConcurrentRunError(HexmeshError):
    """Another run of the same product holds its lock."""

    exit_code = 10
    http_status = 409


class LeaseLostError(ConcurrentRunError):
    """A node's lease on some work ran out before the work committed; another node may hold it now."""


class ReadError(HexmeshError):
    """A read request is invalid (bad time range, unknown column, bad filter)."""

    exit_code = 11
    http_status = 400


class AddressError(HexmeshError, ValueError):
    """A product name or ``dp://`` address is not well formed (a ``ValueError`` too, for validators)."""

    exit_code = 12
    http_status = 400
