"""Errors of the policy plane: each says what was refused, why, and what to do."""

from __future__ import annotations

from hexmesh.errors import HexmeshError

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BudgetExhaustedError",
    "GovernanceError",
    "PolicyError",
]


class GovernanceError(HexmeshError):
    """Root of the policy plane's errors."""

    exit_code = 20
    http_status = 403


class AuthenticationError(GovernanceError):
    """A credential is unknown, wrong, expired or revoked."""

    exit_code = 21
    http_status = 401


class AccessDeniedError(GovernanceError):
    """The policies deny the request; the message names the deciding policies, never hidden data."""

    exit_code = 22
    http_status = 403


class BudgetExhaustedError(GovernanceError):
    """A differential-privacy query would spend more ε than the principal has left on the port."""

    exit_code = 23
    http_status = 429


class PolicyError(GovernanceError):
    """A policy, rule or transformation is malformed (bad Cedar, unknown field, bad parameters)."""

    exit_code = 24
    http_status = 422
