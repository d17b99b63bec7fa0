"""Connection pool settings from CRM_DB_* (docs/deploy.md)."""

from config import TestingConfig, engine_options


def settings(url, **overrides):
    base = {name: getattr(TestingConfig, name) for name in dir(TestingConfig) if name.isupper()}
    return {**base, "SQLALCHEMY_DATABASE_URI": url, **overrides}


def test_postgresql_gets_the_pool_settings_and_no_pre_ping_by_default():
    options = engine_options(settings("postgresql+psycopg://h/db", CRM_DB_POOL_SIZE=3,
                                      CRM_DB_MAX_OVERFLOW=1, CRM_DB_POOL_RECYCLE=600))
    assert options["pool_pre_ping"] is False  # a ping is a round trip on every request
    assert (options["pool_size"], options["max_overflow"], options["pool_recycle"]) == (3, 1, 600)
    assert options["connect_args"] == {"application_name": "crm"}


def test_an_in_memory_sqlite_database_gets_no_pool_sizes():
    assert engine_options(settings("sqlite://", CRM_DB_POOL_PRE_PING=True)) == {"pool_pre_ping": True}


def test_the_app_builds_its_engine_with_them(make_app):
    from crm.extensions import db

    app = make_app(CRM_DB_POOL_SIZE=2, CRM_DB_MAX_OVERFLOW=0)
    with app.app_context():
        assert db.engine.pool.size() == 2
        assert db.engine.pool._max_overflow == 0
