"""A non-local bind without a login is refused in one sentence before anything starts, and with
``--auth`` nothing is served before the login (the default loopback bind is checked on the browser
tests' server, in test_ui_browser.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ui_servers import start_ui, stop_ui

from faceforge.errors import OptionError
from faceforge.ui.server import check_bind, is_local_host, parse_auth


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


@pytest.mark.slow
def test_with_auth_nothing_is_served_before_the_login(tmp_path: Path):
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    server = start_ui(tmp_path / "work", "--auth", "ana:a-long-secret")
    try:

        def status(
            opener: urllib.request.OpenerDirector, path: str, form: dict[str, str] | None = None
        ) -> int:
            data = urllib.parse.urlencode(form).encode() if form is not None else None
            try:
                with opener.open(server.url.rstrip("/") + path, data=data, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert status(opener, "/config") == 401
        assert status(opener, "/login", {"username": "ana", "password": "wrong"}) == 400
        assert status(opener, "/config") == 401
        assert status(opener, "/login", {"username": "ana", "password": "a-long-secret"}) == 200
        assert status(opener, "/config") == 200
    finally:
        stop_ui(server)
