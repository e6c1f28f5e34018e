"""Test support: the real logfanin sidecar, built once per test run."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from logfanin._address import connects

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)  # python/: holds the logfanin package
ROOT = os.path.dirname(PACKAGE_DIR)  # the Go module

_bin = None
_bin_dir = None


def sidecar_binary():
    """The logfanin binary: LOGFANIN_BIN, or built from the checkout."""
    global _bin, _bin_dir
    if _bin is None:
        _bin = os.environ.get("LOGFANIN_BIN")
        if not _bin:
            _bin_dir = tempfile.mkdtemp(prefix="logfanin-bin-")
            _bin = os.path.join(_bin_dir, "logfanin")
            subprocess.run(["go", "build", "-o", _bin, "./cmd/logfanin"], cwd=ROOT, check=True)
    return _bin


def env(**extra):
    """The environment of a Python child: the package on its path."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([PACKAGE_DIR, HERE] + [p for p in [e.get("PYTHONPATH")] if p])
    e.pop("LOGFANIN_ADDR", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def wait_until(cond, what, limit=20.0):
    """Poll cond until it holds (for conditions no process signals, such
    as a socket accepting connections or lines reaching a file)."""
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


class Sidecar:
    """A logfanin sidecar serving a stream and a datagram socket (and a
    pipe, with pipe=True) in dir, writing to dir/out.log, stamping peer
    credentials."""

    def __init__(self, dir, pipe=False, args=()):
        self.dir = dir
        self.sock = os.path.join(dir, "s.sock")
        self.gsock = os.path.join(dir, "g.sock")
        self.out = os.path.join(dir, "out.log")
        self.args = list(args)
        self.pipe_w = None
        self.proc = None
        self.stderr_path = os.path.join(dir, "sidecar.err")
        self._pipe = pipe

    @property
    def addr(self):
        return "unix://" + self.sock

    @property
    def gaddr(self):
        return "unixgram://" + self.gsock

    def start(self):
        args = [sidecar_binary(), "-listen", self.addr, "-listen", self.gaddr, "-out", self.out, "-peer-cred"]
        pass_fds = ()
        r = None
        if self._pipe:
            r, self.pipe_w = os.pipe()
            os.set_inheritable(r, True)
            args += ["-listen", "fd:%d" % r]
            pass_fds = (r,)
        self.err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(args + self.args, stderr=self.err, pass_fds=pass_fds)
        if r is not None:
            os.close(r)
        wait_until(lambda: (connects(self.sock, socket.SOCK_STREAM) and os.path.exists(self.gsock))
                   or self.proc.poll() is not None, "the sidecar's sockets")
        if self.proc.poll() is not None:
            raise AssertionError("sidecar exited: " + self.stderr())
        return self

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)
        if sig == signal.SIGSTOP:
            # kill(2) returns before every thread of the sidecar has
            # stopped: wait for the stop, or a record sent next may still
            # be written and acknowledged.
            os.waitpid(self.proc.pid, os.WUNTRACED)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.err.close()

    def stop(self, timeout=30):
        """SIGTERM: drain and exit; returns the exit status."""
        if self.pipe_w is not None:
            os.close(self.pipe_w)
            self.pipe_w = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
        return code

    def lines(self):
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return data.splitlines()

    def records(self):
        """Every output line, parsed (each must be valid JSON)."""
        return [json.loads(line) for line in self.lines()]


def run_python(code, timeout=120, **environ):
    """Run code in a new Python process; returns its stdout. A failure
    raises with its stderr."""
    p = subprocess.run([sys.executable, "-c", code], env=env(**environ), capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("python child exited %d:\n%s\n%s" % (p.returncode, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode()
