"""The reader: formats, stable ids, quarantine of everything unreadable, sharding without loss."""

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from curation.errors import WinnowError
from curation.reader import Doc, Quarantined, Skipped, discover_inputs, iter_records


def _write_jsonl(path: Path, recs: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path


def test_jsonl_gz_parquet_read_alike(tmp_path: Path) -> None:
    recs = [{"id": f"d{i}", "text": f"document number {i}", "url": f"u{i}"} for i in range(7)]
    _write_jsonl(tmp_path / "a.jsonl", recs)
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in recs))
    pl.DataFrame(recs).write_parquet(tmp_path / "c.parquet")
    for name in ("a.jsonl", "b.jsonl.gz", "c.parquet"):
        docs = list(iter_records(discover_inputs([tmp_path / name])))
        assert [d.id for d in docs] == [r["id"] for r in recs]
        assert [d.text for d in docs] == [r["text"] for r in recs]
        assert json.loads(docs[0].metadata) == {"url": "u0"}


def test_stable_ids_when_absent(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "a.jsonl", [{"text": "one"}, {"text": "two"}])
    ids1 = [d.id for d in iter_records(discover_inputs([tmp_path]))]
    ids2 = [d.id for d in iter_records(discover_inputs([tmp_path]))]
    assert ids1 == ids2 and len(set(ids1)) == 2


def test_malformed_input_is_quarantined_with_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"text": "fine"}\nnot json\n{"id": 3}\n{"text": ""}\n{"text": "bad \xff byte"}\n[1, 2]\n'
                  b'{"text": 5}\n')
    (tmp_path / "empty.jsonl").write_bytes(b"")
    gz = tmp_path / "trunc.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"text": "a"}\n' * 50)[:-20])
    out = list(iter_records(discover_inputs([tmp_path])))
    q = [(r.file, r.line, r.reason) for r in out if isinstance(r, Quarantined)]
    reasons = {(f, line): reason for f, line, reason in q}
    f = f"{tmp_path.name}/bad.jsonl"
    assert "not valid JSON" in reasons[(f, 2)]
    assert "no 'text' field" in reasons[(f, 3)]
    assert "empty" in reasons[(f, 4)]
    assert "UTF-8" in reasons[(f, 5)]
    assert "not an object" in reasons[(f, 6)]
    assert "not a string" in reasons[(f, 7)]
    assert reasons[(f"{tmp_path.name}/empty.jsonl", 0)] == "empty file"
    assert any("unreadable" in r for (fn, _), r in reasons.items() if fn.endswith("trunc.jsonl.gz"))
    assert [r.text for r in out if isinstance(r, Doc) and r.source.endswith("bad.jsonl")] == ["fine"]


@pytest.mark.parametrize("world", [1, 2, 3])
def test_sharding_covers_every_record_once(tmp_path: Path, world: int) -> None:
    _write_jsonl(tmp_path / "a.jsonl", [{"text": f"t{i}"} for i in range(10)] + ["x"])
    pl.DataFrame({"text": [f"p{i}" for i in range(8)]}).write_parquet(tmp_path / "b.parquet")
    files = discover_inputs([tmp_path])
    seen = []
    for rank in range(world):
        seen += [(r.order if isinstance(r, Doc) else (r.file, r.line)) for r in iter_records(files, rank, world)]
    assert len(seen) == len(set(seen)) == 19


def test_missing_and_unsupported_inputs(tmp_path: Path) -> None:
    with pytest.raises(WinnowError, match="not found"):
        discover_inputs([tmp_path / "nope.jsonl"])
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(WinnowError, match="unsupported"):
        discover_inputs([tmp_path / "x.csv"])


def test_warc_pages_are_extracted_and_unusable_ones_counted_as_skipped(tmp_path: Path) -> None:
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    para = ("Winnow reads web archives through datatrove's WARC reader and its Trafilatura extractor, "
            "so the text of a page arrives without its menus. ") * 4
    script_first = ("(function(){var a=1;})();\n<html><body><article><h1>Scripted</h1><p>A page that starts "
                    f"with a script. {para}</p></article></body></html>")  # libmagic: application/javascript
    pages = [  # url, payload, Content-Type, WARC-Identified-Payload-Type
        ("http://example.com/a", f"<html><body><nav>Home | About</nav><article><h1>Title</h1><p>{para}</p>"
                                 f"<p>{para}</p></article></body></html>", "text/html; charset=utf-8", "text/html"),
        ("http://example.com/empty", "<html><body><script>var x = 1;</script></body></html>", "text/html",
         "text/html"),
        # no payload type: the HTTP header says HTML, though libmagic would sniff this as JavaScript
        ("http://example.com/js-looking", script_first, "text/html", None),
        ("http://example.com/logo.png", "\x89PNG not a page", "image/png", None),
    ]
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, html, ctype, ptype in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=BytesIO(html.encode()), http_headers=headers,
                                            warc_headers_dict={"WARC-Identified-Payload-Type": ptype} if ptype else {})
            writer.write_record(rec)
    out = list(iter_records(discover_inputs([path])))
    docs = [r for r in out if isinstance(r, Doc)]
    skipped = [r for r in out if isinstance(r, Skipped)]
    assert len(out) == len(pages)  # every response is a document or says why it is not
    assert [json.loads(d.metadata)["url"] for d in docs] == ["http://example.com/a", "http://example.com/js-looking"]
    assert "Trafilatura extractor" in docs[0].text and "Home | About" not in docs[0].text
    assert sorted(s.reason for s in skipped) == ["no main text in the page", "not HTML (image/png)"]


class _Body:
    """An object-store body (read(n) -> bytes) from byte `start` whose connection drops at byte `cut` (None:
    it does not)."""

    def __init__(self, data: bytes, start: int, cut: int | None) -> None:
        self.data, self.pos, self.cut = data, start, cut

    def read(self, n: int = -1) -> bytes:
        if self.cut is not None and self.pos >= self.cut:
            raise ConnectionResetError(104, "Connection reset by peer")
        end = min(len(self.data) if self.cut is None else self.cut, self.pos + (n if n and n > 0 else len(self.data)))
        chunk, self.pos = self.data[self.pos:end], end
        return chunk

    def close(self) -> None:
        pass


def test_a_streamed_input_resumes_where_it_broke_off_and_fails_when_it_keeps_breaking(tmp_path: Path) -> None:
    """A task reading its JSONL input as a stream from the store. Read whole, it gives the file's records; a
    connection dropped part-way (a reader paused by a long batch) is reopened at the byte it broke at, and the
    records are still the file's, each once, however many times that happens along the file; a body that keeps
    breaking at one byte, or fails after its last byte (where botocore checks length and checksum), stops the
    task with an error naming the object, where the same error (an OSError) from a local file quarantines the
    rest of the file as unreadable (the unread documents would be counted nowhere)."""
    import io

    from curation.objstore import STREAM_REOPENS, InputStreamError, _BodyStream
    from curation.reader import InputFile

    data = "".join(json.dumps({"id": f"d{i}", "text": f"document {i} " * 20}) + "\n" for i in range(300)).encode()
    (tmp_path / "c.jsonl").write_text(data.decode())
    expected = list(iter_records([InputFile(tmp_path / "c.jsonl", "c.jsonl", 0)]))
    assert len(expected) == 300

    def streamed(cuts: list[int | None]) -> tuple[InputFile, list[int]]:
        opened: list[int] = []

        def open_body(pos: int) -> _Body:
            opened.append(pos)
            return _Body(data, pos, cuts[min(len(opened) - 1, len(cuts) - 1)])

        f = InputFile(tmp_path / "absent.jsonl", "c.jsonl", 0,
                      stream=lambda: io.BufferedReader(_BodyStream(open_body, "s3://b/c.jsonl"), 4096))
        return f, opened

    f, opened = streamed([None])
    assert list(iter_records([f])) == expected and opened == [0]
    empty = InputFile(tmp_path / "absent.jsonl", "e.jsonl", 0,
                      stream=lambda: io.BufferedReader(_BodyStream(lambda pos: _Body(b"", pos, None), "s3://b/e"), 64))
    assert [(type(r), r.reason) for r in iter_records([empty])] == [(Quarantined, "empty file")]  # as a local one
    third, half = len(data) // 3, len(data) // 2
    f, opened = streamed([third, half, None])  # breaks twice, each time further on
    assert list(iter_records([f])) == expected and opened == [0, third, half]
    step = len(data) // (3 * STREAM_REOPENS)
    cuts = [step * (k + 1) for k in range(3 * STREAM_REOPENS - 1)] + [None]
    f, opened = streamed(cuts)  # breaks every `step` bytes: 3x the limit in all, never twice in a row
    assert list(iter_records([f])) == expected and opened == [0, *cuts[:-1]]
    for cut in (half, len(data)):  # breaks at one byte every time; fails after its last byte every time
        f, opened = streamed([cut])
        got: list = []
        with pytest.raises(InputStreamError, match=r"s3://b/c\.jsonl: reading broke off at byte"):
            for rec in iter_records([f]):
                got.append(rec)
        assert len(opened) == 1 + STREAM_REOPENS
        assert got == expected[:len(got)]
        assert len(got) < 300 if cut == half else len(got) == 300  # all read, and still an error, not the end


def test_a_local_file_that_fails_to_read_is_quarantined_as_unreadable(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The contrast the stream's own error exists for: an OSError reading a local file is a corrupt file."""
    import builtins

    from curation.reader import InputFile

    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"id": f"d{i}", "text": "x y z"}) + "\n" for i in range(5)))
    real_open = builtins.open

    class Breaks:
        def __init__(self, fh) -> None:  # noqa: ANN001
            self.fh = fh

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *a) -> None:  # noqa: ANN002
            self.fh.close()

        def __iter__(self):  # noqa: ANN204
            yield next(iter(self.fh))
            raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(builtins, "open", lambda *a, **k: Breaks(real_open(*a, **k)))
    recs = list(iter_records([InputFile(tmp_path / "c.jsonl", "c.jsonl", 0)]))
    assert isinstance(recs[0], Doc) and isinstance(recs[-1], Quarantined) and "unreadable" in recs[-1].reason
