"""Discovery latency: p50/p95/p99 of a product's discovery document with many products deployed.

Baselines in the same run: ``GET /healthz`` (the server stack's floor: no I/O at all) and the
node's cached OpenAPI document. Documents are cached per product and revalidated with ETags, so
the run also measures a conditional request (``If-None-Match`` → 304).
Then the same with policies enforced (the default): an anonymous caller allowed to discover by a
mesh policy (each document shaped for it) and an owner (the cached document).
Goal (issue 4): p95 under 10 ms with 1,000 products. Writes bench/results/node-discovery.json.
Run: ``python -m bench.node.discovery [--products N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import httpx

from bench.node._node import quantiles, serve
from bench.report import Result, show
from hexmesh.governance import Principal
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens

SPEC = """\
domain: {domain}
name: {name}
version: 1.0.0
owner: team-{index}@example.com
description: Generated product number {index}.
inputPorts:
  - name: raw
    source: {{format: csv, path: data}}
outputPorts:
  - name: items
    eventTime: day
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: day, logicalType: date, required: true}}
      - {{name: label, logicalType: string, classification: internal}}
    slo: {{freshness: 1d}}
"""


def _mesh(root: Path, products: int) -> Path:
    folders = []
    for index in range(products):
        folder = root / f"p{index}"
        (folder / "data").mkdir(parents=True)
        (folder / "dataproduct.yaml").write_text(
            SPEC.format(domain=f"domain{index % 20}", name=f"product{index}", index=index)
        )
        (folder / "data" / "day.csv").write_text("id,day,label\n1,2026-01-01,a\n")
        folders.append(folder)
    home = root / "home"
    with Workspace.open(home) as workspace:
        workspace.deploy(folders)
    return home


def _timed(http: httpx.Client, paths: list[str], etags: dict[str, str] | None = None) -> list[float]:
    times = []
    for path in paths:
        headers = {"If-None-Match": etags[path]} if etags else {}
        started = time.perf_counter()
        response = http.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 304):
            response.raise_for_status()
    return times


def run(products: int = 1_000, requests: int = 500) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        home = _mesh(Path(tmp), products)
        rng = random.Random(7)
        picks = [rng.randrange(products) for _ in range(requests)]
        paths = [f"/products/domain{i % 20}/product{i}" for i in picks]
        every = [f"/products/domain{i % 20}/product{i}" for i in range(products)]
        with serve(home) as base, httpx.Client(base_url=base, timeout=60) as http:
            floor = quantiles(_timed(http, ["/healthz"] * requests))
            baseline = quantiles(_timed(http, ["/openapi.json"] * requests))
            # First request of each product (its spec parsed, its table located) ...
            cold = quantiles(_timed(http, every))
            # ... then the steady state, in a random order.
            discovery = quantiles(_timed(http, paths))
            etags = {p: http.get(p).headers["etag"] for p in set(paths)}
            revalidated = quantiles(_timed(http, paths, etags))
            catalog = quantiles(_timed(http, ["/"] * 20))
        # Policies enforced (the default): the owner's document is the cached one; anyone else gets a
        # document shaped for them (a public-discovery mesh policy lets anonymous callers see metadata).
        (home / "governance").mkdir()
        (home / "governance" / "policies.yaml").write_text(
            "access:\n  - {id: public-discovery, allow: {anyone: true}, actions: [discover]}\n"
        )
        with Workspace.open(home) as workspace:
            owner, _ = tokens.create_token(workspace.runtime.state.db, Principal("team-0@example.com", "User"))
        owned = [f"/products/domain0/product{i}" for i in range(0, products, 20)]
        with serve(home, "--auth") as base, httpx.Client(base_url=base, timeout=60) as http:
            _timed(http, every)  # warm: parse every spec and engine once
            shaped = quantiles(_timed(http, paths))
            http.headers["Authorization"] = f"Bearer {owner}"
            as_owner = quantiles(_timed(http, [owned[i % len(owned)] for i in range(requests)]))
    headline = [
        ("discovery p50 / p95", f"{discovery['p50']:.1f} / {discovery['p95']:.1f} ms"),
        ("first request p95", f"{cold['p95']:.1f} ms"),
        ("If-None-Match (304) p50 / p95", f"{revalidated['p50']:.1f} / {revalidated['p95']:.1f} ms"),
        ("floor p50 / p95 (healthz)", f"{floor['p50']:.1f} / {floor['p95']:.1f} ms"),
        ("openapi.json p50 / p95", f"{baseline['p50']:.1f} / {baseline['p95']:.1f} ms"),
        ("ratio p95 vs floor", f"{discovery['p95'] / floor['p95']:.1f}×"),
        ("catalog (GET /) p95", f"{catalog['p95']:.1f} ms"),
        ("policies enforced: anonymous (shaped) p50 / p95", f"{shaped['p50']:.1f} / {shaped['p95']:.1f} ms"),
        ("policies enforced: owner p50 / p95", f"{as_owner['p50']:.1f} / {as_owner['p95']:.1f} ms"),
    ]
    return Result(
        "node-discovery",
        "p95 < 10 ms with 1,000 products",
        headline,
        {
            "products": products,
            "requests": requests,
            "discovery_ms": discovery,
            "first_request_ms": cold,
            "revalidated_304_ms": revalidated,
            "floor_healthz_ms": floor,
            "baseline_ms": baseline,
            "catalog_ms": catalog,
            "auth_anonymous_shaped_ms": shaped,
            "auth_owner_ms": as_owner,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    result = run(args.products, args.requests)
    print(result.write())
    show([result])
