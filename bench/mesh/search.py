"""Search latency at 10,000 generated products: p50/p95/p99 per kind of query.

The baseline in the same run is a plain scan (every query word as a substring of each product's
text, the simplest search that could work), so the figures read as ratios on any machine.
Writes bench/results/search.json. Run: ``python bench/mesh/search.py [--products N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

from hexmesh.mesh import FieldEntry, PortEntry, ProductEntry, SearchIndex

DOMAINS = [
    "podcasts",
    "users",
    "artists",
    "billing",
    "ads",
    "search",
    "playback",
    "content",
    "marketing",
    "finance",
    "support",
    "devices",
]
NOUNS = [
    "listener",
    "episode",
    "podcast",
    "play",
    "session",
    "device",
    "invoice",
    "payment",
    "campaign",
    "impression",
    "click",
    "artist",
    "royalty",
    "subscription",
    "region",
    "country",
    "genre",
    "rating",
    "review",
    "ticket",
    "search",
    "query",
    "chart",
    "ranking",
    "profile",
]
ADJECTIVES = [
    "daily",
    "hourly",
    "monthly",
    "raw",
    "curated",
    "enriched",
    "aggregated",
    "top",
    "active",
    "churned",
    "paid",
    "free",
    "mobile",
    "web",
]
TAGS = [
    "events",
    "source-aligned",
    "consumer-aligned",
    "pii",
    "finance",
    "marketing",
    "gold",
    "silver",
    "bronze",
    "realtime",
]
CONCEPTS = [
    "https://schema.org/email",
    "https://schema.org/identifier",
    "https://schema.org/PodcastSeries",
    "https://schema.org/addressRegion",
    "https://schema.org/Date",
    "https://schema.org/price",
]
STATUSES = ["active"] * 6 + ["draft", "deprecated", "proposed"]
SLO = ["met"] * 5 + ["at-risk", "breached", "unknown"]
CLASSES = [None, None, "public", "internal", "confidential", "personal"]


def generate(count: int, seed: int = 7) -> list[ProductEntry]:
    rng = random.Random(seed)
    entries = []
    for i in range(count):
        domain = rng.choice(DOMAINS)
        a, n1, n2 = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NOUNS)
        name = f"{a}-{n1}-{n2}-{i}"
        fields = tuple(
            FieldEntry(
                name=f"{rng.choice(NOUNS)}_{rng.choice(['id', 'count', 'at', 'name', 'amount'])}",
                type=rng.choice(["string", "integer", "timestamp", "decimal"]),
                description=f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} of the {n1}",
                classification=rng.choice(CLASSES),
                concept=rng.choice([None, None, *CONCEPTS]),
            )
            for _ in range(rng.randint(4, 12))
        )
        docs = " ".join(rng.choice(NOUNS + ADJECTIVES) for _ in range(rng.randint(30, 150)))
        entries.append(
            ProductEntry(
                domain=domain,
                name=name,
                version=f"{rng.randint(0, 3)}.{rng.randint(0, 9)}.0",
                owner=f"{domain}-team-{rng.randint(1, 30)}@example.com",
                status=rng.choice(STATUSES),
                description=f"{a.capitalize()} {n1} {n2} data for the {domain} domain.",
                docs=docs,
                tags=tuple(rng.sample(TAGS, rng.randint(1, 3))),
                ports=(PortEntry(name=n1, primary_key=(fields[0].name,), fields=fields),),
                slo_status=rng.choice(SLO),
            )
        )
    return entries


QUERIES = {
    "one word": ["listener", "royalty", "invoice", "genre", "campaign", "device"],
    "several words": [
        "daily listener episode",
        "monthly royalty artist",
        "paid subscription region",
        "mobile click impression",
    ],
    "typo": ["lisener", "royalyt", "subscripton", "campaing", "impresion"],
    "filters and words": [
        "domain:podcasts listener",
        "tag:events status:active play",
        "classification:personal -tag:pii profile",
        "slo:breached owner:ads-team-3@example.com",
    ],
    "filters only": ["domain:finance", "tag:gold status:deprecated"],
    "phrase": ['"daily listener"', '"paid subscription"'],
}


def scan(entries: list[ProductEntry], texts: list[str], query: str) -> int:
    words = [w for w in query.lower().replace('"', " ").split() if ":" not in w]
    return sum(1 for text in texts if all(w in text for w in words))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "results" / "search.json")
    args = parser.parse_args()
    entries = generate(args.products)
    started = time.perf_counter()
    index = SearchIndex(entries)
    index.search("warm up")  # builds the facet arrays once, as the first real query would
    build = time.perf_counter() - started
    texts = [json.dumps(e.to_dict()).lower() for e in entries]
    report: dict[str, object] = {
        "products": args.products,
        "rounds": args.rounds,
        "index_build_s": round(build, 3),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "kinds": {},
    }
    every: list[float] = []
    baseline_all: list[float] = []
    for kind, queries in QUERIES.items():
        timings, baseline, totals = [], [], {}
        for _ in range(args.rounds):
            for query in queries:
                t0 = time.perf_counter()
                result = index.search(query, limit=20)
                timings.append((time.perf_counter() - t0) * 1000)
                totals[query] = result.total
                t0 = time.perf_counter()
                scan(entries, texts, query)
                baseline.append((time.perf_counter() - t0) * 1000)
        every += timings
        baseline_all += baseline
        report["kinds"][kind] = {  # type: ignore[index]
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 0.95), 2),
            "baseline_scan_p95_ms": round(percentile(baseline, 0.95), 2),
            "matches": totals,
        }
    report["p50_ms"] = round(statistics.median(every), 2)
    report["p95_ms"] = round(percentile(every, 0.95), 2)
    report["p99_ms"] = round(percentile(every, 0.99), 2)
    report["baseline_scan_p95_ms"] = round(percentile(baseline_all, 0.95), 2)
    report["speedup_p95_vs_scan"] = round(report["baseline_scan_p95_ms"] / report["p95_ms"], 1)  # type: ignore[operator]
    report["goal_p95_ms"] = 20
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "kinds"}, indent=2))
    for kind, figures in report["kinds"].items():  # type: ignore[attr-defined]
        print(
            f"  {kind:18} p50 {figures['p50_ms']:6.2f} ms  p95 {figures['p95_ms']:6.2f} ms"
            f"  (scan p95 {figures['baseline_scan_p95_ms']:.1f} ms)"
        )


if __name__ == "__main__":
    main()
