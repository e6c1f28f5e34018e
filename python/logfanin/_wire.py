"""The wire format of docs/PROTOCOL.md: stream frames, control frames and
pipe chunks. All integers are big-endian."""

import select
import struct
import zlib

CONTROL_BIT = 0x80000000
MAX_CONTROL = 4096

TYPE_HELLO = 0x01
TYPE_ACK = 0x02
TYPE_ERROR = 0x03
TYPE_SPACE = 0x04

PROTOCOL_VERSION = 1
HELLO_ACK = 0x01
# Records may be Python records (docs/PROTOCOL.md): a record's fields in
# marshal's format, which the writer turns into the JSON this package
# would write.
HELLO_PY_RECORDS = 0x08

# Error codes of an error frame.
ERROR_CODES = {1: "too large", 2: "protocol", 3: "refused", 4: "idle", 5: "session", 6: "flood"}
# The hello named a session another process owns at this writer (it said
# hello with that id first, after a restart): the client takes a new id.
ERROR_SESSION = 5
# A protocol error: a writer that predates a hello flag refuses it so.
ERROR_PROTOCOL = 2

DEFAULT_MAX_RECORD = 1 << 20

# A pipe chunk: magic, version, flags, payload length, pid, record id,
# header check; then the payload. Each chunk is one write(2) of at most
# PIPE_BUF bytes, which the kernel never interleaves with other writers'.
CHUNK_HEADER = 16
CHUNK_FIRST = 0x01
CHUNK_LAST = 0x02
MAX_CHUNK = min(getattr(select, "PIPE_BUF", 512), 4096)

_u32 = struct.Struct(">I")
_hello = struct.Struct(">IBBB16sQ")
_chunk_head = struct.Struct(">BBBBHII")
_u16 = struct.Struct(">H")
_u64 = struct.Struct(">Q")

frame_header = _u32.pack


def hello(session, first_seq, flags=HELLO_ACK):
    """The hello control frame (N = 27: type, version, flags, session, first sequence)."""
    return _hello.pack(CONTROL_BIT | 27, TYPE_HELLO, PROTOCOL_VERSION, flags, session, first_seq)


def chunks(record, pid, record_id, max_chunk=MAX_CHUNK):
    """The pipe chunks of one record, each for exactly one os.write."""
    room = max_chunk - CHUNK_HEADER
    n = len(record)
    count = max(1, -(-n // room))
    out = []
    for i in range(count):
        part = record[i * room:(i + 1) * room]
        flags = (CHUNK_FIRST if i == 0 else 0) | (CHUNK_LAST if i == count - 1 else 0)
        head = _chunk_head.pack(0xFF, 0x4C, 1, flags, len(part), pid & 0xFFFFFFFF, record_id)
        c = zlib.crc32(head)
        out.append(head + _u16.pack(((c >> 16) ^ c) & 0xFFFF) + part)
    return out


class ProtocolError(Exception):
    """The writer sent something the protocol does not allow."""


class WriterError(Exception):
    """The writer closed the connection with an error frame."""

    def __init__(self, code, message):
        super().__init__("writer closed the connection (code %d, %s): %s"
                         % (code, ERROR_CODES.get(code, "unknown"), message))
        self.code = code


def parse_controls(buf):
    """Parse the whole control frames at the start of buf (a bytearray),
    remove them, and return the highest acknowledged sequence among them
    (or None). An error frame raises WriterError."""
    ack = None
    pos = 0
    while len(buf) - pos >= 4:
        (word,) = _u32.unpack_from(buf, pos)
        if not word & CONTROL_BIT:
            raise ProtocolError("data frame from the writer")
        n = word & ~CONTROL_BIT
        if n == 0 or n > MAX_CONTROL:
            raise ProtocolError("control frame of %d bytes" % n)
        if len(buf) - pos - 4 < n:
            break
        body = bytes(buf[pos + 4:pos + 4 + n])
        pos += 4 + n
        t = body[0]
        if t == TYPE_ACK:
            if n != 9:
                raise ProtocolError("ack of %d bytes" % n)
            (seq,) = _u64.unpack_from(body, 1)
            ack = seq if ack is None else max(ack, seq)
        elif t == TYPE_ERROR:
            if n < 3:
                raise ProtocolError("short error frame")
            (code,) = _u16.unpack_from(body, 1)
            raise WriterError(code, body[3:].decode("utf-8", "replace"))
        elif t == TYPE_SPACE:
            pass
        else:
            raise ProtocolError("control frame of type %#x" % t)
    del buf[:pos]
    return ack
