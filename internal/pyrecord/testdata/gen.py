"""Writes records.txt: Python records (marshal, hex) and the JSON the
Python client's own formatting writes for the same fields, one pair a
line, for pyrecord's tests. Run from the repository's root:

    PYTHONPATH=python python3 internal/pyrecord/testdata/gen.py > internal/pyrecord/testdata/records.txt
"""

import logging
import marshal
import random
import struct
import sys

from logfanin import _format

rng = random.Random(1)


def rand_float():
    while True:
        f = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if f == f:
            return f


def rand_str():
    kind = rng.randrange(6)
    n = rng.choice([0, 1, 5, 12, 40, 40, 40, 600])
    if kind == 0:  # plain ASCII
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(n)).replace('"', "q").replace("\\", "b")
    if kind == 1:  # any ASCII
        return "".join(chr(rng.randrange(0, 0x80)) for _ in range(n))
    if kind == 2:  # Latin-1 and the BMP
        return "".join(chr(rng.choice([rng.randrange(0x80, 0x100), rng.randrange(0x100, 0xD800),
                                       rng.randrange(0xE000, 0x10000)])) for _ in range(n))
    if kind == 3:  # beyond the BMP
        return "".join(chr(rng.randrange(0x10000, 0x110000)) for _ in range(min(n, 50)))
    if kind == 4:  # lone surrogates among ASCII
        return "".join(chr(rng.choice([rng.randrange(0xD800, 0xE000), ord("a"), ord("\n")])) for _ in range(min(n, 50)))
    return "x" * n + '"' + "y" * (n // 2)


def rand_value():
    kind = rng.randrange(8)
    if kind == 0:
        return rand_str()
    if kind == 1:
        return rng.choice([0, 1, -1, 2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**63 - 1, -2**63, 2**64 - 1,
                           -(2**64 - 1), 2**45 + 3, -(2**30) - 7])
    if kind == 2:
        return rng.randrange(-2**64 + 1, 2**64)
    if kind == 3:
        return rand_float()
    if kind == 4:
        return rng.choice([0.0, -0.0, 1.0, 1e16, 1e15, 123456789012345678.0, 1e-4, 1e-5, 1.5e-7, 0.1, 1 / 3,
                           5e-324, 1.7976931348623157e308, 1e22, 12345.678, float("nan"), float("inf"),
                           float("-inf")])
    if kind == 5:
        return rng.choice([True, False])
    if kind == 6:
        return None
    return rng.randrange(-100, 100)


def rand_ts():
    kind = rng.randrange(6)
    if kind == 0:
        return rand_float()
    if kind == 1:
        return rng.choice([0.0, -0.0, 1e10, 1e10 - 1e-6, 9999999999.999998, -1.5, float("nan"), float("inf"),
                           1795967857.9999999, 0.0000005])
    return rng.uniform(1.6e9, 1.9e9)


def record():
    name = rand_str() if rng.random() < 0.3 else "app.worker"
    r = logging.LogRecord(name, logging.INFO, "x.py", 1, rand_str(), None, None)
    r.created = rand_ts()
    if rng.random() < 0.2:
        r.process = None
    elif rng.random() < 0.2:
        r.process = rng.randrange(0, 2**31)
    if rng.random() < 0.2:
        r.threadName = None
    elif rng.random() < 0.3:
        r.threadName = rand_str()
    r.levelname = rng.choice(["INFO", "WARNING", "CRITICAL", "DEBUG", "ERROR", "TRACE", "Niveau"])
    for _ in range(rng.randrange(0, 6)):
        k = rng.choice(["p", "s", "user", "b", "päyload", "k\"q", rand_str()[:8] or "e"])
        if k in _format._SKIP:
            continue
        r.__dict__[k] = rand_value()
    return r


def tuple_of(r):
    extra = {k: v for k, v in list(r.__dict__.items())[_format._NSTD:]}
    return (r.created, _format.level_name(r), r.name, r.getMessage(), r.process, r.threadName, extra)


for _ in range(400):
    r = record()
    data = marshal.dumps(tuple_of(r), 2)
    assert data[:5] == b"(\x07\x00\x00\x00"
    sys.stdout.write("%s\t%s\n" % (data.hex(), _format.format_bytes(r, None).decode()))
