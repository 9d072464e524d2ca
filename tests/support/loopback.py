"""Ports on 127.0.0.1 for the servers the tests start (a Chroma server, the fake Bot API, a bot that finds none)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
