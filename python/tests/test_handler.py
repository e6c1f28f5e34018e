"""logfanin.Handler against the real logfanin sidecar."""

import contextlib
import copy
import enum
import faulthandler
import io
import json
import logging
import logging.handlers
import marshal
import multiprocessing
import os
import pickle
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import weakref

import logfanin
from logfanin import _format, _stream, _wire

import support
import workers


def logger(name, handler):
    log = logging.getLogger(name)
    log.handlers = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="lf-")
        self.dir = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def sidecar(self, **kw):
        sc = support.Sidecar(self.dir, **kw).start()
        self.addCleanup(lambda: sc.proc.poll() is None and sc.stop())
        return sc

    def child(self, code, *args):
        """A Python process running code with args, its standard input
        and output piped to the test, waited for at the end."""
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=support.env())
        self.addCleanup(p.wait)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        return p


class TestAddress(TempDirTest):
    def test_good(self):
        sc = self.sidecar()
        self.assertEqual(str(logfanin.parse_address(sc.addr)), sc.addr)
        # A plain path, as SysLogHandler takes: the socket's own kind.
        self.assertEqual(logfanin.parse_address(sc.sock).transport, "unix")
        self.assertEqual(logfanin.parse_address(sc.gsock).transport, "unixgram")
        # Not there yet: the writer may start later.
        self.assertEqual(str(logfanin.parse_address(os.path.join(self.dir, "later.sock"))),
                         "unix://" + os.path.join(self.dir, "later.sock"))
        old = os.environ.get("LOGFANIN_ADDR")
        os.environ["LOGFANIN_ADDR"] = sc.gaddr
        try:
            self.assertEqual(str(logfanin.Handler().address), sc.gaddr)
        finally:
            if old is None:
                del os.environ["LOGFANIN_ADDR"]
            else:
                os.environ["LOGFANIN_ADDR"] = old
        r, w = os.pipe()
        try:
            self.assertEqual(str(logfanin.parse_address("fd:%d" % w)), "fd:%d" % w)
        finally:
            os.close(r)
            os.close(w)

    def test_bad(self):
        f = os.path.join(self.dir, "file")
        open(f, "w").close()
        closed_fd = os.open(f, os.O_RDONLY)
        os.close(closed_fd)
        file_fd = os.open(f, os.O_RDONLY)
        self.addCleanup(os.close, file_fd)
        cases = {
            "http://x/y": "unknown scheme",
            "unix://": "socket path",
            "unixgram://": "socket path",
            "fd:abc": "fd:N",
            "fd:-1": "fd:N",
            "fd:%d" % closed_fd: "not open",
            "fd:%d" % file_fd: "not a pipe",
            "/no/such/dir/app.sock": "does not exist",
            "unix://" + f: "not a socket",
            "unix://" + os.path.join(self.dir, "x" * 120): "longer than",
        }
        for addr, want in cases.items():
            with self.subTest(addr=addr):
                with self.assertRaises(ValueError) as cm:
                    logfanin.Handler(addr)
                self.assertIn(want, str(cm.exception))
        env = dict(os.environ)
        env.pop("LOGFANIN_ADDR", None)
        out = support.run_python(
            "import logfanin\n"
            "try:\n logfanin.Handler()\nexcept ValueError as e:\n print(e)\n")
        self.assertIn("LOGFANIN_ADDR", out)
        with self.assertRaises(ValueError):
            logfanin.Handler(self.dir + "/a.sock", policy="sometimes")
        with self.assertRaises(ValueError):
            logfanin.Handler(self.dir + "/a.sock", timeout=0)


def assorted_records():
    """Records with every kind of value, in extra fields and in the core
    ones, as (record, its message, a subTest label)."""
    class Color(enum.IntEnum):
        RED = 1

    class Text(str):
        pass

    class Num(float):
        pass

    n = _format._LONG
    values = [None, True, False, 0, -1, 2 ** 70, 1.5, -0.0, 1e300, 1 / 3, float("nan"), float("inf"),
              -float("inf"), Color.RED, Text("sub\"class"), Text("t" * n), Num(2.5), [1, "a", None, 1.5],
              (1, (2,)), {"a": {"b": [1.5, "é"]}}, {1: "x", 2.5: "y", None: "z", True: "t"}, {(1, 2): "tuple key"},
              object(), b"bytes", "é", "", "\U0001f600", "x" * n, "\n" * n, "y" * (n - 1), Exception("boom"),
              "\ud800 lone", "\x7f\x00\b\f", 2 ** 63, -2 ** 63 - 1, 1e16, 1e-05, 123456789.125]
    out = []
    for i, v in enumerate(values):
        rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
        rec.__dict__.update({"before": "b", "value": v, "after": 1})
        out.append((rec, "m", {"value": i}))
        for core in ("created", "process", "threadName", "name"):
            rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
            setattr(rec, core, v)
            out.append((rec, "m", {"value": i, "core": core}))
        if isinstance(v, str):
            rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, v, None, None)
            out.append((rec, v, {"value": i, "as_msg": True}))
    # A key that is not a str (extra={1: ...} puts one in the record's
    # __dict__) is written as the encoder writes such a key.
    rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
    rec.__dict__.update({"a": 1, 2: "two", "b": "x" * n})
    out.append((rec, "m", {"key": "int"}))
    # A level name that needs escaping.
    logging.addLevelName(27, 'Odd "Level"\n')
    rec = logging.LogRecord("fmt", 27, __file__, 1, "m", None, None)
    out.append((rec, "m", {"level": 27}))
    return out


class TestFormat(unittest.TestCase):
    def record(self, log_call, formatter=None):
        records = []

        class Capture(logging.Handler):
            def emit(self, r):
                records.append(json.loads(_format.format_record(r, formatter)))

        log = logger("fmt", Capture())
        log_call(log)
        return records

    def test_fields(self):
        (r,) = self.record(lambda l: l.warning("hello %s", "there", extra={"user": "ann", "n": 3}))
        self.assertEqual(r["msg"], "hello there")
        self.assertEqual(r["level"], "warn")
        self.assertEqual(r["logger"], "fmt")
        self.assertEqual(r["pid"], os.getpid())
        self.assertEqual(r["thread"], threading.current_thread().name)
        self.assertAlmostEqual(r["ts"], time.time(), delta=60)
        self.assertEqual((r["user"], r["n"]), ("ann", 3))
        # The core fields first, then the extra ones in the order given.
        self.assertEqual(list(r), ["ts", "level", "logger", "msg", "pid", "thread", "user", "n"])

    def test_exc_info_and_stack(self):
        def call(l):
            try:
                raise KeyError("missing")
            except KeyError:
                l.exception("failed")
            l.info("where", stack_info=True)

        exc, stack = self.record(call)
        self.assertEqual(exc["msg"], "failed")
        self.assertIn("Traceback (most recent call last)", exc["exc_info"])
        self.assertIn("KeyError: 'missing'", exc["exc_info"])
        self.assertIn("Stack (most recent call last)", stack["stack_info"])

    def test_formatter_message_without_traceback(self):
        fmt = logging.Formatter("%(levelname)s|%(name)s|%(message)s")

        def call(l):
            try:
                1 / 0
            except ZeroDivisionError:
                l.exception("div %d", 1)

        (r,) = self.record(call, fmt)
        self.assertEqual(r["msg"], "ERROR|fmt|div 1")
        self.assertIn("ZeroDivisionError", r["exc_info"])

    def test_unserialisable(self):
        class Bad:
            def __repr__(self):
                raise RuntimeError("no repr")

        loop = []
        loop.append(loop)
        extra = {"obj": object(), "nan": float("nan"), "inf": float("inf"), "tuplekey": {(1, 2): "v"},
                 "loop": loop, "bytes": b"\xff", "bad": Bad(), "set": {1}, "ok": [1, "two"]}
        (r,) = self.record(lambda l: l.info("values", extra=extra))
        self.assertEqual(r["msg"], "values")
        self.assertTrue(r["obj"].startswith("<object object"))
        self.assertEqual((r["nan"], r["inf"]), ("nan", "inf"))
        self.assertEqual(r["tuplekey"], {"(1, 2)": "v"})
        self.assertEqual(r["bytes"], "b'\\xff'")
        self.assertIn("unrepresentable", r["bad"])
        self.assertEqual(r["ok"], [1, "two"])
        self.assertEqual(r["set"], "{1}")
        self.assertIsInstance(r["loop"], list)
        # The careful path keeps the order of the fast one.
        self.assertEqual(list(r)[:6], ["ts", "level", "logger", "msg", "pid", "thread"])
        self.assertEqual(list(r)[6:], list(extra))

    def test_ts_to_the_microsecond(self):
        # ts is the record's time to the microsecond, truncated, on the
        # fast path and the careful one (taken by a NaN) alike; a time out
        # of the range a float holds to the microsecond as the encoder
        # writes it.
        for created, want in [(1795967857.0089419, "1795967857.008941"), (1795967857.0, "1795967857.000000"),
                              (0.0, "0.000000"), (1.5, "1.500000"), (0.9999999, "0.999999"),
                              (-1.5, "-1.5"), (1e10, "10000000000.0"), (7, "7")]:
            for extra in ({}, {"nan": float("nan")}):
                with self.subTest(created=created, careful=bool(extra)):
                    rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
                    rec.created = created
                    rec.__dict__.update(extra)
                    line = _format.format_bytes(rec, None)
                    self.assertTrue(line.startswith(b'{"ts":' + want.encode() + b',"level"'), line)
        (r,) = self.record(lambda l: l.info("now"))
        self.assertAlmostEqual(r["ts"], time.time(), delta=60)

    def test_core_fields_win(self):
        (r,) = self.record(lambda l: l.info("real", extra={"level": "forged", "ts": 0, "pid": 1, "other": 1}))
        self.assertEqual((r["level"], r["pid"], r["other"]), ("info", os.getpid(), 1))
        self.assertNotEqual(r["ts"], 0)
        # Also on the careful path, taken by a value JSON can't hold.
        (r,) = self.record(lambda l: l.info("real", extra={"level": "forged", "pid": 1, "nan": float("nan")}))
        self.assertEqual((r["level"], r["pid"], r["nan"]), ("info", os.getpid(), "nan"))

    def test_long_strings_as_the_encoder_writes_them(self):
        # Long strings that need no escaping are copied as they are; the
        # text must be byte for byte what the JSON encoder writes, for
        # every kind of long string, in the fields' order.
        n = _format._LONG
        cases = {
            "plain": "a" * n,
            "short": "s" * (n - 1),
            "quote": "q" * n + '"',
            "backslash": "\\" + "b" * n,
            "newline": "line\n" * n,
            "control": "\x01" + "c" * n,
            "del": "\x7f" + "d" * n,
            "nonascii": "é" + "e" * n,
            "astral": "\U0001f600" + "f" * n,
            # What an earlier version put in the place of long strings.
            "marker": "\x00logfanin-0123456789abcdef-0",
            "marker-text": ("x" * n) + '\\u0000logfanin-0123456789abcdef-1"',
        }
        for name, value in cases.items():
            for msg in ("m", value):
                with self.subTest(name=name, long_msg=msg is value):
                    rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, msg, None, None)
                    rec.__dict__.update({"first": value, "n": 1, "second": "z" * n, "third": value})
                    want = _format.encode_record(_format.record_fields(rec, None)).encode()
                    self.assertEqual(_format.format_bytes(rec, None), want)
                    self.assertEqual(_format.format_bytes(rec, None, True), _wire.frame_header(len(want)) + want)

    def test_values_as_the_encoder_writes_them(self):
        # Every kind of value, in the core fields too, byte for byte as the
        # JSON encoder writes the record's dict (json.dumps of it, with
        # repr for what JSON can't hold); a record JSON can't hold at all
        # (NaN) as the careful path writes it.

        # The reference knows the rules on its own, not through the module:
        # a LogRecord's own attributes, those a formatter sets and the core
        # field names are not extra fields; levels are lower case, with
        # warn and crit for WARNING and CRITICAL.
        own = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
        skip = own | {"message", "asctime", "taskName", "ts", "level", "logger", "msg", "pid", "thread",
                      "exc_info", "stack_info"}
        short = {"warning": "warn", "critical": "crit"}

        def reference(rec, msg):
            level = rec.levelname.lower()
            d = {"level": short.get(level, level), "logger": rec.name, "msg": msg,
                 "pid": rec.process, "thread": rec.threadName}
            for k, v in rec.__dict__.items():
                if k not in skip:
                    d[k] = v
            # ts: a float from 0 to 1e10 to the microsecond, truncated,
            # six digits; anything else as the encoder writes it.
            c = rec.created
            try:
                if type(c) is float and 0 <= c < 1e10:
                    ts = "%d.%06d" % (int(c), int((c - int(c)) * 1000000))
                else:
                    ts = json.dumps(c, separators=(",", ":"), default=repr, allow_nan=False)
                rest = json.dumps(d, separators=(",", ":"), default=repr, allow_nan=False)
                return ('{"ts":' + ts + "," + rest[1:]).encode()
            except (TypeError, ValueError, RecursionError):
                return _format.encode_record(_format.record_fields(rec, None)).encode()

        for rec, msg, sub in assorted_records():
            with self.subTest(**sub):
                want = reference(rec, msg)
                self.assertEqual(_format.format_bytes(rec, None), want)
                self.assertEqual(_format.format_bytes(rec, None, True), _wire.frame_header(len(want)) + want)

    def test_python_records(self):
        # A record goes as a Python record when the writer can write its
        # JSON as format_bytes does, and what the client makes of one for
        # a writer that does not take them is format_bytes' frame.
        went = 0
        for rec, msg, sub in assorted_records():
            with self.subTest(**sub):
                frame = _format.format_py(rec, None)
                if frame is None:
                    continue
                went += 1
                self.assertEqual(frame[4:9], _format.PY_MAGIC)
                self.assertEqual(_wire.frame_header(len(frame) - 4), frame[:4])
                self.assertEqual(_format.py_to_json(frame), _format.format_bytes(rec, None, True))
        self.assertGreater(went, 20)
        # What must go as JSON.
        def rec(**extra):
            r = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
            r.__dict__.update(extra)
            return r
        class Text(str):
            pass
        for r in [rec(v=(1, 2)), rec(v=[1]), rec(v={"a": 1}), rec(v=b"x"), rec(v=Text("t")), rec(v=2 ** 64),
                  rec(v=-2 ** 64), rec(**{"k": 1, "2": 2})]:
            if "2" in r.__dict__:
                r.__dict__[2] = r.__dict__.pop("2")  # a key that is not a str
            self.assertIsNone(_format.format_py(r, None), r.__dict__)
        try:
            raise ValueError("x")
        except ValueError:
            r = rec()
            r.exc_info = sys.exc_info()
            self.assertIsNone(_format.format_py(r, None))
        self.assertIsNotNone(_format.format_py(rec(v=2 ** 64 - 1, w=-2 ** 64 + 1), None))
        # Attributes a formatter set and extra fields named as core ones
        # are left out, as format_bytes leaves them out.
        for r in [rec(ts="forged", a=1), rec(message="set by a formatter", asctime="then", a=1)]:
            frame = _format.format_py(r, None)
            self.assertEqual(_format.py_to_json(frame), _format.format_bytes(r, None, True))
            self.assertNotIn(b"forged", frame)
        # A formatter's own additions (message, asctime) are not extra
        # fields: the record still goes as a Python record.
        r = rec(a=1)
        frame = _format.format_py(r, logging.Formatter("%(asctime)s %(message)s"))
        self.assertIsNotNone(frame)
        self.assertEqual(marshal.loads(frame[4:])[6], {"a": 1})
        # A formatter that sets and changes attributes: the record's fields
        # as format_bytes reads them, after the formatter ran.
        class Context(logging.Formatter):
            def format(self, r):
                r.color = "red"
                r.user = "changed"
                return super().format(r)
        r = rec(user="orig")
        r2 = copy.copy(r)
        want = _format.format_bytes(r2, Context(), True)
        self.assertIn(b'"user":"changed","color":"red"', want)
        self.assertEqual(_format.py_to_json(_format.format_py(r, Context())), want)
        # A forked child of a client whose writer refused Python records
        # does not try them again.
        c = _stream.StreamClient("/nonexistent", "block", 1.0, 4096, True, lambda m: None)
        self.assertTrue(c.py_records)
        c.py_records = False
        c.after_fork_in_child()
        self.assertFalse(c.py_records)

    def test_many_field_names(self):
        # More field names than the formatter remembers: the LogRecord
        # attributes a formatter sets after the extra fields (message,
        # asctime) are still left out, the extra fields still written.
        for i in range(_format._CACHED + 10):
            rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
            rec.__dict__["field%d" % i] = i
            self.assertEqual(json.loads(_format.format_bytes(rec, None))["field%d" % i], i)
        rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "m", None, None)
        rec.__dict__["extra"] = 1
        logging.Formatter("%(asctime)s %(message)s").format(rec)
        r = json.loads(_format.format_bytes(rec, None))
        self.assertEqual(r["extra"], 1)
        self.assertNotIn("message", r)
        self.assertNotIn("asctime", r)

    def test_every_escaped_character_in_a_long_string(self):
        # Each character JSON escapes, and a few it does not, at the start,
        # in the middle and at the very end of a long string (the test
        # that a string needs no escaping looks for each one separately).
        n = _format._LONG
        chars = [chr(c) for c in range(0x20)] + ['"', "\\", "\x7f", " ", "~", "\x80", "\xff", "\u2028"]
        for c in chars:
            for i in (0, n // 2, n):
                value = ("v" * n)[:i] + c + ("v" * n)[i:]
                with self.subTest(char=hex(ord(c)), at=i):
                    rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, value, None, None)
                    rec.__dict__.update({"first": value, "n": 1})
                    want = _format.encode_record(_format.record_fields(rec, None)).encode()
                    self.assertEqual(_format.format_bytes(rec, None), want)
                    self.assertEqual(json.loads(want)["first"], value)

    def test_bad_format_args(self):
        (r,) = self.record(lambda l: l.info("%d items", "not a number"))
        self.assertIn("formatting failed", r["msg"])
        # With a formatter too: its format() raises the same way.
        (r,) = self.record(lambda l: l.info("%d items", "not a number"), logging.Formatter("%(levelname)s %(message)s"))
        self.assertIn("formatting failed", r["msg"])
        self.assertIn("%d items", r["msg"])

    def test_unserialisable_alone(self):
        # Each value alone: beside a NaN, which sends the record down the
        # careful path first, a failing __repr__ once went unnoticed.
        class Bad:
            def __repr__(self):
                raise RuntimeError("no repr")

            def __str__(self):
                raise RuntimeError("no str")

        huge = 10 ** 5000  # more digits than the interpreter turns into text
        for name, value, check in [
            ("bad", Bad(), lambda v: self.assertIn("unrepresentable Bad", v)),
            ("huge", huge, lambda v: self.assertEqual(int(v, 16), huge)),
            ("nested", {"k": [Bad()]}, lambda v: self.assertIn("unrepresentable", v["k"][0])),
        ]:
            with self.subTest(name):
                (r,) = self.record(lambda l: l.info("values", extra={name: value, "after": 1}))
                self.assertEqual((r["msg"], r["after"]), ("values", 1))
                check(r[name])
        # A NaN whose __repr__ fails, which only the careful path sees.
        class BadNaN(float):
            def __repr__(self):
                raise RuntimeError("no repr")

        (r,) = self.record(lambda l: l.info("values", extra={"nan": BadNaN("nan"), "after": 1}))
        self.assertEqual(r["after"], 1)
        self.assertIn("unrepresentable BadNaN", r["nan"])

        # A formatter whose formatException raises what can't be shown.
        class BadError(Exception):
            def __repr__(self):
                raise RuntimeError("no repr")

        class BadFormatter(logging.Formatter):
            def formatException(self, ei):
                raise BadError()

        def fail(l):
            try:
                raise KeyError("k")
            except KeyError:
                l.exception("failed")

        (r,) = self.record(fail, BadFormatter())
        self.assertIn("traceback unavailable", r["exc_info"])
        # A message whose __str__ and __repr__ both fail.
        (r,) = self.record(lambda l: l.info(Bad()))
        self.assertIn("unrepresentable Bad", r["msg"])
        self.assertIn("formatting failed", r["msg"])

    def test_level_names(self):
        # The level field follows logging.addLevelName, also for a level
        # already logged, in both the fast and the careful path.
        self.addCleanup(logging.addLevelName, logging.INFO, "INFO")
        (before,) = self.record(lambda l: l.info("before"))
        logging.addLevelName(logging.INFO, "NOTICE")
        after, careful = self.record(lambda l: (l.info("after"), l.info("nan", extra={"x": float("nan")})))
        self.assertEqual((before["level"], after["level"], careful["level"]), ("info", "notice", "notice"))
        # A levelname that is not a str (a record made from a dict) is
        # written as its repr, and the record is not lost.
        for bad in (None, ["a", "list"]):
            with self.subTest(repr(bad)):
                rec = logging.makeLogRecord({"msg": "odd level", "levelname": bad})
                r = json.loads(_format.format_bytes(rec, None))
                self.assertEqual((r["msg"], r["level"]), ("odd level", repr(bad).lower()))
        # A str subclass is a name all the same.
        class Name(str):
            pass

        rec = logging.makeLogRecord({"msg": "named", "levelname": Name("WARNING")})
        self.assertEqual(json.loads(_format.format_bytes(rec, None))["level"], "warn")

    def test_record_subclass_message(self):
        # A LogRecord subclass (logging.setLogRecordFactory) that makes its
        # message its own way is asked for it, args or not.
        class Tagged(logging.LogRecord):
            def getMessage(self):
                return "tagged: " + super().getMessage()

        rec = Tagged("fmt", logging.INFO, __file__, 1, "plain", None, None)
        self.assertEqual(json.loads(_format.format_bytes(rec, None))["msg"], "tagged: plain")

    def test_str_subclass_key_is_not_taken_for_a_cached_one(self):
        class Alias(str):
            def __hash__(self):
                return hash("aa")

            def __eq__(self, other):
                return True

        self.record(lambda l: l.info("first", extra={"aa": 1}))
        self.assertIn("aa", _format._keys)  # remembered: the guard is what keeps "zz" apart
        rec = logging.LogRecord("fmt", logging.INFO, __file__, 1, "second", None, None)
        rec.__dict__[Alias("zz")] = 2
        self.assertIn(b'"zz":2', _format.format_bytes(rec, None))


class TestStream(TempDirTest):
    def test_records_flush_close(self):
        sc = self.sidecar(args=["-drain-timeout", "30s"])
        h = logfanin.Handler(sc.addr)
        log = logger("stream", h)
        for i in range(2000):
            log.info("record %d", i, extra={"i": i, "peer_pid": 1, "logfanin_seq": -1})
        self.assertTrue(h.flush(10))
        # flush returned after the writer's acknowledgement: every record
        # is in the file already, without waiting.
        recs = [r for r in sc.records() if r.get("logger") == "stream"]
        self.assertEqual([r["i"] for r in recs], list(range(2000)))
        for r in recs:
            # Forged writer fields: a last-wins reader sees the writer's.
            self.assertEqual(r["peer_pid"], os.getpid())
            self.assertEqual(r["logfanin_seq"], r["i"] + 1)
            self.assertRegex(r["logfanin_sid"], "^[0-9a-f]+$")
        self.assertEqual(len({r["logfanin_sid"] for r in recs}), 1, "one session")
        h.close()
        self.assertEqual(h.stats()["dropped"], 0)
        self.assertEqual(sc.stop(), 0)

    def test_drop_notice_goes_before_the_next_record(self):
        # Room for a small record but not for the drop notice before it:
        # the record must not go ahead of its notice.
        for policy in ("drop", "block"):
            with self.subTest(policy=policy):
                c = _stream.StreamClient(os.path.join(self.dir, "nobody.sock"), policy, 0.05, 4096, True,
                                         lambda msg: None)
                c.thread = threading.current_thread()  # no sender: nothing drains
                c.pending_drops = 1
                record = _wire.frame_header(60) + b"r" * 60
                c.held = c.limit - len(record)
                c.put(record)
                self.assertNotIn(record, c.unsent, "the record went ahead of its drop notice")
                self.assertEqual(c.pending_drops, 2)

    def test_close_lets_the_sidecar_exit(self):
        # A process that closed its handler but lives on does not hold up
        # the sidecar's SIGTERM (whose drain timeout is 30 s).
        sc = self.sidecar(args=["-drain-timeout", "30s"])
        child = self.child("import logging, sys, logfanin\n"
                           "h = logfanin.Handler(sys.argv[1])\n"
                           "logging.getLogger().addHandler(h)\n"
                           "logging.getLogger().warning('then idle')\n"
                           "h.close()\n"
                           "print('closed', flush=True)\n"
                           "sys.stdin.read()\n", sc.addr)
        self.assertEqual(child.stdout.readline().strip(), b"closed")
        start = time.monotonic()
        self.assertEqual(sc.stop(), 0)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual([r["msg"] for r in sc.records()], ["then idle"])

    def test_writer_sigkill_mid_stream_nothing_lost(self):
        sc = self.sidecar()
        n = 30000
        child = self.child("import logging, sys, logfanin\n"
                           "h = logfanin.Handler(sys.argv[1], timeout=None)\n"
                           "log = logging.getLogger('k'); log.addHandler(h); log.setLevel(logging.INFO)\n"
                           "for i in range(int(sys.argv[2])):\n"
                           "    log.info('r', extra={'i': i, 'pad': 'x' * 200})\n"
                           "    if i == 1000: print('logging', flush=True)\n"
                           "assert h.flush(60), 'flush'\n"
                           "print(h.stats()['reconnects'], flush=True)\n", sc.addr, str(n))
        self.assertEqual(child.stdout.readline().strip(), b"logging")
        support.wait_until(lambda: len(sc.lines()) > 0, "the first records in the output")
        sc.kill()
        killed_at = len(sc.lines())
        sc.start()
        out, _ = child.communicate(timeout=120)
        self.assertEqual(child.returncode, 0)
        self.assertGreaterEqual(int(out), 1, "the client never reconnected")
        recs = [r for r in sc.records() if r.get("logger") == "k"]
        seen = {}
        for r in recs:
            key = (r["logfanin_sid"], r["logfanin_seq"])
            if key in seen:
                # A replayed copy is the same record.
                self.assertEqual(seen[key], r["i"])
            seen[key] = r["i"]
        self.assertEqual(sorted(set(seen.values())), list(range(n)), "records lost")
        self.assertLess(killed_at, n, "the writer was killed after the end: nothing tested")
        self.assertEqual(sc.stop(), 0)

    def test_stalled_writer_timeout_and_drop_count(self):
        sc = self.sidecar()
        for policy, timeout, limit in (("block", 0.3, 10.0), ("drop", 30.0, 5.0)):
            with self.subTest(policy=policy):
                h = logfanin.Handler(sc.addr, policy=policy, timeout=timeout, buffer_size=64 << 10)
                log = logger("stall-" + policy, h)
                log.info("before", extra={"i": -1})
                self.assertTrue(h.flush(10))
                sc.signal(signal.SIGSTOP)
                try:
                    start = time.monotonic()
                    total = 0
                    # Log until records are dropped: the socket buffers fill,
                    # then the handler's.
                    while h.stats()["dropped"] < 3:
                        log.info("stalled", extra={"i": total, "pad": "y" * 1000})
                        total += 1
                        self.assertLess(time.monotonic() - start, limit, "a stalled writer blocked the caller")
                    if policy == "block":
                        # Each drop waited for the timeout, no longer.
                        self.assertGreaterEqual(time.monotonic() - start, 3 * timeout * 0.9)
                finally:
                    sc.signal(signal.SIGCONT)
                log.info("after", extra={"i": total})
                self.assertTrue(h.flush(10))
                dropped = h.stats()["dropped"]
                h.close()
                recs = [r for r in sc.records() if r.get("logger") in ("stall-" + policy, "logfanin")
                        and r.get("peer_pid") == os.getpid()]
                got = [r["i"] for r in recs if r.get("logger") == "stall-" + policy]
                notices = [r for r in recs if r.get("logger") == "logfanin"]
                sc_notices = sum(r["dropped"] for r in notices)
                self.assertEqual(sc_notices, dropped, "the drop count in the output")
                # "before", the stalled records and "after": each written
                # or counted as dropped (with the drop policy "after" may
                # find the buffer still full).
                self.assertEqual(len(got) + dropped, total + 2, "records neither written nor counted")
                self.assertEqual(got[0], -1)
                self.assertEqual(got, sorted(got))
                # Remove this round's records from the next round's view.
                os.truncate(sc.out, 0)
                sc.signal(signal.SIGHUP)

    def test_handler_filters(self):
        # handle skips logging's lock, and the filter call when there is no
        # filter; a filter the handler has still decides.
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr)
        h.addFilter(lambda r: "drop" not in r.getMessage())
        log = logger("filtered", h)
        log.info("keep")
        log.info("drop me")
        log.info("keep too")
        self.assertTrue(h.flush(10))
        self.assertEqual([r["msg"] for r in sc.records() if r.get("logger") == "filtered"], ["keep", "keep too"])
        h.close()

    def test_buffer_larger_than_a_socket_option_holds(self):
        # A buffer of 4 GiB or more would ask for a send buffer a C int can't
        # hold: the request is clamped to the largest int, and records go.
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, buffer_size=1 << 33)
        log = logger("bigbuf", h)
        log.info("hello", extra={"i": 1})
        self.assertTrue(h.flush(10))
        self.assertEqual([r["i"] for r in sc.records() if r.get("logger") == "bigbuf"], [1])
        h.close()

    def test_send_buffer_as_large_as_the_handler_buffer(self):
        # The socket's send buffer is made as large as the handler's
        # buffer, as far as the system lets it (twice net.core.wmem_max
        # on Linux), so that a batch goes in one send.
        sc = self.sidecar()
        limit = 1 << 20
        h = logfanin.Handler(sc.addr, buffer_size=limit)
        logger("sndbuf", h).info("hello")
        self.assertTrue(h.flush(10))
        got = h._client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        h.close()
        want = limit
        if sys.platform.startswith("linux"):
            with open("/proc/sys/net/core/wmem_max") as f:
                want = min(limit, 2 * int(f.read()))
        plain = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        default = plain.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        plain.close()
        self.assertGreaterEqual(got, max(want, default))

    def test_record_near_the_buffer_size_waits_behind_a_drop_notice(self):
        # Drops to report, and a record about as large as the whole buffer:
        # it can't have room for itself and the notice at once, so it waits
        # for the notice to go, as any record does; it is not dropped.
        c = _stream.StreamClient(os.path.join(self.dir, "nobody.sock"), "block", 10, 4096, True,
                                 lambda msg: None)
        c.thread = threading.current_thread()  # no sender: the sender below stands in for it
        c.sleeping = _stream.WAITING
        c.pending_drops = 1
        record = _wire.frame_header(c.limit - 24) + b"r" * (c.limit - 24)

        sent = []

        def send_the_notice():  # what the sender and the writer's ack do
            with c.lock:
                while not c.unsent:
                    c.io_cond.wait()
                sent.extend(c.unsent)  # the notice alone: the record waits for room
                c.held -= len(c.unsent.popleft())
                c.cond.notify_all()

        sender = threading.Thread(target=send_the_notice, daemon=True)
        sender.start()
        self.assertTrue(c.put(record), "the record was dropped")
        sender.join()
        self.assertEqual((list(c.unsent), c.pending_drops), ([record], 0))
        self.assertEqual(len(sent), 1)
        self.assertIn(b"records dropped", sent[0])
        self.assertLessEqual(c.held, c.limit)

    def test_records_share_sends_while_the_writer_lags(self):
        # More than half the buffer unacknowledged (the writer stopped):
        # records logged meanwhile wait for the next acknowledgement and
        # go in one send, not one send each.
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, buffer_size=256 << 10)
        log = logger("lag", h)
        log.info("before", extra={"i": -1})
        self.assertTrue(h.flush(10))
        sc.signal(signal.SIGSTOP)
        try:
            for i in range(140):  # about 140 KiB: sent to the socket, not acknowledged
                log.info("big", extra={"i": i, "pad": "p" * 1000})
            support.wait_until(lambda: h.stats()["buffered"] == 140 and h._client.sleeping == _stream.ACKWAIT,
                               "the sender waiting for acknowledgements")
            before = h.stats()["sends"]
            for i in range(140, 340):
                log.info("small", extra={"i": i})
        finally:
            sc.signal(signal.SIGCONT)
        self.assertTrue(h.flush(10))
        sends = h.stats()["sends"] - before
        h.close()
        self.assertLessEqual(sends, 5, "records logged while the writer lagged were sent one by one")
        got = [r["i"] for r in sc.records() if r.get("logger") == "lag"]
        self.assertEqual(got, list(range(-1, 340)))

    def _log_while_stopped(self, name, n, pad, **handler_kw):
        """Log n records with pad(i) as their pad while the sidecar is
        stopped, then let it go and check every record, whole and in order."""
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, **handler_kw)
        log = logger(name, h)
        sc.signal(signal.SIGSTOP)
        try:
            for i in range(n):
                log.info(name, extra={"i": i, "pad": pad(i)})
        finally:
            sc.signal(signal.SIGCONT)
        self.assertTrue(h.flush(30))
        h.close()
        recs = [r for r in sc.records() if r.get("logger") == name]
        self.assertEqual([r["i"] for r in recs], list(range(n)))
        for r in recs:
            self.assertEqual(r["pad"], pad(r["i"]))

    def test_large_records_through_partial_sends(self):
        # Large frames are sent as they are, several per sendmsg; the
        # socket takes part of a batch (6 MB, the writer stopped while they
        # are logged), and the rest must follow from where it stopped.
        self._log_while_stopped("large", 300, lambda i: chr(0x41 + i % 26) * (20000 + i), buffer_size=8 << 20)

    def test_small_and_large_records_in_one_batch(self):
        # Large frames (records with long plain strings) among small ones
        # in one batch, which is joined: every record whole, in order.
        self._log_while_stopped("mixed", 200, lambda i: chr(0x61 + i % 26) * (10000 if i % 20 == 0 else 100))

    def test_flush_after_every_record(self):
        # A flush that comes while the sender goes to sleep must still get
        # its acknowledgement read (a lost wake-up would time out).
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr)
        log = logger("each", h)
        start = time.monotonic()
        for i in range(300):
            log.info("one", extra={"i": i})
            self.assertTrue(h.flush(10), "flush %d timed out" % i)
        h.close()
        self.assertLess(time.monotonic() - start, 60)
        self.assertEqual([r["i"] for r in sc.records()], list(range(300)))

    def test_outage_does_not_spin(self):
        # While the writer is away, records wait; the sender retries with
        # backoff, not once per record.
        sc = support.Sidecar(self.dir)
        h = logfanin.Handler(sc.addr)
        log = logger("outage", h)
        with contextlib.redirect_stderr(io.StringIO()):
            cpu = time.process_time()
            for i in range(3000):
                log.info("waiting", extra={"i": i})
            time.sleep(0.5)  # the outage itself: what the sender does meanwhile is measured
            spent = time.process_time() - cpu
        self.assertEqual(h.stats()["reconnects"], 0)
        self.assertLess(h.stats()["errors"], 50, "a connection attempt per record")
        sc.start()
        self.addCleanup(lambda: sc.proc.poll() is None and sc.stop())
        self.assertTrue(h.flush(20))
        h.close()
        self.assertEqual([r["i"] for r in sc.records()], list(range(3000)))
        self.assertLess(spent, 5)

    def test_outage_after_a_lost_connection_does_not_spin(self):
        # The socket of a connection that was waited on for
        # acknowledgements and then lost must not stay in the sender's
        # poller: the backoff between reconnects would not wait.
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, close_timeout=0.5)
        log = logger("lost", h)
        log.info("first")
        self.assertTrue(h.flush(10))
        sc.signal(signal.SIGSTOP)
        for i in range(100):
            log.info("unacknowledged", extra={"i": i})
        self.assertFalse(h.flush(0.3))  # the sender waits on the socket for acks
        with contextlib.redirect_stderr(io.StringIO()):
            sc.kill()
            os.unlink(sc.sock)
            log.info("after")
            h.flush(0.2)
            errors = h.stats()["errors"]
            cpu = time.process_time()
            time.sleep(0.5)
            spent = time.process_time() - cpu
            self.assertLess(h.stats()["errors"] - errors, 20, "a reconnect without backoff")
            self.assertLess(spent, 0.2)
            h.close()

    def test_close_without_writer_is_bounded(self):
        h = logfanin.Handler(os.path.join(self.dir, "nobody.sock"), close_timeout=0.5)
        took, err = self._close_one_lost(h, h.close)
        self.assertLess(took, 5)
        self.assertIn("1 records not delivered", err)

    def test_logging_shutdown_without_writer_is_bounded(self):
        # logging.shutdown() (at exit, or called by the program) calls
        # flush() and then close(): neither may wait the block timeout.
        h = logfanin.Handler(os.path.join(self.dir, "nobody.sock"), timeout=60, close_timeout=0.5)
        took, err = self._close_one_lost(h, lambda: logging.shutdown([weakref.ref(h)]))
        self.assertLess(took, 5)
        self.assertIn("1 records not delivered", err)

    def _close_one_lost(self, h, close):
        """Log one record h can't deliver, then close; the seconds close
        took, and what was reported on standard error."""
        log = logger("nobody", h)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            log.info("lost")
            start = time.monotonic()
            close()
            took = time.monotonic() - start
        return took, err.getvalue()

    def test_session_taken_by_another_process(self):
        # A process that copied the client's session id says hello with it
        # first after a writer restart. The writer refuses the client's
        # hello (error code 5); the client takes a new id and replays, and
        # the thief never gets the client's records acknowledged.
        sc = self.sidecar()
        child = self.child("import logging, sys, logfanin\n"
                           "h = logfanin.Handler(sys.argv[1], timeout=None)\n"
                           "log = logging.getLogger('t'); log.addHandler(h); log.setLevel(logging.INFO)\n"
                           "log.info('first'); assert h.flush(30)\n"
                           "print(h._client.session.hex(), flush=True)\n"
                           "sys.stdin.readline()\n"
                           "log.info('second')\n"
                           "print(h.flush(15), flush=True)\n", sc.addr)
        session = bytes.fromhex(child.stdout.readline().decode().strip())
        self.assertEqual(len(session), 16)
        sc.kill()
        sc.start()
        thief = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(thief.close)
        thief.connect(sc.sock)
        body = b'{"msg":"thief"}'
        thief.sendall(_wire.hello(session, 1) + _wire.frame_header(len(body)) + body)
        buf = bytearray()
        while _wire.parse_controls(buf) != 1:  # the writer has bound the session to the thief
            b = thief.recv(4096)
            self.assertTrue(b, "the writer closed the thief's connection")
            buf += b
        child.stdin.write(b"go\n")
        child.stdin.close()
        self.assertEqual(child.stdout.readline().strip(), b"True", "the client's records were not acknowledged")
        self.assertEqual(child.wait(30), 0)
        thief.close()
        self.assertEqual(sc.stop(), 0)
        recs = {r["msg"]: r for r in sc.records()}
        self.assertEqual(set(recs), {"first", "second", "thief"})
        self.assertNotEqual(recs["second"]["logfanin_sid"], recs["first"]["logfanin_sid"])
        self.assertNotEqual(recs["second"]["logfanin_sid"], recs["thief"]["logfanin_sid"])
        self.assertEqual(recs["first"]["logfanin_sid"], recs["thief"]["logfanin_sid"])

    def test_without_acknowledgements(self):
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, ack=False)
        log = logger("noack", h)
        for i in range(500):
            log.info("plain", extra={"i": i})
        self.assertTrue(h.flush(10))
        h.close()
        self.assertEqual(sc.stop(), 0)
        recs = sc.records()
        self.assertEqual([r["i"] for r in recs], list(range(500)))
        self.assertNotIn("logfanin_sid", recs[0])

    def test_python_records_written_as_the_package_writes_json(self):
        # Records of every kind through the sidecar, as Python records where
        # they can go so: each line is what format_bytes writes, then the
        # writer's own fields.
        sc = self.sidecar()
        plain = logfanin.Handler(sc.addr)
        formatted = logfanin.Handler(sc.addr)
        fmt = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        formatted.setFormatter(fmt)
        sent = []
        for rec, _, _ in assorted_records():
            for h, f in ((plain, None), (formatted, fmt)):
                h.handle(rec)
                sent.append(_format.format_bytes(rec, f))
        self.assertTrue(plain.flush(10) and formatted.flush(10))
        self.assertTrue(plain._client.py_records)
        plain.close()
        formatted.close()
        self.assertEqual(sc.stop(), 0)
        # The two handlers' records interleave: match them as sets of lines
        # with the writer's fields taken off.
        got = []
        for line in sc.lines():
            cut = line.index(b',"logfanin_sid":')
            got.append(line[:cut] + b"}")
        self.assertEqual(sorted(got), sorted(sent))

    def test_writer_that_does_not_take_python_records(self):
        # A writer that predates Python records refuses the hello that
        # announces them: the client says hello without, and what it held
        # as Python records reaches the writer as JSON.
        path = os.path.join(self.dir, "old.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(8)
        self.addCleanup(srv.close)
        bodies = []
        hellos = []

        def serve_one(c):
            r = c.makefile("rb")
            seq = 0
            while True:
                head = r.read(4)
                if len(head) < 4:
                    return
                n = int.from_bytes(head, "big")
                body = r.read(n & ~_wire.CONTROL_BIT)
                if n & _wire.CONTROL_BIT:  # the hello
                    flags = body[2]
                    hellos.append(flags)
                    if flags & ~_wire.HELLO_ACK:
                        msg = b"unknown hello flags %#x" % flags
                        c.sendall(_wire.frame_header(_wire.CONTROL_BIT | (3 + len(msg))) + b"\x03\x00\x02" + msg)
                        return
                    seq = int.from_bytes(body[-8:], "big") - 1
                    continue
                bodies.append(body)
                seq += 1
                c.sendall(_wire.frame_header(_wire.CONTROL_BIT | 9) + b"\x02" + seq.to_bytes(8, "big"))

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c:
                    serve_one(c)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        errors = []
        h = logfanin.Handler("unix://" + path)
        h._client.errors = errors.append
        log = logger("old", h)
        want = []

        class Keep(logging.Handler):
            def emit(self, r):
                want.append(_format.format_bytes(r, None))

        log.addHandler(Keep())
        for i in range(300):
            log.info("record %d", i, extra={"i": i, "s": "é" * (i % 3)})
            if i == 150:
                self.assertTrue(h.flush(10))
        self.assertTrue(h.flush(10))
        h.close()
        srv.close()
        self.assertEqual(hellos[0], _wire.HELLO_ACK | _wire.HELLO_PY_RECORDS)
        self.assertEqual(set(hellos[1:]), {_wire.HELLO_ACK})
        self.assertFalse(h._client.py_records)
        self.assertEqual(bodies, want)
        self.assertTrue(any("does not take Python records" in e for e in errors), errors)

    def test_pickled_into_a_spawned_worker(self):
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr, policy="drop", timeout=5)
        h.setFormatter(logging.Formatter("[%(message)s]"))
        h2 = pickle.loads(pickle.dumps(h))
        self.assertEqual((str(h2.address), h2.policy, h2.timeout), (sc.addr, "drop", 5))
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1, initializer=workers.setup_with, initargs=(h,)) as pool:
            pool.map(workers.work, range(5))
            pool.close()
            pool.join()
        h.close()
        h2.close()
        recs = [r for r in sc.records() if r.get("logger") == "pool"]
        self.assertEqual(sorted(r["task"] for r in recs), list(range(5)))
        self.assertTrue(all(r["msg"].startswith("[task ") for r in recs))

    def test_oversize_record_is_shortened(self):
        # A record over max_record is sent shortened and marked, with the
        # size of its JSON; é is 2 bytes in a Python record but 6 as JSON,
        # so that record is under the limit one way and over it the other:
        # it must not be written whole.
        for msg, size in (("x" * (200 << 10), 200 << 10), ("é" * (20 << 10), 6 * (20 << 10))):
            with self.subTest(first=msg[0]):
                sc = support.Sidecar(tempfile.mkdtemp(dir=self.dir)).start()
                self.addCleanup(lambda sc=sc: sc.proc.poll() is None and sc.stop())
                h = logfanin.Handler(sc.addr, max_record=64 << 10)
                log = logger("big", h)
                log.info(msg)
                log.info("small")
                self.assertTrue(h.flush(10))
                h.close()
                recs = sc.records()
                self.assertEqual([r["msg"][:1] for r in recs], [msg[0], "s"])
                self.assertTrue(recs[0]["truncated"])
                self.assertLessEqual(len(recs[0]["msg"]), (64 << 10) // 8, "the message is cut")
                self.assertGreater(recs[0]["size"], size, "the size of the JSON")
                self.assertEqual(h.stats()["oversize"], 1)

    def test_writer_later(self):
        # Records logged before the writer exists wait and go once it is up.
        sc = support.Sidecar(self.dir)
        h = logfanin.Handler(sc.addr)
        log = logger("later", h)
        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            for i in range(100):
                log.info("early", extra={"i": i})
            sc.start()
            self.addCleanup(lambda: sc.proc.poll() is None and sc.stop())
            self.assertTrue(h.flush(20))
        h.close()
        self.assertEqual([r["i"] for r in sc.records()], list(range(100)))
        self.assertIn("unreachable", stderr.getvalue())

    def test_exit_flushes(self):
        sc = self.sidecar()
        support.run_python(
            "import logging, sys, logfanin\n"
            "log = logging.getLogger('exit'); log.addHandler(logfanin.Handler(sys.argv[1] if len(sys.argv) > 1 else %r))\n"
            "log.setLevel(logging.INFO)\n"
            "for i in range(5000): log.info('bye', extra={'i': i})\n" % sc.addr)
        self.assertEqual([r["i"] for r in sc.records()], list(range(5000)))


class TestPool(TempDirTest):
    def test_start_methods(self):
        sc = self.sidecar()
        for method in ("fork", "forkserver", "spawn"):
            with self.subTest(method=method):
                os.truncate(sc.out, 0)
                sc.signal(signal.SIGHUP)
                ctx = multiprocessing.get_context(method)
                with ctx.Pool(3, initializer=workers.setup, initargs=(sc.addr,)) as pool:
                    self.assertEqual(sorted(pool.map(workers.work_many, [(n, 200) for n in range(6)])), list(range(6)))
                    pool.close()
                    pool.join()  # the workers exit, flushing at exit
                recs = [r for r in sc.records() if r.get("logger") == "pool"]
                got = sorted((r["task"], r["i"]) for r in recs)
                self.assertEqual(got, [(n, i) for n in range(6) for i in range(200)])
                self.assertNotIn(os.getpid(), {r["peer_pid"] for r in recs})

    def test_handler_inherited_through_fork(self):
        # The parent logs first (its connection and sender exist), then
        # forks: each child connects on its own, with its own session.
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr)
        log = logger("pool", h)
        log.info("parent before")
        self.assertTrue(h.flush(10))
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            pool.map(workers.work, range(20))
            pool.close()
            pool.join()
        log.info("parent after")
        self.assertTrue(h.flush(10))
        h.close()
        recs = [r for r in sc.records() if r.get("logger") == "pool"]
        self.assertEqual(sorted(r["task"] for r in recs if "task" in r), list(range(20)))
        self.assertEqual([r["msg"] for r in recs if r["peer_pid"] == os.getpid()], ["parent before", "parent after"])
        sessions = {}
        for r in recs:
            sessions.setdefault(r["logfanin_sid"], set()).add(r["peer_pid"])
        self.assertTrue(all(len(p) == 1 for p in sessions.values()), "a session shared by processes")

    def fork_while_logging(self, addr, sc_kw):
        sc = self.sidecar(**sc_kw)
        if addr == "pipe":
            addr = "fd:%d" % sc.pipe_w
        h = logfanin.Handler(addr if addr != "unix" else sc.addr)
        log = logger("busy", h)
        stop = threading.Event()
        count = [0]

        def spin():
            while not stop.is_set():
                log.info("thread", extra={"i": count[0], "pad": "z" * 5000})
                count[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        pids = []
        try:
            for k in range(30):
                pid = os.fork()
                if pid == 0:
                    code = 0
                    faulthandler.dump_traceback_later(20, exit=True)
                    try:
                        for i in range(10):
                            log.info("child", extra={"k": k, "i": i})
                        if not h.flush(20):
                            code = 3
                    except BaseException:
                        code = 2
                    os._exit(code)
                pids.append(pid)
        finally:
            stop.set()
            t.join()
        deadline = time.monotonic() + 60
        for pid in pids:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    for p in pids:
                        try:
                            os.kill(p, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    self.fail("a child forked while another thread logged hung")
                time.sleep(0.01)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertTrue(h.flush(20))
        h.close()
        if sc.pipe_w is not None:
            sc.stop()
        recs = [r for r in sc.records() if r.get("logger") == "busy"]
        self.assertEqual(sorted((r["k"], r["i"]) for r in recs if r["msg"] == "child"),
                         [(k, i) for k in range(30) for i in range(10)])
        self.assertEqual(sorted(r["i"] for r in recs if r["msg"] == "thread"), list(range(count[0])))

    def test_fork_while_another_thread_logs_stream(self):
        self.fork_while_logging("unix", {})

    def test_fork_while_another_thread_logs_pipe(self):
        self.fork_while_logging("pipe", {"pipe": True})

    def test_queue_listener(self):
        sc = self.sidecar()
        h = logfanin.Handler(sc.addr)
        q = queue.Queue()
        listener = logging.handlers.QueueListener(q, h)
        listener.start()
        log = logger("queued", logging.handlers.QueueHandler(q))

        def work(n):
            for i in range(300):
                log.info("from %d", n, extra={"n": n, "i": i})
            try:
                raise ValueError("bad %d" % n)
            except ValueError:
                log.exception("oops")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        listener.stop()  # flushes the queue into the handler
        self.assertTrue(h.flush(10))
        h.close()
        recs = sc.records()
        self.assertEqual(sorted((r["n"], r["i"]) for r in recs if "i" in r), [(n, i) for n in range(4) for i in range(300)])
        # QueueHandler.prepare formats the record in the logging thread:
        # the traceback arrives as part of the message.
        oops = [r for r in recs if r["msg"].startswith("oops")]
        self.assertEqual(len(oops), 4)
        for r in oops:
            self.assertIn("ValueError: bad", r["msg"])


class TestDatagramAndPipe(TempDirTest):
    def test_datagram(self):
        sc = self.sidecar()
        h = logfanin.Handler(sc.gaddr)
        log = logger("dgram", h)
        for i in range(200):
            log.info("d", extra={"i": i, "peer_pid": 1})
        h.close()
        # The standard SysLogHandler with a JSON formatter: the writer
        # writes the object's fields.
        sh = logging.handlers.SysLogHandler(address=sc.gsock)
        sh.setFormatter(logging.Formatter('{"msg": "%(message)s", "via": "syslog"}'))
        logger("sys", sh).error("json in syslog")
        sh.close()
        sc.stop()
        recs = sc.records()
        self.assertEqual(sorted(r["i"] for r in recs if r.get("logger") == "dgram"), list(range(200)))
        (s,) = [r for r in recs if r.get("via") == "syslog"]
        self.assertEqual((s["msg"], s["level"]), ("json in syslog", "error"))

    def test_pipe_large_records(self):
        sc = self.sidecar(pipe=True)
        h = logfanin.Handler("fd:%d" % sc.pipe_w)
        log = logger("pipe", h)
        sizes = [0, 10, 4000, 4080, 4096, 100000, 500000]
        for i, n in enumerate(sizes):
            log.info("p" * n, extra={"i": i})
        h.close()
        sc.stop()
        recs = [r for r in sc.records() if r.get("logger") == "pipe"]
        self.assertEqual([len(r["msg"]) for r in recs], sizes)
        self.assertEqual({r["pipe_pid"] for r in recs}, {os.getpid()})

    def test_pipe_drop_policy_counts(self):
        sc = self.sidecar(pipe=True)
        h = logfanin.Handler("fd:%d" % sc.pipe_w, policy="drop")
        log = logger("pdrop", h)
        sc.signal(signal.SIGSTOP)
        try:
            sent = 0
            while h.stats()["dropped"] < 5:
                log.info("fill", extra={"i": sent, "pad": "q" * 3000})
                sent += 1
        finally:
            sc.signal(signal.SIGCONT)
        log.info("after", extra={"i": sent})
        h.close()
        dropped = h.stats()["dropped"]
        sc.stop()
        recs = sc.records()
        got = [r for r in recs if r.get("logger") == "pdrop"]
        self.assertEqual(sum(r["dropped"] for r in recs if r.get("logger") == "logfanin"), dropped)
        self.assertEqual(len(got) + dropped, sent + 1)


if __name__ == "__main__":
    unittest.main()
