"""RFC 9457 problem details: every error of the HTTP surface is mapped here, in one place."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from hexmesh.errors import HexmeshError
from hexmesh.governance import AccessDeniedError
from hexmesh.server.deps import request_token

__all__ = ["PROBLEM_TYPE", "Problem", "install", "problem_response", "responses"]

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://hexmesh.dev/problems/"
MEDIA = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem documents a route may return."""
    return {s: {"model": Problem, "content": {MEDIA: {}}, "description": _TITLES.get(s, "Error")} for s in statuses}


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Content too large",
    416: "Range not satisfiable",
    422: "Invalid spec",
    500: "Internal error",
    502: "Upstream error",
}


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name.removesuffix("Error")).lower() or "error"


def problem_response(request: Request, status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(
        type=PROBLEM_TYPE + kind,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA)


async def _hexmesh(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HexmeshError)
    status, detail = exc.http_status, str(exc)
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    if isinstance(exc, AccessDeniedError) and request_token(request) is None:
        # Refused because nobody signed in: say how to (RFC 9110: 401 means "authenticate").
        status = 401
        detail += " Sign in: send an API token (Authorization: Bearer hxm_…)."
    response = problem_response(request, status, _slug(type(exc).__name__), detail)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))} for e in exc.errors()
    ]
    detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
    return problem_response(request, 400, "invalid-request", detail, errors=errors)


def _allowed(request: Request) -> str:
    """Every method the path supports, across all routes that share it (Starlette lists one)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404:
        detail = f"no route {request.url.path!r}; GET / lists the products and their URLs"
    response = problem_response(request, exc.status_code, "http", detail)
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed(request)
    return response


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s", request.url.path)
    return problem_response(request, 500, "internal", f"internal error ({type(exc).__name__}); see the node's log")


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI description, saying what the node really answers to invalid input: a 400
    problem document (FastAPI documents its own 422 validation error by default)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    problem = {"$ref": "#/components/schemas/Problem"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            codes = operation.get("responses", {})
            if "HTTPValidationError" in str(codes.get("422", "")):  # FastAPI's own; ours are 400 problems
                codes.pop("422")
            codes.setdefault("400", {"description": "Bad request", "content": {MEDIA: {"schema": problem}}})
            # On a node served with --auth any route refuses a token that is not valid (expired, revoked).
            codes.setdefault("401", {"description": "Unauthorized", "content": {MEDIA: {"schema": problem}}})
            if "requestBody" in operation:  # every body has a size limit (hexmesh.server.bodies)
                codes.setdefault("413", {"description": "Content too large", "content": {MEDIA: {"schema": problem}}})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.add_exception_handler(HexmeshError, _hexmesh)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
