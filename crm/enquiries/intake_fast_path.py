"""The intake queue's fast path: `POST /api/v1/enquiries` in plain WSGI (CRM_INTAKE_QUEUE).

A national agency's campaign can send more enquiries a second than the full request stack and
the synchronous store can take (docs/performance.md, "The intake queue"). With the queue on,
this wrapper in front of the Flask app answers the common case itself: a JSON body within
CRM_API_MAX_BODY, no Idempotency-Key, within the public submission limit, valid per the same
`validate_enquiry`. It draws the reference, inserts the cleaned fields into `intake` in one
autocommit statement (which also checks that the policy version is still the current one and
that no enquiry has the reference), and answers 201 with the headers the Flask path sends. The
worker stores the enquiry seconds later (crm.enquiries.intake).

Everything else goes on to the Flask app with the body put back, so that every error answer
(400/409/413/415/422/429) comes from the one existing code path. A request this wrapper has
already counted against the limit carries COUNTED in its environ, and the limit then costs it
nothing in Flask (crm.enquiries.views.submission_limit): counted once either way.
"""

import contextlib
import io
import json
import logging
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime

import limits
import sqlalchemy as sa
from flask import Response
from flask_limiter.constants import HeaderNames

from crm.core.logs import REQUEST_ID
from crm.enquiries.policy import current_version_sql
from crm.enquiries.references import new_reference
from crm.enquiries.validation import validate_enquiry

log = logging.getLogger(__name__)

PATH = "/api/v1/enquiries"
COUNTED = "crm.intake.counted"  # environ key: the public submission limit has counted this request
LIMIT_SCOPE = "public-submission"  # crm.enquiries.views.submission_limit's scope
POLICY_SECONDS = 2.0  # how long a process trusts the current policy version it read
COLUMNS = ("reference", "name", "email", "company", "phone", "country", "sector", "topic", "message",
           "language", "policy_version", "policy_language", "ip_address", "user_agent", "received_at")
LOCK_WAIT_SECONDS, LOCK_POLL_SECONDS = 5.0, 0.0005  # SQLite: wait for the write lock, tried finely
MAX_ORIGINS = 256  # CORS header sets remembered per process (one per Origin value)


def install(app):
    """Put the fast path in front of `app` (create_app, when CRM_INTAKE_QUEUE is on)."""
    strategy = app.config.get("RATELIMIT_STRATEGY", "fixed-window")
    if strategy != "fixed-window":
        # The forwarded request's limit check costs 0 (see the module doc): exact with a fixed
        # window only.
        app.logger.warning("CRM_INTAKE_QUEUE needs RATELIMIT_STRATEGY fixed-window; queue not used")
        return
    app.wsgi_app = IntakeFastPath(app.wsgi_app, app)


def _json_mimetype(content_type):
    return content_type.partition(";")[0].strip().lower() == "application/json"


class IntakeFastPath:
    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.app = app
        self.max_body = app.config["CRM_API_MAX_BODY"]
        self.rate_limits = sorted(limits.parse_many(app.config["CRM_PUBLIC_RATE_LIMIT"]))
        self._local = threading.local()
        self._generation = 0  # bumped when the engine is disposed: connections are made anew
        self._policy = (None, 0.0)
        self._cors = {}
        self._sql = None

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        answer = self._take(environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    # --- the request -----------------------------------------------------------------------

    def _take(self, environ):
        """The 201 as (status, headers, body), or None to forward the request to Flask."""
        if "HTTP_IDEMPOTENCY_KEY" in environ or not _json_mimetype(environ.get("CONTENT_TYPE", "")):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= self.max_body:
            return None
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(data)  # Flask reads it again if the request goes on
        limit_headers = self._hit(environ)
        if limit_headers is None:
            return None
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict):
                return None
            clean = validate_enquiry(raw, self._current_version())
        except Exception:  # noqa: BLE001  (bad JSON or invalid fields: Flask answers them)
            return None
        values = {
            **{column: clean[column] for column in COLUMNS[1:11]},
            "reference": new_reference(),
            # The policy text is shown in the enquiry's language (as crm.enquiries.api does).
            "policy_language": clean["language"],
            "ip_address": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:300] or None,
        }
        if not self._insert(values):
            return None
        body = b'{"reference":"%s","status":"received"}\n' % values["reference"].encode()
        return "201 CREATED", self._headers(environ, limit_headers, body), body

    def _hit(self, environ):
        """Count the request against the public submission limit, as Flask-Limiter would.

        Returns the X-RateLimit headers when the request is within the limit, None when it is
        over (COUNTED set: Flask answers 429) or the limiter is not usable (Flask counts it).
        """
        from crm.extensions import limiter

        if not limiter.enabled or getattr(limiter, "_storage_dead", False):
            return None
        args = [environ.get("REMOTE_ADDR"), LIMIT_SCOPE]
        if not all(args):
            return None
        if limiter._key_prefix:  # as Flask-Limiter builds the key
            args = [limiter._key_prefix, *args]
        strategy = limiter.limiter
        try:
            for item in self.rate_limits:
                if not strategy.hit(item, *args):
                    environ[COUNTED] = True
                    return None
            environ[COUNTED] = True
            if not limiter._headers_enabled:
                return []
            item = self.rate_limits[0]
            reset_at, remaining = strategy.get_window_stats(item, *args)
        except Exception:  # noqa: BLE001  (storage down: Flask-Limiter's fallback decides)
            log.warning("intake fast path: rate-limit storage error; request forwarded", exc_info=True)
            return None
        reset_at = int(reset_at)
        mapping = limiter._header_mapping
        return [(mapping[HeaderNames.LIMIT], str(item.amount)),
                (mapping[HeaderNames.REMAINING], str(remaining)),
                (mapping[HeaderNames.RESET], str(reset_at)),
                (mapping[HeaderNames.RETRY_AFTER], str(int(reset_at - time.time())))]

    # --- the database ----------------------------------------------------------------------

    def _connection(self):
        """This thread's own autocommit DBAPI connection, made by the app's engine (its pragmas)."""
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            if getattr(local, "connection", None) is not None:
                with contextlib.suppress(Exception):  # already gone with its engine
                    local.connection.close()
            with self.app.app_context():
                from crm.extensions import db

                engine = db.engine
                if self._sql is None:
                    self._prepare(engine)
                proxied = engine.raw_connection()
            connection = proxied.driver_connection
            proxied.detach()  # ours for the thread's life, not the pool's
            if engine.dialect.name == "sqlite":
                connection.isolation_level = None
                # Waits for the write lock in _insert: SQLite's own busy handler sleeps 1, 2, 5,
                # 10 … 100 ms between tries, far longer than the worker holds the lock.
                connection.execute("PRAGMA busy_timeout=0")
            else:
                connection.autocommit = True
            local.connection, local.generation = connection, self._generation
        return local.connection

    def _prepare(self, engine):
        dialect = engine.dialect.name
        self._sqlite = dialect == "sqlite"
        param = (lambda name: f":{name}") if self._sqlite else (lambda name: f"%({name})s")
        # PostgreSQL must deduce one type per parameter: the same as in the comparisons below.
        value = param if self._sqlite else (
            lambda name: param(name) + ("" if name == "received_at" else "::varchar"))
        # Plain SQL for the driver itself (no SQLAlchemy per request); only constant names in it.
        self._sql = (
            f"INSERT INTO intake ({', '.join(COLUMNS)}, attempts, next_attempt_at) "  # noqa: S608
            f"SELECT {', '.join(value(c) for c in COLUMNS)}, 0, {param('received_at')} "
            f"WHERE {param('policy_version')} = {current_version_sql()} "
            f"AND NOT EXISTS (SELECT 1 FROM enquiries WHERE reference = {param('reference')})"
        )
        self._version_sql = current_version_sql()[1:-1]  # the subquery on its own
        sa.event.listen(engine, "engine_disposed", self._forget_connections)

    def _forget_connections(self, engine):
        """The engine was disposed: every thread makes its connection anew on its next request,
        and this thread's is closed now (another thread's can only be closed by that thread).
        A connection left open past its app keeps SQLite's locks and WAL state in this process."""
        self._generation += 1
        connection, self._local.connection = getattr(self._local, "connection", None), None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _current_version(self):
        version, read_at = self._policy
        now = time.monotonic()
        if version is None or now - read_at > POLICY_SECONDS:
            cursor = self._connection().cursor()
            try:
                cursor.execute(self._version_sql)
                row = cursor.fetchone()
            finally:
                cursor.close()
            version = row[0] if row else None
            self._policy = (version, now)
        return version

    def _insert(self, values):
        """One autocommit statement; False when it stored nothing (policy changed, reference
        taken) or failed: the request then goes to Flask, which answers it in full."""
        received = datetime.now(UTC)
        values["received_at"] = received.strftime("%Y-%m-%d %H:%M:%S.%f") if self._sqlite else received
        try:
            cursor = self._connection().cursor()
            try:
                self._execute(cursor, values)
                stored = cursor.rowcount == 1
            finally:
                cursor.close()
        except Exception:  # noqa: BLE001
            log.warning("intake fast path: insert failed; request forwarded", exc_info=True)
            self._generation += 1  # a broken connection is replaced on the next request
            return False
        if not stored:
            self._policy = (None, 0.0)  # read the current version again
        return stored

    def _execute(self, cursor, values):
        if not self._sqlite:
            cursor.execute(self._sql, values)
            return
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                cursor.execute(self._sql, values)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_POLL_SECONDS)

    # --- the answer's headers --------------------------------------------------------------

    def _headers(self, environ, limit_headers, body):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        return [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                *self._cors_headers(environ.get("HTTP_ORIGIN")), *limit_headers,
                ("X-Request-ID", request_id)]

    def _cors_headers(self, origin):
        """The security and CORS headers the Flask path adds to a 201 for this Origin.

        Made once per Origin value by the app's own after-request functions (security headers,
        flask-cors) on an empty response, and the Vary the session adds: the same code decides.
        """
        headers = self._cors.get(origin)
        if headers is None:
            headers = self._cors[origin] = self._flask_headers(origin)
            if len(self._cors) > MAX_ORIGINS:
                self._cors.clear()
        return headers

    def _flask_headers(self, origin):
        from crm.core.security import add_security_headers

        cors = [f for f in self.app.after_request_funcs.get(None, ())
                if f.__module__.startswith("flask_cors")]
        with self.app.test_request_context(
                PATH, method="POST", headers={"Origin": origin} if origin else {}):
            response = Response(status=201)
            for function in cors:
                response = function(response)
            response = add_security_headers(response)
            # The Flask path reads the session (the locale), so Flask adds Vary: Cookie.
            response.vary.add("Cookie")
        return [(key, value) for key, value in response.headers.items()
                if key not in ("Content-Type", "Content-Length")]
