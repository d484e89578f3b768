"""Read discovery documents (DCAT JSON-LD, or the index's own JSON) into index entries.

Documents come from other nodes, so nothing in them is trusted: every value is checked and a
bad document raises :class:`DocumentError` naming the path of the offending value. Keys are
matched by their local name, so ``dct:description``, ``description`` and
``http://purl.org/dc/terms/description`` are the same key; JSON-LD value objects
(``{"@value": ...}``, ``{"@id": ...}``) are unwrapped. This reads compacted documents without
a JSON-LD processor; see docs/mesh.md for the keys that are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape
from typing import Any

from hexmesh.errors import HexmeshError
from hexmesh.mesh.entries import SLO_STATUSES, FieldEntry, InputEntry, PortEntry, ProductEntry
from hexmesh.spec import parse_address
from hexmesh.spec.address import NAME_PATTERN, PORT_PATTERN
from hexmesh.spec.model import CLASSIFICATIONS, LOGICAL_TYPES

__all__ = ["DocumentError", "entry_from_document"]

STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
#: ADMS status IRIs (what DCAT catalogues use) mapped to hexmesh lifecycle states.
_ADMS = {
    "completed": "active",
    "underdevelopment": "draft",
    "deprecated": "deprecated",
    "withdrawn": "retired",
}
_XSD = {
    "string": "string",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "double": "number",
    "float": "number",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "base64binary": "binary",
    "hexbinary": "binary",
}
#: Port health colours (the observability port) mapped to index SLO statuses.
_HEALTH = {"green": "met", "amber": "at-risk", "red": "breached"}
_MAX_TEXT = 200_000  # docs longer than this are a mistake or an attack, not documentation
_FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class DocumentError(HexmeshError):
    """A discovery document is malformed; the index keeps what it had."""

    http_status = 422

    def __init__(self, path: str, problem: str, source: str | None = None) -> None:
        self.path, self.problem, self.source = path, problem, source
        where = f" from {source}" if source else ""
        super().__init__(f"discovery document{where} rejected: {path}: {problem}")


def _local(key: str) -> str:
    if key.startswith("@"):
        return key
    return re.split(r"[#/:]", key)[-1]


def _norm(value: Any) -> Any:
    """Unwrap JSON-LD value objects and map every key to its local name."""
    if isinstance(value, Mapping):
        if "@value" in value:
            return _norm(value["@value"])
        if set(value) == {"@id"}:
            return value["@id"]
        return {_local(str(k)): _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


class _Doc:
    """A normalized mapping with typed getters that fail with the value's path."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise DocumentError(path, f"expected an object, got {_kind(data)}")
        self.data, self.path = data, path

    def raw(self, *keys: str) -> Any:
        return next((self.data[k] for k in keys if self.data.get(k) is not None), None)

    def text(self, *keys: str, default: str | None = None, pattern: str | None = None) -> str:
        value = self.raw(*keys)
        if isinstance(value, list) and len(value) >= 1:
            value = value[0]  # several language-tagged values: take the first
        where = f"{self.path}.{keys[0]}"
        if isinstance(value, dict):  # an agent or contact: foaf:name, vcard:fn, vcard:hasEmail
            named = [value[k] for k in ("name", "fn", "hasEmail", "@id") if value.get(k) is not None]
            if not named:
                raise DocumentError(where, "expected text or a named agent, got an object")
            value = named[0]
        if value is None:
            if default is None:
                raise DocumentError(where, "is missing")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise DocumentError(where, f"expected text, got {_kind(value)}")
        text = str(value)
        if len(text) > _MAX_TEXT:
            raise DocumentError(where, f"is {len(text)} characters long; the limit is {_MAX_TEXT}")
        if pattern and not re.match(pattern, text):
            raise DocumentError(where, f"{text!r} is not a valid name")
        return text

    def items(self, *keys: str) -> list[Any]:
        value = self.raw(*keys)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    def texts(self, *keys: str) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.items(*keys)):
            if not isinstance(item, str):
                raise DocumentError(f"{self.path}.{keys[0]}[{i}]", f"expected text, got {_kind(item)}")
            out.append(item)
        return tuple(out)

    def flag(self, *keys: str) -> bool:
        value = self.raw(*keys)
        if value is None:
            return False
        if isinstance(value, bool):
            return bool(value)
        if value in ("true", "false"):
            return bool(value == "true")
        raise DocumentError(f"{self.path}.{keys[0]}", f"expected true or false, got {value!r}")

    def choice(self, keys: tuple[str, ...], allowed: tuple[str, ...], default: str, mapping: dict[str, str]) -> str:
        """One of ``allowed`` (or what ``mapping`` maps a value to); ``default`` when absent."""
        value = self.text(*keys, default=default)
        if value == default:
            return value
        local = _local(value).lower()
        value = value if value in allowed else mapping.get(local, local)
        if value not in allowed:
            raise DocumentError(f"{self.path}.{keys[0]}", f"{value!r} is not one of {', '.join(allowed)}")
        return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(type(value), type(value).__name__)


def entry_from_document(document: Any, *, node_url: str | None = None, source: str | None = None) -> ProductEntry:
    """An index entry from a discovery document (DCAT JSON-LD or ``ProductEntry.to_dict()``).

    Raises:
        DocumentError: naming the path of the first bad value; ``source`` says where it came from.
    """
    try:
        return _entry(_Doc(_norm(document), "$"), node_url)
    except DocumentError as exc:
        raise DocumentError(exc.path, exc.problem, source) from None
    except RecursionError:
        raise DocumentError("$", "is nested too deeply", source) from None


def _entry(doc: _Doc, node_url: str | None) -> ProductEntry:
    if doc.raw("domain") is not None and doc.raw("name") is not None:
        domain = doc.text("domain", pattern=NAME_PATTERN)
        name = doc.text("name", pattern=NAME_PATTERN)
    else:
        ident = doc.text("identifier", "@id")
        try:
            address = parse_address(ident)
        except ValueError as exc:
            raise DocumentError("$.identifier", str(exc)) from None
        domain, name = address.domain, address.product
    ports = [_port(_Doc(p, f"$.ports[{i}]")) for i, p in enumerate(doc.items("ports", "servesDataset", "distribution"))]
    if not ports:
        raise DocumentError("$.ports", "a data product needs at least one output port")
    return ProductEntry(
        domain=domain,
        name=name,
        version=doc.text("version", "versionInfo", "hasVersion"),
        owner=doc.text("owner", "publisher", "creator"),
        status=doc.choice(("status", "lifecycle"), STATUSES, "active", _ADMS),
        description=doc.text("description", default=""),
        docs=doc.text("docs", "documentation", default="") or _plain_text(doc.text("readme", default="")),
        tags=doc.texts("tags", "keyword"),
        contacts=tuple(
            _Doc({"v": c}, f"$.contacts[{i}]").text("v") for i, c in enumerate(doc.items("contacts", "contactPoint"))
        ),
        inputs=tuple(_input(item, i) for i, item in enumerate(_inputs(doc))),
        ports=tuple(p for p, _ in ports),
        slo_status=_worst([doc.choice(("sloStatus",), SLO_STATUSES, "", _HEALTH)] + [s for _, s in ports]),
        node_url=node_url or doc.text("nodeUrl", "landingPage", default="") or None,
        last_seen=doc.text("lastSeen", default="") or None,
        stale=doc.flag("stale"),
    )


def _inputs(doc: _Doc) -> list[Any]:
    lineage = doc.raw("lineage")
    if isinstance(lineage, dict):
        return _Doc(lineage, "$.lineage").items("inputPorts")
    return doc.items("inputs", "wasDerivedFrom")


def _worst(statuses: list[str]) -> str:
    """The product's SLO status: its worst port, or unknown when no port reports one."""
    known = [s for s in statuses if s and s != "unknown"]
    return max(known, key=SLO_STATUSES.index, default="unknown")


def _plain_text(html: str) -> str:
    """Searchable text of rendered Markdown (the node serves the README as HTML)."""
    return unescape(re.sub(r"<[^>]+>", " ", html)).strip()


def _input(item: Any, index: int) -> InputEntry:
    path = f"$.inputs[{index}]"
    if isinstance(item, str):
        if not _is_addr(item):
            raise DocumentError(path, f"{item!r} is not a dp:// address")
        item = {"name": parse_address(item).port or f"input_{index}", "from": item}
    doc = _Doc(item, path)
    origin = doc.text("from", default="") or None
    if origin is not None and not _is_addr(origin):
        raise DocumentError(f"{path}.from", f"{origin!r} is not a dp:// address")
    source = doc.raw("source")
    if isinstance(source, dict):
        described = _Doc(source, f"{path}.source")
        source = f"{described.text('format', default='file')}:{described.text('path', default='')}"
    if source is not None and not isinstance(source, str):
        raise DocumentError(f"{path}.source", f"expected text or an object, got {_kind(source)}")
    return InputEntry(doc.text("name"), from_=origin, source=source)


def _is_addr(text: str) -> bool:
    try:
        parse_address(text, default_scheme=False)
    except ValueError:
        return False
    return True


def _port(doc: _Doc) -> tuple[PortEntry, str]:
    """A port entry, and the SLO status its node reports ("" when it reports none)."""
    ident = doc.text("identifier", default="")
    if doc.raw("name") is None and _is_addr(ident) and parse_address(ident).port:
        name = str(parse_address(ident).port)
    else:
        name = doc.text("name", "title", pattern=PORT_PATTERN)
    schema = _Doc(doc.raw("tableSchema") or {}, f"{doc.path}.tableSchema")
    raw_fields = doc.items("fields", "schema") or schema.items("column")
    if not raw_fields:
        raise DocumentError(f"{doc.path}.fields", "a port needs at least one field")
    slo = doc.raw("slo") or {}
    if not isinstance(slo, dict):
        raise DocumentError(f"{doc.path}.slo", f"expected an object, got {_kind(slo)}")
    health = doc.raw("sloStatus")
    reported = _Doc(health, f"{doc.path}.sloStatus") if isinstance(health, dict) else doc
    entry = PortEntry(
        name=name,
        description=doc.text("description", default=""),
        primary_key=doc.texts("primaryKey") or schema.texts("primaryKey"),
        fields=tuple(_field(_Doc(f, f"{doc.path}.fields[{i}]")) for i, f in enumerate(raw_fields)),
        slo=slo,
        tags=doc.texts("tags", "keyword"),
    )
    return entry, reported.choice(("status", "sloStatus"), SLO_STATUSES, "", _HEALTH)


def _field(doc: _Doc) -> FieldEntry:
    links = doc.texts("links", "seeAlso")
    for i, link in enumerate(links):
        if _field_address(link) is None:
            raise DocumentError(
                f"{doc.path}.links[{i}]",
                f"{link!r} is not a dp://domain/product/port#field address",
            )
    classification = doc.text("classification", default="") or None
    if classification is not None and classification not in CLASSIFICATIONS:
        raise DocumentError(
            f"{doc.path}.classification",
            f"{classification!r} is not one of {', '.join(CLASSIFICATIONS)}",
        )
    return FieldEntry(
        name=doc.text("name", pattern=_FIELD_NAME),
        type=doc.choice(("logicalType", "type", "datatype"), LOGICAL_TYPES, "string", _XSD),
        required=doc.flag("required"),
        description=doc.text("description", "comment", default=""),
        classification=classification,
        concept=doc.text("concept", "subject", default="") or None,
        links=links,
        tags=doc.texts("tags", "keyword"),
    )


def _field_address(text: str) -> str | None:
    try:
        address = parse_address(text, default_scheme=False)
    except ValueError:
        return None
    return text if address.port and address.field else None
