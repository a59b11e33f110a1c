"""`winnow app`: serve the Streamlit app on the workspace (Ctrl-C stops it cleanly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from app.options import DEFAULT_WORKSPACE, WorkspaceOpt
from app.workspace import open_workspace
from curation.errors import WinnowError


def streamlit_argv(workspace: Path, port: int, headless: bool, address: str | None = None) -> list[str]:
    """The `streamlit run` command line for the app (also used by the browser test and the screenshot)."""
    script = Path(__file__).resolve().parent.parent / "streamlit_app.py"
    argv = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.headless", "true" if headless else "false", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]
    if address:
        argv += ["--server.address", address]
    return argv + ["--", "--workspace", str(workspace)]


def launch_app(workspace: Path, port: int = 8501, headless: bool = False, address: str | None = "localhost") -> int:
    """Serve the app until Ctrl-C (or the server exits); return the exit code (0 after Ctrl-C).

    `winnow demo --app` calls this at the end of the demo.
    """
    import importlib.util
    import os

    if importlib.util.find_spec("streamlit") is None:
        raise WinnowError("the app needs Streamlit: pip install 'winnow[app]'")
    ws = open_workspace(workspace)
    env = {**os.environ, "WINNOW_WORKSPACE": str(ws)}
    typer.echo(f"serving the Winnow app for workspace {ws} on http://{address or 'localhost'}:{port} "
               "(Ctrl-C to stop)")
    proc = subprocess.Popen(streamlit_argv(ws, port, headless, address), env=env)
    try:
        rc = proc.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to streamlit too; let it shut down
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        typer.echo("app stopped")
        return 0
    return 0 if rc in (0, -2) else rc


def app_cmd(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    port: int = typer.Option(8501, "--port", help="Port to serve the app on."),
    address: str = typer.Option("localhost", "--address",
                                help="Address to bind; 0.0.0.0 serves other machines (the app can start jobs)."),
    headless: bool = typer.Option(False, "--headless/--no-headless",
                                  help="Do not open a browser (for servers and CI)."),
) -> None:
    """Open the Winnow app: runs, corpus browser with removal reasons, job launcher, training and eval pages."""
    rc = launch_app(workspace, port, headless, address)
    if rc:
        raise typer.Exit(rc)


def register(root: typer.Typer) -> None:
    root.command("app")(app_cmd)
