"""logfanin: many processes, one log.

A logging.Handler that sends every record, whole, as one JSON object to a
logfanin writer (the ``logfanin`` sidecar), over its Unix stream socket
with acknowledgements and replay, its datagram socket, or a shared pipe:

    import logging, logfanin

    logging.basicConfig(level=logging.INFO, handlers=[logfanin.Handler()])
    logging.getLogger("app").info("request handled", extra={"status": 200})

Standard library only; safe across fork, in multiprocessing pools of
every start method, and as the handler of a QueueListener.
"""

from ._address import Address, parse_address
from ._handler import Handler

__all__ = ["Address", "Handler", "parse_address"]
__version__ = "0.1.0"
