"""Iceberg catalogs from settings: load_catalog's properties, the SQL catalog on S3, SeaweedFS's REST catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from hexmesh.errors import StorageError, WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import from_us
from hexmesh.infra.tables import IcebergTables, catalog_properties
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.stacks import S3Server, free_port
from tests.support import orders_csv


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings.defaults(tmp_path / "ws").merged(values)


def test_the_default_is_a_sqlite_sql_catalog_without_s3(tmp_path: Path) -> None:
    found = catalog_properties(Settings.defaults(tmp_path / "ws"))
    assert found["type"] == "sql"
    assert found["uri"] == f"sqlite:///{tmp_path / 'ws' / 'catalog.db'}"
    assert found["warehouse"] == (tmp_path / "ws" / "warehouse").as_uri()
    assert not any(k.startswith("s3.") for k in found)


def test_postgresql_uses_psycopg_and_s3_settings_reach_the_fileio(tmp_path: Path) -> None:
    found = catalog_properties(
        _settings(
            tmp_path,
            catalog_url="postgresql://hexmesh@db/mesh",
            warehouse="s3://lake/tables",
            s3_endpoint="http://127.0.0.1:8333",
            s3_access_key_id="AK",
            s3_secret_access_key="SK",
            s3_path_style=False,
        )
    )
    assert found["uri"] == "postgresql+psycopg://hexmesh@db/mesh"
    assert found["s3.endpoint"] == "http://127.0.0.1:8333"
    assert (found["s3.access-key-id"], found["s3.secret-access-key"]) == ("AK", "SK")
    assert found["s3.force-virtual-addressing"] == "true"
    assert found["s3.path-style-access"] == "false"


def test_an_http_url_is_a_rest_catalog_and_properties_pass_through_last(tmp_path: Path) -> None:
    found = catalog_properties(
        _settings(
            tmp_path,
            catalog_url="https://catalog.example.com/iceberg",
            s3_access_key_id="AK",
            s3_secret_access_key="SK",
            catalog_properties={"rest.sigv4-enabled": "true", "s3.region": "eu-west-1", "token": "t"},
        )
    )
    assert found["type"] == "rest"
    assert found["client.access-key-id"] == "AK"
    assert found["rest.sigv4-enabled"] == "true"
    assert found["s3.region"] == "eu-west-1"  # the pass-through wins over what hexmesh derives
    assert found["token"] == "t"


def test_an_unknown_catalog_type_says_what_is_meant(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"catalog_type 'reset'.*did you mean rest\?.*HEXMESH_CATALOG_TYPE"):
        catalog_properties(_settings(tmp_path, catalog_type="reset"))


def test_a_rest_catalog_needs_an_http_url(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"not an http\(s\) URL.*HEXMESH_CATALOG_URL"):
        catalog_properties(_settings(tmp_path, catalog_type="rest"))


def test_an_unreachable_rest_catalog_names_catalog_url(tmp_path: Path) -> None:
    tables = IcebergTables(_settings(tmp_path, catalog_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(WorkspaceError, match=r"cannot open the rest catalog at http://127.0.0.1:\d+.*catalog_url"):
        _ = tables.catalog


def _s3_warehouse(tmp_path: Path, server: S3Server, **changes: Any) -> Settings:
    values = server.settings(warehouse=f"s3://warehouse/{tmp_path.name}")
    values.update(changes)
    return _settings(tmp_path, **values).ensure()


def test_a_warehouse_in_a_missing_bucket_names_the_warehouse_setting(tmp_path: Path, s3_server: S3Server) -> None:
    tables = IcebergTables(_s3_warehouse(tmp_path, s3_server, warehouse="s3://no-such-bucket/t"))
    with pytest.raises(StorageError, match=r"bucket 'no-such-bucket' of the warehouse.*HEXMESH_WAREHOUSE"):
        _ = tables.catalog


def test_a_warehouse_with_wrong_credentials_names_the_credential_settings(tmp_path: Path, s3_server: S3Server) -> None:
    tables = IcebergTables(_s3_warehouse(tmp_path, s3_server, s3_access_key_id="someone-else"))
    with pytest.raises(StorageError, match=r"refused the credentials for the warehouse.*s3_access_key_id"):
        _ = tables.catalog


def test_a_warehouse_on_an_unreachable_endpoint_names_s3_endpoint(tmp_path: Path, s3_server: S3Server) -> None:
    tables = IcebergTables(_s3_warehouse(tmp_path, s3_server, s3_endpoint=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StorageError, match=r"cannot reach the S3 endpoint.*the warehouse.*s3_endpoint"):
        _ = tables.catalog


def _rest_home(tmp_path: Path, server: S3Server, secret: str | None = None) -> Path:
    home = tmp_path / "rest"
    home.mkdir()
    values = server.settings(
        catalog_url=server.iceberg_url,
        warehouse="s3://tables/",
        catalog_properties={
            "rest.sigv4-enabled": "true",
            "rest.signing-region": "us-east-1",
            "rest.signing-name": "s3tables",
        },
    )
    if secret is not None:
        values["s3_secret_access_key"] = secret
    (home / "settings.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    return home


def test_products_publish_and_travel_in_time_on_seaweedfs_rest_catalog(
    tmp_path: Path, s3_server: S3Server, orders: Path
) -> None:
    """SeaweedFS's Iceberg REST catalog, every request signed with SigV4, files on its S3."""
    with Workspace.open(_rest_home(tmp_path, s3_server)) as workspace:
        workspace.deploy([orders])
        workspace.run("sales/orders")
        (orders / "data" / "day2.csv").write_text(orders_csv(100, 2, day="2026-01-02"), encoding="utf-8")
        workspace.run("sales/orders")
        reader = workspace.reader("dp://sales/orders/orders")
        first, second = reader.publications()
        assert workspace.read("dp://sales/orders/orders").num_rows == 7
        assert workspace.read("dp://sales/orders/orders", ReadRequest(as_of=from_us(first.published_us))).num_rows == 5
        files = workspace.runtime.tables.files(reader.record.table_id, second.snapshot_id)
        assert files.uris and all(uri.startswith("s3://tables/") for uri in files.uris)
        # The table's own FileIO reads the files (its endpoint and credentials), as every reader does.
        assert sum(pq.read_metadata(files.filesystem.open_input_file(p)).num_rows for p in files.paths) == 7


def test_the_rest_catalog_refuses_a_wrong_signature(tmp_path: Path, s3_server: S3Server) -> None:
    with (
        Workspace.open(_rest_home(tmp_path, s3_server, secret="wrong-secret")) as workspace,
        pytest.raises(WorkspaceError, match=r"(refused|cannot open).*catalog") as caught,
    ):
        workspace.runtime.tables.catalog.list_namespaces()
    assert "wrong-secret" not in str(caught.value)


def test_files_of_a_snapshot_come_with_the_tables_own_filesystem(workspace: Workspace, orders: Path) -> None:
    """What engines read input files with: the snapshot's files, and only the new ones after a snapshot."""
    workspace.deploy([orders])
    workspace.run("sales/orders")
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 2, day="2026-01-02"), encoding="utf-8")
    workspace.run("sales/orders")
    reader = workspace.reader("dp://sales/orders/orders")
    first, second = (p.snapshot_id for p in reader.publications())
    tables = workspace.runtime.tables
    every = tables.files(reader.record.table_id, second)
    added = tables.files(reader.record.table_id, second, since_snapshot=first)
    assert (every.rows, added.rows) == (7, 2)
    assert set(added.uris) < set(every.uris)
    read = sum(pq.read_metadata(added.filesystem.open_input_file(p)).num_rows for p in added.paths)
    assert read == 2
