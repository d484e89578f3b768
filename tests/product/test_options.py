"""Source options with PostgreSQL COPY's and DuckDB's defaults: nulls, delimiter, quote, header, encoding, formats."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.product.parsing import parse_file
from hexmesh.spec import SourceSpec
from tests.support import ProductFactory

CHINOOK = Path(__file__).parents[3] / "shared" / "datasets" / "chinook" / "csv"
if not CHINOOK.is_dir():  # a worktree under /work/wt/<name>: the datasets sit beside the repository
    CHINOOK = Path("/work/shared/datasets/chinook/csv")

CUSTOMERS = """
domain: crm
name: customers
version: 1.0.0
owner: crm@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data/Customer.csv}
transformation:
  sql: transform.sql
outputPorts:
  - name: customers
    primaryKey: [id]
    properties:
      - {name: id, logicalType: integer, required: true, classification: internal}
      - {name: company, logicalType: string, classification: internal}
      - {name: state, logicalType: string, classification: internal}
"""


def _spec(**options: object) -> SourceSpec:
    return SourceSpec.model_validate({"format": "csv", "path": "x.csv", **options})


def _read(tmp_path: Path, text: str | bytes, **options: object) -> pa.Table:
    path = tmp_path / "x.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return parse_file(path, _spec(**options))


def test_an_empty_field_is_null_for_every_type_the_49_companies(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product(
        "customers",
        CUSTOMERS,
        {"transform.sql": "select CustomerId as id, Company as company, State as state from raw"},
    )
    (folder / "data").mkdir()
    shutil.copy(CHINOOK / "Customer.csv", folder / "data" / "Customer.csv")
    workspace.deploy([folder])
    workspace.run("crm/customers")
    table = workspace.read("dp://crm/customers/customers")
    assert table.num_rows == 59
    assert table.column("company").null_count == 49  # as DuckDB's read_csv and COPY ... (FORMAT csv) say
    assert "" not in table.column("company").to_pylist()


def test_a_quoted_empty_field_is_an_empty_string_as_in_copy(tmp_path: Path) -> None:
    table = _read(tmp_path, 'a,b,n\n"",,\nx,y,1\n')
    assert table.column("a").to_pylist() == ["", "x"]
    assert table.column("b").to_pylist() == [None, "y"]
    assert table.column("n").to_pylist() == [None, 1]


def test_null_values_and_empty_as_null(tmp_path: Path) -> None:
    text = "a,n\nNA,NA\n,\nx,2\n"
    nulls = _read(tmp_path, text, nullValues=["NA"])
    assert nulls.column("a").to_pylist() == [None, None, "x"] and nulls.column("n").to_pylist() == [None, None, 2]
    kept = _read(tmp_path, text, nullValues=["NA"], emptyAsNull=False)
    assert kept.column("a").to_pylist() == [None, "", "x"]  # text keeps '', a number has no empty value
    assert kept.column("n").to_pylist() == [None, None, 2]
    plain = _read(tmp_path, text, emptyAsNull=False)
    assert plain.column("a").to_pylist() == ["NA", "", "x"]


def test_delimiter_quote_header_encoding_and_decimal_separator(tmp_path: Path) -> None:
    text = "'Müller; Söhne';1,98\n'Zoë';2,50\n".encode("latin-1")
    table = _read(tmp_path, text, delimiter=";", quote="'", header=False, encoding="latin-1", decimalSeparator=",")
    assert table.column_names == ["f0", "f1"]
    assert table.column("f0").to_pylist() == ["Müller; Söhne", "Zoë"]
    assert table.column("f1").to_pylist() == [1.98, 2.5]


def test_date_and_timestamp_formats_and_exact_decimals(tmp_path: Path) -> None:
    text = "day,at,total,zip\n31/01/2021,31/01/2021 13:45,1.98,0171\n01/02/2021,01/02/2021 00:00,3.96,0172\n"
    table = _read(
        tmp_path,
        text,
        dateFormat="%d/%m/%Y",
        timestampFormat="%d/%m/%Y %H:%M",
        types={"total": "decimal(10,2)", "zip": "string"},
    )
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert str(table.column("at")[0].as_py()) == "2021-01-31 13:45:00+00:00"
    assert table.column("total").to_pylist() == [Decimal("1.98"), Decimal("3.96")]
    assert table.column("zip").to_pylist() == ["0171", "0172"]  # leading zeros kept
    with pytest.raises(pa.ArrowInvalid):
        _read(tmp_path, "day\n2021-01-31\n", types={"day": "date"}, dateFormat="%d/%m/%Y")


def test_json_sources_take_types_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"total": 1.98, "day": "31/01/2021"}\n{"total": 123456789.01, "day": "01/02/2021"}\n')
    spec = SourceSpec.model_validate(
        {"format": "json", "path": "x.jsonl", "types": {"total": "decimal(12,2)"}, "dateFormat": "%d/%m/%Y"}
    )
    table = parse_file(path, spec)
    assert table.column("total").to_pylist() == [Decimal("1.98"), Decimal("123456789.01")]
    assert table.schema.field("day").type == pa.date32()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{format: parquet, path: data, delimiter: ';'}", "delimiter cannot apply to a parquet source"),
        ("{format: json, path: data, nullValues: [NA]}", "nullValues cannot apply to a json source"),
        ("{format: csv, path: data, encoding: klingon}", "encoding 'klingon' is not known"),
        ("{format: csv, path: data, types: {total: 'decimal(50,2)'}}", "precision <= 38"),
        ("{format: csv, path: data, types: {total: money}}", "types.total"),
        ("{format: csv, path: data, dateFormat: dd/mm/yyyy}", "not a strptime format"),
    ],
)
def test_bad_source_options_are_spec_errors_at_their_line(
    workspace: Workspace, make_product: ProductFactory, source: str, message: str
) -> None:
    folder = make_product("customers", CUSTOMERS.replace("{format: csv, path: data/Customer.csv}", source))
    with pytest.raises(SpecError, match=message) as raised:
        workspace.validate([folder])
    assert re.search(r"dataproduct.yaml:(7|8):\d+", str(raised.value)), raised.value
