"""One logging.LogRecord as one JSON object."""

import json
import logging
import os
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

_levels = {}


def level_name(record):
    name = _levels.get(record.levelno)
    if name is None:
        name = record.levelname.lower()
        if name == "warning":
            name = "warn"
        elif name == "critical":
            name = "crit"
        _levels[record.levelno] = name
    return name


def _plain(v, depth=0):
    """v made of what JSON can hold: str keys, finite numbers, lists and
    dicts; anything else becomes its repr."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else repr(v)
    if depth > 32:
        return repr(v)
    if isinstance(v, dict):
        return {k if isinstance(k, str) else repr(k): _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    try:
        return repr(v)
    except Exception as e:  # a __repr__ that fails
        return "<unrepresentable %s: %s>" % (type(v).__name__, e)


def encode(fields):
    """fields as compact JSON. A value JSON can't hold is converted with
    repr (recursively, so a dict with a tuple key or a NaN keeps the rest
    of the record), never the cause of a lost record."""
    try:
        return _encode(fields)
    except (TypeError, ValueError, RecursionError):
        return _encode(_plain(fields))


def _exc_text(formatter, exc_info):
    try:
        return formatter.formatException(exc_info)
    except Exception as e:
        return "<traceback unavailable: %r>" % (e,)


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
    if formatter is None:
        try:
            return record.getMessage()
        except Exception as e:
            return "%r %% %r (formatting failed: %s)" % (record.msg, record.args, e)
    exc_info, exc_text, stack_info = record.exc_info, record.exc_text, record.stack_info
    record.exc_info = record.exc_text = record.stack_info = None
    try:
        return formatter.format(record)
    finally:
        record.exc_info, record.exc_text, record.stack_info = exc_info, exc_text, stack_info


def _extra(record):
    """The extra fields of record, in the order they were given. A
    LogRecord's own attributes come first in its __dict__ (set by its
    __init__), the extra ones after them."""
    rd = record.__dict__
    if len(rd) <= _NSTD:
        return ()
    return [(k, v) for k, v in islice(rd.items(), _NSTD, None)
            if k not in _STANDARD and k not in CORE and isinstance(k, str)]


def _exc_stack(record, formatter):
    exc = None
    if record.exc_info:
        exc = record.exc_text or _exc_text(formatter or _default_formatter, record.exc_info)
    elif record.exc_text:
        exc = record.exc_text
    return exc, record.stack_info or None


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
# is encoded as a marker, and its bytes put in the marker's place
# afterwards, copied once. Below about 2 KiB the splicing costs more
# than the escaping saves.
_LONG = 2048
# The characters the encoder escapes in an ASCII string, the likeliest
# first (a string that holds one is found out early).
_ESCAPED = ('"', "\\", "\n", "\t", "\r") + tuple(
    chr(c) for c in (*range(0x20), 0x7F) if chr(c) not in "\n\t\r")
_MARK = "\x00logfanin-%s-" % os.urandom(8).hex()  # no string a program logs is this by chance
_QMARK = _encode(_MARK)[:-1]  # the marker as the encoder writes it, without the closing quote


def _plain_ascii(s):
    """s as bytes if JSON holds it between quotes as it is, else None."""
    if s.isascii():
        for c in _ESCAPED:
            if c in s:
                return None
        return s.encode("ascii")
    return None


def _splice(text, long, framed):
    """text (with markers in the place of long strings) as bytes, each
    marker replaced by its string, after a frame header if framed. A
    record that holds a marker of its own (a program that logs this
    module's secret) raises, and takes the careful path."""
    if text.count(_QMARK) != len(long):
        raise ValueError("a record holds a marker")
    parts = [b""]
    for i, b in enumerate(long):
        head, sep, text = text.partition('%s%d"' % (_QMARK, i))
        if not sep:
            raise ValueError("marker %d not found" % i)
        parts.append(head.encode())
        parts.append(b'"')
        parts.append(b)
        parts.append(b'"')
    parts.append(text.encode())
    if framed:
        parts[0] = _wire.frame_header(sum(map(len, parts)))
    return b"".join(parts)


def format_record(record, formatter):
    """The JSON text of record_fields(record, formatter), as a str."""
    return format_bytes(record, formatter).decode()


def format_bytes(record, formatter, framed=False):
    """The JSON text of record_fields(record, formatter), as bytes (framed:
    after the 4-byte length of a stream frame), built for speed (the cost
    per record is most of what logging costs a worker): one dict, one
    encoder call, long plain strings copied once, into the frame. A record
    the fast path can't encode takes the careful one, which converts what
    JSON can't hold."""
    try:
        if formatter is None:
            msg = record.msg
            if record.args or msg.__class__ is not str:
                msg = record.getMessage()
        else:
            msg = _message(record, formatter)
        long = None
        if len(msg) >= _LONG:
            b = _plain_ascii(msg)
            if b is not None:
                long = [b]
                msg = _MARK + "0"
        d = {"ts": record.created, "level": _levels.get(record.levelno) or level_name(record), "logger": record.name,
             "msg": msg, "pid": record.process, "thread": record.threadName}
        rd = record.__dict__
        if len(rd) > _NSTD:
            for k, v in islice(rd.items(), _NSTD, None):
                if k not in _SKIP:
                    if v.__class__ is str and len(v) >= _LONG:
                        b = _plain_ascii(v)
                        if b is not None:
                            if long is None:
                                long = []
                            v = _MARK + str(len(long))
                            long.append(b)
                    d[k] = v
        if record.exc_info or record.exc_text or record.stack_info:
            exc, stack = _exc_stack(record, formatter)
            if exc is not None:
                d["exc_info"] = exc
            if stack is not None:
                d["stack_info"] = stack
        if long is not None:
            return _splice(_fast_encode(d), long, framed)
        data = _fast_encode(d).encode()
    except Exception:
        data = encode(record_fields(record, formatter)).encode()
    return _wire.frame_header(len(data)) + data if framed else data
