"""Configuration from the environment (CONTRACT §2)."""

import subprocess
import sys
from pathlib import Path

import pytest

from config import config_for, database_url

ROOT = Path(__file__).resolve().parents[2]


def test_postgresql_urls_use_psycopg_3():
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_an_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="CRM_ENV"):
        config_for("staging")


def _start(env):
    code = "import wsgi"
    clean = {"PATH": "/usr/bin:/bin", "CRM_INSTANCE_PATH": env.pop("instance"), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=60)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _start({"CRM_ENV": "production", "instance": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    result = _start({"CRM_ENV": "production", "SECRET_KEY": "x" * 32, "instance": str(tmp_path),
                     "DATABASE_URL": f"sqlite:///{tmp_path}/crm.sqlite3"})
    assert result.returncode == 0, result.stderr


def test_development_generates_a_secret_key_once_into_the_instance_folder(tmp_path):
    first = _start({"CRM_ENV": "development", "instance": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 32 and oct(key_file.stat().st_mode)[-3:] == "600"
    _start({"CRM_ENV": "development", "instance": str(tmp_path)})
    assert key_file.read_text() == key
