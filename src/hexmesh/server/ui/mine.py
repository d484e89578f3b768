"""The signed-in visitor's own page (``/ui/me``): the products it owns here and the requests it made.

"My products" are this node's products the visitor controls, each with its pending requests to
decide; "My requests" are the visitor's own access requests on this node, newest first, with their
state (pending, approved until when, denied with the owner's note, revoked). Nothing else: another
visitor's requests are the owners' business (``/ui/access-requests``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hexmesh.server.ui.pages import render
from hexmesh.server.ui.visitor import visitor_of
from hexmesh.server.viewer import hub_of, seen_by

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _when(us: int | None) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M UTC") if us else ""


@router.get("/me", response_class=HTMLResponse)
def mine(request: Request) -> HTMLResponse:
    visitor = visitor_of(request)
    if not visitor.auth or not visitor.signed_in:
        return render(request, "mine.html", products=[], requests=[])
    hub, seen = hub_of(request), seen_by(request)
    stewardship = hub.node.workspace.stewardship
    products = [
        {"entry": e, "pending": len(stewardship.requests(product=e.key, status="pending"))}
        for e in seen.entries
        if e.key in seen.owned
    ]
    requests = [
        {
            "id": r.id,
            "address": f"{r.product}/{r.port}",
            "product": r.product,
            "port": r.port,
            "purpose": r.purpose,
            "status": r.status,
            "asked": _when(r.requested_us),
            "expires": _when(r.expires_us),
            "note": r.decision_note,
            "visible": r.product in seen.registry,
        }
        for r in stewardship.requests(principal_id=visitor.principal.id)
    ]
    return render(request, "mine.html", products=products, requests=requests)
