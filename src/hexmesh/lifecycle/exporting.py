"""``hexmesh export``: a product (a folder, or a deployed one) as ODPS, ODCS, DPDS or DCS documents."""

from __future__ import annotations

from pathlib import Path

from hexmesh.spec import DataProductSpec
from hexmesh.standards import ExportFormat, dump_document, export_documents

__all__ = ["export_texts", "write_documents"]


def export_texts(
    spec: DataProductSpec,
    fmt: ExportFormat,
    *,
    base_url: str | None = None,
    upstream: dict[str, str] | None = None,
) -> dict[str, str]:
    """File name → text of ``spec``'s documents in ``fmt``, each checked against its JSON Schema."""
    documents = export_documents(spec, fmt, base_url=base_url, upstream=upstream)
    return {name: dump_document(name, document) for name, document in documents.items()}


def write_documents(texts: dict[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
