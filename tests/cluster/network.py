"""Separate hosts for cluster tests: one network namespace per node, joined to this one by a veth pair.

Each node gets ``10.213.<n>.2`` in its namespace; this side of the pair is ``10.213.<n>.1``, where a
forwarder passes the shared services (PostgreSQL, NATS, S3) on to their loopback addresses, and a
node's port on to another namespace (this machine does not route between them). Nothing leaves the
machine: traffic goes between loopback and the namespaces the test made, and removes.
Without ``ip netns`` (not root, no iproute2) the nodes share loopback instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

__all__ = ["Forwarder", "Host", "hosts", "namespaces_available"]


@dataclass(frozen=True)
class Host:
    """Where one node runs: its namespace (None: this one) and the addresses on each side."""

    netns: str | None
    address: str  # the node's own address (it serves there)
    gateway: str  # how the node reaches the shared services

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *args] if self.netns else list(args)


LOOPBACK = Host(None, "127.0.0.1", "127.0.0.1")


def namespaces_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"hxm-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def hosts(count: int) -> Iterator[list[Host]]:
    """``count`` hosts in namespaces of their own (removed at the end), or all on loopback."""
    if not namespaces_available():
        yield [LOOPBACK] * count
        return
    tag = uuid.uuid4().hex[:6]
    made: list[Host] = []
    try:
        for index in range(count):
            name, outside, inside = f"hxm-{tag}-{index}", f"hx{tag}{index}o", f"hx{tag}{index}i"
            subnet = 100 + (int(tag, 16) + index) % 150
            gateway, address = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
            _ip("netns", "add", name)
            made.append(Host(name, address, gateway))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", name)
            _ip("addr", "add", f"{gateway}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", inside)
            _ip("netns", "exec", name, "ip", "link", "set", inside, "up")
            _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield made
    finally:
        for host in made:
            # Removing the namespace removes its end of the pair, and with it this end.
            subprocess.run(["ip", "netns", "del", str(host.netns)], capture_output=True)


class Forwarder:
    """Listens on ``gateway:port`` for each host and forwards to ``127.0.0.1:target`` or ``(host, target)``
    (a bounded thread)."""

    def __init__(self, gateways: list[str], ports: dict[int, int | tuple[str, int]]) -> None:
        self.gateways, self.ports = sorted(set(gateways)), ports
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._servers: list[asyncio.Server] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forwarder", daemon=True)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            await server.wait_closed()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in list(self._writers):
            with suppress(OSError, RuntimeError):
                await writer.wait_closed()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for gateway in self.gateways:
            for listen, target in self.ports.items():
                handler = self._handler(target)
                self._servers.append(self._loop.run_until_complete(asyncio.start_server(handler, gateway, listen)))
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def _handler(
        self, target: int | tuple[str, int]
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        address, port = target if isinstance(target, tuple) else ("127.0.0.1", target)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with suppress(OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            with suppress(OSError):
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            try:
                up_reader, up_writer = await asyncio.open_connection(address, port)
            except OSError:
                writer.close()
                return
            self._writers.add(up_writer)
            try:
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
            finally:
                for end in (writer, up_writer):
                    end.close()
                    with suppress(OSError, RuntimeError, asyncio.CancelledError):
                        await end.wait_closed()
                    self._writers.discard(end)

        return handle
