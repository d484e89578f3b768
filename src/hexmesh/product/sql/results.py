"""A statement's rows as pgwire streams them: the row cap, PostgreSQL errors, and one release at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa

from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql.quotient import shown_batch, shown_schema
from hexmesh.product.sql.sqlstate import translate
from hexmesh.product.sql.zones import in_zone

__all__ = ["StatementRows"]


class StatementRows:
    """Batches from DuckDB's reader; ``done`` runs exactly once, whether the rows ran out, failed or were dropped.

    pgwire closes a result it stops reading (a portal closed early, a client gone): :meth:`close`
    releases the cursor and the statement's turn even if no batch was ever asked for.
    """

    def __init__(
        self, reader: pa.RecordBatchReader, cap: int | None, done: Callable[[], None], zone: str | None = None
    ) -> None:
        self.reader = reader
        self.cap = cap
        # Instants shown in the session's TimeZone; numerics with a scale per value as their text.
        self.schema = shown_schema(in_zone(reader.schema, zone))
        self.sent = 0
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._done is None:
            raise StopIteration
        try:
            batch = self.reader.read_next_batch()
        except StopIteration:
            self.close()
            raise
        except duckdb.Error as exc:
            self.close()
            raise translate(exc) from None
        except pa.ArrowException as exc:
            self.close()
            raise arrow_error(exc) from None
        except BaseException:
            self.close()
            raise
        if self.schema is not self.reader.schema:
            batch = shown_batch(batch).cast(self.schema)
        self.sent += batch.num_rows
        if self.cap is not None and self.sent > self.cap:
            self.close()
            raise PgError(
                SqlState.PROGRAM_LIMIT_EXCEEDED,
                f"result exceeds the SQL port's cap of {self.cap} rows",
                hint="Aggregate, filter or add LIMIT; use the files port for bulk exports.",
            )
        return batch

    def close(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


def arrow_error(exc: pa.ArrowException) -> PgError:
    text = str(exc)
    if "interrupt" in text.lower():
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    return PgError("XX000", text)
