"""An uploaded CSV file read into rows, the same way for every import.

What a readable file is — UTF-8 (a spreadsheet's BOM tolerated), no NUL, a header naming the columns the import
needs, at most so many non-blank rows, quoting that parses — and the words a refusal uses are decided here once.
What a row becomes, and what a row with the wrong number of cells means, is the caller's. Pure: bytes in, rows out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple


class CsvRefused(ValueError):
    """The file as a whole cannot be read; ``str()`` says why, Chinese first, fit to answer a client with.

    ``reason`` names the check that refused it (``not-utf8``, ``nul``, ``empty``, ``unparseable``, ``header``,
    ``too-many-rows``) so that a caller may word one of them its own way or answer it with its own status;
    ``line`` is where an unparseable row ends (None for the file as a whole), ``missing`` the columns the header
    lacks (``header`` only).
    """

    def __init__(self, message: str, *, reason: str, line: int | None = None,
                 missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.line = line
        self.missing = tuple(missing)


class CsvRow(NamedTuple):
    line: int  # where the row ends (a quoted cell may span lines): the number a spreadsheet shows for it
    values: dict[str, str]  # cell by header column; a short row lacks the columns past its last cell
    cells: int  # how many cells it has: other than the header's is a ragged row, for the caller to judge


@dataclass(frozen=True)
class CsvRows:
    kind: str  # which of the kinds of file the header names
    header: list[str]  # stripped, lower case
    rows: list[CsvRow]  # blank lines left out


def read_csv_rows(raw: bytes, *, kinds: Mapping[str, Sequence[str]], max_rows: int,
                  columns: Sequence[str] = ()) -> CsvRows:
    """The rows of ``raw``, a UTF-8 CSV file whose header names every column of one of ``kinds`` (kind → its
    required columns; at least one kind, most imports take just one; the first the header names wins).
    ``columns`` is the full header the import knows, shown in refusals. Raises CsvRefused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvRefused(f"CSV 须为 UTF-8 编码 (not UTF-8: {exc.reason} at byte {exc.start})",
                         reason="not-utf8") from exc
    if "\x00" in text:  # PostgreSQL cannot store it, and no spreadsheet writes it: not a CSV text
        raise CsvRefused("CSV 含有空字符 (the file holds NUL bytes)", reason="nul")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        shown = f" {','.join(columns)}" if columns else ""
        raise CsvRefused(f"CSV 为空，缺少表头 (empty: expected a header{shown})", reason="empty") from None
    except csv.Error as exc:
        raise CsvRefused(f"无法解析 CSV (not CSV: {exc})", reason="unparseable", line=1) from exc
    kind = _kind(header, kinds, columns)
    rows: list[CsvRow] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(rows) >= max_rows:
                raise CsvRefused(f"CSV 行数超过上限 {max_rows} (at most {max_rows} rows per import)",
                                 reason="too-many-rows")
            rows.append(CsvRow(reader.line_num, dict(zip(header, values, strict=False)), len(values)))
    except csv.Error as exc:
        raise CsvRefused(f"无法解析 CSV 第 {reader.line_num} 行 (not CSV: {exc})", reason="unparseable",
                         line=reader.line_num) from exc
    return CsvRows(kind, header, rows)


def _kind(header: list[str], kinds: Mapping[str, Sequence[str]], columns: Sequence[str]) -> str:
    """The first kind whose columns the header all names; else a refusal naming what the nearest one lacks."""
    missing_by_kind = {kind: [c for c in required if c not in header] for kind, required in kinds.items()}
    for kind, missing in missing_by_kind.items():
        if not missing:
            return kind
    nearest = min(missing_by_kind.values(), key=len)
    shown = ",".join(columns) or " or ".join(",".join(required) for required in kinds.values())
    raise CsvRefused(f"CSV 表头缺少列 {', '.join(nearest)} (the header must name {shown})", reason="header",
                     missing=nearest)
