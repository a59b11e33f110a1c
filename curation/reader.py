"""Read corpus files into documents, one task's share at a time, quarantining what cannot be read.

Inputs: JSONL (`.jsonl`, `.json`, `.ndjson`, optionally `.gz`), Parquet, and WARC (`.warc`, `.warc.gz`)
through datatrove's WARC record handling and its Trafilatura extractor. A task (rank r of w) takes every
record whose position p in its file has p % w == r, so even a single file spreads over all workers.

Every record becomes either a document or a quarantine entry `{file, line, reason}` (line is 1-based for
JSONL, the row index for Parquet, the record index for WARC; 0 for a whole-file problem).
"""

from __future__ import annotations

import codecs
import functools
import gzip
import itertools
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import xxhash

from curation.errors import WinnowError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet",)
WARC_SUFFIXES = (".warc", ".warc.gz")
ALL_SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES + WARC_SUFFIXES

# position p of file i gets order i * ORDER_STRIDE + p: a global, stable, sortable position
ORDER_STRIDE = 1 << 40


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel: str  # path relative to the input argument it came from: part of stable ids
    index: int  # position in the sorted input list
    # a plain JSONL file read as a stream (an object-store body) instead of from `path`, which then only names
    # it; a failed stream raises (`InputStreamError`), it is never quarantined as a corrupt file
    stream: Callable[[], IO[bytes]] | None = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> str:
        name = self.path.name.lower()
        if name.endswith(PARQUET_SUFFIXES):
            return "parquet"
        if name.endswith(WARC_SUFFIXES):
            return "warc"
        return "jsonl"


@dataclass
class Doc:
    id: str
    text: str
    order: int
    source: str
    metadata: str  # JSON text of the remaining fields


@dataclass
class Quarantined:
    file: str
    line: int
    reason: str


@dataclass
class Skipped:
    """A record that is not a usable document but not broken either (a WARC response that holds no page
    text): counted in the manifest as `skipped`, so input = kept + removed + quarantined + skipped."""

    file: str
    line: int
    reason: str


def _walk(folder: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """One walk of an input folder: its corpus files (sorted), and the other files (hidden ones aside) as
    `{file, reason}`."""
    corpus, other = [], []
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        if f.name.lower().endswith(ALL_SUFFIXES):
            corpus.append(f)
        elif not any(part.startswith(".") for part in f.relative_to(folder).parts):
            other.append({"file": f"{folder.name}/{f.relative_to(folder)}",
                          "reason": f"unsupported file type (expected one of {', '.join(ALL_SUFFIXES)})"})
    return corpus, other


_BOM = codecs.BOM_UTF8
MAX_SKIPPED_LISTED = 1000  # a folder of many other files must not bloat run.json and every manifest


def skipped_files_record(folders: list[str | Path], walked: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """run.json's record of the input folders' unsupported files, made when the run is scored (a later mix
    reports the folder as it was then): the first MAX_SKIPPED_LISTED of them and how many there were. `walked`:
    the entries `discover_inputs` already found, so the folders are not walked again."""
    if walked is None:
        walked = [e for d in dict.fromkeys(Path(x) for x in folders) if d.is_dir() for e in _walk(d)[1]]
    return {"skipped_files": walked[:MAX_SKIPPED_LISTED], "skipped_files_total": len(walked)}


_WARNED: set[tuple[str, ...]] = set()


def discover_inputs(paths: list[str | Path], skipped: list[dict[str, str]] | None = None) -> list[InputFile]:
    """Expand files and folders (recursively) into a sorted list of readable corpus files. Other files in a
    folder are left out with a warning on stderr (once per process) naming them, and added to `skipped` when
    given (for `skipped_files_record`)."""
    found: list[tuple[Path, str]] = []
    walked: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files, other = _walk(p)
            if skipped is not None and p not in walked:  # a folder given twice is listed once
                skipped += other
                walked.add(p)
            if not files:
                raise WinnowError(f"no corpus files ({', '.join(ALL_SUFFIXES)}) under {p}")
            found += [(f, f"{p.name}/{f.relative_to(p)}") for f in files]
            left = [e["file"] for e in other]
            if left and (key := (str(p.absolute()), *left)) not in _WARNED:
                _WARNED.add(key)
                names = ", ".join(left[:10]) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
                print(f"warning: skipping {len(left)} files of an unsupported type under {p}: {names} "
                      f"(supported: {', '.join(ALL_SUFFIXES)})", file=sys.stderr)
        elif p.is_file():
            if not p.name.lower().endswith(ALL_SUFFIXES):
                raise WinnowError(f"{p}: unsupported file type (expected one of {', '.join(ALL_SUFFIXES)})")
            found.append((p, p.name))
        else:
            raise WinnowError(f"input not found: {p}")
    seen: set[str] = set()
    read: set[Path] = set()
    again: list[str] = []
    out = []
    for path, rel in found:
        real = path.resolve()
        if real in read:  # the same file named twice (or a folder and a file in it): read once
            again.append(str(path))
            continue
        read.add(real)
        i = len(out)
        if rel in seen:
            rel = f"{rel}#{i}"
        seen.add(rel)
        out.append(InputFile(path=path.absolute(), rel=rel, index=i))
    if again:
        print(f"warning: {len(again)} input file(s) given more than once, read once: {', '.join(again[:5])}"
              + (" ..." if len(again) > 5 else ""), file=sys.stderr)
    return out


def stable_id(rel: str, position: int) -> str:
    """An id made from the source file and position: the same input gives the same id on every run."""
    return xxhash.xxh64_hexdigest(f"{rel}:{position}")


def _make_doc(rec: Any, f: InputFile, pos: int, text_field: str, id_field: str) -> Doc | Quarantined:
    if not isinstance(rec, dict):
        return Quarantined(f.rel, pos, f"record is a JSON {type(rec).__name__}, not an object")
    text = rec.get(text_field)
    if text is None:
        return Quarantined(f.rel, pos, f"no '{text_field}' field")
    if not isinstance(text, str):
        return Quarantined(f.rel, pos, f"'{text_field}' is {type(text).__name__}, not a string")
    if not text.strip():
        return Quarantined(f.rel, pos, f"'{text_field}' is empty")
    rid = rec.get(id_field)
    doc_id = str(rid) if rid is not None and str(rid) != "" else stable_id(f.rel, pos)
    meta = {k: v for k, v in rec.items() if k not in (text_field, id_field, "source")}
    source = rec.get("source")
    try:
        meta_json = orjson.dumps(meta, default=str).decode() if meta else "{}"
    except TypeError:
        meta_json = "{}"
    return Doc(doc_id, text, f.index * ORDER_STRIDE + pos, str(source) if source else f.rel, meta_json)


def _iter_jsonl(f: InputFile, rank: int, world: int, text_field: str, id_field: str
                ) -> Iterator[Doc | Quarantined]:
    opener = gzip.open if f.path.name.lower().endswith(".gz") else open
    any_line = False
    lineno = 0
    try:
        with (f.stream() if f.stream is not None else opener(f.path, "rb")) as fh:
            numbered: Iterator[tuple[int, bytes]] = enumerate(fh, start=1)
            if _is_plain_json(f):  # a .json file may hold one JSON array of records instead of JSON lines
                head = []
                for lineno, raw in numbered:
                    head.append((lineno, raw))
                    if raw.removeprefix(_BOM).strip():
                        break
                first = head[-1][1].removeprefix(_BOM) if head else b""
                records = _array_records(first, fh, rank, lambda: _blank_rest(numbered, head, lambda item: item[1])
                                         ) if first.lstrip().startswith(b"[") else None
                if records is not None:
                    yield from _json_array(f, records, rank, text_field, id_field)
                    return
                numbered = itertools.chain(head, numbered)
            for lineno, raw in numbered:
                if lineno == 1 and raw.startswith(_BOM):  # Windows tools' byte-order mark: not part of the JSON
                    raw = raw[len(_BOM):]
                if not raw.strip():
                    continue
                any_line = True
                if lineno % world != rank:
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield Quarantined(f.rel, lineno, f"not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 4]!r})")
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    yield Quarantined(f.rel, lineno, f"not valid JSON: {e}")
                    continue
                yield _make_doc(rec, f, lineno, text_field, id_field)
    except (OSError, EOFError, zlib.error) as e:
        if rank == 0:
            yield Quarantined(f.rel, lineno + 1, f"file unreadable after line {lineno}: {e}")
        return
    if not any_line and rank == 0:
        yield Quarantined(f.rel, 0, "empty file")


def _blank_rest(lines: Iterator[Any], keep: list[Any], raw_of: Any = lambda x: x) -> bool:  # noqa: ANN401
    """Whether nothing but blank lines follows (read up to the first non-blank one, which is kept in `keep` with
    those before it): a one-line array is the whole file only then; with records after it the file is JSON
    lines, and its array line is quarantined like any line that is not an object, never its followers lost."""
    for item in lines:
        keep.append(item)
        if raw_of(item).strip():
            return False
    return True


def _is_plain_json(f: InputFile) -> bool:
    """A `.json` (or `.json.gz`) file, which may hold one JSON array of records rather than JSON lines."""
    return f.path.name.lower().endswith((".json", ".json.gz"))


def _array_records(first: bytes, fh: IO[bytes], rank: int, rest_blank: Callable[[], bool]
                   ) -> list[Any] | str | None:
    """A `.json` file whose first line opens an array: its records (a list), an error text when it is a broken
    array, or None when the file is JSON lines after all (its first line is a whole JSON value that is not a
    list of objects, a header row say, or a one-line array with records after it: `rest_blank`). A
    pretty-printed array (the first line alone does not parse) is read whole by the first task only; the other
    tasks get no records of it (an empty list), so it is parsed once."""
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        if rank != 0:
            return []
        try:
            value = orjson.loads(first + fh.read())
        except orjson.JSONDecodeError as e:
            return f"starts a JSON array that is not valid JSON: {e}"
        return value if isinstance(value, list) else "not a JSON array of records, nor JSON lines"
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value) and rest_blank():
        return value if rank == 0 else []  # the whole array on one line
    return None


def _json_array(f: InputFile, records: list[Any] | str, rank: int, text_field: str, id_field: str
                ) -> Iterator[Doc | Quarantined]:
    """The records of a `.json` file holding one JSON array (a pretty-printed export), each at its position in
    the array (1-based), all in the first task: JSON lines would have quarantined every line of it."""
    if rank != 0:
        return
    if isinstance(records, str):
        yield Quarantined(f.rel, 1, records)
        return
    if not records:
        yield Quarantined(f.rel, 0, "empty file")
    for pos, rec in enumerate(records, start=1):
        yield _make_doc(rec, f, pos, text_field, id_field)


@dataclass
class ArrayHead:
    """The first elements of a `.json` file that holds one JSON array, and how much of the file they took."""

    records: list[Any]
    complete: bool  # the array ended within `records`: they are all of it
    nbytes: int  # bytes of the file up to the end of the last of `records`
    count: int | None = None  # elements in the whole array, when it was all decoded (complete, or on one line)


_SEPARATORS = re.compile(r"[\s,]*")
SAMPLE_BYTES = 1 << 28  # the most of a JSON array that sampling its first records reads


def json_array_head(f: InputFile, limit: int) -> ArrayHead | None:
    """The first `limit` elements of a `.json` file that the reader reads as one JSON array (see
    `_array_records`: the same test), or None when it reads the file as JSON lines (or cannot open it).

    A pretty-printed array is decoded element by element from as much of the file as those elements need,
    so a check that samples a few records does not parse a whole (possibly huge) array that the reader's
    first task then parses again. The answer is kept for the file as it is now (its size and modification
    time): `curate` asks twice, for the fields check and for the progress total."""
    if not _is_plain_json(f):
        return None
    try:
        st = f.path.stat()
    except OSError:
        return None
    return _json_array_head(str(f.path), st.st_size, st.st_mtime_ns, limit)


@functools.lru_cache(maxsize=16)
def _json_array_head(path: str, size: int, mtime_ns: int, limit: int) -> ArrayHead | None:
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            nbytes = 0
            first = b""
            for raw in fh:
                nbytes += len(raw)
                first = raw.removeprefix(_BOM)
                if first.strip():
                    break
            if not first.lstrip().startswith(b"["):
                return None
            try:
                value = orjson.loads(first)
            except orjson.JSONDecodeError:
                return _stream_array(fh, first, nbytes, limit)
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value) and _blank_rest(fh, []):
                return ArrayHead(value[:limit], len(value) <= limit, nbytes, count=len(value))
            return None
    except (OSError, EOFError, zlib.error):
        return None


def _stream_array(fh: IO[bytes], first: bytes, fed: int, limit: int) -> ArrayHead:
    """Up to `limit` elements of the array whose first line is `first` (the file's first `fed` bytes end
    with it) and whose rest is in `fh`, each decoded once the bytes read hold it whole. Stops early at a
    broken element, or after `SAMPLE_BYTES` (a sample; a broken array is not read whole twice)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    text = utf8.decode(first)
    pos = text.index("[") + 1
    chunk = 1 << 16
    records: list[Any] = []
    eof = False
    while len(records) < limit:
        pos = _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string too
        if text.startswith("]", pos):
            return ArrayHead(records, True, fed - len(text[pos + 1:].encode()), count=len(records))
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            if eof or fed >= SAMPLE_BYTES:  # a broken (or cut) array: the reader quarantines it whole
                break
            more = fh.read(chunk)
            chunk = min(chunk * 2, 1 << 24)
            fed += len(more)
            eof = not more
            text = text[pos:] + utf8.decode(more, final=eof)
            pos = 0
            continue
        records.append(value)
    return ArrayHead(records, False, fed - len(text[pos:].encode()))


def _iter_parquet(f: InputFile, rank: int, world: int, text_field: str, id_field: str
                  ) -> Iterator[Doc | Quarantined]:
    import pyarrow.parquet as pq  # here, not at the top: listing inputs needs no Arrow

    try:
        pf = pq.ParquetFile(f.path)
    except Exception as e:  # noqa: BLE001 - any arrow error means the file cannot be read
        if rank == 0:
            yield Quarantined(f.rel, 0, f"not a readable Parquet file: {e}")
        return
    if text_field not in pf.schema_arrow.names:
        if rank == 0:
            yield Quarantined(f.rel, 0, f"no '{text_field}' column (columns: {', '.join(pf.schema_arrow.names)})")
        return
    if pf.metadata.num_rows == 0 and rank == 0:
        yield Quarantined(f.rel, 0, "empty file")
        return
    row = 0
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        try:
            table = pf.read_row_group(g)
        except Exception as e:  # noqa: BLE001 - a corrupt row group is quarantined, the rest is read
            # one entry per row it held, so input = kept + removed + quarantined still counts every row
            for r in range(row, row + n):
                if r % world == rank:
                    yield Quarantined(f.rel, r, f"row group {g} unreadable: {e}")
            row += n
            continue
        for rec in table.to_pylist():
            if row % world == rank:
                yield _make_doc(rec, f, row, text_field, id_field)
            row += 1


_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _warc_payload(record: Any) -> dict[str, Any] | str | None:
    """A response record's HTML and metadata; a reason string when it holds no usable page; None for records
    that are not pages at all (requests, metadata, warcinfo), which are not input documents.

    Like datatrove's `process_record`, but the HTTP Content-Type is trusted before libmagic's sniffing (which
    reads some HTML pages as JavaScript), and every page that is not used says why.
    """
    if record.rec_type not in ("response", "conversion"):
        return None
    mime = record.rec_headers.get("WARC-Identified-Payload-Type")
    if mime is None and record.http_headers is not None:
        ctype = record.http_headers.get_header("Content-Type")
        mime = ctype.split(";")[0].strip().lower() if ctype else None
    content = record.content_stream().read()
    if mime is None:
        import magic

        mime = magic.from_buffer(content, mime=True)
    if mime not in _HTML_TYPES and not (record.rec_type == "conversion" and mime == "text/plain"):
        return f"not HTML ({mime})"
    try:
        html = content.decode("utf-8")
    except UnicodeDecodeError:
        import cchardet

        enc = cchardet.detect(content)["encoding"]
        try:
            html = content.decode(enc) if enc else None
        except (UnicodeDecodeError, LookupError):
            html = None
        if html is None:
            return "bytes in no known encoding"
    return {"text": html, "id": record.rec_headers.get("WARC-Record-ID"),
            "url": record.rec_headers.get("WARC-Target-URI"), "date": record.rec_headers.get("WARC-Date")}


def _iter_warc(f: InputFile, rank: int, world: int) -> Iterator[Doc | Quarantined | Skipped]:
    from datatrove.pipeline.extractors import Trafilatura
    from warcio.archiveiterator import ArchiveIterator

    extractor = Trafilatura(favour_precision=True)
    pos = -1
    pages = False  # any response/conversion record in the whole file (every task sees every record's type)
    try:
        with open(f.path, "rb") as fh:
            for pos, record in enumerate(ArchiveIterator(fh)):
                pages = pages or record.rec_type in ("response", "conversion")
                if pos % world != rank:
                    continue
                data = _warc_payload(record)
                if data is None:
                    continue
                if isinstance(data, str):
                    yield Skipped(f.rel, pos, data)
                    continue
                url = data.get("url")
                try:
                    text = extractor.extract(data["text"]) or ""
                except Exception as e:  # noqa: BLE001 - trafilatura raises many kinds
                    yield Quarantined(f.rel, pos, f"HTML extraction failed: {e}")
                    continue
                if not text.strip():
                    yield Skipped(f.rel, pos, "no main text in the page")
                    continue
                meta = orjson.dumps({"url": url, "date": data.get("date")}, default=str).decode()
                yield Doc(str(data.get("id") or stable_id(f.rel, pos)), text, f.index * ORDER_STRIDE + pos,
                          f.rel, meta)
    except Exception as e:  # noqa: BLE001 - a corrupt archive stops this file, not the run
        if rank == 0:
            yield Quarantined(f.rel, pos + 1, f"WARC unreadable after record {pos}: {e}")
        return
    if not pages and rank == 0:  # like an empty JSONL or Parquet file: said, not silently nothing
        yield Quarantined(f.rel, 0, "empty file" if pos < 0 else
                          f"empty file (no response or conversion record among its {pos + 1} records)")


def task_files(files: list[Any], rank: int, world: int) -> list[Any]:
    """The files task `rank` of `world` opens: with at least as many files as tasks, whole files
    (file i -> task i % world), so a task never reads another's files (on an object store it fetches only
    its own); with fewer files, every file, whose records it shares by position."""
    return list(files[rank::world]) if len(files) >= world else list(files)


def iter_records(files: list[InputFile], rank: int = 0, world: int = 1, text_field: str = "text",
                 id_field: str = "id") -> Iterator[Doc | Quarantined | Skipped]:
    """Documents and quarantine entries of task `rank` of `world`, in input order."""
    if world > 1 and len(files) >= world:
        for f in task_files(files, rank, world):
            yield from iter_records([f], 0, 1, text_field, id_field)
        return
    for f in files:
        if f.kind == "jsonl":
            yield from _iter_jsonl(f, rank, world, text_field, id_field)
        elif f.kind == "parquet":
            yield from _iter_parquet(f, rank, world, text_field, id_field)
        else:
            yield from _iter_warc(f, rank, world)


def _sampled_keys(f: InputFile, sample: int) -> dict[str, None] | None:
    """The field names of the first `sample` objects of a JSON file, in the order records name them: the
    elements of one JSON array when the reader reads it as an array, its lines otherwise. None when it
    holds no readable object (the reader quarantines it record by record)."""
    keys: dict[str, None] = {}
    head = json_array_head(f, sample)
    if head is not None:
        objects = [rec for rec in head.records if isinstance(rec, dict)]
        for rec in objects:
            keys.update(dict.fromkeys(rec))
        return keys if objects else None
    opener = gzip.open if f.path.name.lower().endswith(".gz") else open
    n = 0
    try:
        with opener(f.path, "rb") as fh:
            for raw in fh:
                if n >= sample:
                    break
                if not raw.strip():
                    continue
                try:
                    rec = orjson.loads(raw.removeprefix(_BOM))
                except orjson.JSONDecodeError:
                    continue
                if isinstance(rec, dict):
                    n += 1
                    keys.update(dict.fromkeys(rec))
    except (OSError, EOFError, zlib.error):
        return None
    return keys if n else None


def check_fields(files: list[InputFile], text_field: str, id_field: str | None, sample: int = 1000) -> None:
    """Before any work: a text (or explicitly named id) field that no record has is a user error.

    Reads the first `sample` records of each JSONL file or JSON array and each Parquet schema (WARC has no
    fields). Files that hold no readable object at all say nothing here: the reader quarantines them record by
    record.
    """
    seen: dict[str, None] = {}
    wanted = [f for f in (text_field, id_field) if f]
    found = {f: False for f in wanted}
    where: list[str] = []
    for f in files:
        if f.kind == "warc":
            found = {k: True for k in found}
            continue
        keys: dict[str, None] = {}  # in the order records name them
        if f.kind == "parquet":
            import pyarrow.parquet as pq

            try:
                keys = dict.fromkeys(pq.ParquetFile(f.path).schema_arrow.names)
            except Exception:  # noqa: BLE001 - the reader quarantines an unreadable file
                continue
        else:
            sampled = _sampled_keys(f, sample)
            if sampled is None:
                continue
            keys = sampled
        where.append(f.rel)
        seen.update(keys)
        for w in wanted:
            found[w] = found[w] or w in keys
    if not where:
        return
    for w in wanted:
        if not found[w]:
            flag = "--text-field" if w == text_field else "--id-field"
            fields = ", ".join(list(seen)[:20]) or "none"
            raise WinnowError(f"no record has the field {w!r} ({flag}); the records have: {fields} "
                              f"(looked at the first {sample} records of {', '.join(where[:3])}"
                              f"{' and more' if len(where) > 3 else ''})")
