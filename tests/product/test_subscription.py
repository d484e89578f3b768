"""Where a subscription starts: a time is a processing time (when rows were published), as on every port."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hexmesh.errors import ReadError
from hexmesh.infra.events import Event, EventLog, OffsetStore, open_event_log
from hexmesh.product.subscription import EventTimes, start_after

STREAM = "port:sales/shop/orders"


def _publication(snapshot: int, published: str, event_times: list[str]) -> list[Event]:
    return [
        Event(
            f"{snapshot}-{i}",
            {"id": f"{snapshot}-{i}", "time": moment, "processingtime": published, "data": {"n": i}},
        )
        for i, moment in enumerate(event_times)
    ]


async def _log_of_three_publications(home: Path) -> EventLog:
    """Three publications (10:00, 12:00, 14:00 on 2026-01-01), all appended now: as a node started later does."""
    log = open_event_log(None, home)
    await log.append(STREAM, _publication(1, "2026-01-01T10:00:00.000000Z", ["2025-12-30T08:00:00Z"] * 2))
    await log.append(STREAM, _publication(2, "2026-01-01T12:00:00.000000Z", ["2025-12-31T08:00:00Z"] * 3))
    await log.append(STREAM, _publication(3, "2026-01-01T14:00:00.000000Z", ["2026-01-01T08:00:00Z"]))
    return log


@pytest.mark.parametrize(
    ("start", "first_id", "count"),
    [
        ("2026-01-01T11:00:00+00:00", "2-0", 4),  # between two publications: the next one
        ("2026-01-01T12:00:00Z", "2-0", 4),  # exactly at a publication: it is included
        ("2026-01-01T13:59:59Z", "3-0", 1),
        ("2026-01-01T09:00:00Z", "1-0", 6),  # before everything
        ("2026-01-01T15:00:00Z", None, 0),  # after the last publication: only what comes next
    ],
)
def test_a_start_time_is_the_processing_time_not_the_append_time(
    tmp_path: Path, start: str, first_id: str | None, count: int
) -> None:
    async def scenario() -> list[str]:
        log = await _log_of_three_publications(tmp_path)
        try:
            after = await start_after(log, OffsetStore(tmp_path / "offsets.db"), STREAM, start=start)
            return [e.id for e in await log.read(STREAM, after, 100)]
        finally:
            await log.close()

    ids = asyncio.run(scenario())
    assert len(ids) == count
    assert (ids[0] if ids else None) == first_id


def test_event_times_keep_the_rows_in_the_window_as_served() -> None:
    window = EventTimes(since=datetime(2025, 12, 31, tzinfo=UTC), until=datetime(2026, 1, 1, 8, tzinfo=UTC))
    shown = [
        (str(i), json.dumps({"id": str(i), "data": {"at": at}}))
        for i, at in enumerate(
            [
                "2025-12-30T23:59:59.999999Z",
                "2025-12-31T00:00:00.000000Z",  # since is inclusive
                "2025-12-31",  # a date is its midnight
                "2026-01-01T07:59:59Z",
                "2026-01-01T08:00:00Z",  # until is exclusive
                None,  # masked away: in no window
                "p_3f9a",  # a pseudonym is no time
            ]
        )
    ]
    assert [cursor for cursor, _ in window.keep(shown, "at")] == ["1", "2", "3"]


def test_an_empty_event_time_window_is_refused() -> None:
    with pytest.raises(ReadError, match=r"must be before until"):
        EventTimes(since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))
