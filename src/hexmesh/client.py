"""The consumer's Python client: a node's products and ports, over the network only.

    >>> import hexmesh
    >>> node = hexmesh.connect("http://127.0.0.1:8080")
    >>> orders = node.product("sales/shop").port("orders")
    >>> orders.read(since="2026-01-01", columns=["order_id", "amount"])   # a pyarrow.Table
    >>> for event in orders.subscribe(start="beginning"): ...            # CloudEvents (dicts)
    >>> node.port("dp://sales/shop@1/orders").read()                      # an older live major

A deprecated major answers with ``Deprecation``/``Sunset`` headers; the client turns them into a
:class:`DeprecatedMajorWarning` (a ``FutureWarning``: shown by default) naming the sunset and successor.

Errors are the server's problem documents raised as hexmesh errors: an unknown product is a
:class:`~hexmesh.errors.NotFoundError`, a bad read a :class:`~hexmesh.errors.ReadError`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, Literal

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc

from hexmesh.errors import HexmeshError, NotFoundError, ReadError
from hexmesh.infra.settings.model import TOKEN_ENV

__all__ = [
    "TOKEN_ENV",
    "DeprecatedMajorWarning",
    "Node",
    "Port",
    "Product",
    "RemoteError",
    "SqlUnavailableError",
    "connect",
]

Moment = datetime | date | str | None


class RemoteError(HexmeshError):
    """The node answered with an error; ``problem`` is its RFC 9457 document."""

    def __init__(self, message: str, status: int, problem: dict[str, Any]) -> None:
        super().__init__(message)
        self.http_status = status
        self.problem = problem


class DeprecatedMajorWarning(FutureWarning):
    """The major version read is deprecated: move to its successor before its sunset."""


_PRODUCT_PATH = re.compile(r"^/products/([^/]+)/([^/]+)")


def _warn_if_deprecated(response: httpx.Response) -> None:
    if "Deprecation" not in response.headers:
        return
    match = _PRODUCT_PATH.match(response.request.url.path)
    what = f"dp://{match.group(1)}/{match.group(2)}" if match else str(response.request.url)
    text = f"{what} is deprecated"
    if sunset := response.headers.get("Sunset"):
        text += f" and stops serving on {sunset}"
    if successor := re.search(r'<([^>]+)>;\s*rel="successor-version"', response.headers.get("Link", "")):
        text += f"; move to {successor.group(1)}"
    warnings.warn(text, DeprecatedMajorWarning, stacklevel=4)


class SqlUnavailableError(HexmeshError):
    """The node does not serve the SQL port (yet)."""


def connect(url: str, *, token: str | None = None, timeout: float = 30.0) -> Node:
    """A client for the node at ``url`` (for example ``http://127.0.0.1:8080``).

    ``token`` is your API token (``hxm_…``); by default ``$HEXMESH_TOKEN``, like the CLI. Without
    one you are anonymous: you see only what a policy grants to anyone.
    """
    return Node(url, token=token, timeout=timeout)


def _moment(value: Moment) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _check(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        _warn_if_deprecated(response)
        return response
    response.read()
    try:
        problem = response.json()
        detail = str(problem.get("detail", response.text))
    except ValueError:
        problem, detail = {}, response.text or response.reason_phrase
    message = f"{detail} ({response.request.method} {response.request.url.path} → {response.status_code})"
    if response.status_code == 404:
        raise NotFoundError(message)
    if response.status_code == 400:
        raise ReadError(message)
    raise RemoteError(message, response.status_code, problem)


class Node:
    """A hexmesh node: its products."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        # follow_redirects: a whole-snapshot Parquet download redirects to its pinned URL.
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return _check(self.http.get(path, params=clean)).json()

    def products(self) -> list[str]:
        """Keys (``domain/name``) of the products this node serves."""
        return [s["dct:identifier"].removeprefix("dp://") for s in self.get("/")["dcat:service"]]

    def product(self, key: str) -> Product:
        """A product by key: ``domain/product``, or ``domain/product@1`` for a major that is not the newest."""
        domain, _, name = key.removeprefix("dp://").partition("/")
        return Product(self, domain, name.split("/")[0])

    def port(self, address: str) -> Port:
        """A port by address: ``dp://domain/product/port`` (``dp://domain/product@1/port`` for major 1)."""
        parts = address.removeprefix("dp://").split("/")
        if len(parts) != 3:
            raise ReadError(f"{address!r} is not a port address; write dp://domain/product/port")
        return self.product(f"{parts[0]}/{parts[1]}").port(parts[2])

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run one query on the node's SQL port (PostgreSQL protocol) and return Arrow."""
        dsn = self.get("/").get("hexmesh:sqlDsn")
        if not dsn:
            raise SqlUnavailableError(
                f"the node at {self.url} serves no SQL port (it runs with --sql-port 0); read a "
                "port with .read() or download its files instead"
            )
        import psycopg  # only needed for SQL

        try:
            with psycopg.connect(dsn, user="hexmesh", password=self.token or None, autocommit=True) as conn:
                cursor = conn.execute(query, params)
                names = [column.name for column in cursor.description or []]
                rows = cursor.fetchall()
        except psycopg.Error as exc:
            state = getattr(exc, "sqlstate", None) or "?"
            problem = {"title": "SQL error", "detail": str(exc).strip(), "sqlstate": state}
            raise RemoteError(f"SQL failed on {dsn} (SQLSTATE {state}): {str(exc).strip()}", 400, problem) from None
        return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


class Product:
    """A data product on a node."""

    def __init__(self, node: Node, domain: str, name: str) -> None:
        self.node, self.domain, self.name = node, domain, name
        self.path = f"/products/{domain}/{name}"

    def __repr__(self) -> str:
        return f"Product(dp://{self.domain}/{self.name} at {self.node.url})"

    def describe(self) -> dict[str, Any]:
        """The discovery document (DCAT 3, JSON-LD)."""
        return dict(self.node.get(self.path))

    def ports(self) -> list[str]:
        return [d["dct:title"] for d in self.describe()["dcat:servesDataset"]]

    def port(self, name: str) -> Port:
        return Port(self, name)

    def observability(self) -> dict[str, Any]:
        return dict(self.node.get(f"{self.path}/observability"))

    def run(self) -> dict[str, Any]:
        """Trigger a run (needs an owner or governance token)."""
        return dict(_check(self.node.http.post(f"{self.path}/control/runs", timeout=None)).json())

    def sql(self, query: str) -> pa.Table:
        return self.node.sql(query)


class Port:
    """An output port: read it, download it, follow its events."""

    def __init__(self, product: Product, name: str) -> None:
        self.product, self.name = product, name
        self.path = f"{product.path}/ports/{name}"
        self.http = product.node.http

    def __repr__(self) -> str:
        return f"Port(dp://{self.product.domain}/{self.product.name}/{self.name})"

    def snapshots(self) -> list[dict[str, Any]]:
        return list(self.product.node.get(f"{self.path}/snapshots"))

    def read(
        self,
        *,
        as_of: Moment = None,
        since: Moment = None,
        until: Moment = None,
        columns: list[str] | tuple[str, ...] | None = None,
        filter: str | None = None,
        purpose: str | None = None,
        to: Literal["arrow", "pandas", "polars"] = "arrow",
    ) -> Any:
        """Rows as of ``as_of`` for event time in ``[since, until)``, as Arrow, pandas or polars.

        ``purpose`` states what the rows are for, when the port's policy or your grant names one.
        """
        params = {
            "format": "arrow",
            "as_of": _moment(as_of),
            "since": _moment(since),
            "until": _moment(until),
            "columns": ",".join(columns) if columns else None,
            "filter": filter,
            "purpose": purpose,
        }
        clean = {k: v for k, v in params.items() if v is not None}
        with self.http.stream("GET", f"{self.path}/data", params=clean) as response:
            _check(response)
            table = ipc.open_stream(pa.py_buffer(response.read())).read_all()
        if to == "pandas":
            return table.to_pandas()
        if to == "polars":
            import polars

            return polars.from_arrow(table)
        return table

    def subscribe(
        self,
        start: Moment | int = None,
        *,
        consumer: str | None = None,
        limit: int | None = None,
        follow: bool = True,
        since: Moment = None,
        until: Moment = None,
        retries: int = 5,
    ) -> Iterator[dict[str, Any]]:
        """CloudEvents of this port, over SSE; reconnects with Last-Event-ID (at least once).

        ``start`` is ``"beginning"``, ``"end"``, an offset or a processing time (the first row
        published at or after it, like ``as_of``); by default a named ``consumer`` resumes from its
        stored offset. ``since``/``until`` keep rows whose event time is in ``[since, until)``.
        """
        last: str | None = None
        delivered = 0
        failures = 0
        while limit is None or delivered < limit:
            params: dict[str, Any] = {"follow": follow}
            if last is None and start is not None:
                params["start"] = str(start) if isinstance(start, int) else _moment(start)
            if consumer:
                params["consumer"] = consumer
            params.update({k: _moment(v) for k, v in (("since", since), ("until", until)) if v is not None})
            if limit is not None:
                params["limit"] = limit - delivered
            headers = {"Last-Event-ID": last} if last else {}
            try:
                with self.http.stream(
                    "GET", f"{self.path}/events", params=params, headers=headers, timeout=None
                ) as response:
                    _check(response)
                    for seq, body in _sse(response.iter_lines()):
                        last, failures = seq, 0
                        delivered += 1
                        yield body
                return
            except httpx.TransportError:
                failures += 1
                if failures > retries:
                    raise

    def sql(self, query: str) -> pa.Table:
        return self.product.node.sql(query)


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    seq, data = "", list[str]()
    for line in lines:
        if not line:
            if data:
                yield seq, json.loads("\n".join(data))
            data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            seq = value
        elif field == "data":
            data.append(value)
