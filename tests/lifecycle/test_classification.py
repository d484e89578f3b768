"""Classification follows the data: publishing personal or restricted values under a weaker class is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace
from tests.support import ProductFactory

PEOPLE = """
domain: users
name: people
version: 1.0.0
owner: users@example.com
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation: {sql: transform.sql}
outputPorts:
  - name: people
    properties:
      - {name: user_id, logicalType: string, classification: personal, tags: [subject]}
      - {name: email, logicalType: string, classification: restricted}
      - {name: ip_address, logicalType: string, classification: personal}
      - {name: country, logicalType: string, classification: internal}
policies:
  access:
    - {id: sneaky-reads, allow: {product: evalx/sneaky}, ports: [people]}  # access is not the question here
  privacy:
    - {field: user_id, pseudonymize: {scope: product}}
    - {field: email, redact: true}
    - {field: ip_address, redact: true}
"""

SNEAKY = """
domain: evalx
name: sneaky
version: 1.0.0
owner: mallory@example.com
inputPorts:
  - {{name: people, from: dp://users/people/people}}
transformation: {transformation}
outputPorts:
  - name: contacts
    properties:
{fields}
"""


def _people(make: ProductFactory) -> Path:
    csv = "user_id,email,ip_address,country\nu1,a@x.test,10.0.0.1,FR\n"
    return make("people", PEOPLE, {"transform.sql": "select * from raw", "data/a.csv": csv})


def _sneaky(make: ProductFactory, fields: list[str], *, sql: str | None = None, python: bool = False) -> Path:
    lines = "\n".join(f"      - {f}" for f in fields)
    if python:
        files = {"code.py": "def transform(inputs):\n    return {'contacts': inputs['people']}\n"}
        spec = SNEAKY.format(transformation="{python: code.py:transform}", fields=lines)
    else:
        files = {"transform.sql": sql or ""}
        spec = SNEAKY.format(transformation="{sql: transform.sql}", fields=lines)
    return make("sneaky", spec, files)


def test_the_issue_s_sneaky_product_is_refused_naming_each_field(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([_people(make_product)])
    sneaky = _sneaky(
        make_product,
        [
            "{name: ip, logicalType: string, classification: public}",
            "{name: contact, logicalType: string, classification: public}",
            "{name: country, logicalType: string, classification: public}",
            "{name: listeners, logicalType: integer, classification: public}",
        ],
        sql="with j as (select p.* from people p) select ip_address as ip, upper(email) as contact, country, "
        "count(distinct user_id) as listeners from j group by all",
    )
    with pytest.raises(SpecError) as refused:
        workspace.deploy([sneaky])
    text = str(refused.value)
    assert "field:contacts.ip: carries personal data from people.ip_address" in text
    assert "field:contacts.contact: carries restricted data from people.email" in text
    # A country is internal, and a count of people is no value of them: neither is a finding.
    assert "contacts.country" not in text and "contacts.listeners" not in text
    with pytest.raises(SpecError, match=r"core.classification-follows-data fails at field:contacts\.ip"):
        workspace.validate([sneaky])
    assert "evalx/sneaky" not in workspace.deployed_specs()


def test_a_privacy_rule_or_the_right_class_lets_it_deploy(workspace: Workspace, make_product: ProductFactory) -> None:
    workspace.deploy([_people(make_product)])
    sneaky = _sneaky(
        make_product,
        ["{name: ip, logicalType: string, classification: personal}"],
        sql="select ip_address as ip from people",
    )
    spec = sneaky / "dataproduct.yaml"
    spec.write_text(spec.read_text() + "policies:\n  privacy:\n    - {field: ip, redact: true}\n")
    workspace.deploy([sneaky])


def test_python_outputs_inherit_the_strongest_input_class_unless_a_reason_is_given(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([_people(make_product)])
    field = "{name: country, logicalType: string, classification: internal"
    with pytest.raises(SpecError, match=r"contacts\.country: carries restricted data from people\.email .*no column"):
        workspace.deploy([_sneaky(make_product, [field + "}"], python=True)])
    reason = field + ", classificationReason: only the country column is returned}"
    workspace.deploy([_sneaky(make_product, [reason], python=True)])
