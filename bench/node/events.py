"""Events port: delivered events per second and commit-to-subscriber latency, SSE vs NATS.

Baseline in the same run: raw nats-py publishing to and pull-consuming from JetStream.
Goal (issue 4): ≥ 100k events/s per subscriber, p99 latency < 200 ms.
Writes bench/results/node-events.json. Run: ``python -m bench.node.events [--events N]``
(needs ``nats-server`` on the PATH; it starts its own with JetStream on a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench.node._node import HEXMESH, free_port, orders_workspace, quantiles, serve, write_orders
from bench.report import Result, show

PATH = "/products/sales/shop/ports/orders/events"


def _consume(base: str, expected: int) -> tuple[float, int]:
    """Read ``expected`` events of the port from the beginning over SSE; return seconds, count."""
    started = time.perf_counter()
    count = 0
    with httpx.stream("GET", base + PATH, params={"start": "beginning", "limit": expected}, timeout=None) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                count += 1
    return time.perf_counter() - started, count


def _latency(base: str, home: Path, shop: Path, rows: int) -> dict[str, float]:
    """Follow from the end, publish ``rows`` new rows with a run, time each event's arrival."""
    lags: list[float] = []
    with httpx.stream("GET", base + PATH, params={"start": "end", "limit": rows}, timeout=None) as response:
        lines = response.iter_lines()
        next(lines)  # the stream is open: now publish
        write_orders(shop, "2026-01-02", rows, 10_000_000)
        # Not subprocess.run: events must be read as they arrive, while the run process is still
        # finishing its own work after publishing (waiting for it measured the run's exit).
        run = subprocess.Popen(
            [HEXMESH, "run", "sales/shop", "--home", str(home)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for line in lines:
            if line.startswith("data: "):
                body = json.loads(line[6:])
                published = datetime.fromisoformat(body["processingtime"]).timestamp()
                lags.append(time.time() - published)
        if run.wait() != 0:
            raise RuntimeError(f"hexmesh run failed with exit code {run.returncode}")
    return {k: v * 1000 for k, v in quantiles(lags).items()}


async def _raw_nats(url: str, count: int) -> dict[str, float]:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="RAWBENCH", subjects=["rawbench"])
    payload = json.dumps({"specversion": "1.0", "data": {"order_id": 1, "amount": "1.50"}}).encode()
    started = time.perf_counter()
    window = []
    for i in range(count):
        window.append(js.publish("rawbench", payload, headers={"Nats-Msg-Id": str(i)}))
        if len(window) == 500:
            await asyncio.gather(*window)
            window = []
    await asyncio.gather(*window)
    published = time.perf_counter() - started
    from nats.js.api import AckPolicy, ConsumerConfig

    # Ack-all: acking the last message of a batch acks the batch (like a stored offset).
    config = ConsumerConfig(ack_policy=AckPolicy.ALL, max_ack_pending=-1)
    sub = await js.pull_subscribe("rawbench", durable="rawbench", config=config)
    started, got = time.perf_counter(), 0
    while got < count:
        messages = await sub.fetch(1000, timeout=5)
        got += len(messages)
        await messages[-1].ack()
    consumed = time.perf_counter() - started
    await nc.close()
    return {"publish_per_s": count / published, "consume_per_s": count / consumed}


def run(events: int = 100_000, latency_rows: int = 1_000) -> Result:
    binary = shutil.which("nats-server")
    load_before = os.getloadavg()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        nats_proc = subprocess.Popen(
            [
                binary or "nats-server",
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "-sd",
                f"{tmp}/nats",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"nats://127.0.0.1:{port}"
        try:
            time.sleep(1)
            backends = (("sse (embedded log)", ()), ("sse (NATS log)", ("--events", url)))
            for index, (label, extra) in enumerate(backends):
                root = Path(tmp) / f"mesh-{index}"
                home, shop = orders_workspace(root, events)
                with serve(home, *extra) as base:
                    # First pass: the emitter turns the snapshot into events while we read.
                    first_s, _ = _consume(base, events)
                    # Second pass: a replay of a log that already holds everything.
                    seconds, count = _consume(base, events)
                    lag = _latency(base, home, shop, latency_rows)
                figures[label] = {
                    "events": count,
                    "delivered_per_s": count / seconds,
                    "snapshot_to_all_delivered_s": first_s,
                    **{f"latency_{k}_ms": v for k, v in lag.items()},
                }
            figures["raw nats-py"] = asyncio.run(_raw_nats(url, events))
        finally:
            nats_proc.terminate()
            nats_proc.wait()
    headline = [
        (
            k,
            f"{v.get('delivered_per_s', v.get('consume_per_s', 0)):,.0f} ev/s"
            + (
                f", p50 {v['latency_p50_ms']:.0f} ms, p99 {v['latency_p99_ms']:.0f} ms" if "latency_p99_ms" in v else ""
            ),
        )
        for k, v in figures.items()
    ]
    headline.append(("load average (1 min) before / after", f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f}"))
    return Result(
        "node-events",
        "≥ 100k events/s per subscriber, p99 < 200 ms",
        headline,
        {
            "events": events,
            "latency_rows": latency_rows,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "results": figures,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--latency-rows", type=int, default=1_000)
    args = parser.parse_args()
    result = run(args.events, args.latency_rows)
    print(result.write())
    show([result])
