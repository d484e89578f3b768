"""A deployed product version: its spec, its bundle folder and where its tables are."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hexmesh.errors import NotFoundError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import PortRecord, VersionRecord
from hexmesh.product.runtime import Runtime
from hexmesh.spec import Confinement, DataProductSpec, OutputPort, parse_address, parse_spec

__all__ = ["DeployedProduct", "live_majors", "live_versions", "served_name", "split_major", "table_id"]

_NAME_AT_MAJOR = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)(?:@(?P<major>[0-9]{1,9}))?$")


def table_id(domain: str, name: str, major: int, port: str) -> tuple[str, str, str, str]:
    """The Iceberg identifier of a port: namespace ``domain.product.v<major>``, table ``port``."""
    return (domain, name, f"v{major}", port)


@dataclass(frozen=True)
class DeployedProduct:
    """One deployed version of a product."""

    record: VersionRecord

    @cached_property
    def spec(self) -> DataProductSpec:
        return parse_spec(self.record.spec_text, Path(self.record.bundle) / "dataproduct.yaml")[0]

    @property
    def key(self) -> str:
        return self.record.product

    @property
    def bundle(self) -> Path:
        return Path(self.record.bundle)

    @property
    def origin(self) -> Path:
        """The folder the product was deployed from; relative source paths resolve here."""
        return Path(self.record.origin)

    def confinement(self, settings: Settings) -> Confinement:
        """Where the product's file sources may read: its folder and the node's source roots."""
        return Confinement(self.origin, settings.source_root_paths, settings.home)

    def output(self, name: str) -> OutputPort:
        port = self.spec.output(name)
        if port is None:
            names = [p.name for p in self.spec.output_ports]
            raise NotFoundError(_unknown("output port", name, names, f"of {self.key}"))
        return port

    def table_id(self, port: str) -> tuple[str, str, str, str]:
        return table_id(self.spec.domain, self.spec.name, self.record.major, port)

    def port_record(self, runtime: Runtime, port: str) -> PortRecord:
        """The state store's record of output port ``port`` of this major (its table, its id for publications)."""
        record = runtime.state.port(self.key, self.record.major, self.output(port).name)
        if record is None:
            raise NotFoundError(f"port {port!r} of {self.key} has no table yet; run `hexmesh deploy` first")
        return record

    @classmethod
    def load(cls, runtime: Runtime, ref: str, *, major: int | None = None) -> DeployedProduct:
        """The newest deployed version of ``ref`` (``domain/product`` or a dp:// address)."""
        address = parse_address(ref)
        wanted = major if major is not None else address.major
        versions = runtime.state.versions(address.product_key)
        if not versions:
            known = sorted({v.product for v in runtime.state.versions()})
            raise NotFoundError(_unknown("product", address.product_key, known, "in this workspace"))
        if wanted is not None:
            versions = [v for v in versions if v.major == wanted]
            if not versions:
                raise NotFoundError(
                    f"{address.product_key} has no deployed major version {wanted}; "
                    "run `hexmesh status` to see its versions"
                )
        # A retired major stops serving; without an explicit major the newest live one serves.
        retired = {major for key, major in runtime.state.retired() if key == address.product_key}
        live = [v for v in versions if v.major not in retired]
        if not live:
            state = runtime.state.major_state(address.product_key, versions[0].major)
            successor = f"; its successor is {state.successor}" if state.successor else ""
            raise NotFoundError(
                f"{address.product_key} major {versions[0].major} is retired and no longer serves"
                f"{successor}; read another major (dp://{address.product_key}@<major>/...)"
            )
        return cls(live[0])


def split_major(name: str) -> tuple[str, int | None]:
    """``play-events@1`` → (``play-events``, 1); ``play-events`` → (``play-events``, None).

    Raises:
        NotFoundError: for a name whose major is not a number, naming the form to use.
    """
    match = _NAME_AT_MAJOR.match(name)
    if match is None:
        if "@" in name:
            raise NotFoundError(
                f"{name!r}: a major version is a number after @, for example {name.partition('@')[0]}@1"
            )
        return name, None
    major = match.group("major")
    return match.group("name"), int(major) if major is not None else None


def served_name(runtime: Runtime, product: DeployedProduct) -> str:
    """How a product's HTTP paths name it: ``domain/name`` for the newest live major, ``domain/name@N`` for others."""
    newest = live_versions(runtime, product.key).get(product.key)
    if newest is None or newest.major == product.record.major:
        return product.key
    return f"{product.key}@{product.record.major}"


def live_majors(runtime: Runtime, key: str | None = None) -> list[VersionRecord]:
    """The newest version of every major of every product (or of ``key``) that still serves (not retired)."""
    retired = runtime.state.retired()
    newest: dict[tuple[str, int], VersionRecord] = {}
    for record in runtime.state.versions(key):  # newest first
        if (record.product, record.major) not in retired:
            newest.setdefault((record.product, record.major), record)
    return list(newest.values())


def live_versions(runtime: Runtime, key: str | None = None) -> dict[str, VersionRecord]:
    """The newest version of every product (or of ``key``) among its majors that still serve (not retired)."""
    retired = runtime.state.retired()
    newest: dict[str, VersionRecord] = {}
    for record in runtime.state.versions(key):  # newest first
        if (record.product, record.major) not in retired:
            newest.setdefault(record.product, record)
    return newest


def _unknown(what: str, name: str, known: list[str], where: str) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else (f"known: {', '.join(known)}" if known else "none is deployed yet; run `hexmesh deploy`")
    )
    return f"no {what} {name!r} {where}; {hint}"
