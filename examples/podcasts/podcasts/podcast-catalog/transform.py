"""The catalog as a product: the export's columns plus a URL slug per show."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def build(inputs: dict[str, pa.Table]) -> pa.Table:
    """Add ``slug`` (``curious-kitchen-show-p000123``) to the catalog export."""
    export = inputs["catalog_export"]
    words = pc.utf8_lower(pc.replace_substring_regex(export["title"], r"^The ", ""))
    dashed = pc.replace_substring_regex(words, r"[^a-z0-9]+", "-")
    slug = pc.binary_join_element_wise(dashed, export["podcast_id"], "-")
    return export.append_column("slug", slug)
