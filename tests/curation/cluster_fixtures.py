"""Session fixtures for the cluster tests: a real S3 server (moto's S3 service, `moto_s3.py`) and a real two-node Ray
cluster (`ray start` twice on loopback, one CPU each, a small object store).

Both are started on first use by the test session (so `.ci/run`, which runs exactly the README's pytest
command, starts and stops them) and stopped at its end: every process is started in its own process group
and that group is terminated, never `ray stop` (which would stop other people's Ray on the machine).
Use them with `pytest_plugins = ["tests.curation.cluster_fixtures"]` in a test module.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


def _stop(proc: subprocess.Popen, timeout: float = 5) -> None:
    """SIGTERM the process group we started, then SIGKILL what is left of it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived their parent in the same group
    except (ProcessLookupError, PermissionError):
        pass


def _stop_all(procs: list[subprocess.Popen], timeout: float = 5) -> None:
    """SIGTERM every process group at once, wait for them together, then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    end = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs:
        _stop(proc, timeout=0)


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def bucket(self, prefix: str = "winnow") -> str:
        """A new, empty bucket."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def local_s3(log: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port until the block ends (bench/scale.py uses it too): its S3 service
    alone (`moto_s3.py` says why not `moto_server`)."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("moto_s3.py")), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(url, timeout=2).status == 200, "moto S3 server", 60, proc, log)
        yield S3Server(url, {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                             "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}, [proc])
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with local_s3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server, with its endpoint and credentials in this test's environment (as a user would set)."""
    for k, v in s3_server.env.items():
        monkeypatch.setenv(k, v)
    import fsspec

    fsspec.config.conf.pop("s3", None)
    _clear_s3fs_cache()
    return s3_server


def _clear_s3fs_cache() -> None:
    try:
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
    except ImportError:
        pass


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)


# A fixed two-node cluster needs no autoscaler monitor, no log monitor (drivers here do not print workers'
# logs) and no Ray client server; the dashboard agent's reporter samples every worker with psutil every 5 s
# by default. Turning these off saves their start-up and their polling CPU (docs/scale.md, "Ray settings").
QUIET_FLAGS = ["--include-log-monitor=false", "--no-monitor"]
QUIET_ENV = {"REPORTER_UPDATE_INTERVAL_MS": "60000", "RAY_enable_metrics_collection": "0"}


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([str(BIN / "ray"), "start", "--block", "--disable-usage-stats",
                                 "--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000",
                                 f"--node-manager-port={free_port()}", f"--object-manager-port={free_port()}",
                                 f"--dashboard-agent-listen-port={free_port()}",
                                 f"--dashboard-agent-grpc-port={free_port()}", f"--metrics-export-port={free_port()}",
                                 f"--runtime-env-agent-port={free_port()}", *QUIET_FLAGS, *args],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _tails(logs: Path, temp: str) -> str:
    """The end of each `ray start` log and of each raylet/GCS error log: what a failed start left behind."""
    out = []
    files = sorted(logs.glob("*.log")) + sorted(Path(temp).glob("session_*/logs/*.err"))
    for f in files:
        text = f.read_text(errors="replace").strip()
        if text:
            out.append(f"--- {f}\n{text[-1500:]}")
    return "\n".join(out)


START_TIMEOUT_S = float(os.environ.get("WINNOW_TEST_RAY_START_TIMEOUT", "300"))
ATTEMPT_S = 90.0


@contextmanager
def local_ray_cluster(extra_env: dict[str, str], logs: Path) -> Iterator[RayCluster]:
    """A Ray head and a second Ray node on this machine (one CPU each, 100 MB object stores) that share an auth
    token; their workers see `extra_env` (the S3 settings). This process joins as the driver (RAY_ADDRESS),
    the way a user's `winnow curate` would. Stopped (process groups) when the block ends.

    The block waits until both nodes are registered, up to START_TIMEOUT_S on a loaded machine (the second
    node is started again when it dies or hangs registering), and fails with the logs' tails when they are
    not."""
    import ray

    logs.mkdir(parents=True, exist_ok=True)
    temp = tempfile.mkdtemp(prefix="rw", dir="/tmp")  # short: Ray's socket paths must stay under 108 bytes
    port = free_port()
    # a busy machine registers a node slowly: Ray's default 30 s wait makes the second node give up
    env = {**os.environ, **extra_env, **QUIET_ENV, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex * 2,
           "RAY_raylet_start_wait_time_s": str(int(ATTEMPT_S))}
    env.pop("RAY_ADDRESS", None)
    cluster = RayCluster(f"127.0.0.1:{port}", env)
    old_env = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS")}
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        head = _ray_start(["--head", f"--port={port}", "--include-dashboard=false",
                           f"--ray-client-server-port={free_port()}", f"--temp-dir={temp}"], env, logs / "head.log")
        cluster.procs.append(head)
        try:
            _wait(lambda: "will now block" in (logs / "head.log").read_text(errors="replace"), "ray head",
                  deadline - time.monotonic(), head, logs / "head.log")
            os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": env["RAY_AUTH_TOKEN"],
                               "RAY_ADDRESS": cluster.address})
            _reload_ray_auth()
            # the second node only once the head is up: one started as soon as the GCS port answered hung
            # (seen at load 29)
            node = _ray_start([f"--address={cluster.address}"], env, logs / "node2.log")
            cluster.procs.append(node)
            ray.init(address=cluster.address, log_to_driver=False)
            for attempt in range(3):
                try:
                    # a node registers in 10-20 s on this machine under load; past ATTEMPT_S it is stuck
                    _wait(lambda: sum(n["Alive"] for n in ray.nodes()) == 2, "second ray node",
                          max(10.0, min(ATTEMPT_S, deadline - time.monotonic())), node, logs / "node2.log")
                    break
                except RuntimeError:
                    # on an overloaded machine a joining raylet can die registering (a Ray check on a slow GCS
                    # reply), or hang: start the node again rather than fail the session
                    if attempt == 2 or time.monotonic() > deadline:
                        raise
                    _stop(node)
                    cluster.procs.remove(node)
                    node = _ray_start([f"--address={cluster.address}"], env, logs / "node2.log")
                    cluster.procs.append(node)
        except RuntimeError as e:
            raise RuntimeError(f"the two-node Ray cluster did not start: {e}\n{_tails(logs, temp)}") from None
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop_all(list(reversed(cluster.procs)))
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reload_ray_auth()
        shutil.rmtree(temp, ignore_errors=True)


def _reload_ray_auth() -> None:
    """Ray reads RAY_AUTH_MODE/RAY_AUTH_TOKEN once per process: make this (driver) process read them again, as
    Ray's own tests do (ray._private.authentication_test_utils.reset_auth_token_state). A user's driver gets
    them from its environment at start."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@pytest.fixture(scope="session")
def ray_cluster(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    with local_ray_cluster(s3_server.env, tmp_path_factory.mktemp("ray")) as cluster:
        yield cluster
