"""A port's preview page: the visitor's own first rows and a profile of its columns (``serving/preview.py``).

Read through the policy's door as the visitor (signed in, or anonymous on a public port); a
visitor who may not read rows gets the reason and how to ask, with the status it deserves.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hexmesh.errors import HexmeshError
from hexmesh.server.deps import Domain, Name, PortName
from hexmesh.server.ui.pages import render, served_major
from hexmesh.server.viewer import hub_of, seen_by
from hexmesh.serving.preview import PREVIEW_ROWS, PROFILE_ROWS, preview

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/products/{domain}/{name}/ports/{port}/preview", response_class=HTMLResponse)
def port_preview(domain: Domain, name: Name, port: PortName, request: Request) -> HTMLResponse:
    hub, seen = hub_of(request), seen_by(request)
    try:
        base, _ = served_major(name)
        entry = seen.entry(f"{domain}/{base}")  # a product hidden from the visitor is as unknown as a missing one
        if entry.node_url != hub.federation.node_url:
            return render(
                request,
                "missing.html",
                404,
                heading="Preview on its own node",
                message=f"{entry.key} is served by {entry.node_url}: open its preview there.",
            )
        shown = preview(hub.node, seen.principal, hub.node.product(domain, name), port)
    except HexmeshError as exc:
        return render(
            request,
            "missing.html",
            exc.http_status,
            heading="No preview" if exc.http_status in (401, 403) else "Not found",
            message=str(exc),
        )
    return render(
        request, "preview.html", entry=entry, preview=shown, preview_rows=PREVIEW_ROWS, profile_rows=PROFILE_ROWS
    )
