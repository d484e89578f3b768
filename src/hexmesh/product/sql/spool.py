"""Spool: a statement's rows, produced at the engine's pace and kept until a slower client reads them.

A statement holds one of the engine's turns (sql/admission.py) while the engine works for it.
Before this, the engine produced the rows while the client read them, so four clients reading a
big result slowly (or not at all) held all four turns and every other client waited. Now a
thread of the statement's own drains the engine into the spool, and the statement gives its turn
back as soon as the engine is done; the client reads the spool at its own pace (ADR 0045).

Rows wait in memory within the session's budget, itself within the port's (sql/budget.py). While
the client keeps reading, the engine waits for it, as it did before; once the client has read
nothing for a second, the rows go to an unlinked temporary file, within a session's and the port's
disk budgets, and the engine goes on. When even those are full, the engine waits for the client,
keeping its turn (bounded by the client write timeout and the statement timeout). The batch the
client reads next is always kept in memory, counted even past the budgets.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import pyarrow as pa

from hexmesh.product.sql.budget import Budget
from hexmesh.product.sql.results import StatementRows

__all__ = ["Spool"]

_RECHECK = 0.05  # seconds between two looks at the budgets while the engine waits for the client
#: Seconds a client may take to read its next batch before the engine stops waiting for it and writes
#: to disk: a client reading at wire speed takes a fraction of that per batch, and then nothing spills.
_PATIENCE = 1.0


@dataclass(frozen=True)
class _Held:
    batch: pa.RecordBatch
    size: int  # bytes taken from the memory budget (0: the batch in hand)


@dataclass(frozen=True)
class _Spilled:
    offset: int
    length: int


class Spool:
    """An iterator of a statement's batches, filled by the engine; :meth:`close` drops what is left.

    Errors of the engine reach the client after the rows produced before them, as they would
    have. ``interrupt`` stops the engine when the client goes away before it is done.
    """

    def __init__(
        self,
        rows: StatementRows,
        interrupt: Callable[[], None],
        memory: Budget,
        disk: Budget,
        batch_rows: int,
        folder: str | None = None,
    ) -> None:
        self.schema = rows.schema
        self._rows = rows
        self._interrupt = interrupt
        self._memory = memory
        self._disk = disk
        self._folder = folder
        self._batch_rows = batch_rows  # what a full batch of the engine holds
        self._entries: deque[_Held | _Spilled] = deque()
        self._spilled = 0  # entries in the file not read yet
        self._file: IO[bytes] | None = None
        self._end = 0  # bytes written to the file since it was last emptied (all taken from ``disk``)
        self._error: BaseException | None = None
        self._last_read = time.monotonic()
        self._produced = False
        self._closed = False
        self._ready = threading.Condition()

    # -- the engine's side -------------------------------------------------------------------

    def start(self) -> Spool:
        """Produce the first batch in the calling thread, and the rest in a thread of their own.

        A short first batch is most often the whole result (``select 1``, a catalog query): the next
        read, in this thread too, says so and no thread is needed."""
        first = self._read()
        if first is None:
            if self._error is not None and not self._entries:
                error, self._error = self._error, None
                raise error  # nothing was sent yet: the statement fails as a whole
            return self
        self._keep(first, wait=False)
        second: pa.RecordBatch | None = None  # a full first batch: more is likely, read on in the thread
        if first.num_rows < self._batch_rows:
            second = self._read()
            if second is None:
                return self
        thread = threading.Thread(target=self._produce, args=(second,), name="hexmesh-sql-result", daemon=True)
        thread.start()
        return self

    def _produce(self, batch: pa.RecordBatch | None) -> None:
        current = self._read() if batch is None else batch
        while current is not None:
            if not self._keep(current, wait=True):
                self._rows.close()  # the client went away: the engine stops, its turn is given back
                self._done(None)
                return
            current = self._read()

    def _read(self) -> pa.RecordBatch | None:
        """The engine's next batch; None when it is done (ran out or failed, the error kept for the client)."""
        try:
            return next(self._rows)
        except StopIteration:
            self._done(None)
        except BaseException as exc:  # handed to the client after the rows produced before it
            self._done(exc)
        return None

    def _done(self, error: BaseException | None) -> None:
        with self._ready:
            self._produced = True
            self._error = error
            self._ready.notify_all()

    def _keep(self, batch: pa.RecordBatch, *, wait: bool) -> bool:
        """Keep ``batch`` for the client; False when the spool was closed meanwhile.

        In memory when the budgets have room, or when the client has read all the rest (it reads this
        batch next: counted, even past the budgets). While the client keeps reading, the engine waits
        for it rather than write to disk; once it has read nothing for ``_PATIENCE``, the batch goes
        to the file. With the disk budgets full too, the engine waits for the client (``wait``), or,
        before the client has the spool, keeps the batch in memory past the budgets."""
        size = batch.nbytes
        data: pa.Buffer | None = None
        with self._ready:
            while True:
                if self._closed:
                    return False
                if self._memory.take(size) or (not self._entries and self._memory.force(size)):
                    self._entries.append(_Held(batch, size))
                    break
                idle = time.monotonic() - self._last_read
                if wait and idle < _PATIENCE:
                    self._ready.wait(_PATIENCE - idle)
                    continue
                if data is None:
                    self._ready.release()  # serializing may take a while: the client keeps reading meanwhile
                    try:
                        data = _serialized(batch)
                    finally:
                        self._ready.acquire()
                    continue
                if self._disk.take(data.size):
                    self._write(data)
                    break
                if not wait and self._memory.force(size):
                    self._entries.append(_Held(batch, size))
                    break
                self._ready.wait(_RECHECK)
            self._ready.notify_all()
        return True

    def _write(self, data: pa.Buffer) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="hexmesh-sql-result-", dir=self._folder)  # noqa: SIM115
        os.pwrite(self._file.fileno(), data, self._end)
        self._entries.append(_Spilled(self._end, data.size))
        self._end += data.size
        self._spilled += 1

    # -- the client's side -------------------------------------------------------------------

    def __iter__(self) -> Spool:
        return self

    def __next__(self) -> pa.RecordBatch:
        with self._ready:
            while not self._entries:
                if self._closed:
                    raise StopIteration
                if self._produced:
                    self._drop_file()  # all read: nothing more will be written
                    error, self._error = self._error, None
                    if error is not None:
                        raise error
                    raise StopIteration
                self._ready.wait(_RECHECK)
            entry = self._entries.popleft()
            self._last_read = time.monotonic()
            self._ready.notify_all()  # room for the engine, if it waits
            if isinstance(entry, _Held):
                self._memory.give(entry.size)
                return entry.batch
            assert self._file is not None
            data = os.pread(self._file.fileno(), entry.length, entry.offset)
            self._spilled -= 1
            if not self._spilled:  # all read: the file starts over
                self._file.truncate(0)
                self._disk.give(self._end)
                self._end = 0
        return _deserialized(data)

    def close(self) -> None:
        """Drop the rows not read and stop the engine if it still works; never blocks."""
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._memory.give(sum(e.size for e in self._entries if isinstance(e, _Held)))
            self._entries.clear()
            self._drop_file()
            working = not self._produced
            self._ready.notify_all()
        if working:
            self._interrupt()

    def _drop_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._disk.give(self._end)
            self._file, self._end, self._spilled = None, 0, 0

    @property
    def working(self) -> bool:
        """Whether the engine still produces rows for this statement."""
        with self._ready:
            return not self._produced


def _serialized(batch: pa.RecordBatch) -> pa.Buffer:
    """One batch as an Arrow IPC stream of its own (dictionaries included)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def _deserialized(data: bytes) -> pa.RecordBatch:
    with contextlib.closing(pa.ipc.open_stream(pa.py_buffer(data))) as reader:
        return reader.read_next_batch()
