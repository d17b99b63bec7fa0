"""No traceback in the log of the test run unless the test asked for one.

A handler on the root logger sees every record the app, the worker and Werkzeug's live server
log in this process. A test that logged a traceback fails in its teardown, naming the logger and
the exception, unless it is marked `@pytest.mark.expect_traceback` (a test of the 500 page, a
worker round that fails on purpose). A 500 that a test did not notice cannot pass silently.
"""

import logging
import threading

import pytest


class TracebackRecorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lock_records = threading.Lock()
        self.records = []

    def emit(self, record):
        if record.exc_info or (record.levelno >= logging.ERROR and "Traceback" in record.getMessage()):
            with self.lock_records:
                self.records.append(record)

    def take(self):
        with self.lock_records:
            records, self.records = self.records, []
        return records


RECORDER = TracebackRecorder()


def pytest_configure(config):
    config.addinivalue_line("markers", "expect_traceback: the test expects a traceback in the log")
    logging.getLogger().addHandler(RECORDER)


def pytest_unconfigure(config):
    logging.getLogger().removeHandler(RECORDER)


def describe(record):
    error = record.exc_info[1] if record.exc_info else None
    what = f"{type(error).__name__}: {error}" if error else record.getMessage().splitlines()[0]
    return f"{record.name}: {record.getMessage().splitlines()[0]} ({what})"


@pytest.fixture(autouse=True)
def no_unexpected_traceback(request):
    RECORDER.take()  # whatever a fixture of another test left behind is not this test's
    yield
    records = RECORDER.take()
    if records and request.node.get_closest_marker("expect_traceback") is None:
        pytest.fail("the log holds a traceback this test did not expect:\n"
                    + "\n".join(describe(record) for record in records[:5]), pytrace=False)
