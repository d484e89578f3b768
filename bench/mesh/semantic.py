"""Recall of keyword, embedding and hybrid search on a labelled query set.

The corpus is the example mesh (five products, from their specs and READMEs), 30 hand-written
products of a plausible company mesh, and generated distractors (bench/mesh/search.py's
generator, whose small vocabulary overlaps with everything). Each of the 40 queries below was
written by hand with the products a person asking it would want. Some use the products' own
words, most ask the way people ask ("who stopped paying"), and a few have typos.

recall@5: the share of a query's expected products found among the first five hits, averaged
over the queries. The baseline in the same run is keyword search. Writes
bench/results/search-semantic.json. Run: ``python -m bench.mesh.semantic [--distractors N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.mesh.search import generate
from bench.report import Result, show
from hexmesh.mesh import FieldEntry, PortEntry, ProductEntry, SearchIndex, entry_from_spec
from hexmesh.mesh.semantic import Embeddings, Mode, search
from hexmesh.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "podcasts"

#: (domain, name, description, tags, fields) of a company mesh, written for this benchmark.
PRODUCTS: list[tuple[str, str, str, list[str], list[str]]] = [
    (
        "billing",
        "subscription-churn",
        "Subscribers who cancelled their paid plan, by month and reason.",
        ["consumer-aligned", "finance"],
        ["subscriber_id", "cancelled_on", "plan", "reason"],
    ),
    (
        "billing",
        "invoices",
        "Every invoice sent to a customer, with amounts, taxes and due dates.",
        ["source-aligned", "finance"],
        ["invoice_id", "customer_id", "amount", "tax", "due_on"],
    ),
    (
        "billing",
        "payment-failures",
        "Card payments that were declined or bounced, with the decline code.",
        ["source-aligned", "finance"],
        ["payment_id", "declined_at", "decline_code", "amount"],
    ),
    (
        "billing",
        "monthly-recurring-revenue",
        "MRR per plan and country, month by month.",
        ["consumer-aligned", "finance", "gold"],
        ["month", "plan", "country", "mrr"],
    ),
    (
        "billing",
        "refunds",
        "Money returned to customers after a complaint or a double charge.",
        ["source-aligned", "finance"],
        ["refund_id", "customer_id", "amount", "reason"],
    ),
    (
        "ads",
        "ad-impressions",
        "Each time an advertisement was shown in the app, with placement and campaign.",
        ["source-aligned", "marketing", "events"],
        ["impression_id", "campaign_id", "placement", "shown_at"],
    ),
    (
        "ads",
        "campaign-performance",
        "Clicks, conversions and spend of each advertising campaign per day.",
        ["consumer-aligned", "marketing"],
        ["campaign_id", "day", "clicks", "conversions", "spend"],
    ),
    (
        "ads",
        "advertiser-accounts",
        "Companies that buy ads, with their contracts and budgets.",
        ["source-aligned", "marketing"],
        ["advertiser_id", "company", "budget", "contract_end"],
    ),
    (
        "support",
        "support-tickets",
        "Help-desk tickets opened by listeners, with category and resolution time.",
        ["source-aligned"],
        ["ticket_id", "opened_at", "category", "resolved_at"],
    ),
    (
        "support",
        "customer-satisfaction",
        "CSAT and NPS survey answers after a support conversation.",
        ["consumer-aligned"],
        ["survey_id", "score", "comment", "answered_at"],
    ),
    (
        "devices",
        "device-registry",
        "Phones, smart speakers and cars that run the player, with OS and model.",
        ["source-aligned"],
        ["device_id", "os", "model", "first_seen"],
    ),
    (
        "devices",
        "app-crashes",
        "Crash reports of the mobile apps, with stack signature and app version.",
        ["source-aligned", "events"],
        ["crash_id", "device_id", "app_version", "signature"],
    ),
    (
        "devices",
        "app-versions",
        "Which app version each device runs, and when it upgraded.",
        ["consumer-aligned"],
        ["device_id", "app_version", "upgraded_at"],
    ),
    (
        "artists",
        "royalty-statements",
        "What each artist and publisher is owed for the plays of their content.",
        ["consumer-aligned", "finance"],
        ["statement_id", "publisher", "period", "amount_owed"],
    ),
    (
        "artists",
        "rights-holders",
        "Who owns the rights to each podcast and in which territories.",
        ["source-aligned"],
        ["podcast_id", "owner", "territory", "valid_until"],
    ),
    (
        "content",
        "episode-transcripts",
        "Speech-to-text transcripts of every episode, with timestamps.",
        ["source-aligned"],
        ["episode_id", "start_ms", "text"],
    ),
    (
        "content",
        "episode-topics",
        "Topics and named entities detected in each episode's transcript.",
        ["consumer-aligned"],
        ["episode_id", "topic", "confidence"],
    ),
    (
        "content",
        "content-moderation",
        "Episodes flagged for hate speech, violence or copyright, and the decision.",
        ["source-aligned"],
        ["episode_id", "flag", "decision", "decided_at"],
    ),
    (
        "search",
        "search-queries",
        "What listeners typed into the search box, and what they clicked.",
        ["source-aligned", "events"],
        ["query_id", "text", "clicked_podcast", "searched_at"],
    ),
    (
        "search",
        "zero-result-searches",
        "Searches that found nothing, counted per query text and week.",
        ["consumer-aligned"],
        ["week", "text", "searches"],
    ),
    (
        "playback",
        "buffering-events",
        "Stalls and rebuffering during playback, with network type and bitrate.",
        ["source-aligned", "events", "realtime"],
        ["session_id", "stalled_ms", "network", "bitrate"],
    ),
    (
        "playback",
        "listening-sessions",
        "Sessions of continuous listening, with start, end and episodes played.",
        ["consumer-aligned"],
        ["session_id", "user_id", "started_at", "ended_at", "episodes"],
    ),
    (
        "playback",
        "completion-rates",
        "How much of each episode people finish, as a share of its length.",
        ["consumer-aligned", "gold"],
        ["episode_id", "completion_rate", "day"],
    ),
    (
        "marketing",
        "newsletter-signups",
        "People who subscribed to the email newsletter, with the signup source.",
        ["source-aligned", "pii", "marketing"],
        ["email", "signed_up_at", "source"],
    ),
    (
        "marketing",
        "referral-program",
        "Invitations sent by listeners and the friends who joined through them.",
        ["source-aligned", "marketing"],
        ["referrer_id", "invitee_id", "joined_at"],
    ),
    (
        "users",
        "account-deletions",
        "Users who deleted their account (right to be forgotten requests).",
        ["source-aligned", "pii"],
        ["user_id", "requested_at", "completed_at"],
    ),
    (
        "users",
        "user-consents",
        "Which users accepted tracking and marketing emails, and when.",
        ["source-aligned", "pii"],
        ["user_id", "consent", "given_at", "withdrawn_at"],
    ),
    (
        "finance",
        "exchange-rates",
        "Daily currency conversion rates from the central bank.",
        ["reference-data", "finance"],
        ["day", "currency", "rate_to_eur"],
    ),
    (
        "finance",
        "tax-rates",
        "VAT and sales tax rates per country and product type.",
        ["reference-data", "finance"],
        ["country", "product_type", "rate"],
    ),
    (
        "finance",
        "revenue-forecast",
        "Predicted revenue for the next quarters, per market.",
        ["consumer-aligned", "finance"],
        ["quarter", "market", "predicted_revenue"],
    ),
]

#: A query and the products a person asking it wants (any order).
QUERIES: list[tuple[str, list[str]]] = [
    # in the products' own words
    ("listener demographics", ["podcasts/listener-demographics"]),
    ("play events", ["podcasts/play-events"]),
    ("invoices", ["billing/invoices"]),
    ("ad impressions", ["ads/ad-impressions"]),
    ("support tickets", ["support/support-tickets"]),
    ("exchange rates", ["finance/exchange-rates"]),
    ("episode transcripts", ["content/episode-transcripts"]),
    ("royalty statements", ["artists/royalty-statements"]),
    # with typos
    ("subscripton churn", ["billing/subscription-churn"]),
    ("refunts", ["billing/refunds"]),
    # the way people ask
    ("who stopped paying for their plan", ["billing/subscription-churn"]),
    ("declined credit cards", ["billing/payment-failures"]),
    ("how much money we make each month", ["billing/monthly-recurring-revenue"]),
    ("customers who got their money back", ["billing/refunds"]),
    ("how well are our marketing campaigns doing", ["ads/campaign-performance"]),
    ("companies that advertise with us", ["ads/advertiser-accounts"]),
    ("are people happy with customer service", ["support/customer-satisfaction"]),
    ("complaints from users", ["support/support-tickets"]),
    ("which phones and speakers use the app", ["devices/device-registry"]),
    ("why does the app crash", ["devices/app-crashes"]),
    ("how much do we owe creators", ["artists/royalty-statements"]),
    ("who owns the copyright of a show", ["artists/rights-holders"]),
    ("what is said in each episode", ["content/episode-transcripts", "content/episode-topics"]),
    ("episodes removed for offensive content", ["content/content-moderation"]),
    ("searches with no results", ["search/zero-result-searches"]),
    ("what people look for", ["search/search-queries"]),
    ("playback stutters on slow networks", ["playback/buffering-events"]),
    ("do people finish the episodes", ["playback/completion-rates"]),
    ("email subscribers", ["marketing/newsletter-signups"]),
    ("invite a friend", ["marketing/referral-program"]),
    ("gdpr erasure requests", ["users/account-deletions"]),
    ("permission to send promotional email", ["users/user-consents"]),
    ("currency conversion", ["finance/exchange-rates"]),
    ("VAT per country", ["finance/tax-rates"]),
    ("expected sales next year", ["finance/revenue-forecast"]),
    ("most popular shows today", ["podcasts/top-podcasts-daily"]),
    ("age of the audience", ["podcasts/listener-demographics"]),
    ("list of all shows and their publishers", ["podcasts/podcast-catalog"]),
    ("registered users", ["users/user-profiles"]),
    ("every time someone listens to an episode", ["podcasts/play-events"]),
]


def corpus(distractors: int) -> list[ProductEntry]:
    entries = []
    for folder in sorted(p.parent for p in EXAMPLES.glob("*/*/dataproduct.yaml")):
        spec = load_spec(folder).spec
        readme = folder / (spec.docs or "README.md")
        entries.append(entry_from_spec(spec, docs=readme.read_text(encoding="utf-8") if readme.is_file() else ""))
    for domain, name, description, tags, fields in PRODUCTS:
        port = PortEntry(name=name.split("-")[-1], fields=tuple(FieldEntry(name=f, type="string") for f in fields))
        entries.append(
            ProductEntry(
                domain=domain,
                name=name,
                version="1.0.0",
                owner=f"{domain}@example.com",
                description=description,
                tags=tuple(tags),
                ports=(port,),
            )
        )
    return entries + generate(distractors, seed=11)


def recall(index: SearchIndex, embeddings: Embeddings, mode: Mode, k: int = 5) -> tuple[float, list[float], float]:
    shares, times = [], []
    for text, expected in QUERIES:
        started = time.perf_counter()
        hits = search(index, embeddings, text, mode=mode, limit=k).hits
        times.append(time.perf_counter() - started)
        found = {h.entry.key for h in hits}
        shares.append(sum(key in found for key in expected) / len(expected))
    return statistics.mean(shares), shares, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--distractors", type=int, default=1000)
    args = parser.parse_args()
    entries = corpus(args.distractors)
    known = {e.key for e in entries}
    assert all(key in known for _, keys in QUERIES for key in keys), "a labelled product is missing"
    index = SearchIndex(entries)
    embeddings = Embeddings()
    started = time.perf_counter()
    embeddings.index(entries)
    embed_s = time.perf_counter() - started
    figures = {mode: recall(index, embeddings, mode) for mode in ("keyword", "embedding", "hybrid")}
    base = figures["keyword"][0]
    result = Result(
        "search-semantic",
        "hybrid recall@5 above keyword recall@5 on the labelled queries",
        [
            *((f"recall@5 {mode}", f"{r:.3f}") for mode, (r, _, _) in figures.items()),
            ("hybrid / keyword", f"{figures['hybrid'][0] / base:.2f}x" if base else "n/a"),
            ("embedding time per product", f"{embed_s / len(entries) * 1000:.1f} ms"),
        ],
        {
            "products": len(entries),
            "labelled_products": len(entries) - args.distractors,
            "queries": len(QUERIES),
            "embedding_seconds": round(embed_s, 2),
            "modes": {
                mode: {
                    "recall_at_5": round(r, 4),
                    "median_query_ms": round(t * 1000, 2),
                    "per_query": {q: s for (q, _), s in zip(QUERIES, shares, strict=True)},
                }
                for mode, (r, shares, t) in figures.items()
            },
        },
    )
    print(result.write())
    show([result])


if __name__ == "__main__":
    main()
