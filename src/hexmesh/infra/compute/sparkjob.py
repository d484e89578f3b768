"""One Spark job of a run: watched while it runs, and its failure told in words a user can act on.

A standalone cluster never fails a job whose workers are all gone: the application waits for a
worker to come back, for ever. So a watchdog thread cancels the job (its job group) once it has
gone ``wait`` seconds without any executor. It also cancels the job when an executor dies of
java.lang.OutOfMemoryError: Spark would start a new executor with the same memory and retry the
same task three more times (minutes each), and then report a lost shuffle file rather than the
memory (docs/adr/0043-spark-failures.md). Spark's own errors are Java exceptions with stack
traces of hundreds of lines; the user gets one sentence (what happened, what to do, that nothing
was published), and the log keeps the whole cause.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hexmesh.errors import TransformError

if TYPE_CHECKING:
    from pyspark import SparkContext

__all__ = ["JobWatch", "explain", "watched"]

log = logging.getLogger(__name__)
_POLL_S = 0.5
#: Spark's exit code of an executor killed by java.lang.OutOfMemoryError (SparkExitCode.OOM).
_OOM = re.compile(r"OutOfMemoryError|exited with code 52\b|GC overhead limit exceeded")
_LOST = re.compile(r"ExecutorLostFailure|worker lost|Executor heartbeat timed out|RPC client disassociated")
#: The line of a Java trace that says what went wrong (``org.apache.spark.SparkException: Job aborted …``).
_CAUSE = re.compile(r"^\s*(?:: |Caused by: )?[a-z][\w.$]*\.(\w+(?:Exception|Error)): (.+)$", re.MULTILINE)
_NOTHING = "Nothing was published"


@dataclass
class JobWatch:
    """What the watchdog saw: whether it cancelled the job, for want of executors or of memory."""

    wait: float
    cancelled: bool = False
    out_of_memory: bool = False
    stop: threading.Event = field(default_factory=threading.Event)


@contextmanager
def watched(context: SparkContext | None, watch: JobWatch) -> Iterator[JobWatch]:
    """Run the block's Spark jobs in a job group that is cancelled after ``watch.wait`` s without an executor.

    ``context`` is ``None`` where executors are not hexmesh's to count (Spark Connect: the
    server owns the driver) or cannot go missing (``local[N]``: they are the driver).
    """
    if context is None or watch.wait <= 0:
        yield watch
        return
    group = f"hexmesh-{uuid.uuid4().hex}"
    context.setJobGroup(group, "hexmesh run", interruptOnCancel=True)
    thread = threading.Thread(target=_watch, args=(context, group, watch), name=group, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join()
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]


def _watch(context: SparkContext, group: str, watch: JobWatch) -> None:
    since: float | None = None
    try:
        before = set(_removed(context))
    except Exception:  # the context is stopping: the job fails on its own
        log.debug("could not read the Spark executors' state", exc_info=True)
        return
    while not watch.stop.wait(_POLL_S):
        try:
            executors = _executors(context)
            reasons = [why for id_, why in _removed(context).items() if id_ not in before]
        except Exception:
            log.debug("could not read the Spark executors' state", exc_info=True)
            return
        if any(_OOM.search(why) for why in reasons):
            watch.out_of_memory = True
            context.cancelJobGroup(group)
            return
        if executors:
            since = None
            continue
        since = since if since is not None else time.monotonic()
        if time.monotonic() - since >= watch.wait:
            # Every job of the application, not just the group: none can run without an executor,
            # and a scalar subquery's job (run from Spark's own thread pool) may not carry the group.
            watch.cancelled = True
            context.cancelAllJobs()
            return


def _executors(context: SparkContext) -> int:
    """Executors registered with the driver (the driver's own entry is not one)."""
    tracker = context._jsc.sc().statusTracker()
    return max(0, len(tracker.getExecutorInfos()) - 1)


def _removed(context: SparkContext) -> dict[str, str]:
    """Why each executor the application lost went away (``Command exited with code 52``: out of memory)."""
    # The driver's status store (what the Spark UI shows): py4j reaches the Scala API as it is.
    executors = context._jsc.sc().statusStore().executorList(False)
    removed: dict[str, str] = {}
    for n in range(executors.size()):
        executor = executors.apply(n)
        if executor.removeReason().isDefined():
            removed[str(executor.id())] = str(executor.removeReason().get())
    return removed


def explain(exc: BaseException, *, file: str, master: str, memory: str, watch: JobWatch) -> TransformError:
    """``exc`` (a failed Spark job) as the error the user sees; the whole cause goes to the log."""
    log.warning("the Spark job of %s failed on %s", file, master, exc_info=exc)
    text = str(exc)
    if watch.cancelled:
        return TransformError(
            f"{file}: the Spark job had no executor for {watch.wait:g}s (every worker of {master} lost, or "
            "none with the free cores and memory it asks for) and was cancelled; start or check the workers "
            "(the master's web UI lists them), or raise spark_executor_wait, then run again. " + _NOTHING
        )
    if watch.out_of_memory or _OOM.search(text):
        return TransformError(
            f"{file}: a Spark executor ran out of memory (spark_executor_memory is {memory}); raise "
            "spark_executor_memory (HEXMESH_SPARK_EXECUTOR_MEMORY), or make the query hold less at once "
            "(collect_list / array_agg over many rows, one huge group), then run again. " + _NOTHING
        )
    if _LOST.search(text):
        return TransformError(
            f"{file}: the Spark job failed because its executors were lost mid-job ({_cause(text)}); check "
            f"the workers of {master} (their logs say why they stopped), then run again. " + _NOTHING
        )
    return TransformError(f"{file}: the Spark job failed: {_cause(text).rstrip('.')}. {_NOTHING}")


def _cause(text: str) -> str:
    """The Java exception's own message, not its trace nor py4j's 'An error occurred while calling o42'."""
    found = _CAUSE.search(text)
    if found is None:
        first = text.strip().splitlines()[0] if text.strip() else "no message"
        return first
    kind, message = found.groups()
    return f"{kind}: {message.strip()[:300]}"
