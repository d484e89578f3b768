"""The YAML form of a product's ``policies`` (and of mesh-wide rules): access and privacy rules.

This module depends on pydantic only, so ``hexmesh.spec`` can reference (or host) it without a
cycle. Keys are camelCase like the rest of the descriptor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "ACTIONS",
    "AccessRule",
    "Action",
    "Columns",
    "Generalize",
    "PolicyModel",
    "PrivacyRule",
    "ProductPolicies",
    "Pseudonymize",
    "Selector",
    "Tokenize",
]

Action = Literal["read", "readAggregate", "readSynthetic", "discover", "control", "requestAccess"]
ACTIONS: tuple[str, ...] = get_args(Action)
_PRIVACY_KINDS = ("redact", "pseudonymize", "generalize", "tokenize", "minimum_group_size")


class PolicyModel(BaseModel):
    """Strict, frozen, camelCase: the same conventions as the descriptor's models."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_alias=True, validate_by_name=True
    )


class Selector(PolicyModel):
    """Who a rule is about: exactly one of user, group, serviceAccount, product, anyone, authenticated."""

    user: str | None = None
    group: str | None = None
    service_account: str | None = None
    product: str | None = None
    """A data product acting as a consumer, as ``domain/name``."""
    anyone: bool = False
    """Also the anonymous caller: only for public metadata or public ports."""
    authenticated: bool = False

    @model_validator(mode="after")
    def _one(self) -> Selector:
        chosen = [k for k in ("user", "group", "service_account", "product") if getattr(self, k) is not None]
        chosen += [k for k in ("anyone", "authenticated") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                "a selector needs exactly one of user, group, serviceAccount, product, anyone, authenticated"
                + (f"; found {', '.join(chosen)}" if chosen else "")
            )
        return self


class Columns(PolicyModel):
    """Which columns a rule grants: all but ``exclude``, or only ``include``."""

    include: list[str] | None = None
    exclude: list[str] = []

    @model_validator(mode="after")
    def _not_both(self) -> Columns:
        if self.include is not None and self.exclude:
            raise ValueError("columns takes include or exclude, not both")
        return self


# Row-filter literals are compared with 64-bit columns: a larger integer could match nothing.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
RowValue = str | Int64 | bool | list[str | Int64 | bool]


class AccessRule(PolicyModel):
    """Who may do what on which ports, for what purpose, which columns and rows, until when.

    Either the structured form (``allow`` …), compiled to Cedar, or raw Cedar text (``cedar``).
    """

    id: str | None = None
    allow: Selector | None = None
    cedar: str | None = None
    ports: list[str] = []
    """Port names; empty means every output port of the product."""
    actions: list[Action] = ["read"]
    purposes: list[str] = []
    """The purposes the caller must state; empty means any purpose."""
    columns: Columns | None = None
    rows: dict[str, RowValue] | None = None
    """Row filter: field -> literal, list of literals, or ``principal.<attribute>``."""
    expires: date | datetime | None = None

    @model_validator(mode="after")
    def _one_form(self) -> AccessRule:
        if (self.allow is None) == (self.cedar is None):
            raise ValueError("an access rule needs exactly one of 'allow' (structured) or 'cedar' (raw Cedar)")
        if self.cedar is not None and (self.columns or self.rows or self.ports or self.purposes or self.expires):
            raise ValueError("a raw 'cedar' rule carries its own conditions; drop ports/purposes/columns/rows/expires")
        return self


class Generalize(PolicyModel):
    """Coarsen values: exactly one of bands (numbers), truncate (dates), round (lat/lon), prefix (codes)."""

    bands: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    truncate: Literal["month", "year"] | None = None
    round: int | None = Field(default=None, ge=0, le=6)
    prefix: int | None = Field(default=None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _one(self) -> Generalize:
        if sum(v is not None for v in (self.bands, self.truncate, self.round, self.prefix)) != 1:
            raise ValueError("generalize needs exactly one of bands, truncate, round, prefix")
        return self


class Pseudonymize(PolicyModel):
    """Keyed HMAC pseudonyms; equal within ``scope`` so joins inside it still work."""

    scope: str = "product"


class Tokenize(PolicyModel):
    """Deterministic encryption (AES-SIV); principals with ``control`` see the original."""

    scope: str = "product"


class PrivacyRule(PolicyModel):
    """A transformation of one field, or of every field of a classification, for some callers."""

    id: str | None = None
    field: str | None = None
    classification: Literal["public", "internal", "confidential", "personal", "restricted"] | None = None
    ports: list[str] = []
    for_: Selector | None = Field(default=None, alias="for")
    """Whom the transformation applies to; default everyone but the exempt."""
    exempt: Selector | None = None
    """Who sees the field untransformed; the product owner always does."""
    purposes: list[str] = []
    redact: bool = False
    pseudonymize: Pseudonymize | None = None
    generalize: Generalize | None = None
    tokenize: Tokenize | None = None
    minimum_group_size: int | None = Field(default=None, ge=2, le=2**31 - 1)
    """For a count field: rows counting fewer than this many are left out (small groups identify people)."""

    @model_validator(mode="before")
    @classmethod
    def _mask(cls, data: Any) -> Any:
        # ``mask: hash | redact | token`` is the short form; ``pseudonymize: true`` takes the defaults.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        mask = data.pop("mask", None)
        if mask is not None:
            kinds = {"hash": "pseudonymize", "redact": "redact", "token": "tokenize"}
            if mask not in kinds:
                raise ValueError(f"mask {mask!r} is not one of hash, redact, token")
            data[kinds[mask]] = True
        for key in ("pseudonymize", "tokenize"):
            if data.get(key) is True:
                data[key] = {}
        return data

    @field_validator("generalize", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # The short forms read well in YAML: generalize: decade | month | year.
        return (
            {"decade": {"bands": 10}, "month": {"truncate": "month"}, "year": {"truncate": "year"}}.get(value, value)
            if isinstance(value, str)
            else value
        )

    @model_validator(mode="after")
    def _exactly_one(self) -> PrivacyRule:
        if (self.field is None) == (self.classification is None):
            raise ValueError("a privacy rule needs exactly one of 'field' or 'classification'")
        kinds = [k for k in _PRIVACY_KINDS if getattr(self, k) not in (None, False)]
        if len(kinds) != 1:
            raise ValueError(
                "a privacy rule needs exactly one of redact, pseudonymize, generalize, tokenize, minimumGroupSize"
            )
        if self.minimum_group_size is not None and self.field is None:
            raise ValueError("minimumGroupSize applies to one count field, not to a classification")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in _PRIVACY_KINDS if getattr(self, k) not in (None, False))


class ProductPolicies(PolicyModel):
    """The ``policies`` section of a descriptor (and of a mesh's ``governance/policies.yaml``)."""

    access: list[AccessRule] = []
    privacy: list[PrivacyRule] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> ProductPolicies:
        ids = [r.id for r in self.access if r.id] + [r.id for r in self.privacy if r.id]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"policy ids must be unique; repeated: {', '.join(dupes)}")
        return self
