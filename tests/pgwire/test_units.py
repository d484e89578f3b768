"""Unit tests of the pure parts: splitting, SCRAM, numeric, COPY parsing, vectorized encoders."""

from __future__ import annotations

import base64
import struct
from decimal import Decimal

import pyarrow as pa
import pytest

from hexmesh.pgwire import PgError, ScramError, ScramExchange, ScramVerifier
from hexmesh.pgwire._copy import parse_copy
from hexmesh.pgwire._numeric import numeric_from_bytes, numeric_to_bytes
from hexmesh.pgwire._params import decode_param
from hexmesh.pgwire._rows import columns_of, encode_batch, expand_formats
from hexmesh.pgwire._split import first_keyword, split_statements
from hexmesh.pgwire._text import encode_text
from hexmesh.pgwire.types import Oid, arrow_to_pg, oid_to_arrow


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select 1; select 2;", ["select 1", "select 2"]),
        ("select ';' ; select \"a;b\"", ["select ';'", 'select "a;b"']),
        ("select $$;$$; select $tag$ $$ ; $tag$", ["select $$;$$", "select $tag$ $$ ; $tag$"]),
        ("select E'\\';' as x; select 'it''s;'", ["select E'\\';' as x", "select 'it''s;'"]),
        ("/* a; /* nested; */ */ select 1 -- c;\n; ;", ["/* a; /* nested; */ */ select 1 -- c;"]),
        ("  ; -- only a comment", []),
    ],
)
def test_split_statements(sql: str, expected: list[str]) -> None:
    assert split_statements(sql) == expected


def test_first_keyword_skips_comments() -> None:
    assert first_keyword("-- x\n /* y */ (begin") == "BEGIN"


def test_scram_rfc7677_vector() -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = ScramVerifier.from_password("pencil", salt=salt, iterations=4096)
    exchange = ScramExchange(verifier, server_nonce="%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    first = exchange.server_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first == (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    final = exchange.server_final(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert ScramVerifier.parse(verifier.to_string()) == verifier
    assert verifier.matches("pencil") and not verifier.matches("pen")


def test_scram_rejects_bad_proof_and_channel_binding() -> None:
    exchange = ScramExchange(ScramVerifier.from_password("x"))
    with pytest.raises(ScramError):
        exchange.server_first(b"p=tls-server-end-point,,n=,r=abc")
    exchange.server_first(b"n,,n=,r=abc")
    with pytest.raises(ScramError):
        exchange.server_final(b"c=biws,r=wrong,p=AAAA")


@pytest.mark.parametrize("text", ["0", "-1.5", "12345.6789", "0.000001", "1e30", "-99999999.0001", "NaN"])
def test_numeric_binary_round_trip(text: str) -> None:
    value = Decimal(text)
    back = numeric_from_bytes(numeric_to_bytes(value))
    assert (back.is_nan() and value.is_nan()) or back == value


def test_numeric_binary_known_encoding() -> None:
    # 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3.
    assert numeric_to_bytes(Decimal("12345.678")) == struct.pack("!hhHh3h", 3, 1, 0, 3, 1, 2345, 6780)


def test_parse_copy_variants() -> None:
    spec = parse_copy("COPY (select 1) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER ';')")
    assert spec is not None and spec.csv and spec.header and spec.delimiter == ";"
    spec = parse_copy('copy "my table" (a, b) to stdout')
    assert spec is not None and spec.query == 'SELECT a, b FROM "my table"' and not spec.csv
    assert parse_copy("select 1") is None
    with pytest.raises(PgError) as info:
        parse_copy("copy t from stdin")
    assert info.value.sqlstate == "0A000"


def test_param_decoding() -> None:
    assert decode_param(b'{1,NULL,"3"}', 1007, 0) == [1, None, 3]
    assert decode_param(b"\\x00ff", Oid.BYTEA, 0) == b"\x00\xff"
    assert decode_param(struct.pack("!q", 7), Oid.INT8, 1) == 7
    assert decode_param(None, Oid.INT4, 0) is None
    with pytest.raises(PgError) as info:
        decode_param(b"abc", Oid.INT4, 0)
    assert info.value.sqlstate == "22P02"


def test_type_mapping_both_ways() -> None:
    assert arrow_to_pg(pa.field("x", pa.int32())).oid == Oid.INT4
    assert arrow_to_pg(pa.field("x", pa.list_(pa.float64()))).oid == 1022
    assert arrow_to_pg(pa.field("x", pa.decimal128(10, 2))).typmod == (10 << 16 | 2) + 4
    assert arrow_to_pg(pa.field("x", pa.string(), metadata={b"pg_oid": b"3802"})).oid == Oid.JSONB
    assert oid_to_arrow(Oid.TIMESTAMPTZ) == pa.timestamp("us", tz="UTC")
    assert oid_to_arrow(1009) == pa.list_(pa.string())


def test_text_encoding_of_sliced_arrays_with_nulls() -> None:
    arr = pa.array([[1], None, ["x"]] if False else [["a", None], None, ["b c", ""]]).slice(1)
    assert encode_text(arr).to_pylist() == [None, '{"b c",""}']
    floats = pa.array([float("inf"), float("-inf"), float("nan"), None])
    assert encode_text(floats).to_pylist() == ["Infinity", "-Infinity", "NaN", None]


def test_a_typmod_and_an_int2vector_are_announced_and_written_as_postgresql_does() -> None:
    varchar = arrow_to_pg(pa.field("s", pa.string(), metadata={b"pg_oid": b"1043", b"pg_typmod": b"24"}))
    assert (varchar.oid, varchar.typmod) == (Oid.VARCHAR, 24)
    keys = pa.field("indkey", pa.list_(pa.int16()), metadata={b"pg_oid": b"22"})
    assert arrow_to_pg(keys).element == Oid.INT2  # binary: an int2 array, as int2vectorsend writes it
    batch = pa.record_batch([pa.array([[1, 2], None, [3]], pa.list_(pa.int16()))], schema=pa.schema([keys])).slice(1)
    assert _parse_datarows(encode_batch(batch, columns_of(batch.schema), [0])) == [[None], [b"3"]]
    whole = pa.record_batch([pa.array([[1, 2]], pa.list_(pa.int16()))], schema=pa.schema([keys]))
    assert _parse_datarows(encode_batch(whole, columns_of(whole.schema), [0])) == [[b"1 2"]]


def _parse_datarows(encoded: bytes | memoryview) -> list[list[bytes | None]]:
    data = bytes(encoded)
    rows, pos = [], 0
    while pos < len(data):
        kind, length = data[pos : pos + 1], struct.unpack_from("!i", data, pos + 1)[0]
        assert kind == b"D"
        body = data[pos + 5 : pos + 1 + length]
        (count,), cur, row = struct.unpack_from("!h", body), 2, []
        for _ in range(count):
            (size,) = struct.unpack_from("!i", body, cur)
            cur += 4
            row.append(None if size < 0 else body[cur : cur + size])
            cur += max(size, 0)
        assert cur == len(body)
        rows.append(row)
        pos += 1 + length
    return rows


def test_vectorized_datarows_match_a_naive_encoder() -> None:
    n = 5000
    batch = pa.record_batch(
        {
            "i": pa.array([None if i % 7 == 0 else i for i in range(n)], pa.int64()),
            "s": pa.array([None if i % 5 == 0 else "x" * (i % 13) for i in range(n)]),
            "f": pa.array([i / 3 for i in range(n)], pa.float64()),
        }
    ).slice(17, 3000)
    cols = columns_of(batch.schema)
    text_rows = _parse_datarows(encode_batch(batch, cols, [0, 0, 0]))
    binary_rows = _parse_datarows(encode_batch(batch, cols, [1, 1, 0]))
    for k, (trow, brow) in enumerate(zip(text_rows, binary_rows, strict=True)):
        i = k + 17
        expected_i = None if i % 7 == 0 else str(i).encode()
        expected_s = None if i % 5 == 0 else b"x" * (i % 13)
        assert trow[:2] == [expected_i, expected_s]
        assert brow[0] == (None if i % 7 == 0 else struct.pack("!q", i))
        assert brow[1] == expected_s
        assert float(trow[2] or b"") == pytest.approx(i / 3)


def test_times_print_only_their_significant_fractional_digits() -> None:
    base = 1_763_900_000  # 2025-11-23 12:13:20 UTC
    micros = pa.array([base * 10**6, base * 10**6 + 500_000, base * 10**6 + 123_456, None], pa.timestamp("us", "UTC"))
    assert encode_text(micros).to_pylist() == [
        "2025-11-23 12:13:20+00",
        "2025-11-23 12:13:20.5+00",
        "2025-11-23 12:13:20.123456+00",
        None,
    ]
    # Whole seconds: the minute's zeros are digits, not a fraction to trim.
    seconds = pa.array([base, base + 40], pa.timestamp("s"))
    assert encode_text(seconds).to_pylist() == ["2025-11-23 12:13:20", "2025-11-23 12:14:00"]
    millis = pa.array([base * 1000 + 10], pa.timestamp("ms"))
    assert encode_text(millis).to_pylist() == ["2025-11-23 12:13:20.01"]
    clock = pa.array([36_000 * 10**6, 36_000_500_000], pa.time64("us"))
    assert encode_text(clock).to_pylist() == ["10:00:00", "10:00:00.5"]
    assert encode_text(pa.array([36_000], pa.time32("s"))).to_pylist() == ["10:00:00"]


def test_bind_format_codes_expand_the_same_way_for_parameters_and_results() -> None:
    assert expand_formats([], 3, "parameter") == [0, 0, 0]
    assert expand_formats([1], 3, "result") == [1, 1, 1]
    assert expand_formats([0, 1], 2, "parameter") == [0, 1]
    with pytest.raises(PgError, match="bind message has 2 parameter formats but 3 parameters"):
        expand_formats([0, 1], 3, "parameter")
    with pytest.raises(PgError, match="bind message has 2 result formats but query has 3 columns"):
        expand_formats([0, 1], 3, "result")
    with pytest.raises(PgError, match="unsupported format code: 2"):
        expand_formats([2], 1, "result")
