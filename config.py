"""Configuration classes. Every setting can come from the environment (CONTRACT §2)."""

import ipaddress
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url):
    """Use psycopg 3 for every PostgreSQL URL, whatever driver the URL names."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(config):
    """SQLAlchemy engine options from the CRM_DB_* settings, for the configured database."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    options = {"pool_pre_ping": config["CRM_DB_POOL_PRE_PING"]}
    if url in ("sqlite://", "sqlite:///:memory:"):
        return options  # one in-memory database per connection: no pool to size
    options.update(
        pool_size=config["CRM_DB_POOL_SIZE"], max_overflow=config["CRM_DB_MAX_OVERFLOW"],
        pool_timeout=config["CRM_DB_POOL_TIMEOUT"], pool_recycle=config["CRM_DB_POOL_RECYCLE"],
        pool_use_lifo=True,  # the busiest connections stay warm; spare ones age out
    )
    if url.startswith("postgresql"):
        options["connect_args"] = {"application_name": "crm"}  # named in pg_stat_activity
    return options


def _development_secret_key():
    """Generate a key once into instance/ so sessions survive restarts in development."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}")
    )
    # The connection pool of each process (docs/deploy.md): every gunicorn worker and every
    # outbox worker holds up to POOL_SIZE + MAX_OVERFLOW connections, so size them together
    # with PostgreSQL's max_connections. SQLite files use the same pool.
    CRM_DB_POOL_SIZE = int(os.environ.get("CRM_DB_POOL_SIZE", "5"))
    CRM_DB_MAX_OVERFLOW = int(os.environ.get("CRM_DB_MAX_OVERFLOW", "5"))
    CRM_DB_POOL_TIMEOUT = float(os.environ.get("CRM_DB_POOL_TIMEOUT", "10"))
    # Connections older than this are replaced at checkout (before a firewall or PgBouncer drops them).
    CRM_DB_POOL_RECYCLE = int(os.environ.get("CRM_DB_POOL_RECYCLE", "1800"))
    # Off by default: a ping is one more round trip on every request. Without it a connection
    # the server dropped fails the one request that used it, and SQLAlchemy then discards the
    # whole pool; turn it on where connections are cut silently and often.
    CRM_DB_POOL_PRE_PING = _bool("CRM_DB_POOL_PRE_PING")

    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Invest in Aalborg <noreply@investinaalborg.example>"
    )
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "30"))

    # The mail worker (CONTRACT §7). A dead worker's rows are claimable again after the lease,
    # and a running worker looks for them every poll: lease + poll stays under 60 seconds.
    CRM_OUTBOX_LEASE_SECONDS = float(os.environ.get("CRM_OUTBOX_LEASE_SECONDS", "45"))
    CRM_OUTBOX_POLL_SECONDS = float(os.environ.get("CRM_OUTBOX_POLL_SECONDS", "2"))
    CRM_OUTBOX_BATCH_SIZE = int(os.environ.get("CRM_OUTBOX_BATCH_SIZE", "50"))
    # Sent messages hold personal data in their bodies: deleted this many days after sending.
    CRM_OUTBOX_RETENTION_DAYS = int(os.environ.get("CRM_OUTBOX_RETENTION_DAYS", "30"))

    # /metrics answers a bearer token equal to CRM_METRICS_TOKEN, or clients in CRM_METRICS_ALLOW
    # (addresses or networks, comma-separated, as the app sees them after CRM_TRUSTED_PROXIES);
    # anyone else gets 404. Neither set: /metrics is off.
    CRM_METRICS_TOKEN = os.environ.get("CRM_METRICS_TOKEN") or None
    CRM_METRICS_ALLOW = [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in os.environ.get("CRM_METRICS_ALLOW", "").split(",") if n.strip()
    ]

    # Log lines: "text" for people at a terminal, "json" for a log collector (production).
    CRM_LOG_FORMAT = os.environ.get("CRM_LOG_FORMAT", "text")

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Several apps (or a staging copy) can share one Redis: each counts under its own prefix.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "crm")
    # Redis down: the limits fail open to per-process counting (each process keeps counting
    # in memory, as with memory://) and return to Redis when it answers again, so that
    # enquiries and logins go on being served, still limited per process (docs/deploy.md).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = _bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    RATELIMIT_SWALLOW_ERRORS = True  # a storage error never turns a request into a 500
    # A Redis that does not answer costs a request at most this long before the fallback.
    RATELIMIT_STORAGE_OPTIONS = (
        {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        if RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://")) else {}
    )
    CRM_PUBLIC_RATE_LIMIT = os.environ.get("CRM_PUBLIC_RATE_LIMIT", "20 per minute")
    CRM_FORM_MIN_SECONDS = float(os.environ.get("CRM_FORM_MIN_SECONDS", "3"))
    # Wrong secrets (passwords, codes, links; crm/staff/throttles.py). The strict limit is per
    # (account, address) and per signed-in user, the loose ones per account and per address.
    CRM_LOGIN_RATE_LIMIT = os.environ.get("CRM_LOGIN_RATE_LIMIT", "10 per 15 minutes")
    CRM_LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("CRM_LOGIN_ACCOUNT_RATE_LIMIT", "100 per 15 minutes")
    CRM_LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("CRM_LOGIN_ADDRESS_RATE_LIMIT", "30 per 15 minutes")
    CRM_BASE_URL = os.environ.get("CRM_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    CRM_RETENTION_DAYS = int(os.environ.get("CRM_RETENTION_DAYS", "730"))
    CRM_RESPONSE_TARGET_HOURS = int(os.environ.get("CRM_RESPONSE_TARGET_HOURS", "48"))
    CRM_CORS_ORIGINS = [
        o.strip() for o in os.environ.get("CRM_CORS_ORIGINS", "").split(",") if o.strip()
    ]
    CRM_TRUSTED_PROXIES = int(os.environ.get("CRM_TRUSTED_PROXIES", "0"))
    CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "Europe/Copenhagen")
    # Public holidays of this country (the `holidays` package) are not working days.
    CRM_HOLIDAYS = os.environ.get("CRM_HOLIDAYS", "DK")
    # A landed (won) investment's next aftercare follow-up is this many months ahead.
    CRM_AFTERCARE_MONTHS = int(os.environ.get("CRM_AFTERCARE_MONTHS", "6"))
    CRM_ORGANISATION = "Invest in Aalborg"

    # The public API refuses bodies over this size (CONTRACT §3); other forms are small too.
    CRM_API_MAX_BODY = 64 * 1024
    # A national agency under campaign load: POST /api/v1/enquiries answers 201 after one insert
    # into the intake queue; `flask crm worker` stores the enquiry seconds later (docs/deploy.md).
    CRM_INTAKE_QUEUE = _bool("CRM_INTAKE_QUEUE", False)
    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    HSTS = False
    PASSWORD_HASH_FAST = False

    # Staff sessions (CONTRACT §5): ended server-side after 30 idle minutes or 12 hours in all.
    CRM_SESSION_IDLE_MINUTES = 30
    CRM_SESSION_MAX_HOURS = 12
    CRM_PASSWORD_RESET_MAX_AGE = 3600  # seconds a password-reset link stays valid
    CRM_INVITE_MAX_AGE = 7 * 24 * 3600  # seconds an invitation link stays valid
    # Admins must enrol TOTP before they reach /admin/ (on in production).
    CRM_REQUIRE_ADMIN_2FA = False


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"  # noqa: S105 (tests only)
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    CRM_PUBLIC_RATE_LIMIT = "1000 per minute"
    CRM_FORM_MIN_SECONDS = 0
    MAIL_SERVER = None
    # Flask-Mail suppresses sending under TESTING; the worker tests talk to a real SMTP server.
    MAIL_SUPPRESS_SEND = False
    PASSWORD_HASH_FAST = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    CRM_LOG_FORMAT = os.environ.get("CRM_LOG_FORMAT", "json")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    CRM_REQUIRE_ADMIN_2FA = True


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


# Keys seen in examples, tutorials and this repository: never a production key, whatever length.
KNOWN_WEAK_KEYS = {
    TestingConfig.SECRET_KEY, "dev", "development", "secret", "secret-key", "secret_key",
    "changeme", "change-me", "change_me", "changethis", "please-change-me", "your-secret-key",
    "supersecret", "super-secret-key", "default", "password", "test", "testing", "flask",
    "you-will-never-guess", "insecure", "notsecret", "not-secret",
}
MIN_SECRET_KEY_BYTES = 32


def refuse_weak_production(config):
    """Raise RuntimeError for a configuration that must not serve the public.

    SECRET_KEY signs sessions, CSRF tokens and password-reset links: a guessable one lets anyone
    forge them. DEBUG serves tracebacks and, with the Werkzeug debugger, runs code.
    """
    key = config.SECRET_KEY or ""
    if key.strip().lower() in KNOWN_WEAK_KEYS:
        raise RuntimeError("SECRET_KEY is a well-known example value; generate one: "
                           "python -c 'import secrets; print(secrets.token_hex(32))'")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES or len(set(key)) < 10:
        raise RuntimeError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} random bytes in production; "
                           "generate one: python -c 'import secrets; print(secrets.token_hex(32))'")
    if getattr(config, "DEBUG", False) or _bool("FLASK_DEBUG"):
        raise RuntimeError("DEBUG must be off in production (unset FLASK_DEBUG)")


def config_for(name=None):
    """The config class for CRM_ENV; production refuses to run without a SECRET_KEY."""
    name = (name or os.environ.get("CRM_ENV", "development")).strip().lower()
    if name not in CONFIGS:
        raise RuntimeError(f"CRM_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    config = CONFIGS[name]
    if name == "production" and not config.SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set in production")
    if name == "production":
        refuse_weak_production(config)
    if name == "development" and not config.SECRET_KEY:
        config.SECRET_KEY = _development_secret_key()
    return config
