"""Addresses of products, ports and fields: ``dp://<domain>/<product>[@<major>]/<port>[#<field>]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hexmesh.errors import AddressError

__all__ = ["NAME_PATTERN", "PORT_PATTERN", "Address", "parse_address"]

#: Domains and products: lower-case words joined by hyphens (they appear in URLs and SQL schemas).
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
#: Ports and fields appear as SQL identifiers, so they use underscores.
PORT_PATTERN = r"^[a-z_][a-z0-9_]*$"

_ADDRESS = re.compile(
    r"^dp://(?P<domain>[a-z][a-z0-9-]*)/(?P<product>[a-z][a-z0-9-]*)"
    r"(?:@(?P<major>\d+))?(?:/(?P<port>[a-z_][a-z0-9_]*))?(?:#(?P<field>[A-Za-z_][A-Za-z0-9_]*))?$"
)


@dataclass(frozen=True, order=True)
class Address:
    """A parsed ``dp://`` address; ``port`` and ``field`` are optional."""

    domain: str
    product: str
    port: str | None = None
    major: int | None = None
    field: str | None = None

    @property
    def product_key(self) -> str:
        """``domain/product``, the key products are stored under."""
        return f"{self.domain}/{self.product}"

    def __str__(self) -> str:
        text = f"dp://{self.domain}/{self.product}"
        if self.major is not None:
            text += f"@{self.major}"
        if self.port:
            text += f"/{self.port}"
        if self.field:
            text += f"#{self.field}"
        return text


def parse_address(text: str, *, default_scheme: bool = True) -> Address:
    """Parse ``dp://domain/product[@major][/port][#field]``; ``domain/product`` is accepted too.

    Raises:
        AddressError: naming the expected form (a ``ValueError`` too).
    """
    candidate = text.strip()
    if default_scheme and not candidate.startswith("dp://"):
        candidate = "dp://" + candidate
    match = _ADDRESS.match(candidate)
    if not match:
        bare = text.strip().removeprefix("dp://")
        if default_scheme and bare and "/" not in bare:
            raise AddressError(
                f"{text!r} names no domain: products are named <domain>/<product>, for example sales/{bare} "
                "(hexmesh list shows each product's full name)"
            )
        raise AddressError(
            f"{text!r} is not a data product address; write dp://<domain>/<product>/<port> "
            "(for example dp://podcasts/play-events/plays)"
        )
    major = match.group("major")
    return Address(
        domain=match.group("domain"),
        product=match.group("product"),
        port=match.group("port"),
        major=int(major) if major is not None else None,
        field=match.group("field"),
    )
