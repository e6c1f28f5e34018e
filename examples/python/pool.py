#!/usr/bin/env python3
"""A multiprocessing.Pool whose workers log into one logfanin writer.

Run it under the sidecar, which gives it LOGFANIN_ADDR:

    logfanin -out app.log -- python3 examples/python/pool.py

Each worker logs through logfanin.Handler (the package in python/ of this
repository: `pip install ./python`, or run from the checkout as here).
LOGFANIN_ADDR may name the stream socket (unix://PATH, the sidecar's
default) or the shared pipe (fd:N). With LOGFANIN_SYSLOG=PATH set to a
unixgram socket of the writer, records also go through the standard
SysLogHandler, unchanged.
"""

import logging
import logging.handlers
import multiprocessing
import os
import sys

try:
    import logfanin
except ImportError:  # not installed: use the package of this checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import logfanin


def setup():
    log = logging.getLogger("pool")
    log.setLevel(logging.INFO)
    log.addHandler(logfanin.Handler())  # LOGFANIN_ADDR
    if os.environ.get("LOGFANIN_SYSLOG"):
        log.addHandler(logging.handlers.SysLogHandler(address=os.environ["LOGFANIN_SYSLOG"]))


def work(n):
    log = logging.getLogger("pool")
    log.info("task %d done", n, extra={"task": n, "worker": os.getpid(), "pad": "x" * (n % 7 * 1000)})
    return n * n


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    # fork, so that the workers inherit the pipe of LOGFANIN_ADDR=fd:N;
    # forkserver (the default from Python 3.14) and spawn close it, and
    # work as well with the stream socket.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4, initializer=setup) as pool:
        total = sum(pool.map(work, range(tasks)))
        # close and join: the workers exit and deliver what they logged.
        # Leaving the with block without them terminates the workers
        # (SIGTERM), which may cut off records not yet sent.
        pool.close()
        pool.join()
    setup()
    logging.getLogger("pool").info("pool finished", extra={"tasks": tasks, "sum": total})
    print(f"pool finished {tasks} tasks")


if __name__ == "__main__":
    main()
