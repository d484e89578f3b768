"""``/docs``: Swagger UI over the node's OpenAPI description, from files the node serves itself.

FastAPI's default page loads Swagger UI from a CDN, so on a machine without internet access the
page stayed blank. The files come from the ``swagger-ui-bundle`` package instead.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The files the page needs, and their media types; nothing else of the bundle is served.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="hexmesh node — API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in _ASSETS:
        return Response("not found", status_code=404, media_type="text/plain")
    body = (Path(swagger_ui_path) / name).read_bytes()
    return Response(body, media_type=_ASSETS[name], headers={"Cache-Control": "max-age=86400"})
