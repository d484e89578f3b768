"""Which open standard a document is written in, told from its own keys."""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = ["STANDARDS", "Standard", "standard_of"]

#: odcs: Open Data Contract Standard; odps: Open Data Product Standard; dpds: Data Product
#: Descriptor Specification (Open Data Mesh); dcs: the Data Contract Specification (datacontract.com).
Standard = Literal["odcs", "odps", "dpds", "dcs"]
STANDARDS: tuple[Standard, ...] = get_args(Standard)


def standard_of(document: Any) -> Standard | None:
    """The standard of a parsed document, or None when it is none of them."""
    if not isinstance(document, dict):
        return None
    if "dataContractSpecification" in document:
        return "dcs"
    if "dataProductDescriptor" in document:
        return "dpds"
    kind = document.get("kind")
    if kind == "DataContract":
        return "odcs"
    if kind == "DataProduct" and str(document.get("apiVersion", "")).startswith("v"):
        return "odps"
    return None
