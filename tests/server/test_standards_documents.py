"""The discovery port in ODPS, ODCS, DPDS and DCS: valid documents, shaped per caller like the DCAT one,
linked from it (dct:hasFormat) and reached by content negotiation; its DCAT document is DCAT 3 JSON-LD."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from hexmesh.standards import validate_document
from tests.cli.test_serve import bearer, client, token
from tests.server.test_governed_metadata import _says_nothing_of_amount, _spec, member

FORMATS: dict[str, Callable[[str], Any]] = {
    "odps": yaml.safe_load,
    "odcs": yaml.safe_load,
    "dpds": json.loads,
    "dcs": yaml.safe_load,
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    tmp_path = tmp_path_factory.mktemp("standards")
    with client(tmp_path, "--auth", spec=_spec) as http:
        yield http, tmp_path / "ws"


def _get(http: httpx.Client, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    answer = http.get(path, headers=headers or {})
    assert answer.status_code == 200, answer.text
    return answer


def test_the_owner_gets_every_standard_whole_and_valid(node: tuple[httpx.Client, Path]) -> None:
    http, home = node
    owner = bearer(token(home, "me@example.com"))
    for fmt, parse in FORMATS.items():
        answer = _get(http, f"/products/sales/shop/standards/{fmt}", owner)
        document = parse(answer.text)
        assert validate_document(document, fmt) == [], fmt
        assert "amount" in answer.text  # the owner sees every field
    odps = yaml.safe_load(_get(http, "/products/sales/shop/standards/odps", owner).text)
    assert [p["contractId"] for p in odps["outputPorts"]] == ["dp://sales/shop@0/orders"]
    assert [p["name"] for p in odps["managementPorts"]] == ["discovery", "observability", "control"]
    assert odps["managementPorts"][2]["url"] == str(http.base_url).rstrip("/") + "/products/sales/shop/control"
    contract = yaml.safe_load(_get(http, "/products/sales/shop/standards/odcs?port=orders", owner).text)
    assert contract["id"] == "dp://sales/shop@0/orders"  # contractId → the contract's id
    assert yaml.safe_load(contract and yaml.safe_dump(contract))["customProperties"][0]["property"] == (
        "hexmesh.policies"
    )


def test_a_caller_gets_what_it_may_discover_and_nothing_else(node: tuple[httpx.Client, Path]) -> None:
    http, home = node
    analyst = member(home, "ann@example.com", "analysts")
    for who in (analyst, {}):  # a reader of every column but amount; anyone (public metadata)
        for fmt, parse in FORMATS.items():
            answer = _get(http, f"/products/sales/shop/standards/{fmt}", who)
            document = parse(answer.text)
            assert validate_document(document, fmt) == [], (fmt, validate_document(document, fmt))
            _says_nothing_of_amount(document)
            text = answer.text
            assert "hexmesh.policies" not in text and "analysts" not in text  # no access rules
            assert "orders/data" not in text and "csv" not in text.lower().replace("text/csv", "")  # no source
        contract = yaml.safe_load(_get(http, "/products/sales/shop/standards/odcs", who).text)
        (orders,) = contract["schema"]
        assert [p["name"] for p in orders["properties"]] == ["order_id", "customer_id", "ordered_at", "status"]


def test_content_negotiation_and_the_dcat_links(node: tuple[httpx.Client, Path]) -> None:
    http, _ = node
    negotiated = _get(http, "/products/sales/shop", {"Accept": "application/odps+yaml"})
    assert negotiated.headers["content-type"].startswith("application/odps+yaml")
    assert yaml.safe_load(negotiated.text)["kind"] == "DataProduct"
    document = _get(http, "/products/sales/shop").json()
    links = {f["dct:title"].split(" (")[0]: f["@id"] for f in document["dct:hasFormat"]}
    assert set(links) == {
        "Open Data Product Standard",
        "Open Data Contract Standard",
        "Data Product Descriptor Specification",
        "Data Contract Specification 1.2.1",
    }
    for url in links.values():
        assert _get(http, url).status_code == 200
    assert http.get("/products/sales/shop/standards/odcs?port=nope").status_code == 404
    assert http.get("/products/sales/nothing/standards/odps").status_code in (401, 404)


#: DCAT 3 (W3C Recommendation, 22 August 2024): its classes and properties. rdflib's DCAT namespace is
#: DCAT 2; DCAT 3 adds versions, series and their navigation.
def _terms(namespace: object) -> set[URIRef]:
    """The terms rdflib defines in a namespace (``dir`` of a DefinedNamespace lists their IRIs)."""
    return {URIRef(t) for t in dir(namespace) if t.startswith("http")}


DCAT3 = _terms(DCAT) | {
    URIRef(f"{DCAT}{t}")
    for t in (
        "DatasetSeries",
        "version",
        "hasVersion",
        "isVersionOf",
        "hasCurrentVersion",
        "previousVersion",
        "inSeries",
        "first",
        "last",
        "prev",
        "seriesMember",
        "servesDataset",
        "accessService",
        "endpointURL",
        "endpointDescription",
        "qualifiedRelation",
        "hadRole",
        "theme",
        "spatialResolutionInMeters",
        "temporalResolution",
    )
}
DCTERMS_TERMS = _terms(DCTERMS)
FOAF_TERMS = _terms(FOAF)
VCARD = "http://www.w3.org/2006/vcard/ns#"
IRI_RANGES = (
    DCAT.accessURL,
    DCAT.downloadURL,
    DCAT.endpointURL,
    DCAT.servesDataset,
    DCAT.distribution,
    DCTERMS.conformsTo,
)


def test_the_dcat_document_is_dcat3_json_ld_and_its_control_link_resolves(node: tuple[httpx.Client, Path]) -> None:
    http, home = node
    owner = bearer(token(home, "me@example.com"))
    document = _get(http, "/products/sales/shop", owner).json()
    context = document["@context"]
    json_terms = {k for k, v in context.items() if isinstance(v, dict) and v.get("@type") == "@json"}
    # Every key is a JSON-LD keyword or a term of a declared prefix: nothing is dropped as RDF.
    prefixes = {k for k, v in context.items() if isinstance(v, str)}

    def keys(value: object) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                if key != "@context" and key not in json_terms:
                    yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    bad = sorted({k for k in keys(document) if not k.startswith("@") and k.split(":", 1)[0] not in prefixes})
    assert bad == []
    with warnings.catch_warnings():  # rdflib 7.6's JSON-LD parser still builds a ConjunctiveGraph inside
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = Graph().parse(data=json.dumps(document), format="json-ld")
    assert len(graph) > 50
    used = {p for _, p, _ in graph} | {o for _, p, o in graph if p == RDF.type}
    for term in used:
        text = str(term)
        if text.startswith(str(DCAT)):
            assert term in DCAT3, f"{term} is not a DCAT 3 term"
        elif text.startswith(str(DCTERMS)):
            assert term in DCTERMS_TERMS, f"{term} is not a DCMI term"
        elif text.startswith(str(FOAF)):
            assert term in FOAF_TERMS, f"{term} is not a FOAF term"
    for prop in IRI_RANGES:  # object properties point at resources, not strings
        objects = list(graph.objects(None, prop))
        assert objects and not any(isinstance(o, Literal) for o in objects), prop
    service = URIRef(document["@id"])
    assert (service, RDF.type, DCAT.DataService) in graph
    for dataset in graph.objects(service, DCAT.servesDataset):
        assert (dataset, RDF.type, DCAT.Dataset) in graph
        for distribution in graph.objects(dataset, DCAT.distribution):
            assert (distribution, RDF.type, DCAT.Distribution) in graph
    assert all(isinstance(v, Literal) for v in graph.objects(None, URIRef(f"{DCAT}version")))
    control = URIRef("https://hexmesh.dev/ns#control")
    (target,) = graph.objects(service, control)
    assert isinstance(target, URIRef)
    answer = http.get(str(target), headers=owner)
    assert answer.status_code == 200 and answer.json()["dct:identifier"] == "dp://sales/shop"
    assert http.get(str(target)).status_code == 401  # it resolves for who may control, and asks others to sign in
    assert not any(str(t).startswith(VCARD) and str(t) not in (VCARD + "Kind", VCARD + "hasEmail") for t in used)
