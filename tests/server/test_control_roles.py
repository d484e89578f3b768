"""The control port with roles: an operator runs every product but reads no row and changes no policy;
a governance principal changes the mesh's rule set; an owner runs its own product. Every attempt is audited."""

from __future__ import annotations

from pathlib import Path

import httpx

from hexmesh.governance import Principal
from tests.cli.test_serve import bearer, serving
from tests.product.policy.test_operators import make_token

RULES = "name: acme\nversion: '1'\nrules: []\n"
CONTROL = "/products/sales/shop/control"


def test_roles_administer_and_read_nothing(tmp_path: Path) -> None:
    with serving(tmp_path, "--auth") as (http_port, _):
        home = tmp_path / "ws"
        operator = bearer(make_token(home, Principal("ops", "ServiceAccount", roles=frozenset({"operator"}))))
        governance = bearer(make_token(home, Principal("gov", "ServiceAccount", roles=frozenset({"governance"}))))
        owner = bearer(make_token(home, Principal("me@example.com")))
        stranger = bearer(make_token(home, Principal("eve@example.com")))
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=60) as http:
            assert http.post(f"{CONTROL}/pause", headers=operator).status_code == 200
            assert http.post(f"{CONTROL}/resume", headers=owner).status_code == 200
            assert http.post(f"{CONTROL}/pause", headers=stranger).status_code == 403
            assert http.post(f"{CONTROL}/pause").status_code == 401
            assert http.get(f"{CONTROL}/audit", headers=operator).status_code == 200
            # A role is no data permission, and who may read is the owners' decision.
            assert http.get("/products/sales/shop/ports/orders/data", headers=operator).status_code == 403
            put = http.put(f"{CONTROL}/policies", headers=operator, json={"access": [], "privacy": []})
            assert put.status_code == 403 and "only its owner" in put.json()["detail"]
            yaml = {"Content-Type": "application/yaml"}
            assert http.put("/control/rules", headers=operator | yaml, content=RULES).status_code == 403
            accepted = http.put("/control/rules", headers=governance | yaml, content=RULES)
            assert accepted.status_code == 200, accepted.text
            log = http.get(f"{CONTROL}/audit", headers=owner, params={"limit": 1000}).json()
    steps = [(e["actor"], e["action"], e["decision"]) for e in log]
    assert ("ServiceAccount:ops", "control.pause", "ok") in steps
    assert ("User:eve@example.com", "control.pause", "refused") in steps
    assert ("ServiceAccount:ops", "control.replace-policies", "refused") in steps
    assert ("ServiceAccount:ops", "files.read", "deny") in steps
