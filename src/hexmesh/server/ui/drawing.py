"""Server-rendered SVG: the lineage graph and SLO history charts (no script, no CDN).

Every text that comes from a product or a peer is escaped; the SVG is accessible (``role=img``
with a title and description) and keyboard users can tab to each product of the lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from markupsafe import Markup, escape

from hexmesh.mesh.layout import layered
from hexmesh.spec.duration import human_seconds

__all__ = ["bar_chart", "lineage_svg"]

_W, _H, _GAP_X, _GAP_Y, _PAD = 196, 50, 72, 18, 12


def lineage_svg(
    focus: str,
    edges: Sequence[tuple[str, str]],
    stale: set[str] | frozenset[str] = frozenset(),
    *,
    nodes: Sequence[str] = (),
    affected: set[str] | frozenset[str] = frozenset(),
) -> Markup:
    """The lineage around ``focus`` (all of ``nodes`` too) drawn left (upstream) to right (downstream).

    ``affected`` products are marked: what breaks if the focus changes. An empty ``focus`` draws the
    graph with no product singled out (the mesh-wide page).
    """
    layout = layered([*([focus] if focus else []), *nodes], edges)
    width = len(layout.layers) * (_W + _GAP_X) - _GAP_X + 2 * _PAD
    height = layout.height * (_H + _GAP_Y) - _GAP_Y + 2 * _PAD

    def box(key: str) -> tuple[float, float]:
        layer, row = layout.position[key]
        offset = (layout.height - len(layout.layers[layer])) * (_H + _GAP_Y) / 2
        return _PAD + layer * (_W + _GAP_X), _PAD + offset + row * (_H + _GAP_Y)

    parts = [
        f'<svg class="lineage" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-labelledby="lineage-title lineage-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="lineage-title">Lineage of {escape(focus or "the mesh")}</title>',
        f'<desc id="lineage-desc">{len(layout.edges)} dependencies, upstream on the left.</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
        'class="lineage-arrow"/></marker></defs>',
    ]
    for a, b in layout.edges:
        (ax, ay), (bx, by) = box(a), box(b)
        x1, y1, x2, y2 = ax + _W, ay + _H / 2, bx - 2, by + _H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="lineage-edge" d="M{x1:.1f} {y1:.1f}C{mid:.1f} {y1:.1f} {mid:.1f} '
            f'{y2:.1f} {x2:.1f} {y2:.1f}" marker-end="url(#arrow)"/>'
        )
    for key in layout.position:
        x, y = box(key)
        domain, _, name = key.partition("/")
        role = "focus" if key == focus else ("stale" if key in stale else "affected" if key in affected else "other")
        label = f"{key}{' (stale)' if key in stale else ''}{' (affected)' if key in affected else ''}"
        parts.append(
            f'<a href="/ui/products/{quote(key)}" class="lineage-node lineage-{role}" '
            f'aria-label="{escape(label)}"><rect x="{x}" y="{y}" width="{_W}" height="{_H}" '
            f'rx="10"/><text x="{x + 14}" y="{y + 20}" class="lineage-domain">{escape(domain)}'
            f'</text><text x="{x + 14}" y="{y + 38}" class="lineage-name">{escape(_clip(name))}'
            "</text></a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def bar_chart(
    values: Sequence[float | None],
    labels: Sequence[str],
    *,
    title: str,
    unit: str = "",
    target: float | None = None,
) -> Markup:
    """A small bar chart; bars above ``target`` (a promise not kept) are marked ``over``."""
    width, height, left, bottom, top = 560, 168, 52, 26, 12
    known = [v for v in values if v is not None]
    peak = max([*known, target or 0.0, 1e-9]) * 1.1
    plot_w, plot_h = width - left - 8, height - bottom - top
    step = plot_w / max(len(values), 1)
    bar = max(min(step * 0.64, 36.0), 2.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_value(peak / 1.1 * tick if tick else 0.0, unit))}</text>"
        )
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = left + i * step + (step - bar) / 2
        if value is None:
            continue
        h = plot_h * value / peak
        over = target is not None and value > target
        parts.append(
            f'<rect class="chart-bar{" over" if over else ""}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{bar:.1f}" height="{max(h, 1):.1f}" rx="3"><title>{escape(label)}: '
            f"{escape(_value(value, unit))}</title></rect>"
        )
    if labels:
        for i in sorted({0, len(labels) - 1}):
            anchor = "start" if i == 0 else "end"
            x = left + (i * step if i == 0 else (i + 1) * step)
            parts.append(
                f'<text class="chart-tick" x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">'
                f"{escape(labels[i])}</text>"
            )
    if target is not None:
        y = top + plot_h * (1 - target / peak)
        parts.append(f'<line class="chart-target" x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart-target-label" x="{width - 10}" y="{y - 5:.1f}" text-anchor="end">'
            f"promise {escape(_value(target, unit))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _value(value: float, unit: str) -> str:
    """A value with its unit; seconds as a duration people read (``1d``, not ``86.4ks``)."""
    return human_seconds(value) if unit == "s" else f"{_short(value)}{unit}"


def _short(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
