"""The door a PySpark build reaches Spark through: which Spark Connect requests it forwards, which it refuses.

Requests are built as the Connect client sends them (protobuf); no Spark is needed to check them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hexmesh.infra.compute.sparkdoor import PlanDoor, PlanRefusedError

pytest.importorskip("pyspark")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from pyspark.sql.connect.proto import base_pb2, commands_pb2, expressions_pb2, relations_pb2

INPUT = "/data/run/in/orders/part-0.parquet"


@pytest.fixture
def door(tmp_path: Path) -> Iterator[PlanDoor]:
    door = PlanDoor("127.0.0.1:9", tmp_path / "s.sock", reads={INPUT}, writes=tmp_path / "out")
    yield door
    door.__exit__()


def read(path: str = INPUT, fmt: str = "parquet") -> Any:
    source = relations_pb2.Read.DataSource(format=fmt, paths=[f"file://{path}"])
    return relations_pb2.Relation(read=relations_pb2.Read(data_source=source))


def select(expression: Any, of: Any = None) -> Any:
    project = relations_pb2.Project(input=of or read(), expressions=[expression])
    return relations_pb2.Relation(project=project)


def function(name: str, udf: bool = False) -> Any:
    called = expressions_pb2.Expression.UnresolvedFunction(function_name=name, is_user_defined_function=udf)
    return expressions_pb2.Expression(unresolved_function=called)


def text(sql: str) -> Any:
    return expressions_pb2.Expression(expression_string=expressions_pb2.Expression.ExpressionString(expression=sql))


def execute(relation: Any = None, command: Any = None) -> bytes:
    plan = base_pb2.Plan(root=relation) if relation is not None else base_pb2.Plan(command=command)
    return bytes(base_pb2.ExecutePlanRequest(session_id="s", plan=plan).SerializeToString())


def write(path: str) -> Any:
    return commands_pb2.Command(write_operation=commands_pb2.WriteOperation(input=read(), source="parquet", path=path))


def test_the_builds_own_inputs_functions_and_output_folder_pass(door: PlanDoor, tmp_path: Path) -> None:
    door.check("ExecutePlan", execute(select(function("upper"))))
    door.check("ExecutePlan", execute(select(text("round(amount / 3.0, 2)"))))
    door.check("AnalyzePlan", base_pb2.AnalyzePlanRequest(schema=base_pb2.AnalyzePlanRequest.Schema(
        plan=base_pb2.Plan(root=read()))).SerializeToString())  # fmt: skip
    door.check("ExecutePlan", execute(command=write(f"file://{tmp_path}/out/daily")))
    settings = base_pb2.ConfigRequest.Set(pairs=[base_pb2.KeyValue(key="spark.sql.session.timeZone", value="UTC")])
    door.check(
        "Config", base_pb2.ConfigRequest(operation=base_pb2.ConfigRequest.Operation(set=settings)).SerializeToString()
    )


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (lambda: execute(read("/etc/passwd")), r"reading 'file:///etc/passwd' is not allowed"),
        (lambda: execute(read(fmt="text")), r"reading 'text' is not allowed"),
        (
            lambda: execute(relations_pb2.Relation(sql=relations_pb2.SQL(query="select 1"))),
            r"sql is not allowed.*"
            r"DataFrame API",
        ),
        (lambda: execute(command=commands_pb2.Command(sql_command=commands_pb2.SqlCommand())), r"sql_command"),
        (lambda: execute(select(function("java_method"))), r"function java_method\(\) is not allowed"),
        (lambda: execute(select(function("my_udf", udf=True))), r"UDF my_udf is not allowed"),
        (lambda: execute(select(text("reflect('java.lang.System', 'getenv', 'HOME')"))), r"reaches outside"),
        (lambda: execute(select(text("(select max(value) from text.`/etc/passwd`)"))), r"reads a table"),
        (lambda: execute(command=write("file:///tmp/elsewhere")), r"writing 'file:///tmp/elsewhere'"),
        (
            lambda: execute(
                relations_pb2.Relation(
                    read=relations_pb2.Read(
                        named_table=relations_pb2.Read.NamedTable(unparsed_identifier="default.secrets")
                    )
                )
            ),
            r"not an input",
        ),
    ],
)
def test_what_reaches_past_the_inputs_is_refused_saying_what(door: PlanDoor, request_: Any, message: str) -> None:
    with pytest.raises(PlanRefusedError, match=message):
        door.check("ExecutePlan", request_())


def test_uploads_unknown_calls_and_other_settings_are_refused(door: PlanDoor) -> None:
    with pytest.raises(PlanRefusedError, match="uploading artifacts"):
        door.check("AddArtifacts", b"")
    with pytest.raises(PlanRefusedError, match="CloneSession is not allowed"):
        door.check("CloneSession", b"")
    pairs = [base_pb2.KeyValue(key="spark.sql.warehouse.dir", value="/")]
    operation = base_pb2.ConfigRequest.Operation(set=base_pb2.ConfigRequest.Set(pairs=pairs))
    with pytest.raises(PlanRefusedError, match=r"setting spark\.sql\.warehouse\.dir is not allowed"):
        door.check("Config", base_pb2.ConfigRequest(operation=operation).SerializeToString())


def test_a_view_the_build_made_may_be_read_and_no_other(door: PlanDoor) -> None:
    named = relations_pb2.Relation(read=relations_pb2.Read(named_table=relations_pb2.Read.NamedTable(
        unparsed_identifier="mine")))  # fmt: skip
    with pytest.raises(PlanRefusedError, match="'mine' is not an input"):
        door.check("ExecutePlan", execute(named))
    view = commands_pb2.CreateDataFrameViewCommand(input=read(), name="mine", is_global=False, replace=True)
    door.check("ExecutePlan", execute(command=commands_pb2.Command(create_dataframe_view=view)))
    door.check("ExecutePlan", execute(named))
