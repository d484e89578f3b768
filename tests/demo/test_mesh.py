"""The example mesh's specs: valid, documented, and linked to fields that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.demo import example_mesh
from hexmesh.lifecycle import Workspace
from hexmesh.spec import DataProductSpec, parse_address


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DataProductSpec]:
    workspace = Workspace.open(tmp_path_factory.mktemp("mesh") / "home")
    return {item.spec.key: item.spec for item in workspace.validate([example_mesh()])}


def test_the_example_mesh_is_found_in_the_checkout() -> None:
    assert example_mesh() == Path(__file__).resolve().parents[2] / "examples" / "podcasts"


def test_the_example_mesh_validates(specs: dict[str, DataProductSpec]) -> None:
    assert sorted(specs) == [
        "podcasts/listener-demographics",
        "podcasts/play-events",
        "podcasts/podcast-catalog",
        "podcasts/top-podcasts-daily",
        "users/user-profiles",
    ]


def test_every_link_points_at_a_field_of_the_mesh(specs: dict[str, DataProductSpec]) -> None:
    links = 0
    for spec in specs.values():
        for port in spec.output_ports:
            for field in port.properties:
                for link in field.links:
                    address = parse_address(link)
                    target = specs[address.product_key].output(address.port or "")
                    assert target is not None, link
                    assert target.field(address.field or "") is not None, link
                    links += 1
    assert links >= 5


def test_every_port_promises_freshness_and_checks_quality(
    specs: dict[str, DataProductSpec],
) -> None:
    for spec in specs.values():
        assert spec.docs == "README.md"
        for port in spec.output_ports:
            assert port.slo is not None and port.slo.freshness, f"{spec.key}/{port.name}"
            assert port.quality, f"{spec.key}/{port.name}"


def test_personal_data_is_classified(specs: dict[str, DataProductSpec]) -> None:
    plays = specs["podcasts/play-events"].output("plays")
    profiles = specs["users/user-profiles"].output("profiles")
    assert plays is not None and profiles is not None
    for port, name in [(plays, "ip_address"), (plays, "country"), (profiles, "birth_year")]:
        field = port.field(name)
        assert field is not None and field.classification == "personal"
    email = profiles.field("email")
    assert email is not None and email.classification == "restricted"
