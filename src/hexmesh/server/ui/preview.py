"""A port's preview page: the visitor's own first rows and a profile of its columns (``serving/preview.py``).

Read through the policy's door as the visitor (signed in, or anonymous on a public port); a
visitor who may not read rows gets the reason and how to ask, with the status it deserves. A
visitor allowed aggregates only is offered a differentially private profile, computed and charged
to its budget only when it posts the page's form (a page view spends nothing).
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hexmesh.errors import HexmeshError
from hexmesh.server.deps import Domain, Name, PortName
from hexmesh.server.ui.forms import FormError, session_form
from hexmesh.server.ui.pages import render, served_major
from hexmesh.server.viewer import hub_of, seen_by
from hexmesh.serving.preview import (
    PREVIEW_ROWS,
    PRIVATE_EPSILON,
    PROFILE_ROWS,
    AggregateOnlyError,
    preview,
    private_offer,
    private_profile,
)

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
        product = hub.node.product(domain, name)
        try:
            shown = preview(hub.node, seen.principal, product, port)
        except AggregateOnlyError:
            offer = private_offer(hub.node, seen.principal, product, port)
            return render(request, "private.html", entry=entry, offer=offer, epsilon=PRIVATE_EPSILON, profile=None)
    except HexmeshError as exc:
        refused = exc.http_status in (401, 403)
        return render(
            request,
            "missing.html",
            exc.http_status,
            heading="No preview" if refused else "Not found",
            message=str(exc),
            product_href=f"/ui/products/{domain}/{name}#standing-{port}" if refused else None,
        )
    return render(
        request, "preview.html", entry=entry, preview=shown, preview_rows=PREVIEW_ROWS, profile_rows=PROFILE_ROWS
    )


@router.post("/products/{domain}/{name}/ports/{port}/preview", response_class=HTMLResponse)
async def port_private_profile(domain: Domain, name: Name, port: PortName, request: Request) -> HTMLResponse:
    """The signed-in visitor's differentially private profile, charged to its budget on the port."""
    hub, seen = hub_of(request), seen_by(request)
    try:
        form = await session_form(request)
        if form.get("_signed_in") != "1":
            raise FormError("a private profile spends your privacy budget: sign in and ask from this node's page", 401)
        base, _ = served_major(name)
        entry = seen.entry(f"{domain}/{base}")
        product = hub.node.product(domain, name)
        found = await anyio.to_thread.run_sync(lambda: private_profile(hub.node, seen.principal, product, port))
    except HexmeshError as exc:
        heading = "No private profile" if exc.http_status in (401, 403, 429) else "Not found"
        return render(request, "missing.html", exc.http_status, heading=heading, message=str(exc))
    return render(request, "private.html", entry=entry, offer=found.offer, epsilon=PRIVATE_EPSILON, profile=found)
