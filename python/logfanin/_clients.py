"""The datagram and pipe clients: no buffer of their own, the kernel's
socket or pipe is the buffer, so a record leaves in the calling thread."""

import errno
import os
import select
import socket
import threading

from . import _wire
from ._stream import _close_inherited, drop_notice


class _KernelBuffered:
    """What the pipe and datagram clients share: the policy, and no buffer
    of their own to report."""

    def __init__(self, policy, timeout, errors):
        self.block = policy == "block"
        self.timeout = timeout
        self.errors = errors
        self._reset()

    def buffered(self):
        return 0

    def _reset(self):
        """The state a forked child starts again with."""
        self.lock = threading.Lock()
        self.pending_drops = 0
        self.stats = {"sent": 0, "dropped": 0, "reconnects": 0, "errors": 0}


class PipeClient(_KernelBuffered):
    """Pipe chunks (docs/PROTOCOL.md) on an inherited pipe shared with
    other processes. Each chunk is one os.write of at most PIPE_BUF bytes;
    a lock keeps the chunks of one record of this process together, and is
    made anew in a forked child, so a child forked while another thread
    held it can't deadlock on it."""

    def __init__(self, fd, policy, timeout, errors):
        self.fd = fd
        super().__init__(policy, timeout, errors)

    def _reset(self):
        super()._reset()
        self.record_id = int.from_bytes(os.urandom(4), "big")
        self.broken = False
        self.poller = None

    def after_fork_in_child(self):
        self._reset()

    def _writable(self):
        if self.block and self.timeout is None:
            return True
        return self._wait_writable(self.timeout if self.block else 0)

    def _wait_writable(self, timeout):
        """Whether the pipe has room within timeout seconds (None: wait)."""
        if self.poller is None:
            self.poller = select.poll()
            self.poller.register(self.fd, select.POLLOUT)
        return bool(self.poller.poll(None if timeout is None else int(timeout * 1000)))

    def _write(self, record):
        self.record_id = (self.record_id + 1) & 0xFFFFFFFF
        for c in _wire.chunks(record, os.getpid(), self.record_id):
            os.write(self.fd, c)  # at most PIPE_BUF: atomic, never short

    def put(self, record):
        with self.lock:
            if self.broken:
                self.stats["dropped"] += 1
                return False
            try:
                if not self._writable():
                    # The pipe is full: with the drop policy at once, with
                    # the block policy after the timeout.
                    self.pending_drops += 1
                    self.stats["dropped"] += 1
                    return False
                if self.pending_drops:
                    self._write(drop_notice(self.pending_drops))
                    self.pending_drops = 0
                self._write(record)
                self.stats["sent"] += 1
                return True
            except OSError as e:
                self.broken = True
                self.stats["errors"] += 1
                self.stats["dropped"] += 1
                self.errors("pipe fd:%d: %s; records are dropped from now on" % (self.fd, e))
                return False

    def flush(self, timeout):
        with self.lock:
            if self.pending_drops and not self.broken:
                try:
                    if self._wait_writable(timeout):
                        self._write(drop_notice(self.pending_drops))
                        self.pending_drops = 0
                except OSError:
                    pass
            return not self.pending_drops

    def close(self, timeout):
        """Flush; the descriptor stays open (other code may share it)."""
        self.flush(timeout)
        return self.pending_drops


class DatagramClient(_KernelBuffered):
    """One datagram per record to the writer's datagram socket. Datagrams
    are not acknowledged: a record the kernel refused (writer away, record
    over the socket's limit) is counted and reported, not replayed."""

    def __init__(self, path, policy, timeout, errors):
        self.path = path
        super().__init__(policy, timeout, errors)

    def _reset(self):
        super()._reset()
        self.sock = None
        self.down = False
        self.stats["oversize"] = 0

    def after_fork_in_child(self):
        sock = self.sock
        self._reset()
        if sock is not None:
            _close_inherited(sock)

    def _socket(self):
        if self.sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            except OSError:
                pass
            s.settimeout(self.timeout if self.block else 0)
            s.connect(self.path)
            self.sock = s
        return self.sock

    def _send(self, data):
        try:
            self._socket().send(data)
            return None
        except (BlockingIOError, socket.timeout):
            return "full"
        except OSError as e:
            if e.errno == errno.EMSGSIZE:
                return e
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            return e

    def put(self, record):
        with self.lock:
            if self.pending_drops:
                if self._send(drop_notice(self.pending_drops)) is None:
                    self.pending_drops = 0
            err = self._send(record)
            if err is None:
                self.stats["sent"] += 1
                if self.down:
                    self.down = False
                    self.errors("datagram socket unixgram://%s reachable again" % self.path)
                return True
            self.stats["dropped"] += 1
            if isinstance(err, OSError) and err.errno == errno.EMSGSIZE:
                self.stats["oversize"] += 1
                self.stats["errors"] += 1
                self.errors("unixgram://%s: a record of %d bytes is over the datagram limit (dropped); "
                            "use the stream socket for records this large" % (self.path, len(record)))
                return False
            self.pending_drops += 1
            if err != "full" and not self.down:
                self.down = True
                self.stats["errors"] += 1
                self.errors("datagram socket unixgram://%s unreachable (%s); records are dropped and counted"
                            % (self.path, err))
            return False

    def flush(self, timeout):
        with self.lock:
            if self.pending_drops and self._send(drop_notice(self.pending_drops)) is None:
                self.pending_drops = 0
            return not self.pending_drops

    def close(self, timeout):
        self.flush(timeout)
        with self.lock:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            return self.pending_drops
