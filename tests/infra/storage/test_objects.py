"""Object storage: one behaviour on every backend (a folder, a real S3 server), and errors that name the setting."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.errors import StorageError
from hexmesh.infra.settings import Settings
from hexmesh.infra.storage import ObjectStore, open_store
from tests.stacks import S3Server, free_port


def _s3_settings(tmp_path: Path, server: S3Server, **changes: object) -> Settings:
    values = server.settings(storage=f"s3://storage/{tmp_path.name}")
    values.update(changes)
    return Settings.defaults(tmp_path / "ws").merged(values)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield open_store(Settings.defaults(tmp_path / "ws"))
    else:
        yield open_store(_s3_settings(tmp_path, request.getfixturevalue("s3_server")))


def test_put_get_replace_list_and_delete(store: ObjectStore) -> None:
    store.put("bundles/sales/shop/1.0.0/transform.sql", b"select 1")
    store.put("bundles/sales/shop/1.0.0/dataproduct.yaml", b"name: shop")
    store.put("quarantine/run-1/orders.parquet", b"PAR1")
    assert store.get("bundles/sales/shop/1.0.0/transform.sql") == b"select 1"
    store.put("bundles/sales/shop/1.0.0/transform.sql", b"select 2")
    assert store.get("bundles/sales/shop/1.0.0/transform.sql") == b"select 2"
    assert list(store.keys("bundles/")) == [
        "bundles/sales/shop/1.0.0/dataproduct.yaml",
        "bundles/sales/shop/1.0.0/transform.sql",
    ]
    assert len(list(store.keys())) == 3
    assert store.exists("quarantine/run-1/orders.parquet")
    store.delete("quarantine/run-1/orders.parquet")
    store.delete("quarantine/run-1/orders.parquet")  # deleting twice is fine
    assert not store.exists("quarantine/run-1/orders.parquet")
    assert store.locate("a/b").endswith("/a/b")


def test_a_file_is_put_as_its_bytes_and_replaces_the_object(store: ObjectStore, tmp_path: Path) -> None:
    big = tmp_path / "candidate.parquet"
    big.write_bytes(bytes(range(256)) * 65_537)  # more than one copied chunk
    store.put("quarantine/run-2/orders.parquet", b"old")
    store.put_file("quarantine/run-2/orders.parquet", big)
    assert store.get("quarantine/run-2/orders.parquet") == big.read_bytes()
    with pytest.raises(FileNotFoundError):
        store.put_file("quarantine/run-2/other.parquet", tmp_path / "missing.parquet")
    assert not store.exists("quarantine/run-2/other.parquet")


def test_a_missing_object_is_named(store: ObjectStore) -> None:
    with pytest.raises(StorageError, match=r"no object 'nothing/here' in"):
        store.get("nothing/here")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("/etc/passwd", "starts with '/'"),
        ("bundles/../../escape", "'..' segment"),
        ("a//b", "empty"),
        ("a\\b", "separated by '/'"),
        ("", "non-empty"),
    ],
)
def test_keys_cannot_leave_the_root(store: ObjectStore, key: str, problem: str) -> None:
    with pytest.raises(StorageError, match=problem):
        store.put(key, b"x")


def test_an_unknown_scheme_names_the_backends(tmp_path: Path) -> None:
    settings = Settings.defaults(tmp_path / "ws").merged({"storage": "gs://bucket/x"})
    with pytest.raises(StorageError, match=r"scheme 'gs'.*file://, s3://.*HEXMESH_STORAGE"):
        open_store(settings)


def test_wrong_credentials_name_the_credential_settings(tmp_path: Path, s3_server: S3Server) -> None:
    settings = _s3_settings(tmp_path, s3_server, s3_secret_access_key="not-the-secret")
    with pytest.raises(StorageError, match=r"refused the credentials.*s3_access_key_id and s3_secret_access_key") as e:
        open_store(settings)
    assert "not-the-secret" not in str(e.value)


def test_an_unreachable_endpoint_names_s3_endpoint(tmp_path: Path, s3_server: S3Server) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    settings = _s3_settings(tmp_path, s3_server, s3_endpoint=endpoint)
    with pytest.raises(StorageError, match=rf"cannot reach the S3 endpoint {endpoint}.*s3_endpoint"):
        open_store(settings)


def test_a_missing_bucket_names_the_storage_setting(tmp_path: Path, s3_server: S3Server) -> None:
    settings = _s3_settings(tmp_path, s3_server, storage="s3://no-such-bucket/x")
    with pytest.raises(StorageError, match=r"bucket 'no-such-bucket'.*does not exist.*HEXMESH_STORAGE"):
        open_store(settings)


def test_aws_variables_are_read_when_settings_are_silent(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    home = tmp_path / "ws"
    home.mkdir()
    (home / "settings.yaml").write_text(f"storage: s3://storage/{tmp_path.name}\n", encoding="utf-8")
    store = open_store(Settings.load(home))
    store.put("from-aws-variables", b"yes")
    assert store.get("from-aws-variables") == b"yes"


def test_the_object_store_is_replaceable_by_settings_only(tmp_path: Path) -> None:
    """The registry is keyed by scheme; the default is the home folder."""
    settings = Settings.defaults(tmp_path / "ws")
    store = open_store(settings)
    store.put("x/y", b"1")
    assert (tmp_path / "ws" / "x" / "y").read_bytes() == b"1"
    elsewhere = dataclasses.replace(settings, storage=(tmp_path / "objects").as_uri())
    open_store(elsewhere).put("x/y", b"2")
    assert (tmp_path / "objects" / "x" / "y").read_bytes() == b"2"
