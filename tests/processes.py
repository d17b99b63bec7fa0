"""The app under gunicorn as real processes, for tests that need several of them."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def process_env(database_url, tmp_path, **settings):
    """A development app on `database_url`: development reads DATABASE_URL and the rest
    from the environment, which the testing config does not."""
    return {
        **os.environ,
        "CRM_ENV": "development",
        "CRM_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "process-test-only-" + "x" * 32,
        "DATABASE_URL": database_url,
        "CRM_FORM_MIN_SECONDS": "0",
        **{name: str(value) for name, value in settings.items()},
    }


class AppServer:
    """`gunicorn wsgi:app` on a free port; its output goes to a file (a full pipe would block)."""

    def __init__(self, database_url, tmp_path, *, workers=1, threads=1, **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
                 "-b", f"127.0.0.1:{self.port}", "--no-control-socket", "wsgi:app"],
                cwd=PROJECT_ROOT, env=process_env(database_url, tmp_path, **settings),
                stdout=log, stderr=subprocess.STDOUT,
            )

    def output(self):
        return self.log.read_text()

    def wait_until_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn never answered: {self.output()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
