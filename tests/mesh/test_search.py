"""Search: ranking, typos, facets, filters and helpful syntax errors."""

from __future__ import annotations

import dataclasses

import pytest

from hexmesh.errors import HexmeshError
from hexmesh.mesh import ProductEntry, SearchIndex, SearchSyntaxError, parse_query


@pytest.fixture
def index(entries: list[ProductEntry]) -> SearchIndex:
    return SearchIndex(entries)


def keys(index: SearchIndex, query: str) -> list[str]:
    return [hit.entry.key for hit in index.search(query).hits]


def test_name_match_ranks_above_passing_mentions(index: SearchIndex) -> None:
    # "play" is the product's name; listener-demographics only mentions plays in its inputs.
    assert keys(index, "play events")[0] == "podcasts/play-events"
    assert keys(index, "demographics") == ["podcasts/listener-demographics"]


def test_searches_field_names_descriptions_docs_owners_and_concepts(index: SearchIndex) -> None:
    assert "podcasts/play-events" in keys(index, "listener_id")
    assert keys(index, "thirty seconds") == ["podcasts/play-events"]  # docs text
    assert keys(index, "pseudonymised") == ["users/user-profiles"]
    assert keys(index, "finance@example.com") == ["artists/royalties"]
    assert keys(index, "inLanguage") == ["podcasts/podcast-catalog"]  # a concept IRI


def test_prefixes_match_while_typing(index: SearchIndex) -> None:
    assert keys(index, "royal") == ["artists/royalties"]


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("demograhpics", "podcasts/listener-demographics"),
        ("royaltis", "artists/royalties"),
        ("pubisher", "artists/royalties"),
        ("catalgo", "podcasts/podcast-catalog"),
    ],
)
def test_typos_are_tolerated_and_reported(index: SearchIndex, typo: str, expected: str) -> None:
    result = index.search(typo)
    assert result.hits and result.hits[0].entry.key == expected
    assert typo in result.corrections


def test_no_product_has_every_word_so_any_word_counts(index: SearchIndex) -> None:
    result = index.search("royalties zebra")
    assert result.relaxed and [h.entry.key for h in result.hits] == ["artists/royalties"]


def test_facets_count_matches_and_ignore_their_own_filter(index: SearchIndex) -> None:
    result = index.search("domain:podcasts")
    assert result.total == 3
    assert result.facets["domain"] == {"podcasts": 3, "artists": 1, "users": 1}
    assert result.facets["tag"]["source-aligned"] == 2
    assert result.facets["status"] == {"active": 3}
    assert result.facets["classification"] == {"internal": 1}
    assert result.facets["slo"] == {"unknown": 3}


def test_filters_combine(index: SearchIndex) -> None:
    assert keys(index, "domain:podcasts tag:events listener") == ["podcasts/play-events"]
    assert keys(index, "tag:finance tag:users") == ["artists/royalties", "users/user-profiles"]
    assert keys(index, "status:draft") == ["artists/royalties"]
    assert keys(index, "classification:personal") == ["users/user-profiles"]
    assert keys(index, 'owner:"FINANCE@example.com"') == ["artists/royalties"]
    assert "podcasts/play-events" not in keys(index, "domain:podcasts -tag:events")
    assert keys(index, "domain:nowhere") == []


def test_stale_and_replaced_entries(index: SearchIndex, entries: list[ProductEntry]) -> None:
    royalties = next(e for e in entries if e.name == "royalties")
    index.put(dataclasses.replace(royalties, status="deprecated", slo_status="breached"))
    assert len(index) == len(entries)
    assert keys(index, "status:deprecated slo:breached") == ["artists/royalties"]
    index.remove("artists/royalties")
    assert keys(index, "royalties") == []


def test_results_serialize_and_page(index: SearchIndex) -> None:
    first, second = index.search("", limit=2), index.search("", limit=2, offset=2)
    assert first.total == 5 and len(first.hits) == 2
    assert not {h.entry.key for h in first.hits} & {h.entry.key for h in second.hits}
    assert first.to_dict()["hits"][0]["entry"]["key"] == first.hits[0].entry.key


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ('listener "age band', "never closed", 9),
        ("doman:podcasts", "did you mean domain:?", 0),
        ("-tga:events", "did you mean tag:?", 1),
        ("listener domain:", "needs a value, for example domain:podcasts", 16),
        ("status:actve", "did you mean status:active?", 7),
        ("slo:purple", "Use one of: met, at-risk, breached, unknown", 4),
        ('tag:"events', "never closed", 4),
        ('list"ener', "a quote inside a word", 4),
    ],
)
def test_syntax_errors_point_at_the_problem(index: SearchIndex, query: str, message: str, column: int) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        index.search(query)
    error = caught.value
    assert isinstance(error, HexmeshError) and error.http_status == 400
    assert message in str(error)
    assert error.position == column
    assert str(error).splitlines()[-1] == "  " + " " * column + "^"


def test_text_with_colons_is_not_a_filter() -> None:
    query = parse_query("https://schema.org/email")
    assert not query.include and ["email"] in query.terms


def test_overlong_query_is_refused() -> None:
    with pytest.raises(SearchSyntaxError, match="the limit is 1000"):
        parse_query("x " * 600)
