"""Fixtures: a PgServer on port 0 running in its own event-loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from hexmesh.pgwire import BackendFactory, PgServer

from .arrow_backend import ArrowBackend
from .duck_backend import DuckBackend


class ServerThread:
    """A PgServer served by an event loop in a daemon thread, as a real deployment would run."""

    def __init__(self, factory: BackendFactory, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = PgServer(factory, "127.0.0.1", 0, **kwargs)
        self.run(self.server.start())

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server.port

    def dsn(self, user: str = "tester", password: str | None = None, **extra: str) -> str:
        """A libpq connection string for this server."""
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user, "dbname": "mesh"}
        if password is not None:
            parts["password"] = password
        parts.setdefault("sslmode", "disable")
        parts.update(extra)
        return make_conninfo(**parts)

    def url(self, scheme: str, user: str = "tester") -> str:
        """A URL for SQLAlchemy/asyncpg."""
        return f"{scheme}://{user}@127.0.0.1:{self.port}/mesh"

    def stop(self) -> None:
        """Close the server and its loop."""
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="session")
def duck() -> Iterator[ServerThread]:
    """A trust-auth server over the DuckDB reference backend, shared by the session."""
    server = ServerThread(DuckBackend())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def arrow_server() -> Iterator[ServerThread]:
    """A trust-auth server over the pure-Arrow backend (every supported type)."""
    server = ServerThread(ArrowBackend())
    yield server
    server.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerThread]]:
    """Factory for servers with custom options; all are closed after the test."""
    made: list[ServerThread] = []

    def make(factory: BackendFactory | None = None, **kwargs: Any) -> ServerThread:
        server = ServerThread(factory or DuckBackend(), **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
