"""Where the web UI listens and who may use it.

The UI runs swaps on the machine it is started on and serves the files it writes, so it binds to the
loopback interface unless told otherwise, and beyond it only with a user name and password.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from faceforge.errors import OptionError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str


def is_local_host(host: str) -> bool:
    """True when ``host`` is only reachable from this machine (a loopback address or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def parse_auth(text: str | None) -> Credentials | None:
    """``USER:PASSWORD`` as credentials (the password may hold colons); None when not given."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise OptionError("--auth takes USER:PASSWORD, both parts non-empty.")
    return Credentials(user, password)


def check_bind(host: str, port: int, auth: Credentials | None) -> None:
    """Refuse to listen beyond this machine without credentials, and a port outside 1-65535."""
    if not 0 < port < 65536:
        raise OptionError(f"--port takes a number from 1 to 65535, not {port}.")
    if not is_local_host(host) and auth is None:
        raise OptionError(
            f"Binding to {host} makes the UI reachable from other machines; give --auth USER:PASSWORD "
            f"to require a login, or leave --host at {DEFAULT_HOST}."
        )


def url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"
