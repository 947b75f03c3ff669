"""The one CSV reader of every import: what it takes, what it refuses and in which words (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from pingan_shared.csv_rows import CsvRefused, CsvRow, read_csv_rows

UNITS = {"units": ("id", "name")}


def read(raw: bytes, *, max_rows: int = 10) -> list[CsvRow]:
    return read_csv_rows(raw, kinds=UNITS, max_rows=max_rows).rows


def refusal(raw: bytes, *, kinds: Mapping[str, Sequence[str]] = UNITS, max_rows: int = 10,
            columns: Sequence[str] = ()) -> CsvRefused:
    with pytest.raises(CsvRefused) as caught:
        read_csv_rows(raw, kinds=kinds, max_rows=max_rows, columns=columns)
    return caught.value


def test_a_bom_is_tolerated_and_chinese_text_kept() -> None:
    found = read_csv_rows("\ufeffID , Name\r\nU-1,安阳街道\r\n".encode(), kinds=UNITS, max_rows=10)
    assert found.header == ["id", "name"] and found.kind == "units"
    assert found.rows == [CsvRow(2, {"id": "U-1", "name": "安阳街道"}, 2)]


def test_not_utf8_is_refused_naming_the_byte() -> None:
    refused = refusal("id,name\nU-1,塘下".encode("gbk"))
    assert refused.reason == "not-utf8" and str(refused).startswith("CSV 须为 UTF-8 编码 (not UTF-8: ")
    assert "at byte 12" in str(refused)


def test_nul_is_refused() -> None:
    assert refusal(b"id,name\nU-1,a\x00b\n").reason == "nul"


def test_an_empty_file_is_refused_showing_the_expected_header() -> None:
    for empty in (b"", "\ufeff".encode()):
        refused = refusal(empty, columns=("id", "name", "contact"))
        assert refused.reason == "empty"
        assert str(refused) == "CSV 为空，缺少表头 (empty: expected a header id,name,contact)"
    assert str(refusal(b"")) == "CSV 为空，缺少表头 (empty: expected a header)"


def test_a_header_missing_a_column_is_refused_naming_it() -> None:
    refused = refusal("名称,id\n安阳,U-1\n".encode(), columns=("id", "name", "contact"))
    assert (refused.reason, refused.missing) == ("header", ("name",))
    assert str(refused) == "CSV 表头缺少列 name (the header must name id,name,contact)"


def test_the_header_picks_the_first_kind_it_names_or_is_refused_with_the_nearest() -> None:
    kinds = {"routes": ("id", "name", "checkpoint_ids"), "checkpoints": ("id", "tag", "name")}
    assert read_csv_rows(b"id,tag,name\n", kinds=kinds, max_rows=1).kind == "checkpoints"
    assert read_csv_rows(b"id,tag,name,checkpoint_ids\n", kinds=kinds, max_rows=1).kind == "routes"
    refused = refusal(b"id,name,area\n", kinds=kinds)
    assert refused.missing == ("checkpoint_ids",)
    assert "id,name,checkpoint_ids or id,tag,name" in str(refused)


def test_too_many_rows_is_refused_blank_lines_not_counted() -> None:
    assert len(read(b"id,name\n1,a\n\n , \n2,b\n", max_rows=2)) == 2
    refused = refusal(b"id,name\n1,a\n2,b\n3,c\n", max_rows=2)
    assert refused.reason == "too-many-rows"
    assert str(refused) == "CSV 行数超过上限 2 (at most 2 rows per import)"


def test_ragged_rows_are_returned_with_their_cell_count() -> None:
    rows = read(b"id,name\n1\n2,b,extra\n")
    assert rows == [CsvRow(2, {"id": "1"}, 1), CsvRow(3, {"id": "2", "name": "b"}, 3)]


def test_a_quoted_newline_stays_in_its_cell_and_the_row_has_the_line_it_ends_on() -> None:
    rows = read('id,name\n1,"安阳\n街道"\n2,b\n'.encode())
    assert rows == [CsvRow(3, {"id": "1", "name": "安阳\n街道"}, 2), CsvRow(4, {"id": "2", "name": "b"}, 2)]


def test_a_row_the_csv_module_cannot_read_is_refused_naming_its_line() -> None:
    refused = refusal(b"id,name\n1,a\n2," + b"x" * 200_000 + b"\n3,c\n")  # past the csv module's field limit
    assert (refused.reason, refused.line) == ("unparseable", 3)
    assert str(refused).startswith("无法解析 CSV 第 3 行 (not CSV: ")
    header = refusal(b"x" * 200_000 + b"\n")
    assert (header.reason, header.line) == ("unparseable", 1) and str(header).startswith("无法解析 CSV (not CSV: ")
