"""``hexmesh deploy --node``: send product folders to a node's ``POST /deploy``."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from hexmesh.errors import DeployError, HexmeshError, InputError
from hexmesh.governance import AccessDeniedError, AuthenticationError

__all__ = ["deploy_to"]


def _archive(paths: list[Path]) -> bytes:
    """One folder as the archive's root; several side by side (a mesh folder of them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in paths:
            if not path.is_dir():
                raise InputError(f"{path} is not a folder; --node sends product (or mesh) folders")
            archive.add(path, arcname="." if len(paths) == 1 else path.resolve().name)
    return buffer.getvalue()


def deploy_to(node: str, paths: list[Path], token: str | None) -> dict[str, Any]:
    """The node's answer to deploying ``paths``; its refusal as the matching hexmesh error."""
    import httpx

    if not token:
        raise AuthenticationError("deploying to a node needs --token (or HEXMESH_TOKEN) of the products' owner")
    url = node.rstrip("/") + "/deploy"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/gzip"}
    try:
        response = httpx.post(url, content=_archive(paths), headers=headers, timeout=httpx.Timeout(300, connect=10))
    except httpx.HTTPError as exc:
        raise InputError(f"{url} did not answer ({exc}); is the node running, and is --node its address?") from None
    if response.status_code == 200:
        answer: dict[str, Any] = response.json()
        return answer
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = response.text[:500]
    kinds: dict[int, type[HexmeshError]] = {401: AuthenticationError, 403: AccessDeniedError}
    raise kinds.get(response.status_code, DeployError)(f"{url} refused the deploy ({response.status_code}): {detail}")
