"""A table of a service's list: filters from the query string, pages by the services' cursor, CSV export.

Every service list answers ``{"items": [...], "next_after": cursor | null}`` and takes ``limit`` and ``after``
(``pingan_shared.http.paging``). A ``Table`` names its columns and filters; ``respond`` asks for one page with the
filters the request carries and renders it (the ``tables.table`` macro draws it, its filter form, a link to the next
page and to the CSV), or, for ``?format=csv``, walks every page (up to ``csv_max_rows``) and answers a UTF-8 CSV with
a byte-order mark, which Excel needs to read Chinese.

In a route::

    TASKS = Table(columns=[Column("task_id", "任务", "Task"), Column("state", "状态", "State")],
                  filters=[Filter("state", "状态", "State", choices=[("open", "未整改", "open"), ...])],
                  csv_name="tasks")

    @router.get("/inspection/tasks")
    async def tasks(request: Request, person: Inspector) -> Response:
        fetch = lambda params: person.services.get("inspection", "/v1/tasks", params=params)
        return await TASKS.respond(request, fetch,
                                   lambda view: render(request, "inspection/tasks.html", person, table=view))
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from console.web.i18n import pick
from console.web.pages import lang

Row = Mapping[str, Any]
Fetch = Callable[[dict[str, str]], Awaitable[Any]]  # query parameters -> {"items": [...], "next_after": ...}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    # the cell's text from the row and the language (default: row[key]; lists joined with "、", None as "")
    text: Callable[[Row, str], str] | None = None
    # a link for the cell (the row's detail page), or None
    link: Callable[[Row], str | None] | None = None

    def cell(self, row: Row, lang: str = "zh") -> str:
        if self.text is not None:
            return self.text(row, lang)
        value = row.get(self.key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "✓" if value else ""
        if isinstance(value, list | tuple):
            return "、".join(str(v) for v in value)
        return str(value)

    def href(self, row: Row) -> str | None:
        return self.link(row) if self.link is not None else None


@dataclass(frozen=True)
class Filter:
    name: str  # the query parameter, passed on to the service as it is
    zh: str
    en: str
    choices: Sequence[tuple[str, str, str]] = ()  # (value, zh, en); none: a text box
    max_length: int = 100


@dataclass(frozen=True)
class TableView:
    """One rendered page: what the ``tables.table`` macro draws."""

    table: Table
    rows: Sequence[Row]
    filters: Mapping[str, str]  # the filters in force
    next_url: str | None
    first_url: str | None  # None on the first page
    csv_url: str
    lang: str

    def heading(self, column: Column) -> str:
        return pick(self.lang, column.zh, column.en)

    def cell(self, column: Column, row: Row) -> str:
        return column.cell(row, self.lang)

    def filter_label(self, item: Filter) -> str:
        return pick(self.lang, item.zh, item.en)

    def choice_label(self, choice: tuple[str, str, str]) -> str:
        return pick(self.lang, choice[1], choice[2])

    def row_class(self, row: Row) -> str:
        return self.table.row_class(row) if self.table.row_class is not None else ""


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    filters: Sequence[Filter] = ()
    page_size: int = 50
    csv_name: str = "export"
    csv_max_rows: int = 20000
    # the service's name of the cursor parameter (the console's own tables may page otherwise)
    cursor_param: str = "after"
    extra: Mapping[str, str] = field(default_factory=dict)  # fixed parameters sent with every page
    row_class: Callable[[Row], str] | None = None  # a class for a row's <tr> (e.g. an overdue task's), or ""

    def filters_of(self, request: Request) -> dict[str, str]:
        """The table's filters the request carries, non-empty and within bounds (others are ignored)."""
        found = {}
        for item in self.filters:
            value = request.query_params.get(item.name, "").strip()
            if not value or len(value) > item.max_length:
                continue
            if item.choices and value not in {c[0] for c in item.choices}:
                continue
            found[item.name] = value
        return found

    async def respond(self, request: Request, fetch: Fetch, render: Callable[[TableView], Response]) -> Response:
        filters = self.filters_of(request)
        if request.query_params.get("format") == "csv":
            return await self._csv(filters, fetch, lang(request))
        after = request.query_params.get(self.cursor_param) or None
        params = {**self.extra, **filters, "limit": str(self.page_size)}
        if after:
            params[self.cursor_param] = after
        page = await fetch(params)
        items, next_after = _page_parts(page)
        base = request.url.path
        next_url = f"{base}?{urlencode({**filters, self.cursor_param: next_after})}" if next_after else None
        first_url = f"{base}?{urlencode(filters)}" if after else None
        csv_url = f"{base}?{urlencode({**filters, 'format': 'csv'})}"
        return render(TableView(self, items, filters, next_url, first_url, csv_url, lang(request)))

    async def _csv(self, filters: Mapping[str, str], fetch: Fetch, language: str) -> Response:
        rows: list[Row] = []
        after: str | None = None
        while len(rows) < self.csv_max_rows:
            params = {**self.extra, **filters, "limit": str(min(500, self.csv_max_rows - len(rows)))}
            if after:
                params[self.cursor_param] = after
            items, after = _page_parts(await fetch(params))
            rows.extend(items)
            if not after or not items:
                break
        return csv_response(self.columns, rows, self.csv_name, language)


def csv_response(columns: Sequence[Column], rows: Sequence[Row], name: str, language: str = "zh") -> Response:
    """A CSV download: a bilingual header row (中文 English), one line per row, UTF-8 with a byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{c.zh} {c.en}" for c in columns])
    for row in rows:
        writer.writerow([_spreadsheet_safe(c.cell(row, language)) for c in columns])
    return Response(content="\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): a leading = + - @ gets a quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _page_parts(page: Any) -> tuple[list[Row], str | None]:
    if not isinstance(page, Mapping):
        return [], None
    items = page.get("items")
    cursor = page.get("next_after")
    return (list(items) if isinstance(items, list) else []), (str(cursor) if cursor not in (None, "") else None)
