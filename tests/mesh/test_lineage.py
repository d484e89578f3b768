"""Product lineage from input ports and column lineage from real SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.mesh import (
    ColumnSource,
    LineageError,
    ProductEntry,
    ProductLineage,
    column_lineage,
    entry_from_spec,
    input_schemas,
    product_column_lineage,
)
from hexmesh.spec import load_spec

SCHEMA = {
    "plays": ["play_id", "listener_id", "podcast_id", "played_at", "seconds_played"],
    "profiles": ["user_id", "email", "region", "birth_year"],
}


def by_output(sql: str, schema: dict[str, list[str]] | None = SCHEMA) -> dict[str, tuple[set[str], str]]:
    return {c.output: ({f"{s.input}.{s.column}" for s in c.sources}, c.kind) for c in column_lineage(sql, schema)}


def test_product_lineage_upstream_and_downstream(entries: list[ProductEntry]) -> None:
    lineage = ProductLineage(entries)
    assert lineage.upstream("artists/royalties", transitive=False) == ["podcasts/listener-demographics"]
    assert lineage.upstream("artists/royalties") == [
        "podcasts/listener-demographics",
        "podcasts/play-events",
        "users/user-profiles",
    ]
    assert lineage.downstream("users/user-profiles") == [
        "podcasts/listener-demographics",
        "artists/royalties",
    ]
    assert lineage.downstream("artists/royalties") == []
    assert ("podcasts/play-events", "podcasts/listener-demographics") in lineage.edges


def test_join_cte_aggregate_and_aliases() -> None:
    sql = """
        with counted as (
            select podcast_id, cast(played_at as date) as day, listener_id, seconds_played
            from plays where seconds_played >= 30
        )
        select c.podcast_id, c.day, coalesce(u.region, 'unknown') as region,
               count(distinct c.listener_id) as listeners,
               round(sum(c.seconds_played) / 60.0, 1) as minutes
        from counted as c left join profiles as u on u.user_id = c.listener_id
        group by all
    """
    assert by_output(sql) == {
        "podcast_id": ({"plays.podcast_id"}, "IDENTITY"),
        "day": ({"plays.played_at"}, "TRANSFORMATION"),
        "region": ({"profiles.region"}, "TRANSFORMATION"),
        "listeners": ({"plays.listener_id"}, "AGGREGATION"),
        "minutes": ({"plays.seconds_played"}, "AGGREGATION"),
    }


def test_expression_over_columns_of_two_inputs() -> None:
    sql = (
        "select p.play_id, year(p.played_at) - u.birth_year as age "
        "from plays p join profiles u on u.user_id = p.listener_id"
    )
    assert by_output(sql)["age"] == ({"plays.played_at", "profiles.birth_year"}, "TRANSFORMATION")


def test_star_is_expanded_from_the_input_schemas() -> None:
    lineage = column_lineage("select * from profiles", SCHEMA)
    assert [c.output for c in lineage] == SCHEMA["profiles"]
    assert lineage[1].sources == (ColumnSource("profiles", "email"),) and lineage[1].kind == "IDENTITY"


def test_star_through_a_cte_and_a_subquery() -> None:
    sql = "with p as (select * from plays) select x.podcast_id from (select * from p) as x"
    assert by_output(sql) == {"podcast_id": ({"plays.podcast_id"}, "IDENTITY")}


def test_single_table_needs_no_schema() -> None:
    assert by_output("select lower(status) as status, amount from raw", None) == {
        "status": ({"raw.status"}, "TRANSFORMATION"),
        "amount": ({"raw.amount"}, "IDENTITY"),
    }


def test_unknown_star_and_bad_sql_raise_clear_errors() -> None:
    with pytest.raises(LineageError, match=r"selects \* from a table whose columns are unknown"):
        column_lineage("select * from mystery")
    with pytest.raises(LineageError, match="cannot analyse the SQL"):
        column_lineage("selec x fro")
    with pytest.raises(LineageError, match="not a query"):
        column_lineage("insert into t values (1)")


def test_alias_reused_later_in_the_select_without_a_schema() -> None:
    # DuckDB resolves country to the source column; the lateral alias x to its expression.
    sql = """
        select upper(country) as country,
               case upper(country) when 'US' then 'North America' else 'Other' end as region,
               a + 1 as x, x * 2 as y
        from registrations
    """
    assert by_output(sql, None) == {
        "country": ({"registrations.country"}, "TRANSFORMATION"),
        "region": ({"registrations.country"}, "TRANSFORMATION"),
        "x": ({"registrations.a"}, "TRANSFORMATION"),
        "y": ({"registrations.a"}, "TRANSFORMATION"),
    }


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "podcasts"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the example mesh is not in this checkout")
def test_every_sql_product_of_the_example_mesh_has_column_lineage() -> None:
    paths = sorted(EXAMPLES.glob("*/*/dataproduct.yaml"))
    specs = {path.parent: load_spec(path).spec for path in paths}
    entries = {spec.key: entry_from_spec(spec) for spec in specs.values()}
    analysed = 0
    for folder, spec in specs.items():
        lineage = product_column_lineage(spec, folder, input_schemas(spec, entries))
        for port, columns in lineage.items():
            declared = spec.output(port)
            assert declared is not None
            assert [c.output for c in columns] == [f.name for f in declared.properties]
            analysed += 1
    assert analysed >= 3


def test_an_edge_between_products_of_two_nodes_is_shown_as_crossing_nodes() -> None:
    from hexmesh.mesh import KnowledgeGraph, to_turtle
    from hexmesh.mesh.entries import InputEntry

    a, b = "http://node-a:8000", "http://node-b:8000"
    profiles = ProductEntry("users", "user-profiles", "1.0.0", "users@example.com", node_url=a)
    activity = ProductEntry(
        "analytics",
        "activity",
        "1.0.0",
        "analytics@example.com",
        inputs=(InputEntry("profiles", from_="dp://users/user-profiles/profiles"),),
        node_url=b,
    )
    report = ProductEntry(
        "analytics",
        "report",
        "1.0.0",
        "analytics@example.com",
        inputs=(InputEntry("activity", from_="dp://analytics/activity/seen"),),
        node_url=b,
    )

    lineage = ProductLineage([profiles, activity, report])

    assert lineage.edges == [("users/user-profiles", "analytics/activity"), ("analytics/activity", "analytics/report")]
    assert [lineage.across(e) for e in lineage.edges] == [True, False]
    assert lineage.nodes["users/user-profiles"] == a
    turtle = to_turtle(KnowledgeGraph([profiles, activity]))
    assert f"hm:servedBy <{b}>" in turtle
    assert "prov:wasDerivedFrom <dp://users/user-profiles/profiles>" in turtle
