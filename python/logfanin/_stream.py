"""The stream client: frames over a Unix stream socket, with the hello,
acknowledgements and replay of docs/PROTOCOL.md.

One sender thread per process owns the connection. emit() only appends a
frame to the buffer and, if the sender sleeps, wakes it; the sender takes
everything buffered at once, so records logged while a send is in flight
share the next one (no timer: an idle process's record leaves at once).
Sent records stay in the buffer until the writer acknowledges that it
wrote them; after a lost connection the sender reconnects with backoff,
says hello with the same session id and the oldest unacknowledged
sequence, and sends those records again before any new one.
"""

import errno
import os
import random
import select
import socket
import sys
import threading
import time
from collections import deque

from . import _wire
from ._format import PY_MAGIC, py_to_json

_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT

MIN_BACKOFF = 0.01
MAX_BACKOFF = 1.0
DIAL_TIMEOUT = 2.0
_NOTICE_SLACK = 32  # bytes a drop notice may grow by while a record waits for room
_LARGE = 4096  # frames this long on average are sent without joining them
try:
    _IOV_MAX = max(16, min(os.sysconf("SC_IOV_MAX"), 1024))  # buffers per sendmsg
except (ValueError, OSError):
    _IOV_MAX = 16

# What the sender thread is doing, for whoever wakes it: running; waiting
# on its wake-up pipe for records (no connection yet); in a backoff before
# reconnecting; waiting on a condition for records; waiting for the
# writer's acknowledgements, with more than half the buffer unacknowledged.
AWAKE, IDLE, BACKOFF, WAITING, ACKWAIT = 0, 1, 2, 3, 4


class StreamClient:
    def __init__(self, path, policy, timeout, buffer_size, ack, errors):
        self.path = path
        self.block = policy == "block"
        self.timeout = timeout
        self.limit = buffer_size
        self.ack = ack
        self.errors = errors  # reports problems: errors(message)
        self.on_start = None  # called with the client when a process first uses it
        self._reset()

    def _reset(self):
        """A fresh client: no connection, buffer, thread or lock. Also
        what a forked child starts from (its parent's records are its
        parent's to deliver)."""
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)  # callers wait for acks or room
        self.io_cond = threading.Condition(self.lock)  # the sender waits for records
        self.session = os.urandom(16)
        self.next_seq = 1  # sequence of the next record
        self.acked = 0  # every record up to here is written and released
        self.ack_high = 0  # highest sequence the writer acknowledged
        self.sent = deque()  # frames sent on this connection, not acknowledged
        self.unsent = deque()  # frames not sent yet (a replay goes first)
        self.held = 0  # bytes in sent and unsent
        self.sleeping = AWAKE  # what the sender thread waits for, if anything: one of the states above
        self.fast = False  # put may take its short path: started, not closing, no drops to report
        self.want_acks = 0  # callers waiting for an acknowledgement
        self.pending_drops = 0
        self.closing = False  # close() started: records are refused
        self.closed = False  # close() finished its flush
        self.dropped_after_close = 0  # records put after close(), reported once
        self.stopped = False
        self.thread = None
        self.wake_r = self.wake_w = -1
        self.sock = None
        self.connected_once = False
        # Records go as Python records (format_py), which the writer turns
        # into JSON, until a writer refuses a hello that announces them
        # (it predates them); without acknowledgements there is no hello.
        self.py_records = self.ack
        self.py_hello = False  # this connection's hello announced them
        self.conn_acked = False  # an ack came on this connection
        self.down_since = None  # first failure of the current outage
        self.stats = {"sent": 0, "sends": 0, "dropped": 0, "reconnects": 0, "errors": 0}

    # Called in a forked child, holding nothing: forget everything the
    # parent had without touching it (closing an inherited descriptor only
    # drops this process's reference to it).
    def after_fork_in_child(self):
        _close_fds(self.wake_r, self.wake_w)
        sock = self.sock
        py_records = self.py_records  # a writer that refused them refuses a child's too
        self._reset()
        self.py_records = py_records
        if sock is not None:
            _close_inherited(sock)

    # --- the emitting side -------------------------------------------------

    def put(self, frame):
        """Buffer one frame. Returns False if the record was dropped (the
        buffer stayed full: at once with the drop policy, after the timeout
        with the block policy)."""
        n = len(frame)
        lock = self.lock
        lock.acquire()  # not "with": its two method calls cost twice as much
        try:
            if self.fast and self.held + n <= self.limit:
                # The common case, kept short: the cost per record is most
                # of what logging costs a worker.
                self.unsent.append(frame)
                self.held += n
                self.next_seq += 1
                if self.sleeping:
                    self._nudge_locked()
                return True
            return self._put_slow(frame, n)
        finally:
            lock.release()

    def _put_slow(self, frame, n):
        """put, when the buffer is full, the client is not started or is
        closing, or drops wait to be reported (the caller holds the lock)."""
        self.fast = False
        if self.closing:
            self.stats["dropped"] += 1
            if not self.dropped_after_close:
                self.errors("unix://%s: a record logged after close() is dropped (and any later one)" % self.path)
            self.dropped_after_close += 1
            return False
        if self.thread is None:
            self._start()
        need = n
        if self.pending_drops:
            # The drop notice goes first: room for both (with slack
            # for a count and a time that grow while we wait), or for
            # as much as the buffer holds: a record near its size then
            # waits for the notice below, as any record does.
            need = min(n + 4 + len(drop_notice(self.pending_drops)) + _NOTICE_SLACK, self.limit)
        if self.held + need > self.limit and not self._room(need):
            self.pending_drops += 1
            self.stats["dropped"] += 1
            return False
        if self.pending_drops:
            self._queue_drop_notice()
            if self.held + n > self.limit:
                # Records dropped while this one waited: their notice
                # took the room, and this record waits as any other.
                if not self._room(n):
                    self.pending_drops += 1
                    self.stats["dropped"] += 1
                    return False
        self.unsent.append(frame)
        self.held += n
        self.next_seq += 1
        self._nudge_locked()
        self.fast = not self.pending_drops
        return True

    def _room(self, n):
        """Wait, holding the lock, until n bytes fit; False if they don't
        (drop policy, timeout, closing)."""
        if not self.block or n > self.limit:
            return False
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self.want_acks += 1
        try:
            while self.held + n > self.limit:
                if self.closing or not self._wait(deadline):
                    return False
            return True
        finally:
            self.want_acks -= 1

    def _wait(self, deadline):
        """Wake the sender and wait, holding the lock, for an acknowledgement
        (or room) until deadline (None: no limit). False once it passed."""
        self._wake_locked()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        self.cond.wait(left)
        return True

    def _queue_drop_notice(self):
        body = drop_notice(self.pending_drops)
        notice = _wire.frame_header(len(body)) + body
        if self.held + len(notice) <= self.limit:
            self.unsent.append(notice)
            self.held += len(notice)
            self.next_seq += 1
            self.pending_drops = 0
            self._wake_locked()

    def _nudge_locked(self):
        """Tell a sleeping sender that a record came. A sender waiting for
        records is woken without a system call, keeping the GIL: it runs
        when this thread lets it and takes what came meanwhile. One in a
        backoff is left to it (a record does not end an outage), and so
        is one waiting for acknowledgements: the next one wakes it, and it
        sends what came meanwhile in one go (woken for each record, it
        would send them one by one while the writer lags)."""
        if self.sleeping == WAITING:
            self.sleeping = AWAKE
            self.io_cond.notify()
        elif self.sleeping == IDLE:
            self.sleeping = AWAKE
            os.write(self.wake_w, b"\0")

    def _wake_locked(self):
        """Wake the sender, also from a backoff (a caller waits)."""
        if self.sleeping == WAITING:
            self.sleeping = AWAKE
            self.io_cond.notify()
        elif self.sleeping != AWAKE and self.wake_w >= 0:
            self.sleeping = AWAKE
            os.write(self.wake_w, b"\0")

    def _want_acks_locked(self):
        """Whether the sender should read acknowledgements while it waits:
        someone waits for one, or the buffer fills. Otherwise they are
        read after the next send, and don't wake it up."""
        return bool(self.sent) and (self.want_acks > 0 or self.held * 2 > self.limit)

    def flush(self, timeout):
        """Wait until the writer acknowledged every record buffered before
        the call (without acknowledgements: until they are sent). Returns
        whether it did within timeout (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            if self.thread is None or self.stopped:
                return self.held == 0 and not self.pending_drops
            target = self.next_seq - 1
            self.want_acks += 1
            try:
                while True:
                    if self.pending_drops:
                        # The drop notice goes as soon as there is room
                        # for it, and is waited for like a record.
                        self._queue_drop_notice()
                        target = self.next_seq - 1
                    if self.acked >= target and not self.pending_drops:
                        return True
                    if self.stopped or not self._wait(deadline):
                        return False
            finally:
                self.want_acks -= 1

    def close(self, timeout):
        """Flush for up to timeout, then stop the sender and close the
        connection. Returns the number of records given up on."""
        with self.lock:
            if self.closed:
                return 0  # closed already (close is idempotent)
        ok = self.flush(timeout)
        with self.lock:
            if self.closed:
                return 0
            self.closed = True
            self.closing = True
            self.fast = False
            lost = len(self.sent) + len(self.unsent) + self.pending_drops
            thread = self.thread
            if thread is not None:
                self.stopped = True
                self.sleeping = AWAKE
                if self.wake_w >= 0:
                    os.write(self.wake_w, b"\0")  # also into a send that waits
                self.cond.notify_all()
                self.io_cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout if self.timeout is not None else 5.0)
        with self.lock:
            if self.sock is not None:
                try:
                    self.sock.close()
                except OSError:
                    pass
                self.sock = None
            _close_fds(self.wake_r, self.wake_w)
            self.wake_r = self.wake_w = -1
        return 0 if ok else lost

    def buffered(self):
        with self.lock:
            return len(self.sent) + len(self.unsent)

    # --- the sender thread ---------------------------------------------------

    def _start(self):
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.thread = threading.Thread(target=self._run, name="logfanin-sender", daemon=True)
        self.thread.start()
        if self.on_start is not None:
            self.on_start(self)

    def _run(self):
        backoff = MIN_BACKOFF
        poller = select.poll()
        poller.register(self.wake_r, _POLLIN)
        while True:
            with self.lock:
                if self.stopped:
                    return
                have = bool(self.unsent) or bool(self.sent)
                sock = self.sock
            if sock is None:
                if not have:
                    self._sleep(poller, IDLE, None)
                    continue
                err = self._connect()
                if err is not None:
                    self._outage(err)
                    self._sleep(poller, BACKOFF, backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = MIN_BACKOFF
                with self.lock:
                    sock = self.sock
            with self.lock:
                if self.unsent:
                    batch = self.unsent
                    self.unsent = deque()
                else:
                    batch = None
                    want = self._want_acks_locked()
            if batch is not None:
                if self.ack and not self.py_records:  # without acks there is no hello, and no Python record
                    batch = self._as_json(batch)
                err = self._send(sock, batch)
                if err is None:
                    err = self._read_acks(sock)
                if err is not None:
                    self._broken(sock, err)
                continue
            if not want:
                # Nothing to read: wait for records on a condition, which
                # costs the emitting thread no system call.
                with self.lock:
                    if not self.stopped and not self.unsent and not self._want_acks_locked():
                        self.sleeping = WAITING
                        self.io_cond.wait()
                        self.sleeping = AWAKE
                continue
            # The socket is in the poller only for this wait: a socket
            # closed later must not be, or every later sleep (a backoff
            # too) would return at once with POLLNVAL.
            sockfd = sock.fileno()
            poller.register(sockfd, _POLLIN)
            try:
                ready = self._sleep(poller, ACKWAIT, None)
            finally:
                poller.unregister(sockfd)
            if any(fd == sockfd for fd, _ in ready):
                err = self._read_acks(sock)
                if err is not None:
                    self._broken(sock, err)

    def _sleep(self, poller, how, timeout):
        """Wait for a wake-up (or the socket, if registered) for at most
        timeout seconds; returns poll's events. Returns at once if, under
        the lock, there is work the caller did not see."""
        with self.lock:
            if self.stopped:
                return []
            if how == IDLE and self.unsent:
                return []
            if how == ACKWAIT and not self._want_acks_locked():
                return []
            self.sleeping = how
        try:
            ready = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        except InterruptedError:
            ready = []
        with self.lock:
            self.sleeping = AWAKE
        try:
            os.read(self.wake_r, 4096)
        except (BlockingIOError, OSError):
            pass
        return ready

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(DIAL_TIMEOUT)
        try:
            # A send buffer that takes a batch in one sendmsg: with the
            # default (about 200 KiB) a batch of large records goes in many
            # partial sends, each a wait in poll and a handoff of the GIL,
            # which cost the sender about as much as copying the bytes.
            # Linux caps the size asked for at net.core.wmem_max and then
            # doubles it (so half is asked for there); other systems take
            # it as it is, up to a limit of their own. The socket holds no
            # more than the buffer does, and a small buffer keeps the
            # default. The option is a C int.
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < self.limit:
                want = self.limit // 2 if sys.platform.startswith("linux") else self.limit
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, min(want, 2**31 - 1))
        except OSError:
            pass
        try:
            s.connect(self.path)
            with self.lock:
                first = self.acked + 1
                replay = self.sent
                replay.extend(self.unsent)
                self.unsent = replay
                self.sent = deque()
            if self.ack:
                flags = _wire.HELLO_ACK | (_wire.HELLO_PY_RECORDS if self.py_records else 0)
                s.sendall(_wire.hello(self.session, first, flags))
                self.py_hello = bool(flags & _wire.HELLO_PY_RECORDS)
            s.setblocking(False)
        except OSError as e:
            s.close()
            if e.errno == errno.EPROTOTYPE:
                return OSError(e.errno, "%s is a datagram socket: use unixgram://%s" % (self.path, self.path))
            return e
        with self.lock:
            self.sock = s
            self.rbuf = bytearray()
            self.conn_acked = False
            if self.connected_once:
                self.stats["reconnects"] += 1
            self.connected_once = True
            if self.down_since is not None:
                self.errors("connected to unix://%s again after %.1f s; replaying %d unacknowledged records"
                            % (self.path, time.monotonic() - self.down_since, len(self.unsent)))
                self.down_since = None
        return None

    def _outage(self, err):
        with self.lock:
            first = self.down_since is None
            if first:
                self.down_since = time.monotonic()
            self.stats["errors"] += 1
        if first:
            self.errors("writer unix://%s unreachable (%s); records wait in the buffer and go once it is back"
                        % (self.path, err))

    def _send(self, sock, batch):
        """Send the frames of batch, whole; they then wait for their ack.
        Large frames go as they are (sendmsg, no copy); small ones are
        joined first, which costs less than a buffer each."""
        total = sum(map(len, batch))
        if total >= _LARGE * len(batch):
            bufs = list(batch)
        else:
            bufs = [b"".join(batch)]
        i = off = 0
        p = None
        while i < len(bufs):
            try:
                if off:
                    part = bufs[i + 1:i + _IOV_MAX]
                    part.insert(0, memoryview(bufs[i])[off:])
                else:
                    part = bufs[i:i + _IOV_MAX]
                n = sock.sendmsg(part)
                while n:
                    rest = len(bufs[i]) - off
                    if n < rest:
                        off += n
                        break
                    n -= rest
                    i += 1
                    off = 0
                continue
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                return self._requeue(batch, e)
            # The writer is not reading: wait until it does or we are
            # stopped, reading its acks meanwhile so that neither side
            # waits for the other.
            err = self._read_acks(sock)
            if err is not None:
                return self._requeue(batch, err)
            with self.lock:
                if self.stopped:
                    return self._requeue(batch, OSError(errno.ECANCELED, "closed"))
            if p is None:
                p = select.poll()
                p.register(sock.fileno(), _POLLOUT | _POLLIN)
                p.register(self.wake_r, _POLLIN)
            for fd, _ in p.poll():
                if fd == self.wake_r:
                    try:
                        os.read(self.wake_r, 4096)
                    except OSError:
                        pass
        with self.lock:
            self.sent.extend(batch)
            self.stats["sent"] += len(batch)
            self.stats["sends"] += 1
            if not self.ack:
                self._release(len(self.sent))
            else:
                self._apply_acks()
        return None

    def _as_json(self, batch):
        """batch with its Python records made JSON, for a writer that does
        not take them; the buffer's count grows by what that adds."""
        out = deque()
        grew = 0
        for f in batch:
            if f.startswith(PY_MAGIC, 4):
                j = py_to_json(f)
                grew += len(j) - len(f)
                f = j
            out.append(f)
        if grew:
            with self.lock:
                self.held += grew
        return out

    def _requeue(self, batch, err):
        with self.lock:
            batch.extend(self.unsent)
            self.unsent = batch
        return err

    def _read_acks(self, sock):
        """Read what the writer sent: acknowledgements and error frames."""
        while True:
            try:
                b = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return e
            if not b:
                return ConnectionResetError(errno.ECONNRESET, "the writer closed the connection")
            if not self.ack:
                continue
            self.rbuf += b
            try:
                seq = _wire.parse_controls(self.rbuf)
            except (_wire.ProtocolError, _wire.WriterError) as e:
                return e
            if seq is not None:
                with self.lock:
                    self.conn_acked = True
                    if seq > self.ack_high:
                        self.ack_high = seq
                        self._apply_acks()

    def _apply_acks(self):
        """Release acknowledged records (the caller holds the lock)."""
        k = min(self.ack_high - self.acked, len(self.sent))
        if k > 0:
            self._release(k)

    def _release(self, k):
        sent = self.sent
        freed = 0
        for _ in range(k):
            freed += len(sent.popleft())
        self.held -= freed
        self.acked += k
        self.cond.notify_all()

    def _broken(self, sock, err):
        """The connection is gone: the next round reconnects and replays."""
        if not isinstance(err, _wire.WriterError):
            # A send can fail before the writer's last word is read.
            last = self._read_acks(sock)
            if isinstance(last, _wire.WriterError):
                err = last
        try:
            sock.close()
        except OSError:
            pass
        with self.lock:
            if self.sock is sock:
                self.sock = None
            if (isinstance(err, _wire.WriterError) and err.code == _wire.ERROR_PROTOCOL and self.py_hello
                    and not self.conn_acked):
                # A writer that predates Python records refuses the hello
                # that announces them: say hello without, and send what is
                # held as JSON (_as_json).
                self.py_records = False
                self.errors("the writer at unix://%s does not take Python records: records go as JSON" % self.path)
            if isinstance(err, _wire.WriterError) and err.code == _wire.ERROR_SESSION:
                # Another process said hello with this session id first
                # (it copied it): the unacknowledged records go again
                # under a new one. Readers can't pair them with copies
                # written under the old id, but nothing is lost.
                self.session = os.urandom(16)
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.stats["errors"] += 1
                msg = "connection to unix://%s lost (%s)" % (self.path, err)
                if self.ack:
                    msg += "; %d unacknowledged records will be sent again" % (len(self.sent) + len(self.unsent))
                self.errors(msg)
            if not self.ack:
                # Without acknowledgements what was sent is gone either way.
                self._release(len(self.sent))
            self.cond.notify_all()


def _close_fds(*fds):
    """Close each descriptor that is open (not -1), ignoring errors."""
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _close_inherited(sock):
    """Close a socket object inherited through fork without shutting the
    connection down (the parent still uses it)."""
    try:
        fd = sock.detach()
    except OSError:
        return
    _close_fds(fd)


def drop_notice(n):
    """The record that reports n dropped records, as the Go sink writes it."""
    return ('{"level":"warn","ts":%r,"logger":"logfanin","msg":"logfanin: records dropped","dropped":%d,"pid":%d}\n'
            % (time.time(), n, os.getpid())).encode()


def report_to_stderr(msg):
    try:
        sys.stderr.write("%s logfanin: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg))
        sys.stderr.flush()
    except Exception:
        pass
