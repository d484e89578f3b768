"""Knowledge graph: concept questions, join paths, and RDF export that parses back."""

from __future__ import annotations

import dataclasses
import json
import re

from hexmesh.mesh import FieldEntry, KnowledgeGraph, PortEntry, ProductEntry, to_jsonld, to_turtle


def test_products_carrying_a_concept_directly_or_by_link(entries: list[ProductEntry]) -> None:
    graph = KnowledgeGraph(entries)
    uses = graph.products_about("https://schema.org/PodcastSeries")
    assert [(u.product, u.via) for u in uses] == [
        ("podcasts/podcast-catalog", "concept"),
        ("artists/royalties", "link"),
        ("podcasts/listener-demographics", "link"),
        ("podcasts/play-events", "link"),
    ]
    assert uses[0].fields == ("dp://podcasts/podcast-catalog/podcasts#podcast_id",)
    assert [u.product for u in graph.products_about("schema:email")] == ["users/user-profiles"]
    assert graph.products_about("https://schema.org/nothing") == []


def test_direct_join_through_a_link(entries: list[ProductEntry]) -> None:
    paths = KnowledgeGraph(entries).join_paths("podcasts/play-events", "dp://users/user-profiles")
    best = paths[0]
    assert best.products == ["podcasts/play-events", "users/user-profiles"]
    step = best.steps[0]
    assert (step.left, step.right, step.reason) == (
        "dp://podcasts/play-events/plays#listener_id",
        "dp://users/user-profiles/profiles#user_id",
        "link",
    )


def test_join_through_a_shared_identifier_and_over_two_hops(entries: list[ProductEntry]) -> None:
    graph = KnowledgeGraph(entries)
    shared = graph.join_paths("artists/royalties", "podcasts/play-events")[0]
    assert len(shared.steps) == 1 and shared.steps[0].reason == "shared link"
    assert shared.steps[0].left.endswith("royalties/monthly#podcast_id")
    two = graph.join_paths("artists/royalties", "users/user-profiles")
    assert two, "royalties joins users through a product that has both identifiers"
    assert [len(p.steps) for p in two] == sorted(len(p.steps) for p in two)
    assert two[0].products[0] == "artists/royalties" and two[0].products[-1] == "users/user-profiles"
    assert all(len(p.steps) >= 2 for p in two)
    assert two[0].to_dict()["steps"][0]["left"].startswith("dp://artists/royalties")


def test_no_join_path_between_unrelated_products(entries: list[ProductEntry]) -> None:
    lonely = ProductEntry(
        "weather",
        "daily",
        "1.0.0",
        "meteo@example.com",
        ports=(PortEntry("days", fields=(FieldEntry("day", "date"),)),),
    )
    assert KnowledgeGraph([*entries, lonely]).join_paths("weather/daily", "users/user-profiles") == []


_TOKEN = re.compile(
    r'\s*(?:(?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-F]{4})*>)|(?P<lit>"(?:[^"\\\n\r]|\\.)*")'
    r"|(?P<pname>[A-Za-z]*:[A-Za-z0-9_]*)|(?P<a>a)\b|(?P<punct>[.;]))"
)


def parse_turtle(text: str) -> list[tuple[str, str, str]]:
    """A strict reader for the Turtle subset the exporter writes (prefixes, ;-lists, literals)."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    tokens = []
    pos = 0
    while body[pos:].strip():
        match = _TOKEN.match(body, pos)
        assert match, f"unexpected Turtle at {body[pos : pos + 40]!r}"
        tokens.append(match.group(match.lastgroup or ""))
        pos = match.end()
    triples, i = [], 0
    while i < len(tokens):
        subject = tokens[i]
        i += 1
        while True:
            triples.append((subject, tokens[i], tokens[i + 1]))
            i += 3
            if tokens[i - 1] == ".":
                break
            assert tokens[i - 1] == ";", tokens[i - 3 : i]
    return triples


def test_turtle_export_parses_back_with_escapes(entries: list[ProductEntry]) -> None:
    tricky = dataclasses.replace(entries[0], description='Quotes " and \\ back\nslash\tand a bell \x07 and ünïcode')
    turtle = to_turtle(KnowledgeGraph([tricky, *entries[1:]]))
    assert turtle.startswith("@prefix hm: <https://hexmesh.dev/ns#> .")
    triples = parse_turtle(turtle)
    described = [o for s, p, o in triples if p == "dct:description" and s == "<dp://users/user-profiles>"]
    assert described == ['"Quotes \\" and \\\\ back\\nslash\\tand a bell \\u0007 and ünïcode"']
    assert (
        "<dp://podcasts/play-events/plays#listener_id>",
        "hm:linksTo",
        "<dp://users/user-profiles/profiles#user_id>",
    ) in triples
    assert ("<https://schema.org/email>", "a", "hm:Concept") in triples


def test_iri_with_forbidden_characters_is_escaped(entries: list[ProductEntry]) -> None:
    port = entries[0].ports[0]
    odd = dataclasses.replace(port.fields[1], concept="https://example.com/a b>c")
    changed = dataclasses.replace(port, fields=(port.fields[0], odd, *port.fields[2:]))
    turtle = to_turtle(KnowledgeGraph([dataclasses.replace(entries[0], ports=(changed,))]))
    assert "<https://example.com/a\\u0020b\\u003Ec>" in turtle
    parse_turtle(turtle)


def test_jsonld_export_is_json_with_a_node_per_subject(entries: list[ProductEntry]) -> None:
    document = json.loads(json.dumps(to_jsonld(KnowledgeGraph(entries))))
    assert document["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    nodes = {node["@id"]: node for node in document["@graph"]}
    product = nodes["dp://podcasts/listener-demographics"]
    assert set(product["@type"]) == {"hm:DataProduct", "dcat:Dataset"}
    assert {"@id": "dp://podcasts/play-events/plays"} in product["prov:wasDerivedFrom"]
    assert nodes["dp://users/user-profiles/profiles#email"]["hm:classification"] == ["personal"]


def _keyed(domain: str, name: str, field: str, concept: str) -> ProductEntry:
    port = PortEntry("rows", primary_key=(field,), fields=(FieldEntry(field, concept=concept),))
    return ProductEntry(domain, name, "1.0.0", "team@example.com", ports=(port,))


def test_keys_with_the_same_specific_concept_join_but_generic_ones_do_not() -> None:
    isbn = "https://schema.org/isbn"
    books = KnowledgeGraph([_keyed("shop", "books", "isbn", isbn), _keyed("lib", "loans", "book", isbn)])
    (path,) = books.join_paths("shop/books", "lib/loans")
    assert path.steps[0].reason == "shared concept"
    generic = "https://schema.org/identifier"
    ids = KnowledgeGraph([_keyed("a", "users", "id", generic), _keyed("b", "shows", "id", generic)])
    assert ids.join_paths("a/users", "b/shows") == []
