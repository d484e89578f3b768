"""Pure rendering pieces: lineage layout, SVG, docs sanitizing, connection snippets."""

from __future__ import annotations

from hexmesh.mesh.layout import layered
from hexmesh.server.ui.drawing import bar_chart, lineage_svg
from hexmesh.server.ui.sanitize import safe_html
from hexmesh.server.ui.snippets import port_access, snippets


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


def dataset(sql: bool) -> dict[str, object]:
    dists: list[dict[str, object]] = [
        {"dct:title": "files (parquet)", "dcat:downloadURL": "http://n/products/d/p/ports/o/data?format=parquet"},
        {"dct:title": "files (csv)", "dcat:downloadURL": "http://n/products/d/p/ports/o/data?format=csv"},
        {"dct:title": "events (Server-Sent Events)", "dcat:accessURL": "http://n/products/d/p/ports/o/events"},
        {"dct:title": "Apache Iceberg table", "dcat:accessURL": "file:///w/d/p"},
    ]
    if sql:
        dists.append(
            {
                "dct:title": "SQL (PostgreSQL protocol)",
                "dcat:accessURL": "postgresql://u@h:5433/mesh",
                "hexmesh:table": "d.p__o",
            }
        )
    return {"dct:title": "o", "dcat:distribution": dists}


def test_snippets_use_what_the_document_offers() -> None:
    with_sql = {s.id: s.code for s in snippets(port_access(dataset(sql=True)))}
    assert list(with_sql) == ["sql", "psql", "pandas", "polars", "spark", "curl"]
    assert with_sql["sql"] == "select * from d.p__o limit 100;"
    assert 'psql "postgresql://u@h:5433/mesh"' in with_sql["psql"]
    assert "postgresql+psycopg://u@h:5433/mesh" in with_sql["pandas"]
    assert "jdbc:postgresql://h:5433/mesh" in with_sql["spark"]
    without = {s.id: s.code for s in snippets(port_access(dataset(sql=False)))}
    assert list(without) == ["pandas", "polars", "spark", "curl"]
    assert "read_csv" in without["pandas"] and "iceberg" in without["spark"]
    assert 'curl -N "http://n/products/d/p/ports/o/events"' in without["curl"]
    assert snippets(port_access({"dct:title": "o"})) == []


def test_durations_in_charts_read_as_durations() -> None:
    svg = str(bar_chart([3600.0, 15507.0, -60.0], ["a", "b", "c"], title="lag", unit="s", target=86400.0))
    assert "promise 1d" in svg and "86.4k" not in svg
    assert "b: 4h 18m" in svg and "c: -1m" in svg
    rows = str(bar_chart([1500.0], ["a"], title="rows"))
    assert "a: 1.5k" in rows  # other units keep their short form
