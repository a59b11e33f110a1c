"""`winnow app`: serve the Streamlit app on the workspace, safe by default.

- It binds 127.0.0.1. Any other `--address` needs `--allow-remote`, and then every browser must give the
  access token this command prints (in the URL it prints, or typed on the first page).
- Paths typed into the app are confined to the workspace and the `--allow DIR` folders (app/ui/confine.py).
- SIGINT or SIGTERM stops the Streamlit server too (and the server dies with this process on Linux).
- Streamlit always runs headless, so it never waits on its first-run e-mail prompt; this command opens
  the browser itself unless `--headless`.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.ui.confine import ALLOW_ENV, TOKEN_ENV, Allowed
from app.workspace import open_workspace
from curation.errors import WinnowError

LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


def streamlit_argv(workspace: Path, port: int, headless: bool = True, address: str | None = "127.0.0.1") -> list[str]:
    """The `streamlit run` command line for the app (also used by the browser test and the screenshot).

    `headless` is accepted for callers' sake, but the server always runs headless: a non-headless
    Streamlit asks for an e-mail address on first run and waits on the terminal for it.
    """
    del headless
    script = Path(__file__).resolve().parent.parent / "streamlit_app.py"
    argv = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
            "--server.address", address or "127.0.0.1"]
    return argv + ["--", "--workspace", str(workspace)]


def check_address(address: str, allow_remote: bool) -> str | None:
    """The access token to require (None on a local address); WinnowError for a remote one without consent."""
    if address in LOCAL_ADDRESSES:
        return None
    if not allow_remote:
        raise WinnowError(f"--address {address} serves other machines, and the app can start jobs and read files: "
                          "add --allow-remote to do so (the app then requires a token it prints)")
    return secrets.token_urlsafe(18)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGTERM if `winnow app` itself is killed (even with SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Stop(Exception):
    """SIGTERM arrived: leave the wait and stop the server."""


def _open_browser_when_up(url: str, health: str, proc: subprocess.Popen) -> None:
    import webbrowser

    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(health, timeout=2) as r:
                if r.status == 200:
                    webbrowser.open(url)
                    return
        except OSError:
            time.sleep(0.3)


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch_app(workspace: Path, port: int = 8501, headless: bool = False, address: str | None = "127.0.0.1",
               allow: list[Path] | None = None, allow_remote: bool = False) -> int:
    """Serve the app until Ctrl-C, SIGTERM or the server exits; return the exit code (0 after a stop).

    `winnow demo --app` calls this at the end of the demo.
    """
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        raise WinnowError("the app needs Streamlit: pip install 'winnow[app]'")
    address = address or "127.0.0.1"
    token = check_address(address, allow_remote)
    ws = open_workspace(workspace)
    extra = []
    for d in allow or []:
        p = Path(d).expanduser()
        if not p.is_dir():
            raise WinnowError(f"--allow {d}: no such folder")
        extra.append(p)
    allowed = Allowed.make(ws, extra)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    env.update({"WINNOW_WORKSPACE": str(ws), ALLOW_ENV: os.pathsep.join(str(e) for e in allowed.extra)})
    if token:
        env[TOKEN_ENV] = token
    host = "localhost" if address in LOCAL_ADDRESSES else address
    url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    typer.echo(f"serving the Winnow app for workspace {ws} on {url} (Ctrl-C to stop)")
    if token:
        typer.echo(f"access token (required by every browser): {token}")
    if allowed.extra:
        typer.echo("folders the app may also open: " + ", ".join(str(e) for e in allowed.extra))
    proc = subprocess.Popen(streamlit_argv(ws, port, True, address), env=env, preexec_fn=_die_with_parent)

    def on_term(signum: int, frame: object) -> None:
        raise _Stop

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        if not headless:
            threading.Thread(target=_open_browser_when_up, daemon=True,
                             args=(url, f"http://127.0.0.1:{port}/_stcore/health", proc)).start()
        rc = proc.wait()
    except (KeyboardInterrupt, _Stop):  # Ctrl-C reached the server too; SIGTERM only us: stop it either way
        _stop_server(proc)
        typer.echo("app stopped")
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc.poll() is None:
            _stop_server(proc)
    return 0 if rc in (0, -2, -15) else rc


def app_cmd(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    port: int = typer.Option(8501, "--port", help="Port to serve the app on."),
    address: str = typer.Option("127.0.0.1", "--address",
                                help="Address to bind. Anything but 127.0.0.1/localhost needs --allow-remote."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Serve other machines (the app can start jobs): requires a printed token."),
    allow: list[Path] = typer.Option([], "--allow",
                                     help="A folder outside the workspace the app may open (repeat for several)."),
    headless: bool = typer.Option(False, "--headless/--no-headless",
                                  help="Do not open a browser (for servers and CI)."),
) -> None:
    """Open the Winnow app: runs, corpus browser with live re-thresholding, job forms, training and eval pages."""
    rc = launch_app(workspace, port, headless, address, allow=allow, allow_remote=allow_remote)
    if rc:
        raise typer.Exit(rc)


def register(root: typer.Typer) -> None:
    root.command("app")(app_cmd)
