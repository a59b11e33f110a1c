"""curation/imports.py: light imports that must not change what the imported libraries do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys
import curation  # installs the finder
import datatrove.executor, datatrove.io as dio
light = "huggingface_hub.hf_file_system" not in sys.modules
source_ok = "class DataFolder" in dio.__loader__.get_source("datatrove.io")  # its loader answers as a file's does
from fsspec.implementations.local import LocalFileSystem
local_is_hf = isinstance(LocalFileSystem(), dio.HfFileSystem)
from huggingface_hub import HfFileSystem  # the real class for everyone else, loaded now
import fsspec
hf = fsspec.filesystem("hf")  # fsspec's registry finds the real class too
print(json.dumps({"light": light, "source_ok": source_ok, "local_is_hf": local_is_hf, "real": HfFileSystem.__module__,
                  "hf_is_hf": isinstance(hf, dio.HfFileSystem), "fsspec_hf": type(hf).__module__,
                  "folder_hf": isinstance(dio._get_true_fs(dio.DataFolder("hf://datasets/x/y").fs), dio.HfFileSystem)}))
"""


def test_datatrove_io_loads_without_the_hub_client_and_still_knows_an_hf_file_system() -> None:
    p = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["light"], "importing datatrove loaded huggingface_hub.hf_file_system"
    assert r["source_ok"]
    assert r["local_is_hf"] is False
    assert r["real"] == r["fsspec_hf"] == "huggingface_hub.hf_file_system"
    assert r["hf_is_hf"] is True and r["folder_hf"] is True
