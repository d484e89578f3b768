"""The demo's landing manifest: a workspace made by an older demo still continues."""

from __future__ import annotations

import json
from pathlib import Path

from hexmesh.demo.deliveries import MANIFEST, Landing


def test_a_manifest_of_an_older_demo_opens_and_keeps_its_days(tmp_path: Path) -> None:
    day = {"day": "2026-11-20", "finished_at": "2026-11-24T10:00:00+00:00", "chart_rows": 10, "chart_digest": "ab"}
    (tmp_path / MANIFEST).write_text(json.dumps({"scale": 0.01, "seed": 42, "start": "2026-11-20", "days": [day]}))
    landing = Landing.open(tmp_path, scale=0.01, seed=42)
    assert [(d.day, d.finished_at, d.chart_digest) for d in landing.days] == [
        ("2026-11-20", "2026-11-24T10:00:00+00:00", "ab")
    ]
    landing.save()
    saved = json.loads((tmp_path / MANIFEST).read_text())
    assert saved["days"] == [{"day": "2026-11-20", "finished_at": "2026-11-24T10:00:00+00:00", "chart_digest": "ab"}]
