"""Within one request each product's decider is looked up once; a grant approved meanwhile applies from the next."""

from __future__ import annotations

from hexmesh.governance import Principal
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import decide_access, one_request, request_access
from tests.product.policy.conftest import PRINCIPALS, Governed


def test_a_grant_applies_from_the_next_request_not_in_the_middle_of_one(governed: Governed) -> None:
    sidecar = governed.sidecar
    product = DeployedProduct.load(governed.workspace.runtime, "sales/orders")
    asker = Principal("newcomer-one-request@example.com")
    asked = request_access(sidecar, asker, "sales/orders", "orders", "one-request-test", note="please")
    with one_request():
        before = sidecar.decider(product)
        assert not before.decide(asker, "read", "orders", purpose="one-request-test").allowed
        decide_access(sidecar, asked.id, PRINCIPALS["owner"], "approve", note="ok")
        # The same request keeps the decider it started with (one grants lookup per product).
        assert sidecar.decider(product) is before
    try:
        with one_request():
            after = sidecar.decider(product)
            assert after is not before
            assert after.decide(asker, "read", "orders", purpose="one-request-test").allowed
        # Outside a request every call looks the grants up.
        assert sidecar.decider(product).decide(asker, "read", "orders", purpose="one-request-test").allowed
    finally:
        decide_access(sidecar, asked.id, PRINCIPALS["owner"], "revoke", note="the test is over")
