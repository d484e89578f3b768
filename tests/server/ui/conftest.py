from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hexmesh.demo import run_demo
from hexmesh.demo.database import POSTGRES_VARIABLE
from hexmesh.lifecycle import Workspace, init_product
from tests.demo.postgres import demo_database
from tests.server.ui.nodes import ThreadNode, thread_node

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")


def _docless_product(root: Path) -> Path:
    """sales/shop as scaffolded, minus its docs: the UI must show that gracefully."""
    folder = root / "shop"
    init_product(folder, domain="sales", name="shop", owner="shop-team@example.com")
    spec = folder / "dataproduct.yaml"
    spec.write_text("\n".join(line for line in spec.read_text().splitlines() if not line.startswith("docs:")) + "\n")
    (folder / "README.md").unlink()
    return folder


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("ui")
    home = root / "home"
    # The session's own registration database; the variable stays set so that a node's scheduler
    # running users/user-profiles later reads it, not the default demo database.
    with demo_database() as postgres, pytest.MonkeyPatch.context() as env:
        env.setenv(POSTGRES_VARIABLE, postgres)
        with Workspace.open(home) as workspace:
            run_demo(workspace, scale=0.01, days=2, say=lambda *_: None, postgres=postgres)
            workspace.deploy([_docless_product(root)])
            workspace.run("sales/shop")
        yield home


@pytest.fixture(scope="session")
def node(demo_home: Path) -> Iterator[ThreadNode]:
    with thread_node(demo_home) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    # Package scope: Playwright's sync API keeps an event loop running in this thread while it is
    # open, so every later test's asyncio.run() would fail; it closes when the UI tests are done.
    if not CHROMIUM.exists():
        # CI installs it (.ci/run): there, a missing browser is a failure, never a silent skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "Debian's chromium is not installed (apt-get install chromium)"
        )
    import playwright.sync_api as playwright

    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, node: ThreadNode) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=node.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=node.url)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a sticky header would be drawn mid-page otherwise
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
