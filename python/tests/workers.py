"""Functions multiprocessing runs in worker processes (importable by the
spawn and forkserver start methods)."""

import logging
import os

import logfanin


def setup(addr):
    log = logging.getLogger("pool")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.handlers = [logfanin.Handler(addr)]


def work(n):
    logging.getLogger("pool").info("task %d", n, extra={"task": n, "worker": os.getpid()})
    return n


def work_many(args):
    n, count = args
    log = logging.getLogger("pool")
    for i in range(count):
        log.info("task %d record %d", n, i, extra={"task": n, "i": i})
    return n


def setup_with(handler):
    log = logging.getLogger("pool")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.handlers = [handler]
