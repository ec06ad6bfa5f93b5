"""The inbox page in a real browser: headless Chromium, where it is installed.

A sent HTML email must render inside the sandboxed iframe, and a script in it
must not run: it cannot reach the page around it.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from sesclient import Credentials, SESClient
from sesclient.local import LocalSESThread

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = (
    "<h1>Order shipped</h1><p>Hi <b>Jane</b></p>"
    "<script>parent.document.title='pwned';document.title='pwned'</script>"
    "<img src=x onerror=\"parent.document.body.innerHTML='pwned'\">"
)


def _chromium(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_html_email_renders_sandboxed_and_runs_no_script(tmp_path):
    with LocalSESThread(verified_identities=("shop@example.com",)) as server:
        credentials = Credentials(server.config.access_key_id, server.config.secret_access_key)
        with SESClient(server.config.region, credentials, endpoint_url=server.url) as client:
            sent = client.send_email(
                from_addr="shop@example.com",
                to="jane@example.com",
                subject="Your order shipped",
                html=HOSTILE,
            )
        page = f"{server.url}/_inbox/messages/{sent.message_id}"
        dom = _chromium("--virtual-time-budget=2000", "--dump-dom", page, tmp_path=tmp_path)
        shot = tmp_path / "inbox.png"
        _chromium("--window-size=1200,800", f"--screenshot={shot}", page, tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-500:]
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    assert title is not None and "pwned" not in title.group(1)
    assert "Your order shipped" in dom.stdout
    frame = re.search(r"<iframe[^>]*>", dom.stdout)
    assert frame is not None and 'sandbox=""' in frame.group(0)
    # outside the iframe's srcdoc, the page is as the server wrote it
    outside = re.sub(r'srcdoc="[^"]*"', "", dom.stdout)
    assert "pwned" not in outside
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5000
