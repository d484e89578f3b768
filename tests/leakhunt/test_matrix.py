"""The leak-hunt matrix: port × hiding mechanism × principal, no hidden value comes back.

Each cell asks: did any canary of this mechanism come back to this principal through this port
(by value, in rows, documents, pages, errors, run records), and did any yes/no question about one
of them answer differently for the canary than for a decoy? Both count as leaks.

Cells that leak today are listed in KNOWN_LEAKS with who fixes them; they are strict xfails, so a
fix turns them into failures until the entry is removed. Extend the hunt by adding paths to a
port's probe (tests/leakhunt/probes.py) or a new port with ``@probe("name")``.
"""

from __future__ import annotations

import pytest

from tests.leakhunt.conftest import Probed
from tests.leakhunt.mesh import CANARIES, MECHANISMS, PRINCIPALS, LeakMesh
from tests.leakhunt.probes import PROBES, ui_client

#: Probes that need Spark (a Connect server from the pyspark wheel, Java 17): marked like the other Spark tests.
SPARK_PROBES = {"pyspark-input"}
#: (port, mechanism, principal) -> why it leaks today and who fixes it. Empty: no known leak.
KNOWN_LEAKS: dict[tuple[str, str, str], str] = {}


def _cells() -> list[object]:
    cells: list[object] = []
    for port in PROBES:
        for mechanism in MECHANISMS:
            for who in PRINCIPALS:
                reason = KNOWN_LEAKS.get((port, mechanism, who))
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                if port in SPARK_PROBES:
                    marks.append(pytest.mark.spark)
                cells.append(pytest.param(port, mechanism, who, id=f"{port}-{mechanism}-{who}", marks=marks))
    return cells


@pytest.mark.slow
@pytest.mark.parametrize(("port", "mechanism", "who"), _cells())
def test_no_hidden_value_comes_back(probed: Probed, port: str, mechanism: str, who: str) -> None:
    seen = probed(port, who)
    assert seen.texts, f"the {port} probe answered nothing to {who}: it proves nothing"
    assert not seen.leaked(mechanism), f"{who} got {mechanism} canaries through {port}: {seen.leaked(mechanism)}"
    assert not seen.answered(mechanism), (
        f"{who} learned about {mechanism} values through {port}: {seen.answered(mechanism)}"
    )


#: What the owner must find through the files port: a probe that finds nothing proves nothing.
_OWNER_SEES = ("no-grant", "masked", "pseudonym", "row-filter", "sealed", "aggregate-only", "synthetic-only")


@pytest.mark.slow
def test_the_canaries_are_there_for_their_owner(probed: Probed) -> None:
    seen = probed("files", "owner")
    for mechanism in _OWNER_SEES:
        assert seen.leaked(mechanism), f"the owner does not see the {mechanism} canaries: the probe would miss them"
    # Forgotten values are gone for everyone; retired majors are served to no one.
    assert not seen.leaked("forgotten") and not seen.leaked("retired-major")


@pytest.mark.slow
def test_the_owners_own_product_reads_the_canaries_through_an_input_port(probed: Probed) -> None:
    """The input probe reaches data: a product of the vault's owner team reads what its owner may."""
    seen = probed("input", "owner")
    for mechanism in ("no-grant", "masked", "pseudonym", "row-filter", "sealed", "aggregate-only"):
        assert seen.leaked(mechanism), f"the owner's product does not see the {mechanism} canaries"
    assert not seen.leaked("forgotten") and not seen.leaked("retired-major")


@pytest.mark.slow
def test_anonymous_callers_cannot_re_index_and_owners_see_their_sources(leak_mesh: LeakMesh) -> None:
    with leak_mesh.http("anonymous") as anonymous:
        refused = anonymous.post("/api/registry/refresh")
    assert refused.status_code == 401 and "needs a token" in refused.text
    with leak_mesh.http("analyst") as analyst:
        assert analyst.post("/api/registry/refresh").status_code == 200
    with leak_mesh.http("owner") as owner:
        # The allow-list shows an input's source to the product's owners: the hunt's canary is really there.
        assert "cnrysource0001" in owner.get("/api/registry").text


@pytest.mark.slow
def test_the_ui_preview_reaches_data_so_its_probe_proves_something(leak_mesh: LeakMesh) -> None:
    """The UI probe's previews are not all refusals: the analyst previews its shaped people, the owner the canaries."""
    with ui_client(leak_mesh, "analyst") as analyst:
        people = analyst.get("/ui/products/leak/vault/ports/people/preview")
        totals = analyst.get("/ui/products/leak/vault/ports/totals/preview")
    assert people.status_code == 200 and '<table class="preview">' in people.text, people.text
    # Aggregates only: no rows, an offer of a private profile (noisy counts), spent only when posted.
    assert (
        totals.status_code == 200 and '<table class="preview">' not in totals.text and "private profile" in totals.text
    )
    with ui_client(leak_mesh, "owner") as owner:
        mine = owner.get("/ui/products/leak/vault/ports/people/preview")
    assert mine.status_code == 200 and any(canary in mine.text for canary in CANARIES["masked"])


@pytest.mark.slow
@pytest.mark.spark
def test_the_owners_pyspark_build_reads_the_canaries_through_an_input_port(probed: Probed) -> None:
    """The PySpark probe reaches data; sealed fields in clear never go to Spark (ADR 0029, 0038): refused."""
    seen = probed("pyspark-input", "owner")
    assert seen.leaked("no-grant"), "the owner's PySpark build does not see the no-grant canaries"
    # The people port carries sealed e-mails the owner's principal opens: that run never reaches Spark.
    assert not seen.leaked("sealed") and any("restricted fields in clear" in text for text in seen.texts)
    assert not seen.leaked("forgotten") and not seen.leaked("retired-major")
