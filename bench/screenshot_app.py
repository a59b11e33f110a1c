"""Screenshot a page of the Winnow app in a real browser (for docs/app.png).

Starts `winnow app`'s Streamlit server on a free localhost port, opens the page in Debian's chromium through
Python Playwright, waits until Streamlit has rendered (a `data-testid` element, not a fixed sleep), and
writes a PNG.

    python bench/screenshot_app.py --workspace WS [--run RUN_DIR] [--page Corpus] [--out docs/app.png]

WS is a workspace with at least one curation run (`winnow curate ... --workspace WS`); RUN_DIR picks the
run shown on the Corpus page. Needs /usr/bin/chromium (`apt-get install -y chromium`); never run
`playwright install`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    """`winnow app --headless` on localhost; returns once the health endpoint answers."""
    env = {**os.environ, "WINNOW_WORKSPACE": str(workspace)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--workspace", str(workspace), "--port",
                             str(port), "--address", "127.0.0.1", "--headless"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("the app did not answer within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def screenshot(url: str, out: Path, wait_for: list[str], width: int = 1400, height: int = 1000,
               full_page: bool = True) -> str:
    """Open `url`, wait for the CSS selector `wait_for` and for Streamlit to go idle, save a PNG; return the
    page's visible text (for assertions)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, timeout=60_000)
            page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
            for sel in wait_for:  # lazily loaded widgets show a grey box until their code arrives
                page.wait_for_selector(sel, state="visible", timeout=90_000)
            # Streamlit shows a running indicator while the script runs; wait for the run to finish
            page.wait_for_function(
                "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=60_000)
            # widgets and tables load their code lazily and show skeletons until then
            page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")",
                                   timeout=60_000)
            page.wait_for_timeout(2000)  # charts (vega) and tables (canvas) draw after the run ends
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full_page)
            return page.inner_text("[data-testid='stApp']")
        finally:
            browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", type=Path, required=True, help="workspace holding the runs to show")
    ap.add_argument("--run", type=Path, default=None, help="curation run folder to show on the Corpus page")
    ap.add_argument("--page", default="Corpus", help="Runs, Corpus, Launch, Training or Evaluation")
    ap.add_argument("--show", default=None, help="Corpus page: all, kept or removed documents")
    ap.add_argument("--rule", default=None, help="Corpus page: only documents removed by this rule")
    ap.add_argument("--height", type=int, default=1000, help="browser window height in pixels")
    ap.add_argument("--out", type=Path, default=Path("docs/app.png"), help="PNG to write")
    ap.add_argument("--wait-for", action="append", default=None,
                    help="CSS selector to wait for (repeatable; default: the Corpus page's metric, table, text)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    port = free_port()
    proc = start_server(args.workspace.absolute(), port)
    try:
        query = {"page": args.page}
        if args.run:
            query["run"] = str(args.run.absolute())
        for key in ("show", "rule"):
            if getattr(args, key):
                query[key] = getattr(args, key)
        url = f"http://127.0.0.1:{port}/?{urllib.parse.urlencode(query)}"
        t0 = time.perf_counter()
        wait = args.wait_for or ["[data-testid='stMetric']", "[data-testid='stDataFrame'] canvas",
                                 "[data-testid='stTextArea'] textarea", "[data-testid='stTextInput'] input"]
        screenshot(url, args.out, wait, height=args.height)
        print(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s in the browser)")
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
