"""Shared fixtures for the end-to-end suites: they drive the real build/drover binary."""
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DROVER = os.environ.get("DROVER_BIN", os.path.join(ROOT, "build", "drover"))


def run(*args, check=True, timeout=60, **kw):
    """Runs a command, returns CompletedProcess with text output; raises with output on failure."""
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def drover(*args, **kw):
    return run(DROVER, *args, **kw)


@pytest.fixture
def tmpdir_root():
    d = tempfile.mkdtemp(prefix="drv-e2e-")
    yield d
    shutil.rmtree(d, ignore_errors=True)
