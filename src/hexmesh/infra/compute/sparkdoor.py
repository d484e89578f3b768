"""The one door a PySpark build reaches Spark through: a Spark Connect proxy that checks every plan.

A PySpark transformation runs confined (hexmesh.product.sandbox): no file but its bundle, no TCP
connection at all. Its Spark session is a Spark Connect client whose only channel is this door, a
gRPC server on a Unix socket in the sandbox's exchange folder, forwarding to the real Connect
server. Confining the client is not enough: the Spark driver does what the plan says, so
``spark.read.text("/etc/passwd")`` would read the node's files through it. The door therefore
parses each request and forwards only plans built from an allow-list (docs/adr/0038-pyspark-builds.md):
reads of the run's own input files, relational operators, built-in functions but the few that
reach outside the query (``reflect``, ``java_method``…), and writes into the run's output folder.
SQL text (``spark.sql``), Python or Scala UDFs, catalog and streaming commands and artifact uploads
are refused, with a message saying what to use instead.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

__all__ = ["PlanDoor", "PlanRefusedError"]

_SERVICE = "/spark.connect.SparkConnectService/"
#: Relations (DataFrame operators) a build may use: what reads only its input relations.
_RELATIONS = frozenset(
    [
        "read",
        "project",
        "filter",
        "join",
        "set_op",
        "sort",
        "limit",
        "aggregate",
        "local_relation",
        "sample",
        "offset",
        "deduplicate",
        "range",
        "subquery_alias",
        "repartition",
        "to_df",
        "with_columns_renamed",
        "show_string",
        "drop",
        "tail",
        "with_columns",
        "hint",
        "unpivot",
        "to_schema",
        "repartition_by_expression",
        "collect_metrics",
        "html_string",
        "with_relations",
        "transpose",
        "as_of_join",
        "lateral_join",
        "fill_na",
        "drop_na",
        "replace",
        "summary",
        "crosstab",
        "describe",
        "cov",
        "corr",
        "approx_quantile",
        "freq_items",
        "sample_by",
    ]
)
_EXPRESSIONS = frozenset(
    [
        "literal",
        "unresolved_attribute",
        "unresolved_function",
        "expression_string",
        "unresolved_star",
        "alias",
        "cast",
        "unresolved_regex",
        "sort_order",
        "lambda_function",
        "window",
        "unresolved_extract_value",
        "update_fields",
        "unresolved_named_lambda_variable",
        "call_function",
        "named_argument_expression",
        "subquery_expression",
    ]
)
#: Built-in functions that reach outside the query: call JVM methods, read files or descriptors.
_FUNCTIONS = frozenset(
    [
        "reflect",
        "try_reflect",
        "java_method",
        "read_files",
        "from_protobuf",
        "to_protobuf",
        "from_avro",
        "to_avro",
        "xpath",
        "xpath_boolean",
        "xpath_double",
        "xpath_float",
        "xpath_int",
        "xpath_long",
        "xpath_number",
        "xpath_short",
        "xpath_string",
        "input_file_name",
    ]
)
#: Session settings a build may set (hexmesh's SQL session settings).
_SETTINGS = frozenset(
    {
        "spark.sql.session.timeZone",
        "spark.sql.parquet.outputTimestampType",
        "spark.sql.sources.partitionOverwriteMode",
        "spark.sql.ansi.enabled",
        "spark.sql.shuffle.partitions",
    }
)
#: Calls forwarded as they are: they name operations and sessions the build already has.
_PASS = frozenset(
    {"ArtifactStatus", "Interrupt", "ReattachExecute", "ReleaseExecute", "ReleaseSession", "FetchErrorDetails"}
)
_WHY = {
    "sql": "spark.sql() text can read any file (parquet.`/path`); use the DataFrame API",
    "sql_command": "spark.sql() text can read any file (parquet.`/path`); use the DataFrame API",
    "map_partitions": "Python functions run on the executors, outside the sandbox; use built-in functions",
    "group_map": "Python functions run on the executors, outside the sandbox; use built-in functions",
    "co_group_map": "Python functions run on the executors, outside the sandbox; use built-in functions",
    "common_inline_user_defined_function": "UDFs run on the executors, outside the sandbox; use built-in functions",
    "common_inline_user_defined_table_function": "UDTFs run on the executors, outside the sandbox",
    "unresolved_table_valued_function": "table functions such as read_files() read outside the inputs",
    "catalog": "the Spark catalog is not the build's: read the inputs you are given",
}


class PlanRefusedError(Exception):
    """A request the door does not forward; its text says what was refused and what to use instead."""


class PlanDoor:
    """A Spark Connect proxy on ``socket`` forwarding to ``upstream`` (``host:port``) what the allow-list permits.

    ``reads`` are the only files a plan may read (paths or ``file://`` URIs); ``writes`` the only
    folder it may write into.
    """

    def __init__(self, upstream: str, socket: Path, *, reads: set[str], writes: Path) -> None:
        self.socket = socket
        self.reads = {_local(f) for f in reads}
        self.writes = writes.resolve()
        self.views: set[str] = set()
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((_Handler(self),))
        self._server.add_insecure_port(f"unix:{socket}")

    def __enter__(self) -> PlanDoor:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=None)
        self._channel.close()

    def check(self, method: str, request: bytes) -> None:
        """Raise :class:`PlanRefusedError` unless ``request`` to ``method`` is allowed."""
        with warnings.catch_warnings():  # the Connect package warns about pandas 3 on import; the door uses none
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
            from pyspark.sql.connect.proto import base_pb2

        if method in ("ExecutePlan", "AnalyzePlan"):
            message = getattr(base_pb2, f"{method}Request").FromString(request)
            self._walk(message)
        elif method == "Config":
            config = base_pb2.ConfigRequest.FromString(request)
            kind = config.operation.WhichOneof("op_type")
            if kind in ("set", "unset"):
                keys = (
                    [p.key for p in config.operation.set.pairs] if kind == "set" else list(config.operation.unset.keys)
                )
                bad = [k for k in keys if k not in _SETTINGS]
                if bad:
                    raise PlanRefusedError(
                        f"setting {', '.join(bad)} is not allowed in a build (allowed: {', '.join(sorted(_SETTINGS))})"
                    )
        elif method not in _PASS:
            what = "uploading artifacts (jars, Python files)" if method == "AddArtifacts" else method
            raise PlanRefusedError(f"{what} is not allowed in a build: it would run code outside the sandbox")

    def _walk(self, message: Any) -> None:
        name = message.DESCRIPTOR.full_name
        check = _CHECKS.get(name)
        if check is not None:
            check(self, message)
        for field, value in message.ListFields():
            if field.message_type is None:
                continue
            if field.is_repeated:
                if field.message_type.GetOptions().map_entry:
                    values = [v for v in value.values() if hasattr(v, "DESCRIPTOR")]
                else:
                    values = list(value)
                for item in values:
                    self._walk(item)
            else:
                self._walk(value)

    def _plan(self, plan: Any) -> None:
        if plan.WhichOneof("op_type") == "compressed_operation":
            raise PlanRefusedError("a compressed plan cannot be checked; build a smaller plan (fewer literal rows)")

    def _relation(self, relation: Any) -> None:
        kind = relation.WhichOneof("rel_type")
        if kind is not None and kind not in _RELATIONS:
            raise PlanRefusedError(
                f"{kind} is not allowed in a build: {_WHY.get(kind, 'it reaches outside the inputs')}"
            )

    def _expression(self, expression: Any) -> None:
        kind = expression.WhichOneof("expr_type")
        if kind is not None and kind not in _EXPRESSIONS:
            raise PlanRefusedError(
                f"{kind} is not allowed in a build: {_WHY.get(kind, 'it reaches outside the query')}"
            )

    def _function(self, function: Any) -> None:
        if getattr(function, "is_user_defined_function", False):
            raise PlanRefusedError(
                f"UDF {function.function_name} is not allowed in a build: {_WHY['common_inline_user_defined_function']}"
            )
        if function.function_name.lower() in _FUNCTIONS:
            raise PlanRefusedError(
                f"function {function.function_name}() is not allowed in a build: it reaches outside the query"
            )

    def _expression_string(self, text: Any) -> None:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import SqlglotError

        try:
            tree = sqlglot.parse_one(text.expression, read="spark")
        except SqlglotError:
            raise PlanRefusedError(
                f"expression {text.expression!r} could not be checked; write it with pyspark.sql.functions"
            ) from None
        for node in tree.walk():
            if isinstance(node, exp.Query | exp.Table):
                raise PlanRefusedError(
                    f"expression {text.expression!r} reads a table; use the DataFrames you are given"
                )
            if (
                isinstance(node, exp.Func)
                and (node.sql_name() if not isinstance(node, exp.Anonymous) else node.name).lower() in _FUNCTIONS
            ):
                raise PlanRefusedError(
                    f"expression {text.expression!r} calls a function that reaches outside the query"
                )

    def _read(self, read: Any) -> None:
        kind = read.WhichOneof("read_type")
        if kind == "named_table":
            with self._lock:
                known = read.named_table.unparsed_identifier in self.views
            if not known:
                raise PlanRefusedError(
                    f"table {read.named_table.unparsed_identifier!r} is not an input of this build; read the "
                    "inputs you are given"
                )
            return
        if kind != "data_source":
            raise PlanRefusedError(f"{kind} reads are not allowed in a build")
        source = read.data_source
        paths = [*source.paths, *(v for k, v in source.options.items() if k.lower() in ("path", "paths"))]
        outside = [p for p in paths if _local(p) not in self.reads]
        if source.format.lower() != "parquet" or outside or not paths or source.predicates:
            shown = outside[0] if outside else source.format or "no path"
            raise PlanRefusedError(f"reading {shown!r} is not allowed in a build: read the inputs you are given")

    def _write(self, write: Any) -> None:
        path = write.path if write.WhichOneof("save_type") == "path" else ""
        if not path or (write.source and write.source.lower() != "parquet") or not _inside(_local(path), self.writes):
            raise PlanRefusedError(
                f"writing {path or 'a table'!r} is not allowed in a build: return DataFrames, hexmesh writes them"
            )

    def _command(self, command: Any) -> None:
        kind = command.WhichOneof("command_type")
        if kind == "create_dataframe_view":
            if command.create_dataframe_view.is_global:
                raise PlanRefusedError("global temporary views are not allowed in a build; use a session view")
            with self._lock:
                self.views.add(command.create_dataframe_view.name)
        elif kind == "ml_command" and command.ml_command.WhichOneof("command") in ("clean_cache", "delete"):
            return  # the client's clean-up of its session's ML cache, sent when it closes
        elif kind != "write_operation":
            raise PlanRefusedError(f"{kind} is not allowed in a build: {_WHY.get(kind, 'it reaches outside the run')}")


_CHECKS: dict[str, Any] = {
    "spark.connect.Plan": PlanDoor._plan,
    "spark.connect.Relation": PlanDoor._relation,
    "spark.connect.Expression": PlanDoor._expression,
    "spark.connect.Expression.UnresolvedFunction": PlanDoor._function,
    "spark.connect.CallFunction": PlanDoor._function,
    "spark.connect.Expression.ExpressionString": PlanDoor._expression_string,
    "spark.connect.Read": PlanDoor._read,
    "spark.connect.WriteOperation": PlanDoor._write,
    "spark.connect.Command": PlanDoor._command,
}


def _local(path: str) -> str:
    return str(Path(path.removeprefix("file://")).resolve()) if path.startswith(("/", "file:/")) else path


def _inside(path: str, folder: Path) -> bool:
    return path == str(folder) or path.startswith(str(folder) + "/")


class _Handler(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Forwards raw bytes to the Connect server after the door's check; refusals are PERMISSION_DENIED."""

    def __init__(self, door: PlanDoor) -> None:
        self.door = door

    def service(self, details: Any) -> Any:
        method = str(details.method)
        if not method.startswith(_SERVICE):
            return None
        name = method.removeprefix(_SERVICE)
        if name == "AddArtifacts":
            return grpc.stream_unary_rpc_method_handler(lambda _requests, context: self._refuse(context, name, b""))
        if name in ("ExecutePlan", "ReattachExecute"):
            return grpc.unary_stream_rpc_method_handler(
                lambda request, context: self._stream(method, name, request, context)
            )
        return grpc.unary_unary_rpc_method_handler(lambda request, context: self._unary(method, name, request, context))

    def _refuse(self, context: Any, name: str, request: bytes) -> Any:
        try:
            self.door.check(name, request)
        except PlanRefusedError as exc:
            self.door.refused.append(str(exc))
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"hexmesh refused the plan: {exc}")
        except Exception as exc:  # a request the door cannot parse is not forwarded
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"hexmesh could not check the request: {exc}")
        return None

    def _unary(self, method: str, name: str, request: bytes, context: Any) -> Any:
        self._refuse(context, name, request)
        try:
            return self.door._channel.unary_unary(method)(request, metadata=context.invocation_metadata())
        except grpc.RpcError as exc:
            _relay(exc, context)

    def _stream(self, method: str, name: str, request: bytes, context: Any) -> Iterator[bytes]:
        self._refuse(context, name, request)
        try:
            yield from self.door._channel.unary_stream(method)(request, metadata=context.invocation_metadata())
        except grpc.RpcError as exc:
            _relay(exc, context)


def _relay(exc: Any, context: Any) -> None:
    """The Connect server's error, with its details (the client shows Spark's own message)."""
    trailing = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    if trailing:
        context.set_trailing_metadata(trailing)
    context.abort(exc.code(), exc.details())
