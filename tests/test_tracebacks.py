"""The guard against unexpected tracebacks in the log (tests/tracebacks.py) fails what it should."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXAMPLE = '''
import logging

import pytest


def test_logs_a_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("crm").exception("unhandled error on GET /x")


@pytest.mark.expect_traceback
def test_expects_a_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("crm").exception("unhandled error on GET /x")


def test_logs_a_warning_only():
    logging.getLogger("crm").warning("outbox message 1 will be retried")
'''


def test_an_unexpected_traceback_fails_the_test_that_logged_it(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_example=EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "tests.tracebacks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_logs_a_traceback*",
                                 "*crm: unhandled error on GET /x (RuntimeError: boom)*"])
