#!/usr/bin/env python3
"""A multiprocessing.Pool whose workers log into one logfanin writer.

Standard library only. Run it under the sidecar:

    logfanin -out app.log -- python3 examples/python/pool.py

Each worker process logs through a logging.Handler that frames JSON
records onto the writer's stream socket (LOGFANIN_ADDR=unix://PATH) or, if
the address is a pipe (fd:N), cuts them into pipe chunks. With
LOGFANIN_SYSLOG=PATH set to a unixgram socket of the writer, records also
go through the standard SysLogHandler, unchanged.
"""

import json
import logging
import logging.handlers
import multiprocessing
import os
import socket
import struct
import sys
import threading
import zlib

PIPE_BUF = 4096
CHUNK_HEADER = 16
FIRST, LAST = 0x01, 0x02


def frame(record: bytes) -> bytes:
    """A stream frame: uint32 big-endian length, then the record."""
    return struct.pack(">I", len(record)) + record


def chunks(record: bytes, pid: int, record_id: int):
    """Pipe chunks of at most PIPE_BUF bytes, each for one os.write."""
    room = PIPE_BUF - CHUNK_HEADER
    parts = [record[i:i + room] for i in range(0, len(record), room)] or [b""]
    for i, part in enumerate(parts):
        flags = (FIRST if i == 0 else 0) | (LAST if i == len(parts) - 1 else 0)
        head = struct.pack(">BBBBHII", 0xFF, 0x4C, 1, flags, len(part), pid, record_id)
        c = zlib.crc32(head)
        yield head + struct.pack(">H", (c >> 16) ^ (c & 0xFFFF)) + part


class LogfaninHandler(logging.Handler):
    """Sends each record as one JSON object to a logfanin writer."""

    def __init__(self, addr=None):
        super().__init__()
        self.addr = addr or os.environ["LOGFANIN_ADDR"]
        self.sock = None
        self.owner = None
        self.record_id = int.from_bytes(os.urandom(4), "big")
        self.pipe_lock = threading.Lock()

    def _socket(self):
        # Connect per process: a socket inherited through fork would be
        # shared with the parent by accident.
        if self.sock is None or self.owner != os.getpid():
            path = self.addr[len("unix://"):]
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)
            self.owner = os.getpid()
        return self.sock

    def emit(self, record):
        try:
            data = json.dumps({
                "level": record.levelname.lower(),
                "ts": record.created,
                "logger": record.name,
                "msg": record.getMessage(),
                **getattr(record, "fields", {}),
            }).encode() + b"\n"
            if self.addr.startswith("fd:"):
                fd = int(self.addr[3:])
                with self.pipe_lock:  # one record's chunks at a time
                    self.record_id = (self.record_id + 1) & 0xFFFFFFFF
                    for c in chunks(data, os.getpid(), self.record_id):
                        os.write(fd, c)  # <= PIPE_BUF: atomic, never short
            else:
                self._socket().sendall(frame(data))
        except Exception:
            self.sock = None
            self.handleError(record)


def setup():
    log = logging.getLogger("pool")
    log.setLevel(logging.INFO)
    log.addHandler(LogfaninHandler())
    if os.environ.get("LOGFANIN_SYSLOG"):
        log.addHandler(logging.handlers.SysLogHandler(address=os.environ["LOGFANIN_SYSLOG"]))


def work(n):
    log = logging.getLogger("pool")
    log.info("task %d done", n, extra={"fields": {"task": n, "worker": os.getpid(), "pad": "x" * (n % 7 * 1000)}})
    return n * n


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    # fork, so that the workers inherit the pipe of LOGFANIN_ADDR=fd:N;
    # forkserver (the default from Python 3.14) and spawn close it.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4, initializer=setup) as pool:
        total = sum(pool.map(work, range(tasks)))
    setup()
    logging.getLogger("pool").info("pool finished", extra={"fields": {"tasks": tasks, "sum": total}})
    print(f"pool finished {tasks} tasks")


if __name__ == "__main__":
    main()
