"""Flask-Limiter on Redis (CONTRACT §2): shared by processes; Redis down fails open per process."""

import json
import logging
import os
import urllib.error
import urllib.request
import uuid

import pytest

from crm.core.models import Enquiry
from crm.extensions import limiter
from tests.conftest import free_port
from tests.helpers import count, valid_payload
from tests.processes import AppServer

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
URL = "/api/v1/enquiries"


def redis_problem():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"Redis does not answer at {REDIS_URL}: {error}"
    return None


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the test Redis database; its keys deleted afterwards."""
    import redis

    problem = redis_problem()
    if problem:
        pytest.skip(problem)
    prefix = f"crm-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def post(base_url, email):
    request = urllib.request.Request(  # noqa: S310 (a local URL)
        base_url + URL, data=json.dumps(valid_payload(email=email)).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a local URL)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_two_app_processes_share_one_limit_in_redis(database_url, app, redis_prefix, tmp_path):
    import redis

    settings = dict(RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=redis_prefix,
                    CRM_PUBLIC_RATE_LIMIT="3 per minute")
    servers = [AppServer(database_url, tmp_path, **settings) for _ in range(2)]
    try:
        for server in servers:
            server.wait_until_up()
        statuses = [post(servers[i % 2].url, f"p{i}@example.com") for i in range(6)]
    finally:
        for server in servers:
            server.stop()
    # With memory:// each process would allow three; through Redis both allow three together.
    assert statuses == [201, 201, 201, 429, 429, 429]
    assert count(app, Enquiry) == 3
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{redis_prefix}*"))


@pytest.fixture
def revive_limiter():
    # The limiter is one object for every app in this process: let the next test start with
    # its storage taken for alive again.
    yield
    limiter._storage_dead = False


def test_redis_down_fails_open_to_a_limit_per_process(make_app, caplog, revive_limiter):
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(RATELIMIT_STORAGE_URI=nobody_listens, CRM_PUBLIC_RATE_LIMIT="2 per minute",
                   RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.2, "socket_timeout": 0.2})
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        statuses = [client.post(URL, json=valid_payload(email=f"p{i}@example.com")).status_code
                    for i in range(3)]
        assert client.get("/enquire").status_code == 200
    # Served, never a 500; and this process still counts, so a flood is still held back.
    assert statuses == [201, 201, 429]
    assert count(app, Enquiry) == 2
    assert "falling back to in-memory storage" in caplog.text
