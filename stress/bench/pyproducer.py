"""Benchmark producer for the Python contenders: a parent process with one
multiprocessing worker (fork) per producer, each logging its records
through the standard logging module the way the contender says.

The job comes as JSON in LOGFANIN_BENCH_CHILD, as for the Go producers.
The parent prints "ready" once every worker is set up, starts them when
its standard input closes, waits for them (and, for the cookbook's
pattern, for its QueueListener), and prints its result line.
"""

import json
import logging
import logging.handlers
import multiprocessing
import os
import random
import socket
import struct
import sys
import zlib

import logfanin
from logfanin import _format

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class PackageFormatter(logging.Formatter):
    """The package's JSON formatting (what logfanin.Handler writes), for
    the py-filehandler-same row: FileHandler and the package then differ
    only in how records reach the file."""

    def format(self, record):
        return _format.format_record(record, None)


# A LogRecord's own attributes; the others came from extra={...}.
_RESERVED = _format._STANDARD


class JSONFormatter(logging.Formatter):
    """A JSON formatter as programs write one (and python-json-logger
    works): the standard fields, every extra attribute of the record,
    json.dumps. The same fields as the package writes."""

    def format(self, record):
        d = {"ts": record.created, "level": record.levelname.lower(), "logger": record.name,
             "msg": record.getMessage(), "pid": record.process, "thread": record.threadName}
        for k, v in record.__dict__.items():
            if k not in _RESERVED:
                d[k] = v
        if record.exc_info:
            d["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(d, default=str)


class ExampleHandler(logging.Handler):
    """The handler examples/python/pool.py had before the package: a frame
    per record, one sendall each, no acknowledgements."""

    def __init__(self, addr):
        super().__init__()
        self.addr = addr
        self.sock = None
        self.owner = None

    def _socket(self):
        if self.sock is None or self.owner != os.getpid():
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.addr[len("unix://"):])
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
            self._socket().sendall(struct.pack(">I", len(data)) + data)
        except Exception:
            self.sock = None
            self.handleError(record)


def canonical_overhead(p, s, n):
    return (len('{"p":') + len(str(p)) + len(',"s":') + len(str(s)) + len(',"n":') + len(str(n))
            + len(',"c":"') + 8 + len('","b":"') + len('"}') + 1)


MIN_SIZE = 5 + 20 + 5 + 20 + 5 + 20 + 6 + 8 + 7 + 2 + 1


class Fields:
    """The logcheck fields of producer p's records of about size bytes:
    one body per digit count of the sequence, drawn once."""

    def __init__(self, p, n):
        self.p, self.n = p, max(n, MIN_SIZE)
        self.rng = random.Random(p)
        self.by_digits = {}

    def get(self, s):
        d = len(str(s))
        base = self.by_digits.get(d)
        if base is None:
            body = "".join(self.rng.choice(ALPHABET) for _ in range(self.n - canonical_overhead(self.p, s, self.n)))
            base = self.by_digits[d] = {"p": self.p, "n": self.n, "c": "%08x" % zlib.crc32(body.encode()), "b": body}
        f = dict(base)
        f["s"] = s
        return f


def calibrate(size):
    """The logcheck size that makes a record of about size bytes."""
    rec = logging.LogRecord("bench", logging.INFO, __file__, 1, "request handled", None, None)
    rec.__dict__.update(Fields(0, size).get(100000))
    line = _format.format_record(rec, None)
    return max(size - (len(line) + 1 - size), MIN_SIZE)


def make_handler(contender, spec, q):
    if contender == "py-filehandler":
        h = logging.FileHandler(spec["Path"])
        h.setFormatter(JSONFormatter())
    elif contender == "py-filehandler-same":
        h = logging.FileHandler(spec["Path"])
        h.setFormatter(PackageFormatter())
    elif contender == "py-cookbook":
        h = logging.handlers.QueueHandler(q)
    elif contender == "py-example":
        h = ExampleHandler(spec["Addr"])
    elif contender == "py-syslog":
        h = logging.handlers.SysLogHandler(address=spec["Addr"][len("unixgram://"):])
        h.setFormatter(JSONFormatter())
    elif contender == "py-logfanin":
        h = logfanin.Handler(spec["Addr"])
    else:
        raise ValueError("unknown contender " + contender)
    return h


def cpu_now():
    """The CPU this process has used so far, in seconds."""
    t = os.times()
    return t.user + t.system


def worker(spec, p, ready, start, q, errors, setup, i):
    try:
        contender = spec["Contender"]
        log = logging.getLogger("bench")
        log.propagate = False
        log.setLevel(logging.INFO)
        h = make_handler(contender, spec, q)
        log.handlers = [h]
        fields = Fields(p, calibrate(spec["Size"]))
        for s in range(min(spec["Records"], 10)):
            fields.get(s)
        fields.get(spec["Records"] - 1)
        example = contender == "py-example"
        info = log.info
        ready.wait()
        start.wait()
        setup[i] = cpu_now()  # what setting up cost is not counted
        for s in range(spec["Records"]):
            f = fields.get(s)
            if example:
                info("request handled", extra={"fields": f})
            else:
                info("request handled", extra=f)
        if isinstance(h, logfanin.Handler):
            if not h.flush(60):
                raise RuntimeError("flush timed out: %r" % h.stats())
        h.close()
    except BaseException as e:
        errors.put("producer %d: %r" % (p, e))
        raise


def vmhwm():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main():
    spec = json.loads(os.environ["LOGFANIN_BENCH_CHILD"])
    ctx = multiprocessing.get_context("fork")
    producers = spec["Producers"]
    ready = ctx.Barrier(len(producers) + 1)
    start = ctx.Event()
    errors = ctx.Queue()
    q = listener = None
    if spec["Contender"] == "py-cookbook":
        # The logging cookbook's pattern: workers put records on a
        # multiprocessing queue; a QueueListener in the parent writes them.
        q = ctx.Queue(-1)
        fh = logging.FileHandler(spec["Path"])
        fh.setFormatter(JSONFormatter())
        listener = logging.handlers.QueueListener(q, fh)
        listener.start()
    setup = ctx.Array("d", len(producers), lock=False)  # each worker's CPU at the start signal
    procs = [ctx.Process(target=worker, args=(spec, p, ready, start, q, errors, setup, i))
             for i, p in enumerate(producers)]
    for pr in procs:
        pr.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.read()
    setup_cpu = cpu_now()
    start.set()
    failed = []
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            failed.append("worker exited %s" % pr.exitcode)
    if listener is not None:
        listener.stop()
        for h in listener.handlers:
            h.close()
    while not errors.empty():
        failed.append(errors.get())
    # The parent's setup and each worker's: the benchmark counts the CPU
    # used after the start signal, as it does for its Go producers.
    setup_cpu += sum(setup)
    res = {"vmhwm": vmhwm(), "setup_cpu_ns": int(setup_cpu * 1e9)}
    if failed:
        res["err"] = "; ".join(failed)
    print(json.dumps(res), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
