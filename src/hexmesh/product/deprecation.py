"""How a deprecated version tells its consumers: HTTP headers (RFC 8594, RFC 9745) and SQL notices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import format_datetime

from hexmesh.infra.state.records import MajorState
from hexmesh.product.runtime import Runtime
from hexmesh.spec import parse_address

__all__ = ["deprecated", "http_headers", "notice_text", "serving_deprecation"]


def deprecated(runtime: Runtime, key: str, major: int) -> MajorState | None:
    """The state of ``key``'s major when it is deprecated, else None."""
    state = runtime.state.major_state(key, major)
    return state if state.status == "deprecated" else None


def serving_deprecation(runtime: Runtime, key: str) -> MajorState | None:
    """The state of the major ``key`` serves (its newest not retired) when that is deprecated.

    Two queries about this product only: every HTTP response about a product pays for it, so it
    must not grow with the number of products on the node.
    """
    states = runtime.state.major_states(key)
    for major in sorted({v.major for v in runtime.state.versions(key)}, reverse=True):
        state = states.get(major)
        if state is None or state.status != "retired":
            return state if state is not None and state.status == "deprecated" else None
    return None


def http_headers(state: MajorState, base_url: str) -> dict[str, str]:
    """``Deprecation``, ``Sunset`` and a ``successor-version`` link for a deprecated version."""
    since = datetime.fromtimestamp((state.updated_us or 0) / 1_000_000, tz=UTC)
    headers = {"Deprecation": f"@{int(since.timestamp())}"}
    if state.sunset:
        day = date.fromisoformat(state.sunset)
        headers["Sunset"] = format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC), usegmt=True)
    if state.successor:
        headers["Link"] = f'<{_url(state.successor, base_url)}>; rel="successor-version"'
    return headers


def notice_text(state: MajorState) -> str:
    """The NOTICE a SQL client sees when it reads a deprecated version."""
    text = f"dp://{state.product}@{state.major} is deprecated"
    if state.sunset:
        text += f" and stops serving on {state.sunset}"
    if state.successor:
        text += f"; move to {state.successor}"
    return text


def _url(successor: str, base_url: str) -> str:
    try:
        address = parse_address(successor, default_scheme=False)
    except ValueError:
        return successor
    major = "" if address.major is None else f"@{address.major}"
    return f"{base_url}/products/{address.domain}/{address.product}{major}"
