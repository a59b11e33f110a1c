"""Preflight for runs that touch object storage or a Ray cluster: one clear line before any work starts.

Checked: every URL's scheme has an fsspec driver installed; S3 credentials can be found in the usual places
(AWS_* variables, profiles, instance roles); each bucket exists; every input exists; RAY_ADDRESS answers.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from curation.errors import WinnowError
from curation.objstore import is_remote

DRIVER_HINT = {"s3": "pip install s3fs (or winnow[ray])", "gs": "pip install gcsfs", "gcs": "pip install gcsfs",
               "az": "pip install adlfs", "abfs": "pip install adlfs", "hf": "pip install huggingface_hub"}


def scheme(url: str) -> str:
    return str(url).split("://", 1)[0].lower()


def check_driver(url: str) -> None:
    """The URL's scheme is known to fsspec and its driver package imports."""
    import fsspec

    proto = scheme(url)
    try:
        fsspec.get_filesystem_class(proto)
    except ValueError:
        raise WinnowError(f"{url}: no filesystem driver for '{proto}://' (fsspec does not know it)") from None
    except ImportError:
        hint = DRIVER_HINT.get(proto, "install its fsspec driver")
        raise WinnowError(f"{url}: the driver for '{proto}://' is not installed ({hint})") from None


def check_s3_credentials(url: str) -> None:
    """Credentials from the environment, profiles or an instance role; never from a recipe."""
    import botocore.session

    if os.environ.get("AWS_NO_SIGN_REQUEST", "").lower() in ("1", "true", "yes"):
        return
    try:
        creds = botocore.session.get_session().get_credentials()
    except Exception as e:  # noqa: BLE001 - a broken profile file is a user-fixable problem
        raise WinnowError(f"{url}: cannot load AWS credentials: {e}") from None
    if creds is None:
        raise WinnowError(f"{url}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                          "or AWS_PROFILE; for a public bucket AWS_NO_SIGN_REQUEST=1)")


def _bucket(url: str) -> str:
    return str(url).split("://", 1)[1].split("/", 1)[0]


def check_url(url: str, *, must_exist: bool) -> None:
    """Driver, credentials, bucket, and (for inputs) the object or prefix itself."""
    from fsspec.core import url_to_fs

    check_driver(url)
    proto = scheme(url)
    if proto in ("s3", "s3a"):
        check_s3_credentials(url)
    try:
        fs, path = url_to_fs(url)
        bucket = _bucket(url)
        if proto in ("s3", "s3a", "gs", "gcs") and not fs.exists(bucket):
            raise WinnowError(f"{url}: bucket '{bucket}' does not exist (or these credentials cannot see it)")
        if must_exist and not fs.exists(path):
            raise WinnowError(f"input not found: {url}")
    except WinnowError:
        raise
    except PermissionError as e:
        raise WinnowError(f"{url}: access denied ({e})") from None
    except Exception as e:  # noqa: BLE001 - network, auth and endpoint errors of any driver
        raise WinnowError(f"{url}: cannot reach the object store: {type(e).__name__}: {e}") from None


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """A Ray address that does not answer stops the run now, not after ray.init's long retries."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise WinnowError(f"RAY_ADDRESS {address!r} is not host:port")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise WinnowError(f"RAY_ADDRESS {address} does not answer ({e.strerror or e}); is the Ray head running?"
                          ) from None


def preflight(inputs: list[str | Path], out: str | Path, against: list[str | Path], executor: str) -> None:
    """Everything a remote or cluster run needs, checked before any work."""
    for p in inputs:
        if is_remote(p):
            check_url(str(p), must_exist=True)
    for p in against:
        if is_remote(p):
            check_url(str(p), must_exist=True)
    if is_remote(out):
        check_url(str(out), must_exist=False)
    if executor == "ray":
        check_ray_address(os.environ.get("RAY_ADDRESS"))
