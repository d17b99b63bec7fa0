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


STRONG_KEY = "9f2c4e1ab07d53e8c6a4f1029b7d3e5c8a0f6b2d4c1e7a9f3b5d8c0e2a4f6b8d"


@pytest.mark.parametrize("key, reason", [
    ("x", "at least 32 random bytes"),
    ("testing-only-not-secret", "well-known"),
    ("changeme", "well-known"), ("Dev", "well-known"), (" secret ", "well-known"),
    ("x" * 64, "at least 32 random bytes"),  # long, but one character
    ("abababababababababababababababab", "at least 32 random bytes"),
    (STRONG_KEY[:31], "at least 32 random bytes"),
])
def test_production_refuses_a_weak_secret_key(key, reason):
    from config import refuse_weak_production

    with pytest.raises(RuntimeError, match=reason):
        refuse_weak_production(type("Weak", (), {"SECRET_KEY": key}))


def test_production_refuses_debug(monkeypatch):
    from config import refuse_weak_production

    strong = type("Strong", (), {"SECRET_KEY": STRONG_KEY})
    refuse_weak_production(strong)
    with pytest.raises(RuntimeError, match="DEBUG"):
        refuse_weak_production(type("Debug", (), {"SECRET_KEY": STRONG_KEY, "DEBUG": True}))
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="DEBUG"):
        refuse_weak_production(strong)


@pytest.mark.parametrize("env, message", [
    ({"SECRET_KEY": "x"}, "SECRET_KEY must be at least 32 random bytes"),
    ({"SECRET_KEY": "testing-only-not-secret"}, "SECRET_KEY is a well-known example value"),
    ({"SECRET_KEY": STRONG_KEY, "FLASK_DEBUG": "1"}, "DEBUG must be off in production"),
])
def test_production_refuses_to_start_with_a_weak_configuration(tmp_path, env, message):
    result = _start({"CRM_ENV": "production", "instance": str(tmp_path),
                     "DATABASE_URL": f"sqlite:///{tmp_path}/crm.sqlite3", **env})
    assert result.returncode != 0
    assert message in result.stderr
    if len(env["SECRET_KEY"]) > 8:
        assert env["SECRET_KEY"] not in result.stderr  # the key is never printed


def test_weak_keys_are_fine_outside_production(tmp_path):
    result = _start({"CRM_ENV": "development", "SECRET_KEY": "dev", "instance": str(tmp_path),
                     "DATABASE_URL": f"sqlite:///{tmp_path}/crm.sqlite3"})
    assert result.returncode == 0, result.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    result = _start({"CRM_ENV": "production", "SECRET_KEY": STRONG_KEY, "instance": str(tmp_path),
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
