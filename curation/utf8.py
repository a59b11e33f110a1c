"""Decoding a user's text file: one error naming the file, the line and the byte that is not UTF-8."""

from __future__ import annotations

from pathlib import Path

from curation.errors import WinnowError


def decode_utf8(raw: bytes, source: str | Path, what: str = "file", first_line: int = 1) -> str:
    """`raw` as text, or a WinnowError `<source>:<line>: not valid UTF-8 (byte 0x.. at column C); save the <what>
    as UTF-8`. `first_line` is the line number of `raw`'s first line (a file read line by line)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + raw.count(b"\n", 0, e.start)
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise WinnowError(f"{source}:{line}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); "
                          f"save the {what} as UTF-8") from None
