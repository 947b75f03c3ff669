"""One page type for every list a service answers: ``{"items": [...], "next_after": cursor | null}``.

Keyset paging: a client passes ``after=<next_after>`` for the next page; ``next_after`` is null on the last page
(the page came back shorter than ``limit``). ``Limit`` and ``After`` are the query parameters every list takes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from pingan_shared.text import StorableStr

ItemT = TypeVar("ItemT")
Cursor = str | int

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
After = Annotated[StorableStr | None, Query(min_length=1, max_length=200,
                                            description="next_after of the previous page")]


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_after: Cursor | None = Field(description="pass as `after` for the next page; null on the last page")


def page_of(items: Sequence[ItemT], limit: int, cursor: Callable[[ItemT], Cursor]) -> Page[ItemT]:
    """The page of ``items`` (at most ``limit``, as fetched): ``next_after`` is the last one's cursor when the page
    is full (there may be more), else null."""
    return Page[ItemT](items=list(items), next_after=cursor(items[-1]) if items and len(items) >= limit else None)
