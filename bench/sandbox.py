"""The cost of confining a Python transformation: the sandboxed child process vs calling it in-process.

The same function (a projection plus one computed column) runs on the same Arrow table both ways,
interleaved, after a warm-up, median of repeats: in-process (what hexmesh did before ADR 0028, and
the physical limit) and through ``hexmesh.product.sandbox.run_python`` (a fresh confined
interpreter, inputs and outputs through Arrow IPC files). Sizes: 10k rows (start-up dominates)
and 1M rows (copying dominates).

The in-process call of so light a function takes milliseconds, so the ratio mostly shows the
sandbox's fixed cost: starting a Python process with pyarrow, plus copying the rows twice. Goal: the
sandbox adds at most 3 s to a run at 1M rows on this 2-core machine, whatever its load.
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.report import Result
from hexmesh.product.sandbox import Limits, run_python

__all__ = ["run"]

_CODE = """\
import pyarrow.compute as pc


def build(inputs):
    raw = inputs["raw"]
    return raw.select(["id", "amount"]).append_column("doubled", pc.multiply(raw["amount"], 2))
"""
_SIZES = (10_000, 1_000_000)
_REPEAT = 5


def _table(rows: int) -> pa.Table:
    return pa.table({"id": pa.array(range(rows)), "amount": pa.array([i * 0.5 for i in range(rows)])})


def _in_process(bundle: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_transform", bundle / "transform.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


def run() -> Result:
    data: dict[str, Any] = {"method": f"interleaved in-process / sandbox calls after a warm-up, median of {_REPEAT}"}
    headline = []
    with tempfile.TemporaryDirectory(prefix="hexmesh-bench-sandbox-") as folder:
        bundle, home = Path(folder) / "bundle", Path(folder) / "home"
        bundle.mkdir()
        home.mkdir()
        (bundle / "transform.py").write_text(_CODE, encoding="utf-8")
        build = _in_process(bundle)
        limits = Limits(memory_mb=4096, cpu_seconds=600)
        for rows in _SIZES:
            inputs = {"raw": _table(rows)}

            def sandboxed(inputs: dict[str, pa.Table] = inputs) -> Any:
                return run_python(bundle, "transform.py:build", inputs, limits=limits, home=home, module="bench")

            def direct_call(inputs: dict[str, pa.Table] = inputs) -> Any:
                return build(inputs)

            assert sandboxed().equals(build(inputs))  # warm-up, and the same answer both ways
            direct: list[float] = []
            confined: list[float] = []
            for _ in range(_REPEAT):
                for action, times in ((direct_call, direct), (sandboxed, confined)):
                    started = time.perf_counter()
                    action()
                    times.append(time.perf_counter() - started)
            inside, outside = statistics.median(direct), statistics.median(confined)
            data[f"rows_{rows}"] = {
                "in_process_s": inside,
                "sandbox_s": outside,
                "ratio_sandbox_over_in_process": outside / inside,
                "sandbox_overhead_s": outside - inside,
                "in_process_all_s": direct,
                "sandbox_all_s": confined,
            }
            headline.append(
                (f"{rows:,} rows: sandbox / in-process", f"{outside / inside:.1f}x (+{outside - inside:.2f} s)")
            )
    return Result("sandbox", "the sandbox adds <= 3 s to a 1M-row run", headline, data)
