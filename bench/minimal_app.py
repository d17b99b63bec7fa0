"""The yardstick for intake: a minimal Flask app that parses the same JSON and inserts one row.

Run by bench/intake_ratio.sh beside the CRM, under the same gunicorn and the same wrk script.
`MINIMAL_DATABASE_URL` is `sqlite:///path` (WAL, one connection per process) or
`postgresql://…` (one autocommit psycopg connection per process). Not part of the product.
"""

import json
import os
import sqlite3
import threading

from flask import Flask, jsonify, request

URL = os.environ["MINIMAL_DATABASE_URL"]
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS submissions (id {pk}, name TEXT NOT NULL, email TEXT NOT NULL, "
    "company TEXT, country TEXT, sector TEXT, topic TEXT, message TEXT, language TEXT)"
)
INSERT = (
    "INSERT INTO submissions (name, email, company, country, sector, topic, message, language) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
)
FIELDS = ("name", "email", "company", "country", "sector", "topic", "message", "language")

_local = threading.local()


def _connect():
    if URL.startswith("postgresql"):
        import psycopg

        connection = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"),
                                     autocommit=True)
        connection.execute(SCHEMA.format(pk="BIGSERIAL PRIMARY KEY"))
        return connection, INSERT.format(p="%s")
    connection = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None,
                                 check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")
    connection.execute(SCHEMA.format(pk="INTEGER PRIMARY KEY"))
    return connection, INSERT.format(p="?")


def connection():
    if not hasattr(_local, "connection"):
        _local.connection = _connect()
    return _local.connection


app = Flask(__name__)


@app.post("/api/v1/enquiries")
def create():
    body = json.loads(request.get_data())
    if not isinstance(body, dict) or body.get("consent") is not True:
        return jsonify({"error": "validation_failed"}), 422
    db, insert = connection()
    db.execute(insert, [str(body.get(field) or "") for field in FIELDS])
    return jsonify({"reference": "ok", "status": "received"}), 201


@app.get("/healthz")
def healthz():
    connection()
    return jsonify({"status": "ok"})
