"""A failed Spark job in words: what happened, what to do, nothing published, no Java stack trace."""

from __future__ import annotations

import logging

import pytest

from hexmesh.infra.compute.sparkjob import JobWatch, explain

MASTER = "spark://127.0.0.1:7077"
TRACE = "\n".join(f"\tat org.apache.spark.scheduler.DAGScheduler.fn{n}(DAGScheduler.scala:{n})" for n in range(200))


def py4j(message: str) -> Exception:
    """What a Py4JJavaError's text looks like: py4j's line, then the Java exception and its trace."""
    return RuntimeError(f"An error occurred while calling o42.parquet.\n: {message}\n{TRACE}")


def told(exc: Exception, watch: JobWatch | None = None) -> str:
    error = explain(exc, file="transform.sql", master=MASTER, memory="512m", watch=watch or JobWatch(120))
    return str(error)


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (
            "org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage 1.0 failed 4 "
            "times, most recent failure: Lost task 1.5 (executor 5): java.lang.OutOfMemoryError: Java heap space",
            "transform.sql: a Spark executor ran out of memory (spark_executor_memory is 512m); raise "
            "spark_executor_memory",
        ),
        (
            "org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 2.0 failed 4 "
            "times, most recent failure: ExecutorLostFailure (executor 1 exited caused by one of the running "
            "tasks) Reason: worker lost",
            f"transform.sql: the Spark job failed because its executors were lost mid-job (SparkException: Job "
            f"aborted due to stage failure: Task 0 in stage 2.0 failed 4 times, most recent failure: "
            f"ExecutorLostFailure (executor 1 exited caused by one of the running tasks) Reason: worker lost); "
            f"check the workers of {MASTER}",
        ),
        (
            "org.apache.spark.SparkArithmeticException: [DIVIDE_BY_ZERO] Division by zero.",
            "transform.sql: the Spark job failed: SparkArithmeticException: [DIVIDE_BY_ZERO] Division by zero. Nothing",
        ),
    ],
)
def test_a_failed_job_is_told_in_one_sentence_without_the_trace(cause: str, words: str) -> None:
    message = told(py4j(cause))
    assert message.startswith(words)
    assert message.endswith("Nothing was published")
    assert "\tat " not in message and "o42" not in message


def test_what_the_watchdog_cancelled_is_told_for_what_it_was() -> None:
    cancelled = py4j("org.apache.spark.SparkException: [SPARK_JOB_CANCELLED] Job 1 cancelled part of cancelled job")
    message = told(cancelled, JobWatch(5, cancelled=True))
    assert message.startswith(f"transform.sql: the Spark job had no executor for 5s (every worker of {MASTER} lost")
    assert "start or check the workers" in message and "spark_executor_wait" in message
    message = told(cancelled, JobWatch(5, out_of_memory=True))
    assert message.startswith("transform.sql: a Spark executor ran out of memory (spark_executor_memory is 512m)")


def test_the_whole_cause_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hexmesh.infra.compute.sparkjob"):
        told(py4j("org.apache.spark.SparkException: boom"))
    (record,) = caplog.records
    assert record.exc_info is not None and "DAGScheduler.fn199" in str(record.exc_info[1])
