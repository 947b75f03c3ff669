"""Circulated notices (通报): numbered per year, written the way the documents write them."""

from __future__ import annotations


def notice_number(year: int, number: int) -> str:
    """〔2026〕12号"""
    return f"〔{year}〕{number}号"
