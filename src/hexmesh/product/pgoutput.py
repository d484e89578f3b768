"""A parser for PostgreSQL's ``pgoutput`` logical replication messages (protocol version 1).

``pg_logical_slot_peek_binary_changes(slot, upto, null, 'proto_version', '1',
'publication_names', ...)`` returns one row per message: Begin, Relation, Insert, Update,
Delete, Truncate, Commit (and Origin, Type, Message, which carry nothing a source needs).
Column values arrive in PostgreSQL's text format; ``None`` is SQL null. The layout of each
message is PostgreSQL's "Logical Replication Message Formats" chapter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["Change", "Column", "Decoder", "PgOutputError", "Relation", "Transaction", "format_lsn", "parse_lsn"]

#: pgoutput timestamps count microseconds from 2000-01-01 UTC.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class PgOutputError(ValueError):
    """A message this parser does not understand (a newer protocol, or corrupt data)."""


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` → an integer; the inverse of :func:`format_lsn`."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    key: bool


@dataclass(frozen=True)
class Relation:
    oid: int
    namespace: str
    name: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Change:
    """One row change: ``op`` is insert, update, delete or truncate; ``values`` maps column → text or None.

    A delete (and an update under the default replica identity that changed the key) carries
    only the key columns; the others are None. A TOASTed value an update left unchanged is
    also None: set ``REPLICA IDENTITY FULL`` on the table to receive every column.
    """

    op: str
    relation: Relation
    values: dict[str, str | None]


@dataclass
class Transaction:
    """The changes of one committed transaction, in order."""

    xid: int
    commit_lsn: int
    """LSN of the commit record (the Begin message's final LSN)."""
    end_lsn: int = 0
    """End of the commit record: confirming up to here means the transaction was consumed."""
    committed_at: datetime = _EPOCH
    changes: list[Change] = field(default_factory=list)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return int(value)

    def byte(self) -> str:
        self.at += 1
        return chr(self.data[self.at - 1])

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at : end].decode("utf-8")
        self.at = end + 1
        return text

    def timestamp(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.take("!q"))

    def tuple(self, relation: Relation) -> dict[str, str | None]:
        # The hot path of a CDC read: one call per row, so plain locals and no helper calls.
        data, at = self.data, self.at
        count = int.from_bytes(data[at : at + 2], "big", signed=True)
        at += 2
        if count != len(relation.columns):
            raise PgOutputError(
                f"a row of {relation.namespace}.{relation.name} has {count} columns, "
                f"its relation {len(relation.columns)}"
            )
        values: dict[str, str | None] = {}
        for column in relation.columns:
            kind = data[at]
            at += 1
            if kind == 0x74:  # 't': text
                size = int.from_bytes(data[at : at + 4], "big")
                at += 4
                values[column.name] = data[at : at + size].decode("utf-8")
                at += size
            elif kind in (0x6E, 0x75):  # 'n' null, 'u' an unchanged TOASTed value that was not sent
                values[column.name] = None
            else:
                raise PgOutputError(f"column value kind {chr(kind)!r} is not known (binary mode is not supported)")
        self.at = at
        return values


class Decoder:
    """Feed messages in order; collect committed transactions.

    Relation messages are remembered by oid, as pgoutput sends each relation once per session
    before its first row.
    """

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self.transactions: list[Transaction] = []
        self._open: Transaction | None = None

    def feed(self, message: bytes) -> None:
        if not message:
            return
        reader = _Reader(message)
        kind = reader.byte()
        if kind == "B":
            final_lsn, committed, xid = reader.take("!Q"), reader.timestamp(), reader.take("!I")
            self._open = Transaction(xid, final_lsn, committed_at=committed)
        elif kind == "C":
            reader.take("!b")  # flags, unused
            commit_lsn, end_lsn, committed = reader.take("!Q"), reader.take("!Q"), reader.timestamp()
            current = self._current("Commit")
            current.commit_lsn, current.end_lsn, current.committed_at = commit_lsn, end_lsn, committed
            self.transactions.append(current)
            self._open = None
        elif kind == "R":
            self._relation(reader)
        elif kind == "I":
            relation = self._known(reader.take("!I"))
            if reader.byte() != "N":
                raise PgOutputError("an Insert message without its new row")
            self._current("Insert").changes.append(Change("insert", relation, reader.tuple(relation)))
        elif kind == "U":
            relation = self._known(reader.take("!I"))
            marker = reader.byte()
            if marker in ("K", "O"):  # the old key or row; the new row follows
                reader.tuple(relation)
                marker = reader.byte()
            if marker != "N":
                raise PgOutputError("an Update message without its new row")
            self._current("Update").changes.append(Change("update", relation, reader.tuple(relation)))
        elif kind == "D":
            relation = self._known(reader.take("!I"))
            if reader.byte() not in ("K", "O"):
                raise PgOutputError("a Delete message without the deleted key")
            self._current("Delete").changes.append(Change("delete", relation, reader.tuple(relation)))
        elif kind == "T":  # one "truncate" row per table, every column null: the table was emptied
            count, _options = reader.take("!i"), reader.take("!b")
            for _ in range(count):
                relation = self._known(reader.take("!I"))
                empty = dict.fromkeys((c.name for c in relation.columns), None)
                self._current("Truncate").changes.append(Change("truncate", relation, empty))
        elif kind in ("O", "Y", "M"):
            return  # Origin, Type and logical Message carry no rows
        else:
            raise PgOutputError(f"pgoutput message kind {kind!r} is not known to this parser (protocol version 1)")

    def _relation(self, reader: _Reader) -> None:
        oid, namespace, name = reader.take("!I"), reader.string(), reader.string()
        reader.byte()  # replica identity setting
        columns = []
        for _ in range(reader.take("!h")):
            flags, column = reader.take("!b"), reader.string()
            type_oid = reader.take("!I")
            reader.take("!i")  # type modifier
            columns.append(Column(column, type_oid, bool(flags & 1)))
        self.relations[oid] = Relation(oid, namespace, name, tuple(columns))

    def _known(self, oid: int) -> Relation:
        if oid not in self.relations:
            raise PgOutputError(f"a row of relation {oid} arrived before its Relation message")
        return self.relations[oid]

    def _current(self, what: str) -> Transaction:
        if self._open is None:
            raise PgOutputError(f"a {what} message outside a transaction")
        return self._open
