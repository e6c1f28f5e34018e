"""logfanin.Handler: a logging.Handler that sends every record, whole, as
one JSON object to a logfanin writer."""

import atexit
import logging
import os
import sys
import threading
import weakref

from . import _wire
from ._address import DATAGRAM, PIPE, STREAM, parse_address
from ._clients import DatagramClient, PipeClient
from ._format import _message, encode_record, format_bytes, format_py, level_name
from ._stream import StreamClient, report_to_stderr

DEFAULT_BUFFER_SIZE = 4 << 20
DEFAULT_TIMEOUT = 30.0
DEFAULT_CLOSE_TIMEOUT = 5.0

# Every live client, for the fork and exit hooks.
_clients = weakref.WeakSet()
_clients_lock = threading.Lock()


def _after_fork_in_child():
    # A child never inherits the parent's connection, buffer or locks: it
    # starts afresh and connects on its first record.
    global _clients_lock
    _clients_lock = threading.Lock()
    for c in list(_clients):
        c.after_fork_in_child()
    _finalizers.clear()


def _at_exit():
    for c in list(_clients):
        try:
            c.close(c.close_timeout)
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)

# Processes started by multiprocessing leave through os._exit, which skips
# atexit; their finalizers run, so a client that has records to deliver
# registers one (once per process).
_finalizers = set()


def _register_finalizer(client):
    # No import here: this runs in forked children, where an import can
    # deadlock on a module lock another thread of the parent held.
    util = sys.modules.get("multiprocessing.util")
    if util is None or id(client) in _finalizers:
        return
    _finalizers.add(id(client))
    util.Finalize(None, _finalize, args=(weakref.ref(client),), exitpriority=100)


def _finalize(ref):
    c = ref()
    if c is not None:
        c.close(c.close_timeout)


class Handler(logging.Handler):
    """Send each record as one JSON object to a logfanin writer.

    ``addr`` is ``unix:///path`` (the writer's stream socket), a plain
    socket path, ``unixgram:///path`` (its datagram socket), ``fd:N`` (an
    inherited pipe), or None for the address in ``LOGFANIN_ADDR``, which
    the logfanin sidecar sets. A bad address raises ValueError here.

    Each record becomes::

        {"ts":…,"level":"info","logger":"app","msg":"…","pid":…,"thread":"…",
         …extra fields…, "exc_info":"Traceback …", "stack_info":"…"}

    ``ts`` is the record's time in Unix seconds, to the microsecond;
    ``msg`` is the formatter's output (``setFormatter``) without the
    traceback, or the record's message; fields given with ``extra={…}``
    follow; a value JSON can't hold is written as its ``repr`` (an int too
    long for text as its hex, a failing ``__repr__`` as a placeholder).

    On a stream socket a record whose extra values are plain (``str``,
    ``int``, ``float``, ``bool``, ``None``) goes as a Python record: its
    fields in ``marshal``'s format, which copies strings instead of
    scanning them, and which the writer turns into the same JSON, byte for
    byte. A writer that predates them gets JSON.

    On a stream socket records are acknowledged: the handler keeps each
    until the writer has written it, and after a lost connection (a writer
    restart, even a SIGKILL) reconnects and sends the unacknowledged ones
    again; the writer writes each once. ``buffer_size`` bounds the bytes
    held; the socket's send buffer in the kernel is made as large (at most
    twice ``net.core.wmem_max`` on Linux, and holding copies of records the handler holds
    too), so that a batch goes in one system call. When the handler's
    buffer is full, ``policy="block"`` waits up to ``timeout`` seconds for
    room (None: forever) and ``policy="drop"`` does not wait;
    a record that does not get room is dropped, counted, and reported by a
    record of its own, ``{"msg":"logfanin: records dropped","dropped":N,…}``,
    which reaches the output before the next record.

    ``flush(timeout)`` waits until the writer acknowledged every record
    emitted before it, by default for up to ``close_timeout``. ``close()``
    flushes for up to ``close_timeout`` seconds (5 by default, so that a
    process whose writer is gone does not hang at exit) and closes the
    connection. Records are also flushed at exit, in processes started by
    multiprocessing too. After ``fork`` the child
    starts with no connection, buffer or lock of its parent's.
    """

    def __init__(self, addr=None, level=logging.NOTSET, *, policy="block", timeout=DEFAULT_TIMEOUT,
                 buffer_size=DEFAULT_BUFFER_SIZE, max_record=_wire.DEFAULT_MAX_RECORD, ack=True,
                 close_timeout=DEFAULT_CLOSE_TIMEOUT):
        if policy not in ("block", "drop"):
            raise ValueError("logfanin: policy %r: want 'block' or 'drop'" % (policy,))
        if timeout is not None and not timeout > 0:
            raise ValueError("logfanin: timeout %r: want a positive number of seconds or None" % (timeout,))
        if close_timeout is not None and close_timeout < 0:
            raise ValueError("logfanin: close_timeout %r: want a number of seconds or None" % (close_timeout,))
        if not isinstance(buffer_size, int) or buffer_size < 4096:
            raise ValueError("logfanin: buffer_size %r: want at least 4096 bytes" % (buffer_size,))
        if not isinstance(max_record, int) or max_record < 1024:
            raise ValueError("logfanin: max_record %r: want at least 1024 bytes" % (max_record,))
        self.address = parse_address(addr)
        super().__init__(level)
        self.policy = policy
        self.timeout = timeout
        self.close_timeout = close_timeout
        t = self.address.transport
        self._framed = t == STREAM
        self.max_record = max_record
        if t == STREAM:
            self.max_record = min(max_record, buffer_size - 4)  # a frame fits the buffer
            client = StreamClient(self.address.path, policy, timeout, buffer_size, ack, report_to_stderr)
        elif t == DATAGRAM:
            client = DatagramClient(self.address.path, policy, timeout, report_to_stderr)
        else:
            assert t == PIPE
            client = PipeClient(self.address.fd, policy, timeout, report_to_stderr)
        # A Python record's JSON is at most 6 times as long, plus the core
        # field names (a control character becomes \u00XX).
        self._py_max = (self.max_record - 64) // 6
        client.on_start = _register_finalizer
        client.close_timeout = close_timeout
        self._client = client
        self._args = (buffer_size, max_record, ack, close_timeout)
        self._oversize = 0
        with _clients_lock:
            _clients.add(client)

    def __reduce__(self):
        # A handler pickled into a spawn or forkserver worker (Pool
        # initargs) is made anew there, with its own connection.
        buffer_size, max_record, ack, close_timeout = self._args
        return (_rebuild, (str(self.address), self.level, self.policy, self.timeout, buffer_size, max_record, ack,
                           close_timeout, self.formatter))

    def __repr__(self):
        return "<logfanin.Handler %s (%s)>" % (self.address, logging.getLevelName(self.level))

    def handle(self, record):
        """Filter record and emit it, without the handler-wide lock
        logging.Handler.handle takes around emit: the client has a lock of
        its own, and the handler's would make threads wait for each
        other's formatting."""
        if not self.filters:
            self.emit(record)
            return True
        rv = self.filter(record)
        if rv:
            if isinstance(rv, logging.LogRecord):  # Python 3.12: a filter may return a new record
                record = rv
            self.emit(record)
        return rv

    def emit(self, record):
        try:
            if self._framed:
                frame = None
                if self._client.py_records:
                    frame = format_py(record, self.formatter)
                    if frame is not None and len(frame) > self._py_max:
                        # Its JSON might be over max_record, which the
                        # writer (or, converted, an older one) refuses:
                        # format_bytes measures the JSON and shortens it.
                        frame = None
                if frame is None:
                    frame = format_bytes(record, self.formatter, True)
                if len(frame) - 4 > self.max_record:
                    data = self._shorten(record, len(frame) - 4)
                    frame = _wire.frame_header(len(data)) + data
                self._client.put(frame)
            else:
                data = format_bytes(record, self.formatter)
                if len(data) > self.max_record:
                    data = self._shorten(record, len(data))
                self._client.put(data)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _shorten(self, record, size):
        """A record over max_record would be refused by the writer: send
        its start instead, marked, so that it is never silently lost."""
        self._oversize += 1
        keep = max(self.max_record // 8, 64)
        d = {
            "ts": record.created,
            "level": level_name(record),
            "logger": record.name,
            "msg": _message(record, self.formatter)[:keep],
            "pid": record.process,
            "truncated": True,
            "size": size,
        }
        return encode_record(d).encode()

    def flush(self, timeout=None):
        """Wait until the writer acknowledged every record emitted so far
        (on a stream socket; pipes and datagrams have nothing to wait for).
        Returns True if it did within timeout seconds (default:
        close_timeout, since logging.shutdown() calls flush() before
        close() and must not wait longer than close() does)."""
        if timeout is None:
            timeout = self.close_timeout
        return self._client.flush(timeout)

    def close(self):
        """Flush (up to close_timeout) and close the connection.
        Records still unacknowledged then are reported on standard error."""
        try:
            lost = self._client.close(self.close_timeout)
            if lost:
                report_to_stderr("closing %s: %d records not delivered within %s s"
                                 % (self.address, lost, self.close_timeout))
        finally:
            with _clients_lock:
                _clients.discard(self._client)
            super().close()

    def stats(self):
        """Counters: sent, dropped, reconnects, errors, oversize, buffered;
        on a stream socket also sends, the batches sent (records share
        one when they come faster than the writer takes them)."""
        s = dict(self._client.stats)
        s["oversize"] = s.get("oversize", 0) + self._oversize
        s["buffered"] = self._client.buffered()
        return s


def _rebuild(addr, level, policy, timeout, buffer_size, max_record, ack, close_timeout, formatter):
    h = Handler(addr, level, policy=policy, timeout=timeout, buffer_size=buffer_size, max_record=max_record, ack=ack,
                close_timeout=close_timeout)
    if formatter is not None:
        h.setFormatter(formatter)
    return h
