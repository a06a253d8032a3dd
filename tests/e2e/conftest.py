"""Shared fixtures for the end-to-end suites: they drive the real build/drover binary."""
import os
import shutil
import signal
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


def run_to_files(argv, check=True, timeout=60):
    """Runs argv with its stdout and stderr in files, not pipes: a container that `create` or a
    detached run leaves behind keeps the stdio it inherits, and a pipe would then never end."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout)
        out.seek(0)
        err.seek(0)
        p.stdout, p.stderr = out.read(), err.read()
    if check and p.returncode != 0:
        raise AssertionError(f"{argv[1:]} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def drover(*args, **kw):
    return run(DROVER, *args, **kw)


def terminate(proc, timeout=15):
    """SIGTERM, and SIGKILL if proc has not exited after timeout seconds; waits for it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Process:
    """A drover process a test started: `self.proc` (Popen) and `self.log` (its open log file)."""
    proc = None
    log = None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc:
            terminate(self.proc)
        if self.log:
            self.log.close()
            self.log = None


@pytest.fixture
def tmpdir_root():
    d = tempfile.mkdtemp(prefix="drv-e2e-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def srv():
    """One `drover server` (apiserver.Server, default flags) for a test module; a module needing
    other flags defines its own `srv`."""
    from apiserver import Server  # apiserver imports this file
    s = Server()
    yield s
    s.cleanup()
