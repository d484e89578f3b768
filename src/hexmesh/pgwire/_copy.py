"""COPY ... TO STDOUT: statement parsing and vectorized text/CSV row rendering."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from . import _vector as v
from ._messages import message
from ._split import first_keyword
from ._text import encode_text
from .errors import PgError, SqlState

_COPY_RE = re.compile(
    r"^\s*COPY\s+(?P<source>\(.*\)|(?:\"[^\"]*\"|[\w.])+(?:\s*\([^)]*\))?)\s+TO\s+STDOUT\b(?P<opts>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_TABLE_RE = re.compile(r"^(?P<table>(?:\"[^\"]*\"|[\w.])+)\s*(?:\((?P<cols>[^)]*)\))?$", re.DOTALL)


@dataclass
class CopySpec:
    """A parsed COPY TO STDOUT: the query to run and the output format."""

    query: str
    csv: bool = False
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'


def _option_pairs(opts: str) -> list[tuple[str, str]]:
    opts = opts.strip().rstrip(";").strip()
    if re.match(r"^WITH\b", opts, re.IGNORECASE):
        opts = opts[4:].strip()
    if opts.startswith("(") and opts.endswith(")"):
        # Modern syntax: (FORMAT csv, HEADER true, DELIMITER ',').
        items = [i.strip() for i in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", opts[1:-1])]
        words = [[*i.split(None, 1), "true"] for i in items if i]
        return [(w[0], w[1]) for w in words]
    # Legacy syntax: CSV HEADER DELIMITER ',' NULL '' ...
    tokens = re.findall(r"'(?:[^']|'')*'|\S+", opts)
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].upper()
        if word in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING") and i + 1 < len(tokens):
            pairs.append((word, tokens[i + 1]))
            i += 2
        elif word in ("CSV", "BINARY", "TEXT"):
            pairs.append(("FORMAT", word))
            i += 1
        elif word == "AS":
            i += 1
        else:
            pairs.append((word, "true"))
            i += 1
    return pairs


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def parse_copy(sql: str) -> CopySpec | None:
    """Parse COPY ... TO STDOUT; None if the statement is not a COPY."""
    if first_keyword(sql) != "COPY":
        return None
    match = _COPY_RE.match(sql)
    if match is None:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "only COPY ... TO STDOUT is supported",
            hint="COPY FROM STDIN and COPY to server files are not available.",
        )
    source = match.group("source").strip()
    if source.startswith("("):
        query = source[1:-1]
    else:
        table = _TABLE_RE.match(source)
        assert table is not None
        cols = table.group("cols")
        query = f"SELECT {cols.strip() if cols else '*'} FROM {table.group('table')}"
    spec = CopySpec(query)
    delimiter_given = False
    for key, raw in _option_pairs(match.group("opts")):
        key, value = key.upper(), _unquote(raw)
        if key == "FORMAT":
            fmt = value.lower()
            if fmt == "binary":
                raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "COPY BINARY is not supported")
            spec.csv = fmt == "csv"
        elif key == "HEADER":
            spec.header = value.lower() not in ("false", "off", "0")
        elif key == "DELIMITER":
            spec.delimiter, delimiter_given = value, True
        elif key == "NULL":
            spec.null = value
        elif key == "QUOTE":
            spec.quote = value
    if spec.csv and spec.null == "\\N":
        spec.null = ""
    if spec.csv and not delimiter_given:
        spec.delimiter = ","
    return spec


def copy_out_response(ncols: int) -> bytes:
    """CopyOutResponse announcing text format for every column."""
    return message(b"H", struct.pack("!bh", 0, ncols) + b"\0\0" * ncols)


def _text_field(strings: pa.Array, spec: CopySpec) -> pa.Array:
    escaped = pc.replace_substring(strings, "\\", "\\\\")
    for raw, esc in (
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        (spec.delimiter, "\\" + spec.delimiter),
    ):
        escaped = pc.replace_substring(escaped, raw, esc)
    return pc.fill_null(escaped, spec.null)


def _csv_field(strings: pa.Array, spec: CopySpec) -> pa.Array:
    q = spec.quote
    specials = "[" + re.escape(spec.delimiter + q) + "\\r\\n]"
    doubled = pc.replace_substring(strings, q, q + q)
    quoted = pc.binary_join_element_wise(q, doubled, q, "")
    # A value equal to the NULL marker (e.g. the empty string) must be quoted to stay non-null.
    needs = pc.or_(pc.match_substring_regex(strings, specials), pc.equal(strings, spec.null))
    return pc.fill_null(pc.if_else(needs, quoted, strings), spec.null)


def render_header(names: list[str], spec: CopySpec) -> bytes:
    """The CSV header line."""
    fields: list[str] = _csv_field(pa.array(names, pa.string()), spec).to_pylist()
    return (spec.delimiter.join(fields) + "\n").encode()


def render_batch(batch: pa.RecordBatch, spec: CopySpec) -> bytes:
    """All rows of a batch as COPY text or CSV lines, built column-wise."""
    n: int = batch.num_rows
    if n == 0:
        return b""
    if batch.num_columns == 0:
        return b"\n" * n
    render = _csv_field if spec.csv else _text_field
    cols = [render(encode_text(batch.column(i)), spec) for i in range(batch.num_columns)]
    lines = pc.binary_join_element_wise(*cols, spec.delimiter)
    out: bytes = v.concat([v.from_arrow(lines), v.constant(b"\n", n)]).data.tobytes()
    return out
