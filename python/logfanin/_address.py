"""Writer addresses: what a user may pass, checked when the handler is made."""

import os
import socket
import stat

ENV_ADDR = "LOGFANIN_ADDR"

STREAM = "unix"
DATAGRAM = "unixgram"
PIPE = "fd"


class Address:
    """A parsed writer address: transport, path (sockets) or fd (pipes)."""

    __slots__ = ("transport", "path", "fd")

    def __init__(self, transport, path=None, fd=None):
        self.transport = transport
        self.path = path
        self.fd = fd

    def __str__(self):
        if self.transport == PIPE:
            return "fd:%d" % self.fd
        return "%s://%s" % (self.transport, self.path)

    def __repr__(self):
        return "Address(%r)" % str(self)

    def __eq__(self, other):
        return isinstance(other, Address) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


def _check_socket_path(addr, path, transport):
    if not path:
        raise ValueError("logfanin: address %r: want %s://PATH with a socket path" % (addr, transport))
    if "\x00" in path:
        raise ValueError("logfanin: address %r: a socket path can't hold a NUL byte" % (addr,))
    if len(os.fsencode(path)) > 107:
        raise ValueError("logfanin: address %r: the socket path is %d bytes, longer than the 107 a Unix socket allows"
                         % (addr, len(os.fsencode(path))))
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise ValueError("logfanin: address %r: directory %r does not exist" % (addr, directory))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # the writer may start later; records wait in the buffer
    except OSError as e:
        raise ValueError("logfanin: address %r: %s" % (addr, e)) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise ValueError("logfanin: address %r: %r is not a socket" % (addr, path))


def connects(path, kind):
    """Whether a socket of kind (socket.SOCK_STREAM or SOCK_DGRAM) connects
    to path. Connecting a datagram socket sends nothing, so the writer sees
    no connection."""
    s = socket.socket(socket.AF_UNIX, kind)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def parse_address(addr=None):
    """Parse a writer address and return an Address.

    Accepted forms:

    - ``unix:///run/app.sock``: the writer's stream socket;
    - ``unixgram:///run/app-dgram.sock``: its datagram socket;
    - ``fd:N``: a pipe inherited as file descriptor N (LOGFANIN_PIPE);
    - a plain path, ``/run/app.sock``, as SysLogHandler takes: the stream
      socket, or the datagram socket if the socket at that path is one;
    - None or "": the address in the environment variable LOGFANIN_ADDR,
      which the logfanin sidecar sets for the processes it runs.

    A bad address raises ValueError saying what is wrong with it.
    """
    if addr is None or addr == "":
        addr = os.environ.get(ENV_ADDR, "")
        if not addr:
            raise ValueError("logfanin: no address: pass one (unix:///PATH, unixgram:///PATH, fd:N or a socket path) "
                             "or set %s (the logfanin sidecar sets it for the processes it runs)" % ENV_ADDR)
    if isinstance(addr, os.PathLike):
        addr = os.fspath(addr)
    if not isinstance(addr, str):
        raise TypeError("logfanin: address must be a string, not %s" % type(addr).__name__)
    if addr.startswith("unix://"):
        path = addr[len("unix://"):]
        _check_socket_path(addr, path, STREAM)
        return Address(STREAM, path=path)
    if addr.startswith("unixgram://"):
        path = addr[len("unixgram://"):]
        _check_socket_path(addr, path, DATAGRAM)
        return Address(DATAGRAM, path=path)
    if addr.startswith("fd:"):
        rest = addr[len("fd:"):]
        if not rest.isdigit():
            raise ValueError("logfanin: address %r: want fd:N with N a file descriptor number" % (addr,))
        fd = int(rest)
        try:
            st = os.fstat(fd)
        except OSError as e:
            raise ValueError("logfanin: address %r: file descriptor %d is not open in this process (%s); "
                             "a pipe is inherited through fork, not by spawn or forkserver children"
                             % (addr, fd, e.strerror)) from None
        if not stat.S_ISFIFO(st.st_mode):
            raise ValueError("logfanin: address %r: file descriptor %d is not a pipe" % (addr, fd))
        return Address(PIPE, fd=fd)
    scheme, sep, _ = addr.partition(":")
    if sep and scheme.isalnum() and "/" not in scheme:
        raise ValueError("logfanin: address %r: unknown scheme %r, want unix://PATH, unixgram://PATH, fd:N "
                         "or a socket path" % (addr, scheme))
    _check_socket_path(addr, addr, STREAM)
    if os.path.exists(addr) and connects(addr, socket.SOCK_DGRAM):
        return Address(DATAGRAM, path=addr)
    return Address(STREAM, path=addr)
