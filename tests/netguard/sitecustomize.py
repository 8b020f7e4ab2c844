"""Network guard for every Python subprocess the tests start (on PYTHONPATH via tests/conftest.py).

A connection attempt to a non-loopback address is refused and written to LEROBOT_LOCAL_NETGUARD_LOG; the
test that started the process fails when that file is not empty (conftest.py's ``no_network``).
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("LEROBOT_LOCAL_NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback(address):
    if not isinstance(address, tuple):
        return True  # AF_UNIX
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(address):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"pid {os.getpid()}: connect({address!r})\n")
    raise OSError(f"network access refused by the lerobot-local test guard: {address!r}")


def _connect(self, address):
    if not _loopback(address):
        _refuse(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    if not _loopback(address):
        _refuse(address)
    return _real_connect_ex(self, address)


if _LOG:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
