"""Pure rendering pieces: lineage layout, SVG, docs sanitizing (snippets: tests/mesh/test_snippets.py)."""

from __future__ import annotations

from hexmesh.mesh.layout import layered
from hexmesh.server.ui.drawing import bar_chart, lineage_svg
from hexmesh.server.ui.sanitize import safe_html


def test_layers_follow_dependencies_and_cut_cycles() -> None:
    layout = layered(["d"], [("a", "c"), ("b", "c"), ("c", "d"), ("a", "d")])
    assert layout.layers == [["a", "b"], ["c"], ["d"]]
    cyclic = layered(["x"], [("x", "y"), ("y", "x")])
    assert sorted(cyclic.position) == ["x", "y"]
    assert len(cyclic.edges) == 1  # the edge that closes the cycle is not drawn


def test_lineage_svg_escapes_names_and_links_each_product() -> None:
    svg = str(lineage_svg("p/<b>", [("u/up", "p/<b>")], stale={"u/up"}))
    assert "p/&lt;b&gt;" in svg and "<b>" not in svg
    assert 'href="/ui/products/u/up"' in svg and "lineage-stale" in svg
    assert 'role="img"' in svg


def test_bar_chart_marks_broken_promises() -> None:
    svg = str(bar_chart([10.0, None, 30.0], ["a", "b", "c"], title="lag", unit="s", target=20.0))
    assert svg.count('class="chart-bar"') == 1 and svg.count('class="chart-bar over"') == 1
    assert "promise 20s" in svg


def test_docs_from_a_peer_cannot_run_script() -> None:
    html = str(
        safe_html(
            '<h1>Title</h1><p onclick="x()">Hi <a href="javascript:alert(1)">a</a>'
            '<a href="https://ok.example">b</a></p><script>alert(1)</script><img src="http://evil/x.png">'
        )
    )
    assert html == (
        '<h2>Title</h2><p>Hi <a rel="nofollow noopener">a</a>'
        '<a href="https://ok.example" rel="nofollow noopener">b</a></p><img>'
    )


def test_durations_in_charts_read_as_durations() -> None:
    svg = str(bar_chart([3600.0, 15507.0, -60.0], ["a", "b", "c"], title="lag", unit="s", target=86400.0))
    assert "promise 1d" in svg and "86.4k" not in svg
    assert "b: 4h 18m" in svg and "c: -1m" in svg
    rows = str(bar_chart([1500.0], ["a"], title="rows"))
    assert "a: 1.5k" in rows  # other units keep their short form
