"""Where ``faceforge ui`` listens: loopback by default (read from the kernel's socket table), and a
non-local bind without a login refused in one sentence before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ui_servers import start_ui, stop_ui

from faceforge.errors import OptionError
from faceforge.ui.server import check_bind, is_local_host, parse_auth


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def test_default_bind_is_loopback_and_the_url_is_printed(tmp_path: Path):
    server = start_ui(tmp_path / "work")
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert listening_addresses(server.port) == {"127.0.0.1"}
    finally:
        stop_ui(server)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org"])
def test_non_local_bind_without_auth_refuses_to_start(tmp_path: Path, host: str):
    workdir = tmp_path / "work"
    command = [sys.executable, "-m", "faceforge", "ui", "--host", host, "--port", "7999"]
    done = subprocess.run(
        [*command, "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == OptionError.exit_code
    message = done.stderr.strip()
    assert message.count("\n") == 0 and "--auth USER:PASSWORD" in message and "Traceback" not in message
    assert not workdir.exists(), "nothing is created before the refusal"


def test_bind_rules():
    assert is_local_host("127.0.0.1") and is_local_host("localhost") and is_local_host("::1")
    assert is_local_host("127.8.0.1")
    assert not is_local_host("0.0.0.0") and not is_local_host("10.0.0.1") and not is_local_host("host.lan")
    check_bind("0.0.0.0", 8080, parse_auth("ana:secret:with:colons"))
    assert parse_auth("ana:se:cret").password == "se:cret"
    for bad in ("ana", ":pw", "ana:"):
        with pytest.raises(OptionError):
            parse_auth(bad)
    with pytest.raises(OptionError, match="1 to 65535"):
        check_bind("127.0.0.1", 70000, None)
