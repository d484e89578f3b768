"""The owner's buttons on a product page: run now, pause, resume, backfill — the control port's actions.

Each posts to ``/ui/products/{domain}/{name}/control/{action}`` and acts as the signed-in visitor
through the control port (``serving/control.py``: decided by the node's authority, audited). The
sign-in cookie stands in for a token only on a post that the browser says comes from this node's
own page (``Origin``, :func:`~hexmesh.server.ui.forms.session_form`); another site's post is
refused whatever it carries, and a visitor who may not control the product is refused (403).
A backfill's window comes from the form's ``since`` and ``until`` dates (``[since, until)``).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hexmesh.errors import HexmeshError
from hexmesh.server.deps import Domain, Name
from hexmesh.server.ui.forms import FormError, session_form
from hexmesh.server.ui.pages import render
from hexmesh.serving import control

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
Action = Literal["run", "pause", "resume", "backfill"]


@router.post("/products/{domain}/{name}/control/{action}", response_class=HTMLResponse)
async def act(domain: Domain, name: Name, action: Action, request: Request) -> HTMLResponse:
    key = f"{domain}/{name}"
    try:
        form = await session_form(request)
        secret = form.get("token", "").strip() or None
        node = request.app.state.node
        if action in ("run", "backfill"):
            if action == "backfill":
                since, until = _day(form, "since"), _day(form, "until")
                result = await anyio.to_thread.run_sync(
                    lambda: control.backfill(node, domain, name, secret, since, until)
                )
                what = f"Backfill of [{since}, {until}): run"
            else:
                result = await anyio.to_thread.run_sync(lambda: control.run_now(node, domain, name, secret))
                what = "Run"
            message = f"{what} {result.run_id[:8]} of {key}: {result.status}" + (
                f" — {result.message}" if result.message else ""
            )
        else:
            await anyio.to_thread.run_sync(lambda: control.set_paused(node, domain, name, secret, action == "pause"))
            message = f"{key} is paused: the control port refuses runs until you resume it."
            if action == "resume":
                message = f"{key} is resumed: runs are accepted again."
    except HexmeshError as exc:
        return render(request, "action.html", exc.http_status, key=key, error=str(exc))
    return render(request, "action.html", key=key, message=message)


def _day(form: dict[str, str], field: str) -> date:
    """The form's ``field`` as a day (the date input sends YYYY-MM-DD)."""
    text = form.get(field, "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError(f"{field} must be a day as YYYY-MM-DD (the window is [since, until)), not {text!r}") from None
