"""Service settings from the environment."""

from __future__ import annotations

import pytest

from ionscape.errors import ConfigError
from ionscape.service.config import Settings


def test_laptop_defaults(tmp_path):
    settings = Settings.from_env({"IONSCAPE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'ionscape.db'}"
    assert settings.storage_dir == tmp_path / "storage"
    assert settings.lithops_config is None
    assert len(settings.secret_key) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({"IONSCAPE_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_environment_overrides(tmp_path):
    settings = Settings.from_env(
        {
            "IONSCAPE_DATA_DIR": str(tmp_path),
            "IONSCAPE_DATABASE_URL": "postgresql+psycopg://db.example.org/ionscape",
            "IONSCAPE_SECRET_KEY": "s3cret",
            "IONSCAPE_LITHOPS_CONFIG": '{"lithops": {"backend": "localhost"}}',
            "IONSCAPE_MAX_UPLOAD_BYTES": "1000",
            "IONSCAPE_SECURE_COOKIES": "yes",
        }
    )
    assert settings.database_url == "postgresql+psycopg://db.example.org/ionscape"
    assert settings.secret_key == "s3cret" and not (tmp_path / "secret_key").exists()
    assert settings.lithops_config == {"lithops": {"backend": "localhost"}}
    assert settings.max_upload_bytes == 1000 and settings.secure_cookies is True


def test_lithops_config_file(tmp_path):
    config = tmp_path / "lithops.yaml"
    config.write_text("lithops:\n  backend: localhost\n  storage: localhost\n")
    settings = Settings.from_env({"IONSCAPE_DATA_DIR": str(tmp_path), "IONSCAPE_LITHOPS_CONFIG": str(config)})
    assert settings.lithops_config == {"lithops": {"backend": "localhost", "storage": "localhost"}}


@pytest.mark.parametrize(
    ("name", "value"), [("IONSCAPE_MAX_UPLOAD_BYTES", "lots"), ("IONSCAPE_SECURE_COOKIES", "maybe")]
)
def test_bad_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"IONSCAPE_DATA_DIR": str(tmp_path), name: value})
