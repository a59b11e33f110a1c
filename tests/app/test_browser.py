"""The app in a real browser: `winnow app` serves it, Debian's chromium (Playwright) renders it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.app.app_workspace import make_workspace

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium (not playwright install)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(ws: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--workspace", str(ws), "--port", str(port),
                             "--address", "127.0.0.1", "--headless"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("winnow app did not answer within 60 s")


def test_corpus_page_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    built = make_workspace(tmp_path)
    port = _free_port()
    proc = _serve(built["ws"], port)
    try:
        query = urllib.parse.urlencode({"page": "Corpus", "run": str(built["run"]), "show": "removed",
                                        "rule": "length.min_words"})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1800})
                page.goto(f"http://127.0.0.1:{port}/?{query}", timeout=60_000)
                page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
                page.wait_for_selector("[data-testid='stMetric']", timeout=60_000)
                # Playwright's text= is a case-insensitive substring match ("show removed by rule" matches):
                # wait for the removal explanation itself, case-sensitively
                page.wait_for_function(
                    "() => (document.querySelector(\"[data-testid='stApp']\")?.innerText || '')"
                    ".replace(/\\s+/g, ' ').includes('Removed by rule length.min_words')", timeout=60_000)
                # the script run has ended (no running indicator) before the page is read
                page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidget']\")",
                                       timeout=60_000)
                text = page.inner_text("[data-testid='stApp']")
                page.screenshot(path=str(tmp_path / "corpus.png"))
            finally:
                browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        out, _ = proc.communicate(timeout=30)
    flat = " ".join(text.split())
    assert "input 10 kept 6 removed 3 quarantined 1" in flat, flat[:3000]
    assert "Removed by rule length.min_words · value 2" in flat, flat[:3000]
    assert (tmp_path / "corpus.png").stat().st_size > 20_000, (tmp_path / "corpus.png").stat().st_size
    assert proc.returncode == 0 and "app stopped" in out, out[-2000:]
