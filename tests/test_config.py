"""facegate.config: every Settings field is documented in docs/configuration.md, and parsing."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo

from facegate.config import Settings
from facegate.engine.options import EngineOptions

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "computed at start"
    value = field.default
    if value is None:
        return "not set"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`./{value}`"
    return f"`{value}`"


def _values(field: FieldInfo) -> str:
    if typing.get_origin(field.annotation) is typing.Literal:
        return " (" + " \\| ".join(f"`{v}`" for v in typing.get_args(field.annotation)) + ")"
    return ""


def settings_rows() -> list[str]:
    """The reference table's rows, one per Settings field, as docs/configuration.md has them."""
    return [
        f"| `FACEGATE_{name.upper()}` | {_default(field)} | {field.description}{_values(field)} |"
        for name, field in Settings.model_fields.items()
    ]


def test_every_setting_is_documented() -> None:
    docs = DOCS.read_text()
    missing = [row for row in settings_rows() if row not in docs]
    assert not missing, (
        "docs/configuration.md lacks these rows (regenerate the table with "
        "`python tests/test_config.py`):\n" + "\n".join(missing)
    )


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_documented_settings_exist_once() -> None:
    documented = [
        line.split("`")[1]
        for line in DOCS.read_text().splitlines()
        if line.startswith("| `FACEGATE_")
    ]
    assert sorted(documented) == sorted(
        f"FACEGATE_{name.upper()}" for name in Settings.model_fields
    )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEGATE_SAVE_IMAGES_TO_DB", "false")
    monkeypatch.setenv("FACEGATE_MAX_FILE_SIZE", "512KB")
    monkeypatch.setenv("FACEGATE_MAX_REQUEST_SIZE", "10M")
    settings = Settings()
    assert settings.save_images_to_db is False
    assert (settings.max_file_size, settings.max_request_size) == (512 * 1024, 10 * 1024**2)


def test_the_detection_size_reaches_the_engine_and_has_a_floor() -> None:
    assert EngineOptions.from_settings(Settings(max_detect_size=320)).max_detect_size == 320
    # Below SCRFD's coarsest stride (32) no feature map is left.
    with pytest.raises(ValueError, match="max_detect_size"):
        Settings(max_detect_size=16)


def test_int8_is_only_for_dlibs_onnx_network() -> None:
    assert EngineOptions.from_settings(Settings(precision="int8")).precision == "int8"
    for wrong in ({"model": "insightface-s"}, {"embedder": "dlib"}):
        with pytest.raises(ValueError, match="precision int8"):
            Settings(precision="int8", **wrong)


def test_database_url_resolution(tmp_path: Path) -> None:
    sqlite = Settings(data_dir=tmp_path, database_url=None, postgres_domain=None)
    assert sqlite.resolved_database_url == f"sqlite:///{(tmp_path / 'facegate.db').resolve()}"
    built = Settings(
        database_url=None,
        postgres_domain="db",
        postgres_username="u",
        postgres_password="p",
        postgres_db="frs",
    )
    assert built.resolved_database_url == "postgresql+psycopg://u:p@db:5432/frs"
    explicit = Settings(database_url="postgres://x@h/d", postgres_domain="ignored")
    assert explicit.resolved_database_url == "postgresql+psycopg://x@h/d"


if __name__ == "__main__":
    print("| Setting | Default | Meaning |\n|---|---|---|")
    print("\n".join(settings_rows()))
