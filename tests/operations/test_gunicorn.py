"""gunicorn.conf.py as production runs it: JSON lines, no query strings, a request id."""

import json
import urllib.request

import pytest

from tests.processes import AppServer

pytestmark = pytest.mark.slow


def test_the_access_log_has_no_query_string_and_the_lines_are_json(database_url, tmp_path):
    server = AppServer(database_url, tmp_path, CRM_LOG_FORMAT="json")
    try:
        server.wait_until_up()
        request = urllib.request.Request(  # noqa: S310 (a local URL)
            server.url + "/enquire?email=secret.person%40example.com&name=Secret",
            headers={"X-Request-ID": "req-from-proxy"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.headers["X-Request-ID"] == "req-from-proxy"
    finally:
        server.stop()
    output = server.output()
    assert "secret" not in output.lower()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(line["message"].startswith("GET /enquire 200 ") and
               line["message"].endswith("request_id=req-from-proxy") and
               line["request_id"] == "req-from-proxy" for line in access), access
    assert all({"time", "level", "message", "request_id"} <= line.keys() for line in lines)
