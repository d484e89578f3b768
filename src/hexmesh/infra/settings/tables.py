"""Settings of the tables: the Iceberg catalog of output ports and the warehouse of their files."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "TablesSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "Output ports are Apache Iceberg tables in one catalog; their files live in the warehouse."


@dataclass(frozen=True)
class TablesSettings(Base):
    """The Iceberg catalog output ports are tables in, and where their files go."""

    catalog_url: str = key(
        "",
        "HEXMESH_CATALOG_URL",
        "The Iceberg catalog: a SQL catalog at `sqlite:///file` or `postgresql://...`, or an Iceberg REST "
        "catalog at `http(s)://...`.",
        group="tables",
        shown="sqlite:///<home>/catalog.db",
    )
    catalog_type: str = key(
        "",
        "HEXMESH_CATALOG_TYPE",
        "`sql` or `rest`; empty infers it from `catalog_url` (http and https mean `rest`).",
        group="tables",
    )
    catalog_name: str = key(
        "hexmesh",
        "HEXMESH_CATALOG_NAME",
        "The catalog's name (one SQL catalog database can hold several).",
        group="tables",
    )
    catalog_properties: dict[str, str] = key(  # noqa: RUF009 - key() is a dataclasses.field
        None,
        "HEXMESH_CATALOG_PROPERTIES",
        "More pyiceberg catalog properties, passed through as given (e.g. `rest.sigv4-enabled: 'true'`); "
        "in the variable as JSON or `k=v,k=v`. They win over what hexmesh derives from other settings.",
        group="tables",
        shown="{}",
        secret=True,
    )
    warehouse: str = key(
        "",
        "HEXMESH_WAREHOUSE",
        "Where table files are written: `file:///folder` or `s3://bucket/prefix` (with a REST catalog, "
        "the catalog's warehouse name, e.g. `s3://table-bucket/`).",
        group="tables",
        shown="file://<home>/warehouse",
    )
