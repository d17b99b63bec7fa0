"""gunicorn settings for production: `gunicorn wsgi:app` (this file is read from the project root).

Every setting can be changed from the environment; docs/deploy.md explains the choices.
"""

import multiprocessing
import os

bind = os.environ.get("CRM_BIND", "127.0.0.1:8000")  # behind a reverse proxy on the same host
# Sync workers: a request is a few milliseconds of CPU and a handful of database round trips.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
timeout = int(os.environ.get("CRM_WORKER_TIMEOUT", "30"))  # a stuck worker is replaced
graceful_timeout = 30  # SIGTERM: requests in flight are finished first
keepalive = 5  # longer than nothing, shorter than the proxy's idle timeout
max_requests = 10_000  # recycled now and then, so that slow leaks never matter
max_requests_jitter = 1_000
control_socket_disable = True  # nothing here uses gunicornc

# The access log: method, path WITHOUT the query string (%(U)s: query strings can carry
# personal data such as an email address), status, size, duration and the request id; no
# client address (the audit log keeps the addresses the law asks for).
accesslog = os.environ.get("CRM_ACCESS_LOG", "-")
access_log_format = '%(m)s %(U)s %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("CRM_LOG_LEVEL", "info")

if os.environ.get("CRM_LOG_FORMAT", "json" if os.environ.get("CRM_ENV") == "production" else "text") == "json":
    # gunicorn's own lines in the same JSON as the app's (crm/core/logs.py).
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "crm.core.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": []},  # the app adds its own (crm/core/logs.py)
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def on_starting(server):
    """Say what several workers mean for the configured database and rate-limit storage."""
    database = os.environ.get("DATABASE_URL", "sqlite")
    if server.cfg.workers > 1 and database.startswith("sqlite"):
        # Fine on one host: SQLite in WAL mode serialises writers (busy_timeout 5 s) and lets
        # readers run alongside. Not on several hosts: the file must never be on a network share.
        server.log.info("SQLite with %s workers: fine on this one host; use PostgreSQL for more",
                        server.cfg.workers)
    if server.cfg.workers > 1 and os.environ.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory"):
        server.log.warning("RATELIMIT_STORAGE_URI is memory://: each of the %s workers counts "
                           "the rate limits on its own; use redis://", server.cfg.workers)
