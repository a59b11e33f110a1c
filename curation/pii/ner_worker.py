"""A PII NER worker process: `python -m curation.pii.ner_worker READ_FD WRITE_FD` (started by `ner.NerModel`).

It imports spaCy and nothing that starts a thread (see `ner.py` for why that matters), loads the pipeline
named in the first message, answers `("ready", description)` or `("error", why)`, then turns each list of
texts it receives into `("ok", spans per text)` until it receives None or its input closes.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection


def serve(inbox: Connection, outbox: Connection) -> None:
    from curation.pii.ner import describe_pipeline, load_ner_pipeline, pipeline_spans

    setup = inbox.recv()
    try:
        nlp = load_ner_pipeline(setup["model"])
    except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it there
        outbox.send(("error", f"could not load spaCy pipeline {setup['model']!r}: {type(e).__name__}: {e}"))
        return
    outbox.send(("ready", describe_pipeline(setup["model"], nlp)))
    while True:
        try:
            texts = inbox.recv()
        except EOFError:
            return
        if texts is None:
            return
        try:
            outbox.send(("ok", pipeline_spans(nlp, texts, setup["label_map"], setup["batch_size"])))
        except Exception as e:  # noqa: BLE001
            outbox.send(("error", f"{type(e).__name__}: {e}"))


def main() -> None:
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    try:
        serve(inbox, outbox)
    finally:
        inbox.close()
        outbox.close()


if __name__ == "__main__":
    main()
