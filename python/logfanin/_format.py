"""One logging.LogRecord as one JSON object."""

import json
import logging
import marshal
from itertools import islice

from . import _wire

# The attributes every LogRecord has; anything else in a record's __dict__
# came from extra={...} (or a filter) and becomes a field of its own.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName",
}

# Fields the formatter writes; an extra field of the same name is skipped,
# so that "level" or "msg" always mean what they say.
CORE = frozenset({"ts", "level", "logger", "msg", "pid", "thread", "exc_info", "stack_info"})

_encoder = json.JSONEncoder(separators=(",", ":"), default=repr, allow_nan=False)
_encode = _encoder.encode


def level_name(record):
    """The level field of record: its levelname (which follows
    logging.addLevelName) in lower case, "warn" and "crit" for WARNING
    and CRITICAL; a levelname that is not a str as its repr. (The fast
    path remembers the result with the logger's name, see _mid.)"""
    name = record.levelname
    name = str.lower(name) if isinstance(name, str) else _repr(name).lower()
    return _ZAP_LEVELS.get(name, name)


_ZAP_LEVELS = {"warning": "warn", "critical": "crit"}


def _repr(v):
    """repr(v), or a placeholder if v's __repr__ fails."""
    try:
        return repr(v)
    except Exception as e:
        return "<unrepresentable %s: %s>" % (type(v).__name__, type(e).__name__)


def _plain(v, depth=0):
    """v made of what JSON can hold: str keys, finite numbers, lists and
    dicts; anything else becomes its repr."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        try:
            int.__repr__(v)
            return v
        except ValueError:  # more digits than the interpreter converts to text
            return hex(v)
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else _repr(v)
    if depth > 32:
        return _repr(v)
    if isinstance(v, dict):
        return {k if isinstance(k, str) else _repr(k): _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    return _repr(v)


def encode(v):
    """v as compact JSON. A value JSON can't hold is converted with repr
    (recursively, so a dict with a tuple key or a NaN keeps the rest of
    the record), never the cause of a lost record: a __repr__ that fails
    gives a placeholder, an int too long for text its hex."""
    try:
        return _encode(v)
    except Exception:
        return _encode(_plain(v))


def encode_record(fields):
    """A record's fields (a dict, "ts" first) as encode writes them, but
    for ts, written by ts_text: the encoder would write all of a float's
    digits."""
    fields = dict(fields)
    created = fields.pop("ts")
    try:
        ts = ts_text(created)
    except Exception:
        ts = encode(created)
    rest = encode(fields)
    return '{"ts":' + ts + ("," + rest[1:] if len(rest) > 2 else "}")


def _exc_text(formatter, exc_info):
    try:
        return formatter.formatException(exc_info)
    except Exception as e:
        return "<traceback unavailable: %s>" % _repr(e)


_default_formatter = logging.Formatter()


def record_fields(record, formatter):
    """The fields of the JSON object for record: ts, level, logger, msg,
    pid, thread, the extra fields, then exc_info and stack_info as text.
    With a formatter, msg is its output without the traceback and stack,
    which have fields of their own."""
    d = {
        "ts": record.created,
        "level": level_name(record),
        "logger": record.name,
        "msg": _message(record, formatter),
        "pid": record.process,
        "thread": record.threadName,
    }
    d.update(_extra(record))
    exc, stack = _exc_stack(record, formatter)
    if exc is not None:
        d["exc_info"] = exc
    if stack is not None:
        d["stack_info"] = stack
    return d


def _message(record, formatter):
    """The record's message, formatted; if formatting fails (arguments
    that do not fit the format, a __str__ that raises), the message and
    its arguments as repr and why, so that the record is not lost."""
    try:
        if formatter is None:
            return record.getMessage()
        exc_info, exc_text, stack_info = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return formatter.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = exc_info, exc_text, stack_info
    except Exception as e:
        return "%s %% %s (formatting failed: %s)" % (_repr(record.msg), _repr(record.args), _repr(e))


def _extra(record):
    """The extra fields of record, in the order they were given. A
    LogRecord's own attributes come first in its __dict__ (set by its
    __init__), the extra ones after them. A name that is not a str is
    kept: the encoder writes it as it writes such a dict key (the
    careful path as its repr, if the encoder can't)."""
    rd = record.__dict__
    if len(rd) <= _NSTD:
        return ()
    return [(k, v) for k, v in islice(rd.items(), _NSTD, None)
            if k not in _SKIP]


def _exc_stack(record, formatter):
    exc = None
    if record.exc_info:
        exc = record.exc_text or _exc_text(formatter or _default_formatter, record.exc_info)
    elif record.exc_text:
        exc = record.exc_text
    return exc, record.stack_info or None


_LogRecord = logging.LogRecord
_NSTD = len(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
_SKIP = _STANDARD | CORE
_quote = json.encoder.encode_basestring_ascii


try:
    from _json import make_encoder as _c_make_encoder
except ImportError:  # an interpreter without the C accelerator
    _c_make_encoder = None

if _c_make_encoder is not None:
    # One encoder for every record (json.dumps makes one per call). No
    # circular-reference markers: a cycle ends in RecursionError, and the
    # record is then encoded by the careful path.
    _c_encode = _c_make_encoder(None, repr, _quote, None, ":", ",", False, False, False)

    def _fast_encode(d):
        return "".join(_c_encode(d, 0))
else:
    _fast_encode = _encode


# Long strings: escaping costs the encoder about 3 ns a character, while
# finding that a string needs no escaping (ASCII with no control
# character, DEL, quote or backslash: most long messages and payloads)
# costs a memchr per character that would need it, a tenth of that at
# 16 KiB (str.isascii is a flag; bytes.translate, str.isprintable or a
# regular expression cost a byte at a time, 0.6 to 4 ns). Such a string
# goes into the record as its bytes, copied once. Below about 500
# characters the test costs more than the escaping saves.
_LONG = 512
# The characters the encoder escapes in an ASCII string, the likeliest
# first (a string that holds one is found out early).
_ESCAPED = ('"', "\\", "\n", "\t", "\r") + tuple(
    chr(c) for c in (*range(0x20), 0x7F) if chr(c) not in "\n\t\r")


def _plain_ascii(s):
    """s as bytes if JSON holds it between quotes as it is, else None."""
    if s.isascii():
        for c in _ESCAPED:
            if c in s:
                return None
        return s.encode("ascii")
    return None


def format_record(record, formatter):
    """The JSON text of record_fields(record, formatter), as a str."""
    return format_bytes(record, formatter).decode()


_frame_header = _wire.frame_header
_CACHED = 4096  # names and keys remembered, at most (a program may make them up as it goes)
_SKIP_KEYS = dict.fromkeys(_SKIP, "")
_keys = dict(_SKIP_KEYS)  # field name: ',"name":', or "" for a field not written as an extra one
# (levelname, logger name, pid, thread name): (',"level":…,"logger":…,"msg":', ',"pid":…,"thread":…')
_mids = {}
_secs = {}  # whole seconds since the epoch: their text with the point, "1795967857."
# ts_text writes a time below this to the microsecond: there a float's
# unit in the last place is under 2 µs. Beyond it (and below 0) a time is
# written as the encoder writes it.
_TS_MAX = 1e10


def _new_key(k):
    """The JSON of extra field name k (a str), with the comma and colon
    around it, remembered."""
    global _keys
    keys = _keys
    if len(keys) >= _CACHED:
        # A new dict, not a cleared one: a thread that looked up a
        # LogRecord attribute in a cleared one would take it for an extra
        # field, and remember that.
        keys = _keys = dict(_SKIP_KEYS)
    key = keys[k] = "," + _quote(k) + ":"
    return key


def _sec_text(sec):
    """The text of a whole second since the epoch and the point after it,
    remembered (a second's records share it)."""
    if len(_secs) >= _CACHED:
        _secs.clear()
    t = _secs[sec] = "%d." % sec
    return t


def ts_text(created):
    """The ts field as JSON text: created, seconds since the epoch, to the
    microsecond (truncated, six digits: 1795967857.008942); a created that
    is not a float from 0 to 1e10 as the encoder writes it (ValueError
    for one JSON can't hold, such as NaN)."""
    if created.__class__ is float and 0.0 <= created < _TS_MAX:  # format_bytes has this inline
        sec = int(created)
        return (_secs.get(sec) or _sec_text(sec)) + "%06d" % ((created - sec) * 1e6)
    return _json(created)


def _json(v):
    """v as the encoder writes it (as JSON text)."""
    c = v.__class__
    if c is str:
        return _quote(v)
    if c is int or (c is float and v - v == 0):  # a finite float
        return repr(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return _fast_encode(v)  # raises for what JSON can't hold (NaN): the careful path takes the record


def _mid(record, remember=True):
    """The JSON around the message: the level and logger fields and the
    msg key before it, the pid and thread fields after it; remembered
    (the caller knows the four values are a str, a str, an int or None
    and a str or None, which no other value equals by accident)."""
    mid = (',"level":%s,"logger":%s,"msg":' % (_quote(level_name(record)), _json(record.name)),
           ',"pid":%s,"thread":%s' % (_json(record.process), _json(record.threadName)))
    if remember:
        if len(_mids) >= _CACHED:
            _mids.clear()
        _mids[record.levelname, record.name, record.process, record.threadName] = mid
    return mid


def format_bytes(record, formatter, framed=False):
    """The JSON text of record_fields(record, formatter), as bytes (framed:
    after the 4-byte length of a stream frame), byte for byte what
    encode_record writes for them, built for speed (the cost per record is
    most of what logging costs a worker, and every call, lookup and
    formatting here costs hundreds of instructions): the text in pieces,
    joined once, names, keys and the second of ts as JSON remembered,
    long plain strings put in as their bytes, unescaped. A record the
    fast path can't encode (a value JSON can't hold, a field name that is
    not a str) takes the careful one, which converts what JSON can't
    hold."""
    try:
        if formatter is None:
            msg = record.msg
            if record.args or msg.__class__ is not str or record.__class__ is not _LogRecord:
                msg = record.getMessage()  # a LogRecord subclass may make its message its own way
        else:
            msg = _message(record, formatter)
        created = record.created
        if created.__class__ is float and 0.0 <= created < _TS_MAX:
            sec = int(created)
            # ts_text, inline, in two pieces: "1795967857." and "008942"
            # ("%06d" truncates).
            ts = _secs.get(sec) or _sec_text(sec)
            us = "%06d" % ((created - sec) * 1e6)
        else:
            ts = _json(created)
            us = ""
        levelname = record.levelname
        name = record.name
        pid = record.process
        thread = record.threadName
        if (levelname.__class__ is str and name.__class__ is str and (pid.__class__ is int or pid is None)
                and (thread.__class__ is str or thread is None)):  # logProcesses, logThreads = False: None
            mid = _mids.get((levelname, name, pid, thread)) or _mid(record)
        else:
            mid = _mid(record, False)
        rd = record.__dict__
        if msg.__class__ is str and len(msg) >= _LONG and (b := _plain_ascii(msg)) is not None:
            out = [b"", ('{"ts":%s%s%s"' % (ts, us, mid[0])).encode(), b]
            parts = ['"', mid[1]]
        else:
            out = None  # the bytes so far, once a long string is in
            parts = ['{"ts":', ts, us, mid[0], _quote(msg) if msg.__class__ is str else _json(msg), mid[1]]
        if len(rd) > _NSTD:
            keys = _keys
            add = parts.append
            for k, v in islice(rd.items(), _NSTD, None):
                if k.__class__ is not str:  # before the lookup: a str subclass may equal a remembered name
                    raise TypeError("a field name that is not a str: the careful path writes it")
                try:
                    key = keys[k]
                except KeyError:
                    key = _new_key(k)
                if not key:
                    continue  # a LogRecord attribute or a core field
                c = v.__class__
                if c is str:
                    if len(v) >= _LONG and (b := _plain_ascii(v)) is not None:
                        add(key)
                        add('"')
                        if out is None:
                            out = [b""]
                        out.append("".join(parts).encode())
                        out.append(b)
                        parts = ['"']
                        add = parts.append
                        continue
                    add(key)
                    add(_quote(v))
                elif c is int:
                    add(key)
                    add(repr(v))  # the builtin: a slot wrapper (int.__repr__) costs more a call
                else:
                    add(key)
                    add(_json(v))
        if record.exc_info or record.exc_text or record.stack_info:
            exc, stack = _exc_stack(record, formatter)
            if exc is not None:
                parts.append(',"exc_info":' + _json(exc))
            if stack is not None:
                parts.append(',"stack_info":' + _json(stack))
        parts.append("}")
        if out is None:
            data = "".join(parts).encode()
            return _frame_header(len(data)) + data if framed else data
        out.append("".join(parts).encode())
        if framed:
            out[0] = _frame_header(sum(map(len, out)))
        return b"".join(out)
    except Exception:
        data = encode_record(record_fields(record, formatter)).encode()
    return _frame_header(len(data)) + data if framed else data


# Python records (docs/PROTOCOL.md, "Python records"): the fields of a
# record in marshal's format, which the writer turns into the JSON that
# format_bytes would write. marshal writes them from C and copies strings
# instead of scanning them: 30 000 instructions at 200 B and 31 000 at
# 1 KiB, against format_bytes' 32 500 and 51 000. Only values whose JSON the writer writes as this module
# does go so; anything else (a traceback, a nested value, a str subclass,
# an int beyond 64 bits) takes format_bytes.
PY_MAGIC = b"(\x07\x00\x00\x00"  # marshal's tuple of 7
_dumps = marshal.dumps
_INT_LIMIT = 1 << 64  # the writer takes ints of at most five 15-bit digits
_NO_EXTRA = {}
_levels = {}  # levelname: the level field's text


def format_py(record, formatter):
    """The stream frame of record as a Python record, or None if it must
    go as JSON (format_bytes)."""
    if record.exc_info or record.exc_text or record.stack_info:
        return None
    # The message first, as format_bytes: a formatter may set attributes.
    msg = record.msg
    if formatter is not None or record.args or msg.__class__ is not str or record.__class__ is not _LogRecord:
        msg = _message(record, formatter)
        if msg.__class__ is not str:
            return None
    rd = record.__dict__
    if len(rd) > _NSTD:
        extra = dict(islice(rd.items(), _NSTD, None))
        if not _SKIP.isdisjoint(extra):
            # What a formatter set (message, asctime), or an extra field
            # named as a core one: not written, as in format_bytes.
            for k in _SKIP.intersection(extra):
                del extra[k]
        for k, v in extra.items():  # one loop: each C-level check of a set costs more
            c = v.__class__
            if k.__class__ is not str or not (c is str or (c is int and -_INT_LIMIT < v < _INT_LIMIT)
                                              or c is float or c is bool or v is None):
                return None
    else:
        extra = _NO_EXTRA
    created = record.created
    levelname = record.levelname
    name = record.name
    pid = record.process
    thread = record.threadName
    if (created.__class__ is not float or levelname.__class__ is not str or name.__class__ is not str
            or not (pid is None or (pid.__class__ is int and -_INT_LIMIT < pid < _INT_LIMIT))
            or not (thread is None or thread.__class__ is str)):
        return None
    level = _levels.get(levelname)
    if level is None:
        if len(_levels) >= _CACHED:
            _levels.clear()
        level = _levels[levelname] = level_name(record)
    data = _dumps((created, level, name, msg, pid, thread, extra), 2)
    return _frame_header(len(data)) + data


def py_to_json(frame):
    """A Python record's stream frame as the JSON frame format_bytes would
    have made, for a writer that does not take Python records."""
    created, level, name, msg, pid, thread, extra = marshal.loads(frame[4:])
    fields = {"ts": created, "level": level, "logger": name, "msg": msg, "pid": pid, "thread": thread}
    fields.update(extra)
    data = encode_record(fields).encode()
    return _frame_header(len(data)) + data
