"""The master key's sources and the ports that cannot be sealed: each refused with what to do, nothing lost."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hexmesh.errors import HexmeshError, SchemaMismatchError
from hexmesh.infra.keys import MASTER_KEY_FILE, KeyStoreError, generate_master_key, master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.sealing import Sealing
from hexmesh.spec.model import DataProductSpec
from tests.governance.test_encryption_ports import SPEC, SQL, _csv, _write


def test_the_workspace_key_file_is_made_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)
    first = master_key(Settings.load(tmp_path))
    assert len(first) == 32 and master_key(Settings.load(tmp_path)) == first
    assert stat.S_IMODE((tmp_path / MASTER_KEY_FILE).stat().st_mode) == 0o600


def test_the_variable_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)
    from_file = master_key(Settings.load(tmp_path))
    monkeypatch.setenv("HEXMESH_MASTER_KEY", generate_master_key())
    assert master_key(Settings.load(tmp_path)) != from_file


@pytest.mark.parametrize(
    ("value", "says"), [("bm90LWEta2V5", "decodes to 9 bytes; a master key must be 32"), ("%%%", "not base64url")]
)
def test_a_bad_master_key_variable_says_what_a_key_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("HEXMESH_MASTER_KEY", value)
    with pytest.raises(KeyStoreError, match=says):
        master_key(Settings.load(tmp_path))
    assert not (tmp_path / MASTER_KEY_FILE).exists()  # a bad variable never creates a file


def test_an_emptied_key_file_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)
    master_key(Settings.load(tmp_path))
    (tmp_path / MASTER_KEY_FILE).write_text("")
    with pytest.raises(KeyStoreError, match="empty; restore it"):
        master_key(Settings.load(tmp_path))
    assert (tmp_path / MASTER_KEY_FILE).read_text() == ""  # a new key would lock out the existing data


def _port(spec: str) -> DataProductSpec:
    import yaml

    return DataProductSpec.model_validate(yaml.safe_load(spec))


def test_a_port_without_a_subject_cannot_be_sealed() -> None:
    spec = _port(SPEC.replace(", tags: [subject]", ""))
    with pytest.raises(SchemaMismatchError, match=r"tags: \[subject\]"):
        Sealing.of(spec.output_ports[0])
    assert Sealing.of(spec.output_ports[0], strict=False) is None  # reads serve what is stored


def test_a_non_text_restricted_field_is_refused_at_publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)
    spec = SPEC.replace(
        "{name: country, logicalType: string, classification: internal}",
        "{name: country, logicalType: string, classification: internal}\n"
        "      - {name: salary, logicalType: integer, classification: restricted}",
    ).replace("mask: hash}", "mask: hash}\n    - {field: salary, mask: redact}")
    sql = SQL.replace(" from raw", ", 1000 as salary from raw")
    folder = _write(tmp_path / "p", spec, sql, {"d.csv": _csv([1], "2026-01-01")})
    with Workspace(Settings.load(tmp_path / "ws")) as workspace:
        workspace.deploy([folder])
        with pytest.raises(HexmeshError, match="restricted field 'salary' .* is integer.*logicalType: string"):
            workspace.run("people/profiles")
        assert workspace.reader("dp://people/profiles/profiles").publications() == []
