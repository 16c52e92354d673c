"""Reading an uploaded CSV the way people's files really are: Excel's UTF-8 with a BOM, UTF-16 "Unicode
text", Windows-1251 from older Ukrainian Excel, semicolons in locales with a decimal comma, ragged rows.

A file that cannot be decoded is refused as a whole with the place of the first bad byte (nothing is
imported from a file read wrongly); a row that cannot be parsed, or has more or fewer values than the
header, is one failed row and the rest go on.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ValidationError
from .i18n import gettext as _

ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1251": "Windows-1251",
}
"""Encodings a person may choose (detection picks UTF-8 or UTF-16 by itself; Windows-1251 when it is
unambiguous)."""
DELIMITERS = {",": ",", ";": ";", "\t": "Tab", "|": "|"}
MAX_FIELD = 1_000_000
SNIFF_LINES = 50

# Windows-1251 bytes that are Cyrillic letters, typographic quotes, dashes and the numero sign: a file
# whose every non-ASCII byte is one of these is Cyrillic text in Windows-1251 beyond reasonable doubt.
_CP1251_TEXT = set(range(0xC0, 0x100)) | {0xA8, 0xB8, 0xAA, 0xBA, 0xAF, 0xBF, 0xB2, 0xB3, 0xA5, 0xB4,
                                           0x96, 0x97, 0xAB, 0xBB, 0x93, 0x94, 0x84, 0xB9, 0xA0, 0x92}  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    guessed: bool = False
    """True when the encoding was inferred from the bytes (Windows-1251): the preview should be checked."""


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def decode(data: bytes, encoding: str = "") -> Decoded:
    """The file's text. ``encoding`` "" detects: a BOM, else UTF-8, else UTF-16 by its zero bytes, else
    Windows-1251 when every non-ASCII byte is a Cyrillic letter there; anything else is refused with the
    line and column of the first byte that is not UTF-8."""
    if encoding and encoding not in ENCODINGS:
        raise ValidationError({"encoding": _("Choose an encoding from the list.")})
    if not data.strip():
        raise ValidationError({"file": _("The file is empty.")})
    if encoding == "cp1251":
        return Decoded(_strict(data, "cp1251"), "cp1251")
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(_strict(data[3:], "utf-8"), "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(_strict(data, "utf-16"), "utf-16")
    if encoding == "utf-16" or (not encoding and _looks_utf16(data)):
        order = "utf-16-le" if data[1:2] == b"\x00" or len(data) < 2 else "utf-16-be"
        return Decoded(_strict(data, order), "utf-16")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        high = [b for b in data if b >= 0x80]
        if not encoding and len(high) >= 3 and all(b in _CP1251_TEXT for b in high):
            return Decoded(data.decode("cp1251"), "cp1251", guessed=True)
        line, column = _position(data, exc.start)
        raise ValidationError({
            "encoding": _(
                "The file is not UTF-8 text: the byte 0x%(byte)02X on line %(line)s, column %(column)s is not "
                "valid there. Save it from your spreadsheet as “CSV UTF-8”, or choose the encoding it was "
                "saved in (Windows-1251 for older Cyrillic Excel files)."
            ) % {"byte": data[exc.start], "line": line, "column": column}
        }) from None  # fmt: skip
    if "\x00" in text:
        raise ValidationError({"file": _("This is not a CSV text file (it contains binary data).")})
    return Decoded(text, "utf-8")


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4000]
    zeros = sample.count(b"\x00")
    return len(sample) >= 2 and zeros * 3 >= len(sample)


def _strict(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise ValidationError({
            "encoding": _(
                "The file is not valid %(encoding)s: the bytes on line %(line)s, column %(column)s cannot be "
                "read. Choose the encoding the file was saved in."
            ) % {"encoding": ENCODINGS.get(encoding.split("-le")[0].split("-be")[0], encoding), "line": line,
                 "column": column}
        }) from None  # fmt: skip
    if "\x00" in text:
        raise ValidationError({"file": _("This is not a CSV text file (it contains binary data).")})
    return text.lstrip("\ufeff")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of columns (more than
    one); a comma when nothing does (a one-column file)."""
    sample = "\n".join(text.splitlines()[:SNIFF_LINES])
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (hits / len(counts), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it (header = 1), its cells, or why it is unreadable."""

    number: int
    cells: list[str]
    error: str = ""
    note: str = ""
    """What the reader did to the row that the person should know (a row source other than CSV may say,
    e.g., that a missing name was taken from the e-mail); kept with the row's outcome."""


class CsvFile:
    """A decoded CSV: the header and an iterator over the data rows, each checked against the header."""

    def __init__(self, text: str, delimiter: str):
        if delimiter not in DELIMITERS:
            raise ValidationError({"delimiter": _("Choose a delimiter from the list.")})
        self.text = text
        self.delimiter = delimiter
        header_row = next(self._records(), None)
        if header_row is None or header_row.error or not any(c.strip() for c in header_row.cells):
            raise ValidationError({"file": _("The first row must name the columns; this file has no header.")})
        self.header = [c.strip() for c in header_row.cells]
        while len(self.header) > 1 and not self.header[-1]:
            self.header.pop()  # trailing delimiters after the last column name

    def _records(self) -> Iterator[Row]:
        csv.field_size_limit(MAX_FIELD)
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)
        number = 0
        while True:
            number += 1
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Row(number, [], _read_error(exc, start))
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                number -= 1  # blank lines are not rows
                continue
            yield Row(number, cells)

    def rows(self, skip: int = 0) -> Iterator[Row]:
        """Data rows after the first ``skip`` of them (a resumed job skips what it has done)."""
        width = len(self.header)
        seen = 0
        records = self._records()
        next(records, None)  # the header
        for row in records:
            seen += 1
            if seen <= skip:
                continue
            if row.error:
                yield Row(row.number, [], row.error)
                continue
            cells = row.cells
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            if len(cells) != width:
                yield Row(row.number, cells, _(
                    "The row has %(found)s values but the header has %(expected)s columns; check for a "
                    "missing or extra delimiter, or a value with a delimiter that is not in quotes."
                ) % {"found": len(cells), "expected": width})  # fmt: skip
                continue
            yield Row(row.number, cells)

    def count(self) -> int:
        return sum(1 for _row in self.rows())


def _read_error(exc: csv.Error, line: int) -> str:
    reason = str(exc)
    if "unexpected end of data" in reason or "EOF" in reason:
        return _("A quote opened on line %(line)s is never closed; the rest of the file was read as one value.") % {
            "line": line
        }
    if "field larger than field limit" in reason:
        return _("A value starting on line %(line)s is longer than %(n)s characters.") % {
            "line": line,
            "n": f"{MAX_FIELD:,}",
        }
    return _("Line %(line)s cannot be read as CSV: a quote is in the middle of a value (%(reason)s).") % {
        "line": line,
        "reason": reason,
    }


def open_csv(data: bytes, encoding: str = "", delimiter: str = "") -> tuple[CsvFile, Decoded]:
    """Decode and parse the header; ``delimiter`` "" sniffs it."""
    decoded = decode(data, encoding)
    return CsvFile(decoded.text, delimiter or sniff_delimiter(decoded.text)), decoded


__all__ = ["DELIMITERS", "ENCODINGS", "CsvFile", "Decoded", "Row", "decode", "open_csv", "sniff_delimiter"]
