"""Docs that run: the fenced ``sh`` and ``python`` blocks of a Markdown page, executed in order.

Each page gets one fresh workspace (a folder that is the working directory and holds
``.hexmesh``); its blocks run one after another in it, so a later block sees what an earlier one
made, and exported variables carry over (``export HEXMESH_TOKEN=...``). A block preceded by the
line ``<!-- doc: illustrative -->`` is shown, not run (``make test`` inside the tests, a browser, a
stream that never ends). Blocks of other languages (yaml, sql, text) are shown only.

What a reader cannot type exactly as written is adapted, and only that: the documented ports
(8080, 8081, 5433, 5434) become free ones so runs never collide; a ``hexmesh serve`` line starts
the node in the background and waits until it answers; every node started is stopped at the end.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hexmesh.spec.examples import ILLUSTRATIVE, FencedBlock, fenced_blocks

__all__ = ["ILLUSTRATIVE", "Block", "DocRun", "blocks"]

RUN = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
PORTS = (8080, 8081, 5433, 5434)
_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Block(FencedBlock):
    """One fenced block: its language, its text, the line it starts on, whether it runs."""

    @property
    def runs(self) -> bool:
        return self.language in RUN and not self.illustrative


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page, in order (read as product READMEs are: hexmesh.spec.examples)."""
    found = fenced_blocks(page.read_text(encoding="utf-8"))
    return [Block(b.language, b.text, b.line, b.illustrative) for b in found]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DocRun:
    """One page's run: its workspace, its ports, the nodes it started."""

    folder: Path
    ports: dict[int, int] = field(default_factory=lambda: {p: _free_port() for p in PORTS})
    timeout: float = 180

    def __post_init__(self) -> None:
        self.env_file = self.folder / ".doc-env.sh"
        self.pids = self.folder / ".doc-pids"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEXMESH_") and k not in ("PGPASSWORD",)}
        env |= {"PATH": f"{_BIN}{os.pathsep}{env.get('PATH', '')}", "HEXMESH_HOME": str(self.folder / ".hexmesh")}
        env |= {"COLUMNS": "200", "NO_COLOR": "1"}
        self.env_file.write_text(
            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if re.match(r"^[A-Za-z_]\w*$", k))
        )

    def adapt(self, text: str) -> str:
        """The block with the documented ports replaced by this run's free ones."""
        return re.sub(r"\b(8080|8081|5433|5434)\b", lambda m: str(self.ports[int(m.group(1))]), text)

    def _serve(self, line: str) -> str:
        """A ``hexmesh serve`` line as a background node this run waits for and stops."""
        command = line.split(" #", 1)[0].rstrip()
        if "--http-port" not in command:
            command += f" --http-port {self.ports[8080]}"
        if "--sql-port" not in command:
            command += f" --sql-port {self.ports[5433]}"
        port = re.search(r"--http-port[ =](\d+)", command)
        assert port is not None
        return (
            f"{command} --log-level warning > .doc-serve-{port.group(1)}.log 2>&1 &\n"
            f"echo $! >> {shlex.quote(str(self.pids))}\n"
            f"for _ in $(seq 120); do curl -s -o /dev/null http://127.0.0.1:{port.group(1)}/ && break; sleep 0.5; "
            "done\n"
        )

    def script(self, block: Block) -> str:
        """The bash script that runs ``block`` in this run's workspace and keeps its variables."""
        text = self.adapt(block.text)
        if RUN[block.language] == "python":
            body = f"python - <<'HEXMESH_DOC_PY'\n{text}HEXMESH_DOC_PY\n"
        else:
            body = "".join(
                self._serve(line) if line.lstrip().startswith("hexmesh serve") else line + "\n"
                for line in text.splitlines()
            )
        return (
            f"set -euo pipefail\ncd {shlex.quote(str(self.folder))}\nsource {shlex.quote(str(self.env_file))}\n"
            "open() { :; }  # a browser: nothing to open in a test\n"
            f"{body}\nexport -p > {shlex.quote(str(self.env_file))}\n"
        )

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", self.script(block)],
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop every node this run started."""
        if not self.pids.exists():
            return
        for pid in self.pids.read_text().split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                continue
        for pid in self.pids.read_text().split():
            for _ in range(100):
                try:
                    os.kill(int(pid), 0)
                except ProcessLookupError:
                    break
                _sleep(0.1)
            else:
                os.kill(int(pid), signal.SIGKILL)


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)
